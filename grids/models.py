from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.states import StateMachine


class Area(models.TextChoices):
    URBAN = "urban", _("Urban")
    SUBURBAN = "suburban", _("Suburban")


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
    # Set on every write, bulk imports included: the spatial index compares it to know when to rebuild.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

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
    area = models.CharField(_("area type"), max_length=8, choices=Area.choices, default=Area.URBAN,
                            help_text=_("Decides the arrival target: urban or suburban minutes (settings)."))
    last_lat = models.FloatField(_("last latitude"), null=True, blank=True)
    last_lon = models.FloatField(_("last longitude"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last position at"), null=True, blank=True)

    class Meta:
        verbose_name = _("police unit")
        verbose_name_plural = _("police units")
        ordering = ["kind", "code"]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"


class GridStaff(models.Model):
    """Auxiliary officers and grid workers of a grid (the community officer is a user on the grid)."""

    class Role(models.TextChoices):
        AUXILIARY = "auxiliary", _("Auxiliary officer")
        GRID_WORKER = "grid_worker", _("Grid worker")

    grid = models.ForeignKey(Grid, verbose_name=_("grid"), on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(_("role"), max_length=12, choices=Role.choices)
    name = models.CharField(_("name"), max_length=32)
    phone = models.CharField(_("phone"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("grid staff member")
        verbose_name_plural = _("grid staff")
        ordering = ["grid", "role", "name"]

    def __str__(self):
        return f"{self.name} ({self.get_role_display()})"


class Place(models.Model):
    """A known address or place name in a micro grid: the gazetteer that places calls without coordinates."""

    micro_grid = models.ForeignKey(Grid, verbose_name=_("micro grid"), on_delete=models.CASCADE,
                                   related_name="places", limit_choices_to={"level": "micro"})
    name = models.CharField(_("address or place name"), max_length=200)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("gazetteer place")
        verbose_name_plural = _("gazetteer")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["micro_grid", "name"], name="place_name_unique_in_grid")]

    def __str__(self):
        return self.name


class GridImport(models.Model):
    """One import: who loaded which file and what it changed. Grids from GeoJSON, or the gazetteer's addresses
    from a city's CSV list (issue 37)."""

    class Kind(models.TextChoices):
        GRIDS = "grids", _("Grids (GeoJSON)")
        PLACES = "places", _("Addresses (CSV)")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.GRIDS)
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("imported by"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    skipped = models.PositiveIntegerField(_("rows skipped"), default=0)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports of grids and addresses")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.filename}"


class HotspotStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed (quiet)")


HOTSPOT_TRANSITIONS = StateMachine(_("Hotspot case"), {HotspotStatus.OPEN: [HotspotStatus.CLOSED]})


class HotspotCase(models.Model):
    """“One hotspot, one period, one team, one plan”: a grid with too many non-police calls in a period of
    the day, owned by a team until the grid stays under the threshold for the quiet period."""

    class Source(models.TextChoices):
        REVIEW = "review", _("Daily review")
        MANUAL = "manual", _("Marked by hand")

    grid = models.ForeignKey(Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="hotspots")
    hour_from = models.PositiveSmallIntegerField(_("period from (hour)"), default=0)
    hour_to = models.PositiveSmallIntegerField(_("period to (hour)"), default=24)
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.PROTECT, related_name="hotspots")
    plan = models.TextField(_("plan"))
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.MANUAL)
    threshold = models.PositiveSmallIntegerField(_("threshold (non-police calls a day)"))
    quiet_days = models.PositiveSmallIntegerField(_("quiet days to close"))
    status = models.CharField(_("status"), max_length=8, choices=HotspotStatus.choices, default=HotspotStatus.OPEN)
    opened_at = models.DateTimeField(_("opened at"))
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("opened by"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    before_count = models.PositiveIntegerField(_("calls before"), default=0)
    after_count = models.PositiveIntegerField(_("calls after"), null=True, blank=True)
    quiet_streak = models.PositiveSmallIntegerField(_("quiet days so far"), default=0)

    class Meta:
        verbose_name = _("hotspot case")
        verbose_name_plural = _("hotspot cases")
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["status", "opened_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(hour_from__lt=24, hour_to__lte=24),
                                   name="hotspot_hours_in_day"),
            models.UniqueConstraint(fields=["grid", "hour_from", "hour_to"], condition=models.Q(status="open"),
                                    name="one_open_case_per_grid_period"),
        ]

    def __str__(self):
        return f"{self.grid} {self.period_label}"

    @property
    def period_label(self) -> str:
        if self.hour_from == 0 and self.hour_to == 24:
            return str(_("all day"))
        return f"{self.hour_from:02d}:00–{self.hour_to % 24:02d}:00"


class HotspotAction(models.Model):
    case = models.ForeignKey(HotspotCase, verbose_name=_("hotspot case"), on_delete=models.CASCADE,
                             related_name="actions")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("action taken"))

    class Meta:
        verbose_name = _("hotspot action")
        verbose_name_plural = _("hotspot actions")
        ordering = ["at", "id"]

    def __str__(self):
        return self.text[:40]


class PatrolArea(models.Model):
    """A core area or key area (核心区域 / 重点区域) that a unit covers."""

    class Kind(models.TextChoices):
        CORE = "core", _("Core area")
        KEY = "key", _("Key area")

    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="patrol_areas")
    boundary = models.JSONField(_("boundary (GeoJSON geometry)"))

    class Meta:
        verbose_name = _("patrol area")
        verbose_name_plural = _("patrol areas")
        ordering = ["kind", "name"]

    def __str__(self):
        return self.name


class PatrolPoint(models.Model):
    """A must-visit point (必到点)."""

    name = models.CharField(_("name"), max_length=64)
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="patrol_points")
    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))

    class Meta:
        verbose_name = _("must-visit point")
        verbose_name_plural = _("must-visit points")
        ordering = ["name"]

    def __str__(self):
        return self.name


class PatrolLine(models.Model):
    """A must-patrol line (必巡线)."""

    name = models.CharField(_("name"), max_length=64)
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="patrol_lines")
    path = models.JSONField(_("path (GeoJSON LineString)"))

    class Meta:
        verbose_name = _("must-patrol line")
        verbose_name_plural = _("must-patrol lines")
        ordering = ["name"]

    def __str__(self):
        return self.name


class PatrolCheckIn(models.Model):
    point = models.ForeignKey(PatrolPoint, verbose_name=_("must-visit point"), on_delete=models.PROTECT,
                              related_name="check_ins")
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="check_ins")
    at = models.DateTimeField(_("at"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.point} {self.at:%Y-%m-%d %H:%M}"
