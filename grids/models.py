from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Grid(models.Model):
    """Large grid (police area, 警务区) → small grid → micro grid."""

    class Level(models.TextChoices):
        LARGE = "large", _("Large grid (police area)")
        SMALL = "small", _("Small grid")
        MICRO = "micro", _("Micro grid")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=8, choices=Level.choices)
    parent = models.ForeignKey("self", verbose_name=_("parent grid"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    boundary = models.JSONField(_("boundary (GeoJSON geometry)"), null=True, blank=True)
    households = models.PositiveIntegerField(_("households"), null=True, blank=True)
    community_officer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("community officer"),
                                          null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level="large", parent__isnull=True) | ~models.Q(level="large"),
                name="large_grid_has_no_parent",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class Team(models.Model):
    """A “2+X” team: one officer, one auxiliary, several grid workers, for one grid."""

    grid = models.ForeignKey(Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="teams")
    name = models.CharField(_("name"), max_length=64)
    officer = models.CharField(_("officer"), max_length=32)
    auxiliary = models.CharField(_("auxiliary officer"), max_length=32, blank=True)
    grid_workers = models.JSONField(_("grid workers"), default=list, blank=True)

    class Meta:
        verbose_name = _("“2+X” team")
        verbose_name_plural = _("“2+X” teams")

    def __str__(self):
        return self.name


class Unit(models.Model):
    """A police station, a workstation (警务站) or a patrol group that can take police calls."""

    class Kind(models.TextChoices):
        STATION = "station", _("Police station")
        WORKSTATION = "workstation", _("Police workstation")
        PATROL = "patrol", _("Patrol group")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    stations = models.ManyToManyField("self", verbose_name=_("bound to stations"), symmetrical=False,
                                      blank=True, limit_choices_to={"kind": "station"},
                                      related_name="bound_units")
    base_lat = models.FloatField(_("base latitude"), null=True, blank=True)
    base_lon = models.FloatField(_("base longitude"), null=True, blank=True)
    available = models.BooleanField(_("available"), default=True)

    class Meta:
        verbose_name = _("police unit")
        verbose_name_plural = _("police units")
        ordering = ["kind", "code"]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"
