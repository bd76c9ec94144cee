from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.phones import phone_mask
from core.states import StateMachine


class MemberKind(models.TextChoices):
    """Who mediates at a station: the stationed mediator (驻所调解员) and the committee's members (公调对接委员会)."""

    STATION_MEDIATOR = "station", _("Station mediator")
    LAWYER = "lawyer", _("Lawyer")
    DEPUTY = "deputy", _("People's deputy or CPPCC member")
    COMMUNITY_CADRE = "cadre", _("Community cadre")
    RETIRED_CADRE = "retired", _("Retired cadre")
    POLICE = "police", _("Police officer")


class Mediator(models.Model):
    """A user with the mediator role, attached to one police station: they see that station's files only."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT,
                                related_name="mediator_profile", limit_choices_to={"role": "mediator"})
    station = models.ForeignKey("grids.Unit", verbose_name=_("police station"), on_delete=models.PROTECT,
                                related_name="mediators", limit_choices_to={"kind": "station"})
    kind = models.CharField(_("member kind"), max_length=12, choices=MemberKind.choices,
                            default=MemberKind.STATION_MEDIATOR)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("mediator")
        verbose_name_plural = _("mediators")
        ordering = ["station", "kind", "user__username"]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def name(self) -> str:
        return self.user.get_full_name() or self.user.username


class FileStatus(models.TextChoices):
    OPEN = "open", _("Registered")
    MEDIATING = "mediating", _("Mediating")
    CLOSED = "closed", _("Closed, following up")
    REOPENED = "reopened", _("Flared up, reopened")


FILE_TRANSITIONS = StateMachine(
    _("Dispute file"),
    {
        # A simple dispute may be settled at the first contact, without a recorded session.
        FileStatus.OPEN: [FileStatus.MEDIATING, FileStatus.CLOSED],
        FileStatus.MEDIATING: [FileStatus.CLOSED],
        FileStatus.CLOSED: [FileStatus.REOPENED],
        FileStatus.REOPENED: [FileStatus.MEDIATING, FileStatus.CLOSED],
    },
)
FILE_ACTIVE_STATUSES = [FileStatus.OPEN, FileStatus.MEDIATING, FileStatus.REOPENED]


class DisputeFile(models.Model):
    """一事一档: one file per dispute, kept by the mediators of a police station."""

    class Complexity(models.TextChoices):
        SIMPLE = "simple", _("Simple")
        COMPLEX = "complex", _("Complex")

    Status = FileStatus

    class Outcome(models.TextChoices):
        AGREED = "agreed", _("Agreement reached")
        PARTIAL = "partial", _("Partial agreement")
        FAILED = "failed", _("Failed")
        REFERRED = "referred", _("Referred to court or arbitration")

    class Source(models.TextChoices):
        CALL = "call", _("From a 110 call")
        WALK_IN = "walk_in", _("Walk-in")

    serial = models.CharField(_("file number"), max_length=20, unique=True)
    station = models.ForeignKey("grids.Unit", verbose_name=_("police station"), on_delete=models.PROTECT,
                                related_name="dispute_files", limit_choices_to={"kind": "station"})
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.CALL)
    title = models.CharField(_("title"), max_length=120)
    summary = models.TextField(_("what the dispute is about"), blank=True)
    dispute_type = models.ForeignKey("diversion.Category", verbose_name=_("dispute type"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey("grids.Grid", verbose_name=_("grid"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    address = models.CharField(_("address"), max_length=200, blank=True, db_index=True)
    amount = models.DecimalField(_("amount in dispute (yuan)"), max_digits=12, decimal_places=2, null=True,
                                 blank=True)
    calls = models.ManyToManyField("incidents.Call", verbose_name=_("calls"), blank=True,
                                   related_name="dispute_files", through="FileCall")
    complexity = models.CharField(_("complexity"), max_length=8, choices=Complexity.choices, blank=True)
    suggested_complexity = models.CharField(_("suggested complexity"), max_length=8, choices=Complexity.choices,
                                            blank=True)
    triage_facts = models.JSONField(_("facts behind the suggestion"), default=dict, blank=True)
    triaged_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("complexity decided by"), null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="+")
    triaged_at = models.DateTimeField(_("complexity decided at"), null=True, blank=True)
    plan = models.TextField(_("plan (一事一策)"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=FileStatus.choices, default=FileStatus.OPEN)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    agreement_text = models.TextField(_("terms of the agreement"), blank=True)
    outcome_note = models.TextField(_("note on the outcome"), blank=True)
    mediator = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("mediator"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="dispute_files")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("opened by"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    flare_count = models.PositiveSmallIntegerField(_("times flared up"), default=0)

    class Meta:
        verbose_name = _("dispute file")
        verbose_name_plural = _("dispute files")
        ordering = ["-opened_at"]
        indexes = [
            models.Index(fields=["station", "status", "-opened_at"]),
            models.Index(fields=["opened_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status="open") | Q(status="mediating") | ~Q(complexity=""),
                                   name="dispute_closed_file_has_complexity"),
            models.CheckConstraint(condition=~Q(status="closed") | (~Q(outcome="") & Q(closed_at__isnull=False)),
                                   name="dispute_closed_file_has_outcome"),
        ]

    def __str__(self):
        return f"{self.serial} {self.title}"

    @property
    def is_active(self) -> bool:
        return self.status in FILE_ACTIVE_STATUSES

    @property
    def has_agreement(self) -> bool:
        return self.outcome in (self.Outcome.AGREED, self.Outcome.PARTIAL) and bool(self.agreement_text)


class FileSerialCounter(models.Model):
    """One row per year; incremented under a row lock so file numbers never collide."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class FileCall(models.Model):
    """A call that belongs to a dispute file: the one it was opened from, one added by hand, or a later call
    linked automatically (a party's phone, or a dispute call at the file's address)."""

    class Reason(models.TextChoices):
        ORIGIN = "origin", _("Opened from this call")
        ADDED = "added", _("Added by the mediator")
        PHONE = "phone", _("A party's phone")
        ADDRESS = "address", _("Dispute call at the same address")

    file = models.ForeignKey(DisputeFile, verbose_name=_("file"), on_delete=models.CASCADE,
                             related_name="file_calls")
    call = models.ForeignKey("incidents.Call", verbose_name=_("call"), on_delete=models.PROTECT,
                             related_name="file_links")
    reason = models.CharField(_("why linked"), max_length=8, choices=Reason.choices)
    # Fixed when the link is made: was the file's outcome already recorded when this call came in?
    # Repeat calls before vs after mediation are counted on it.
    after_outcome = models.BooleanField(_("came after the outcome"), default=False)
    linked_at = models.DateTimeField(_("linked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("linked call")
        verbose_name_plural = _("linked calls")
        ordering = ["linked_at", "id"]
        constraints = [models.UniqueConstraint(fields=["file", "call"], name="dispute_file_call_once")]

    def __str__(self):
        return f"{self.file_id} ← {self.call_id} ({self.reason})"

    @property
    def automatic(self) -> bool:
        return self.reason in (self.Reason.PHONE, self.Reason.ADDRESS)


class Party(models.Model):
    class Role(models.TextChoices):
        APPLICANT = "applicant", _("Applicant")
        RESPONDENT = "respondent", _("Respondent")
        THIRD = "third", _("Third party")

    file = models.ForeignKey(DisputeFile, verbose_name=_("file"), on_delete=models.CASCADE,
                             related_name="parties")
    name = models.CharField(_("name"), max_length=64)
    phone = models.CharField(_("phone"), max_length=16, blank=True, db_index=True)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.APPLICANT)
    address = models.CharField(_("address"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["id"]

    def __str__(self):
        return self.name

    @property
    def masked_phone(self) -> str:
        return phone_mask(self.phone)


class MediationSession(models.Model):
    class Place(models.TextChoices):
        STATION = "station", _("Police station")
        COMMUNITY = "community", _("Community")
        MOBILE = "mobile", _("Mobile mediation room")

    file = models.ForeignKey(DisputeFile, verbose_name=_("file"), on_delete=models.CASCADE,
                             related_name="sessions")
    held_at = models.DateTimeField(_("held at"))
    place = models.CharField(_("place"), max_length=12, choices=Place.choices)
    place_detail = models.CharField(_("where exactly"), max_length=120, blank=True)
    members = models.ManyToManyField(Mediator, verbose_name=_("mediators present"), blank=True,
                                     related_name="sessions")
    attendees = models.TextField(_("attendees"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")
        ordering = ["held_at", "id"]

    def __str__(self):
        return f"{self.file_id} {self.held_at:%Y-%m-%d}"


class FollowUpVisit(models.Model):
    file = models.ForeignKey(DisputeFile, verbose_name=_("file"), on_delete=models.CASCADE,
                             related_name="follow_ups")
    due_on = models.DateField(_("due on"))
    days_after = models.PositiveSmallIntegerField(_("days after the outcome"), default=0)
    # The file's flare count when the visit was scheduled: each closing after a flare-up starts a new round.
    round = models.PositiveSmallIntegerField(_("round"), default=0)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("done by"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    result = models.TextField(_("result"), blank=True)
    flared_up = models.BooleanField(_("dispute flared up again"), default=False)
    early_reason = models.TextField(_("why recorded before it was due"), blank=True)
    # Visits still pending when the file is reopened are cancelled; closing it again schedules new ones.
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")
        ordering = ["due_on", "id"]
        constraints = [models.UniqueConstraint(fields=["file", "round", "days_after"], name="followup_once_per_round")]
        indexes = [models.Index(fields=["due_on"], condition=Q(done_at__isnull=True, cancelled_at__isnull=True),
                                name="followup_pending_due")]

    def __str__(self):
        return f"{self.file_id} {self.due_on}"

    @property
    def pending(self) -> bool:
        return self.done_at is None and self.cancelled_at is None
