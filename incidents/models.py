from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.phones import caller_key, phone_mask
from core.states import StateMachine

# What the caller said, as a dispatcher or the 110 system records it: the essentials, not a transcript. The
# same limit for the form and the API, so a call never fits one and not the other.
CONTENT_MAX_CHARS = 2000

class CallStatus(models.TextChoices):
    NEW = "new", _("Waiting")
    ASSIGNED = "assigned", _("With police unit")
    REVIEWING = "reviewing", _("In review before the slip")
    DIVERTED = "diverted", _("Diverted on a slip")
    RETURNED = "returned", _("Returned by department")
    CLOSED = "closed", _("Closed")


CALL_TRANSITIONS = StateMachine(
    _("Call"),
    {
        CallStatus.NEW: [CallStatus.ASSIGNED, CallStatus.DIVERTED, CallStatus.REVIEWING],
        CallStatus.RETURNED: [CallStatus.ASSIGNED, CallStatus.DIVERTED, CallStatus.REVIEWING],
        # Review layers (issue 40): the last approval issues the slip; a layer sending it back returns the
        # call to the dispatchers' queue.
        CallStatus.REVIEWING: [CallStatus.DIVERTED, CallStatus.RETURNED],
        CallStatus.DIVERTED: [CallStatus.RETURNED, CallStatus.CLOSED],
        # A street call attended first by patrol can then be handed to a department on a slip.
        CallStatus.ASSIGNED: [CallStatus.CLOSED, CallStatus.DIVERTED, CallStatus.REVIEWING],
        # An unsatisfied callback on a closed slip puts the call back in the department's hands.
        CallStatus.CLOSED: [CallStatus.DIVERTED],
    },
)
CALL_QUEUE_STATUSES = [CallStatus.NEW, CallStatus.RETURNED]


class Channel(models.TextChoices):
    PHONE = "phone", _("110 phone call")
    SMS = "sms", _("110 SMS")
    APP = "app", _("App / online")
    WALK_IN = "walk_in", _("Walk-in")
    TRANSFER = "transfer", _("Transferred from 12345/119/120")


# The police/non-police decision over calls: the dispatcher's, or while the dispatcher has not decided, the
# suggestion's. Non-police is everything not kept with the police: a suggestion left undecided
# (suggested_police null) counts there, so the two add up to the calls (the daily review, the grids).
POLICE = Q(is_police=True) | Q(is_police__isnull=True, suggested_police=True)
NON_POLICE = Q(is_police=False) | (Q(is_police__isnull=True)
                                   & (Q(suggested_police=False) | Q(suggested_police__isnull=True)))


class Call(models.Model):
    call_id = models.CharField(_("110 call id"), max_length=64, unique=True)
    received_at = models.DateTimeField(_("received at"), db_index=True)
    caller_phone = models.CharField(_("caller phone"), max_length=16, blank=True)
    caller_name = models.CharField(_("caller name"), max_length=64, blank=True)
    # Personal information kept only as long as needed (incidents.retention): the number and the name are
    # blanked CALLER_RETENTION_DAYS after the call; the keyed hash (core.phones.caller_key) that repeat
    # checks match on stays CALLER_KEY_DAYS, the longest any of them looks back.
    caller_key = models.CharField(_("caller key"), max_length=64, blank=True, editable=False)
    anonymised_at = models.DateTimeField(_("caller anonymised at"), null=True, blank=True, editable=False)
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    content = models.TextField(_("content"))
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices, default=Channel.PHONE)
    micro_grid = models.ForeignKey("grids.Grid", verbose_name=_("micro grid"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="calls",
                                   limit_choices_to={"level": "micro"})
    # The address-list entry the call's address matched at intake (issue 37), when it came without a point:
    # that entry's point stands for the call's in choosing the nearest unit (grids.selectors.call_position).
    place = models.ForeignKey("grids.Place", verbose_name=_("address-list entry"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=CallStatus.choices, default=CallStatus.NEW)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("entered by"), null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("entered at"), auto_now_add=True)

    # What the engine suggested at intake (kept as it was, for training and audit) ...
    suggestions = models.JSONField(_("suggestions"), default=dict, blank=True)
    suggested_category = models.ForeignKey("diversion.Category", verbose_name=_("suggested sub-category"),
                                           null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The suggestion's keep-or-divert decision: True police, False non-police, None undecided (no evidence
    # either way: the dispatcher decides).
    suggested_police = models.BooleanField(_("suggested police"), null=True, blank=True, default=None)
    repeats = models.JSONField(_("repeat checks at intake"), default=dict, blank=True)
    # ... and what the dispatcher chose.
    is_police = models.BooleanField(_("police matter"), null=True, blank=True)
    category = models.ForeignKey("diversion.Category", verbose_name=_("sub-category"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="calls")
    classified_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("classified by"), null=True,
                                      blank=True, on_delete=models.PROTECT, related_name="+")
    classified_at = models.DateTimeField(_("classified at"), null=True, blank=True)
    return_count = models.PositiveSmallIntegerField(_("times returned"), default=0)
    # Goes up by one with every change of status (services.call_move). A decision names the version its page
    # showed, so a decision made on what is no longer there is refused instead of acting (issue 31).
    version = models.PositiveIntegerField(_("version"), default=0)
    # The dispatcher working on the call (issue 36): set when they open it, kept fresh while they act on it,
    # lapsed after settings.CALL_CLAIM_IDLE_SECONDS without activity (services.call_claim).
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("claimed by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    claimed_at = models.DateTimeField(_("claim last active at"), null=True, blank=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-received_at"]
        indexes = [
            # The call list (issue 42): a page of all calls, or of one status, newest first, read in order.
            models.Index(fields=["status", "-received_at", "-id"], name="call_status_received"),
            models.Index(fields=["-received_at", "-id"], name="call_received"),
            models.Index(fields=["caller_key", "received_at"], name="call_caller_key_received"),
            models.Index(fields=["address", "received_at"]),
            # Daily review (issue 4): a day's or window's calls read from the index alone (PostgreSQL
            # INCLUDE), and a grid's calls in a window for hotspots and their drill-down.
            models.Index(fields=["received_at"], name="call_review_day",
                         include=["micro_grid", "is_police", "suggested_police", "category",
                                  "suggested_category"]),
            models.Index(fields=["micro_grid", "received_at"], name="call_grid_received"),
            # Routing quality (issue 35): the misses that matter, suggested diverting and kept with the police,
            # are few; their list and counts read this small index instead of the weeks' calls.
            models.Index(fields=["received_at"], name="call_suggestion_miss",
                         condition=Q(suggested_police=False, is_police=True)),
        ]

    def __str__(self):
        return self.call_id

    def save(self, *args, **kwargs):
        if self.caller_phone:  # the key follows the number while there is one
            self.caller_key = caller_key(self.caller_phone)
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "caller_phone" in update_fields:
                kwargs["update_fields"] = {*update_fields, "caller_key"}
        super().save(*args, **kwargs)

    @property
    def masked_phone(self) -> str:
        return phone_mask(self.caller_phone)

    @property
    def suggested_decision(self) -> str:
        """police, non_police or undecided: the suggestion's keep-or-divert decision."""
        return {True: "police", False: "non_police"}.get(self.suggested_police, "undecided")

    @property
    def in_queue(self) -> bool:
        return self.status in CALL_QUEUE_STATUSES

    def claim_holder(self, now=None):
        """The user whose claim on this call is still live, or None (never claimed, released or lapsed)."""
        if self.claimed_by_id is None or self.claimed_at is None or not self.in_queue:
            return None
        now = now or timezone.now()
        if (now - self.claimed_at).total_seconds() >= settings.CALL_CLAIM_IDLE_SECONDS:
            return None
        return self.claimed_by

    def claim_state(self, user) -> str:
        """What the claim means to `user`: closed (not waiting), free, mine, or other (someone else holds it)."""
        if not self.in_queue:
            return "closed"
        holder = self.claim_holder()
        return "free" if holder is None else "mine" if holder.pk == user.pk else "other"


class PoliceAssignment(models.Model):
    class Result(models.TextChoices):
        ON_SCENE = "on_scene", _("Finished on scene")
        TRANSFERRED = "transferred", _("Transferred to the station")
        HANDED_OVER = "handed_over", _("Handed to a department on a slip")
        # A station sends a street call on to the workstation bound to it, which dispatches (seed 003).
        PUSHED = "pushed", _("Pushed to a bound workstation")

    class Selection(models.TextChoices):
        NEAREST = "nearest", _("Nearest available unit")
        MANUAL = "manual", _("Chosen by hand")

    call = models.ForeignKey(Call, verbose_name=_("call"), on_delete=models.PROTECT, related_name="assignments")
    unit = models.ForeignKey("grids.Unit", verbose_name=_("unit"), on_delete=models.PROTECT,
                             related_name="assignments")
    note = models.TextField(_("note"), blank=True)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assigned by"),
                                    on_delete=models.PROTECT, related_name="+")
    dispatched_at = models.DateTimeField(_("dispatched at"))
    # Stamped by the server when the unit taps “on the way” on its phone page (issue 37).
    en_route_at = models.DateTimeField(_("on the way at"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=12, choices=Result.choices, blank=True)
    result_note = models.TextField(_("result note"), blank=True)
    selection = models.CharField(_("unit chosen"), max_length=8, choices=Selection.choices, blank=True)
    distance_m = models.FloatField(_("distance at dispatch (m)"), null=True, blank=True)

    class Meta:
        verbose_name = _("police assignment")
        verbose_name_plural = _("police assignments")
        ordering = ["-dispatched_at"]

    def __str__(self):
        return f"{self.call_id} → {self.unit_id}"

    @property
    def arrival_label(self) -> str:
        """Dispatch to arrival as minutes′seconds″ (the 1-3-5 targets' measure), or "" before arrival."""
        if self.arrived_at is None:
            return ""
        seconds = max(0, round((self.arrived_at - self.dispatched_at).total_seconds()))
        return f"{seconds // 60}′{seconds % 60:02d}″"


class DailyReview(models.Model):
    """警情日研判: the stored figures of one day for the whole city or one large grid. Built by
    `incidents.review.services.daily_review_build`; a re-run for the same day replaces the rows."""

    CITY = "city"

    date = models.DateField(_("date"))
    # "city", or "grid-<id>" of a large grid (kept as text so the city row is unique too: NULLs never clash).
    scope = models.CharField(_("scope"), max_length=24)
    grid = models.ForeignKey("grids.Grid", verbose_name=_("large grid"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="daily_reviews",
                             limit_choices_to={"level": "large"})
    data = models.JSONField(_("figures"), default=dict)
    built_at = models.DateTimeField(_("built at"))
    built_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("built by"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveSmallIntegerField(_("format version"), default=1)

    class Meta:
        verbose_name = _("daily review")
        verbose_name_plural = _("daily reviews")
        ordering = ["-date", "scope"]
        constraints = [models.UniqueConstraint(fields=["date", "scope"], name="daily_review_one_per_scope")]

    def __str__(self):
        return f"{self.date} {self.scope}"

    @staticmethod
    def scope_of(grid_id: int | None) -> str:
        return DailyReview.CITY if grid_id is None else f"grid-{grid_id}"


class ReviewRollup(models.Model):
    """One day's calls counted by micro grid and by large grid and hour: the daily review's long windows (the
    hotspots' 30 days and the 30 before, the heat map's weeks) add these up instead of scanning the calls of
    60 days for every day (issue 43). Built by `incidents.review.rollups`; a day's row is counted again when
    its review is built, with the day before it, and by the backfill for every day it rebuilds."""

    date = models.DateField(_("date"), unique=True)
    # {"<micro grid id>": [large grid id or null, calls, non-police calls]}
    grids = models.JSONField(_("calls by micro grid"), default=dict)
    # {"<large grid id>" or "none": [calls in each hour 0–23]}
    hours = models.JSONField(_("calls by large grid and hour"), default=dict)
    built_at = models.DateTimeField(_("built at"))

    class Meta:
        verbose_name = _("daily review rollup")
        verbose_name_plural = _("daily review rollups")

    def __str__(self):
        return str(self.date)


class CallImport(models.Model):
    """One import of a centre's historical 110 calls from a CSV or XLSX export (incidents.imports): the file as
    uploaded, how its columns map to a call's fields, and what the import did. The file is kept under
    var/imports until the import is done."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded: map the columns")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed: nothing was imported")

    filename = models.CharField(_("file name"), max_length=200)
    path = models.CharField(_("stored file"), max_length=300, blank=True)
    encoding = models.CharField(_("encoding"), max_length=16, blank=True)
    headers = models.JSONField(_("column names"), default=list)
    mapping = models.JSONField(_("column mapping"), default=dict)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.UPLOADED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("rows read"), default=0)
    imported = models.PositiveIntegerField(_("calls imported"), default=0)
    existing = models.PositiveIntegerField(_("already there"), default=0)
    bad = models.PositiveIntegerField(_("bad rows"), default=0)
    # [[line, reason], …]: the first IMPORT_ERRORS_KEPT bad rows
    errors = models.JSONField(_("bad rows"), default=list)
    failure = models.TextField(_("why it failed"), blank=True)
    # The imported calls' ids run from first_id to last_id (others' calls may be among them): the follow-up
    # (grids, suggestions, reviews) works through that range.
    first_id = models.BigIntegerField(null=True, blank=True, editable=False)
    last_id = models.BigIntegerField(null=True, blank=True, editable=False)
    followed_up_at = models.DateTimeField(_("grids and suggestions done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("call import")
        verbose_name_plural = _("call imports")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.filename
