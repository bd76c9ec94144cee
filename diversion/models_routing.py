"""Models of the routing engine: the catalog's version counter, department overrides per grid, the
trained models, the keep-with-police signals and the routing settings.
Imported by diversion.models so they belong to the diversion app."""

import re

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .models import BilingualName  # defined before diversion.models imports this module


class CatalogVersion(models.Model):
    """A counter per compiled thing ("catalog": keywords, departments, overrides; "model": the active
    trained model). The catalog-change signal bumps it in the same transaction as the change, so every
    process that sees a higher number than the one it compiled knows to rebuild."""

    CATALOG = "catalog"
    MODEL = "model"

    key = models.CharField(_("key"), max_length=16, primary_key=True)
    version = models.PositiveBigIntegerField(_("version"), default=0)
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("routing version")
        verbose_name_plural = _("routing versions")

    def __str__(self):
        return f"{self.key} v{self.version}"


class DepartmentOverride(models.Model):
    """属地管理: in this grid (and every grid below it) this sub-category goes to this department instead of
    its default. The override on the nearest ancestor of the call's micro grid wins."""

    category = models.ForeignKey("diversion.Category", verbose_name=_("sub-category"), on_delete=models.CASCADE,
                                 related_name="department_overrides")
    grid = models.ForeignKey("grids.Grid", verbose_name=_("grid"), on_delete=models.CASCADE,
                             related_name="department_overrides")
    department = models.ForeignKey("diversion.Department", verbose_name=_("department"),
                                   on_delete=models.PROTECT, related_name="overrides")
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("department override")
        verbose_name_plural = _("department overrides")
        ordering = ["category__code", "grid__code"]
        constraints = [
            models.UniqueConstraint(fields=["category", "grid"], name="department_override_one_per_grid"),
        ]

    def __str__(self):
        return f"{self.category_id}@{self.grid_id} → {self.department_id}"


class RoutingModel(models.Model):
    """One trained classifier. The fitted pipeline is kept in the row (joblib bytes): web processes and
    Celery workers on other hosts load it from the database they already share, and the row and its bytes
    commit together (no file without a row, no row without its file)."""

    class Kind(models.TextChoices):
        CATEGORY = "category", _("Sub-category or police (trained on confirmed calls)")
        FAMILY = "family", _("Department family (trained on a labelled file)")
        KEEP = "keep", _("Keep or divert: police or not (trained on confirmed calls or labelled files)")

    # A department model (category or family) and a keep-or-divert model are active side by side.
    DEPARTMENT_KINDS = (Kind.CATEGORY, Kind.FAMILY)

    version = models.PositiveIntegerField(_("version"), unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.CATEGORY)
    created_at = models.DateTimeField(_("trained at"), auto_now_add=True)
    trained_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("trained by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    training_size = models.PositiveIntegerField(_("training size"))
    labels = models.JSONField(_("labels"), default=list)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True,
                               help_text=_("Cross-validated accuracy, macro-F1 and F1 per label."))
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    blob = models.BinaryField(_("fitted model (joblib)"))
    sha256 = models.CharField(_("SHA-256 of the fitted model"), max_length=64)
    active = models.BooleanField(_("active"), default=False)

    class Meta:
        verbose_name = _("routing model")
        verbose_name_plural = _("routing models")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=models.Q(active=True) & ~models.Q(kind="keep"),
                                    name="routing_model_one_active"),
            models.UniqueConstraint(fields=["active"], condition=models.Q(active=True, kind="keep"),
                                    name="routing_model_one_active_keep"),
        ]

    def __str__(self):
        return f"v{self.version} ({self.kind}, n={self.training_size})"


class PoliceSignal(BilingualName):
    """One kind of keep-with-police signal (theft, robbery, violence, traffic, a group…): the words and the
    count patterns that mark a call as a police matter, written the way 110 notes are, and the phrases in
    which a word means something harmless. Edited in the admin; every change bumps the catalog version, so
    every process compiles the new vocabulary into its automaton (patterns: once per version)."""

    code = models.SlugField(_("code"), max_length=24, unique=True)
    words = models.JSONField(_("words"), default=list, blank=True,
                             help_text=_('A list of words, e.g. ["被盗", "偷走"]. One hit keeps the call with the '
                                         "police unless a negation stands right before it (没有受伤)."))
    patterns = models.JSONField(
        _("patterns"), default=list, blank=True,
        help_text=_("A list of regular expressions, e.g. a count of people with a group verb. A match keeps the "
                    "call with the police."))
    exclusions = models.JSONField(
        _("exclusions"), default=dict, blank=True,
        help_text=_('Phrases in which a word is harmless, e.g. {"枪": ["水枪", "玩具枪"]}.'))
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("police signal")
        verbose_name_plural = _("police signals")
        ordering = ["order", "code"]

    def clean(self):
        from django.core.exceptions import ValidationError

        errors = {}
        if not isinstance(self.words, list) or not all(isinstance(w, str) for w in self.words):
            errors["words"] = _("Give a list of words in quotes.")
        if not isinstance(self.patterns, list) or not all(isinstance(p, str) for p in self.patterns):
            errors["patterns"] = _("Give a list of regular expressions in quotes.")
        else:
            for pattern in self.patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    errors["patterns"] = _("“%(pattern)s” is not a regular expression: %(error)s") % {
                        "pattern": pattern, "error": exc}
                    break
        if not isinstance(self.exclusions, dict) or not all(
                isinstance(v, list) and all(isinstance(p, str) for p in v) for v in self.exclusions.values()):
            errors["exclusions"] = _('Give an object of lists, e.g. {"枪": ["水枪"]}.')
        if errors:
            raise ValidationError(errors)


class RoutingSettings(models.Model):
    """The catalog's one row of routing settings (id 1)."""

    divert_min_evidence = models.FloatField(
        _("evidence needed to suggest diverting"), default=2.0,
        help_text=_("A call is suggested non-police only when the best sub-category's matched words weigh at "
                    "least this much (a word weighs its length unless the catalog says otherwise) and no police "
                    "signal is present; with less, the dispatcher decides."))
    # How the keep-or-divert model may move the rules' decision (it never clears a police signal).
    model_police_min = models.FloatField(
        _("model's police probability to keep an undecided call"), default=0.7,
        help_text=_("An undecided call is suggested to stay with the police when the keep-or-divert model gives "
                    "it at least this probability of being a police matter."))
    model_veto_min = models.FloatField(
        _("model's police probability to hold back a diversion"), default=0.9,
        help_text=_("A call the rules would divert becomes undecided when the keep-or-divert model gives it at "
                    "least this probability of being a police matter."))
    model_divert_max = models.FloatField(
        _("model's police probability under which an undecided call may be diverted"), default=0.05,
        help_text=_("An undecided call is suggested for diversion only when the keep-or-divert model gives it "
                    "less than this probability of being a police matter and the department model is confident."))
    department_min_confidence = models.FloatField(
        _("department model's confidence to divert an undecided call"), default=0.5,
        help_text=_("The department model's confidence in its answer needed, with the keep-or-divert model's "
                    "low police probability, to suggest diverting an undecided call."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("routing settings")
        verbose_name_plural = _("routing settings")

    def __str__(self):
        return str(_("routing settings"))

    @classmethod
    def current(cls) -> "RoutingSettings":
        return cls.objects.filter(pk=1).first() or cls(pk=1)
