from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DisputeFile(models.Model):
    """一事一档: one file per dispute, kept by the mediator of a police station."""

    class Complexity(models.TextChoices):
        SIMPLE = "simple", _("Simple")
        COMPLEX = "complex", _("Complex")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        AGREED = "agreed", _("Agreement reached")
        PARTIAL = "partial", _("Partial agreement")
        FAILED = "failed", _("Failed")
        REFERRED = "referred", _("Referred to court or arbitration")

    serial = models.CharField(_("file number"), max_length=20, unique=True)
    station = models.ForeignKey("grids.Unit", verbose_name=_("police station"), on_delete=models.PROTECT,
                                related_name="dispute_files", limit_choices_to={"kind": "station"})
    title = models.CharField(_("title"), max_length=120)
    dispute_type = models.ForeignKey("diversion.Category", verbose_name=_("dispute type"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey("grids.Grid", verbose_name=_("grid"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    calls = models.ManyToManyField("incidents.Call", verbose_name=_("calls"), blank=True,
                                   related_name="dispute_files")
    complexity = models.CharField(_("complexity"), max_length=8, choices=Complexity.choices, blank=True)
    plan = models.TextField(_("plan (一事一策)"), blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    mediator = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("mediator"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="dispute_files")
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute file")
        verbose_name_plural = _("dispute files")
        ordering = ["-opened_at"]

    def __str__(self):
        return f"{self.serial} {self.title}"


class Party(models.Model):
    file = models.ForeignKey(DisputeFile, verbose_name=_("file"), on_delete=models.CASCADE,
                             related_name="parties")
    name = models.CharField(_("name"), max_length=64)
    phone = models.CharField(_("phone"), max_length=16, blank=True, db_index=True)
    role = models.CharField(_("role"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")

    def __str__(self):
        return self.name


class MediationSession(models.Model):
    class Place(models.TextChoices):
        STATION = "station", _("Police station")
        COMMUNITY = "community", _("Community")
        MOBILE = "mobile", _("Mobile mediation room")

    file = models.ForeignKey(DisputeFile, verbose_name=_("file"), on_delete=models.CASCADE,
                             related_name="sessions")
    held_at = models.DateTimeField(_("held at"))
    place = models.CharField(_("place"), max_length=12, choices=Place.choices)
    attendees = models.TextField(_("attendees"), blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")
        ordering = ["held_at"]

    def __str__(self):
        return f"{self.file_id} {self.held_at:%Y-%m-%d}"


class FollowUpVisit(models.Model):
    file = models.ForeignKey(DisputeFile, verbose_name=_("file"), on_delete=models.CASCADE,
                             related_name="follow_ups")
    due_on = models.DateField(_("due on"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    result = models.TextField(_("result"), blank=True)
    flared_up = models.BooleanField(_("dispute flared up again"), default=False)

    class Meta:
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")
        ordering = ["due_on"]

    def __str__(self):
        return f"{self.file_id} {self.due_on}"
