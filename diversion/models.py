from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.states import StateMachine


class BilingualName(models.Model):
    name_zh = models.CharField(_("Chinese name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=96)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


class TimeLimitClass(BilingualName):
    """咨询类、诉求类、投诉类、举报类、重大紧急类: each gives a slip its deadline."""

    class Code(models.TextChoices):
        CONSULTATION = "consultation", _("Consultation")
        REQUEST = "request", _("Request")
        COMPLAINT = "complaint", _("Complaint")
        REPORT = "report", _("Report")
        MAJOR_URGENT = "major_urgent", _("Major urgent")

    code = models.CharField(_("code"), max_length=16, choices=Code.choices, unique=True)
    deadline_hours = models.PositiveIntegerField(
        _("deadline (hours)"), help_text=_("Time the department has from issue to completion.")
    )

    class Unit(models.TextChoices):
        HOURS = "hours", _("Hours")
        WORKING_DAYS = "working_days", _("Working days")

    # Supervision: a class counts either in clock hours or in working days (holiday calendar applies).
    unit = models.CharField(_("counted in"), max_length=16, choices=Unit.choices, default=Unit.HOURS)
    deadline_working_days = models.PositiveSmallIntegerField(
        _("deadline (working days)"), default=0,
        help_text=_("Used when the class counts in working days: the deadline is the end of the Nth working "
                    "day after the day of issue."),
    )

    class Meta:
        verbose_name = _("time-limit class")
        verbose_name_plural = _("time-limit classes")
        ordering = ["deadline_hours"]

    @property
    def counts_working_days(self) -> bool:
        """Its deadline is N working days (a class set to working days with N = 0 counts in hours)."""
        return self.unit == self.Unit.WORKING_DAYS and self.deadline_working_days > 0


class Department(BilingualName):
    code = models.CharField(_("code"), max_length=16, unique=True)
    email = models.EmailField(_("e-mail for new slips"), blank=True)
    phone = models.CharField(_("duty phone"), max_length=32, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # Routing engine (issue 7): a change stamps the row; see diversion.routing for the catalog version.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Issue 40: the department is reached through a 12345 platform: its slips are sent there, signed.
    platform = models.ForeignKey("diversion.Platform", verbose_name=_("reached through 12345 platform"),
                                 null=True, blank=True, on_delete=models.SET_NULL, related_name="departments")

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]


class CategoryGroup(BilingualName):
    code = models.CharField(_("code"), max_length=4, unique=True)

    class Meta:
        verbose_name = _("category group")
        verbose_name_plural = _("category groups")
        ordering = ["code"]


class Urgency(models.TextChoices):
    HIGH = "high", _("Urgent")
    DEPENDS = "depends", _("Depends on the case")
    NORMAL = "normal", _("Not urgent")


class Category(BilingualName):
    """One of the non-police sub-categories (the catalog's 36 by default)."""

    code = models.CharField(_("code"), max_length=8, unique=True)
    group = models.ForeignKey(CategoryGroup, verbose_name=_("group"), on_delete=models.PROTECT,
                              related_name="categories")
    default_department = models.ForeignKey(Department, verbose_name=_("default department"),
                                           on_delete=models.PROTECT, related_name="categories")
    time_limit_class = models.ForeignKey(TimeLimitClass, verbose_name=_("time-limit class"),
                                         on_delete=models.PROTECT, related_name="categories")
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    keywords = models.JSONField(_("keywords"), default=list, blank=True,
                                help_text=_("Words in a call that suggest this sub-category."))
    police_conditions = models.TextField(_("keep with police when"), blank=True)
    police_keywords = models.JSONField(
        _("keep-with-police words"), default=list, blank=True,
        help_text=_("Words that keep a call of this sub-category with the police."),
    )
    active = models.BooleanField(_("active"), default=True)
    # Routing engine (issue 7): per-keyword weights and exclusion phrases, and the change stamp.
    keyword_weights = models.JSONField(
        _("keyword weights"), default=dict, blank=True,
        help_text=_('{"word": weight}. A keyword without a weight weighs its length in characters.'),
    )
    keyword_exclusions = models.JSONField(
        _("keyword exclusions"), default=dict, blank=True,
        help_text=_('{"word": ["phrase", …]}: the keyword does not count where it occurs inside one of the '
                    'phrases (e.g. {"工地": ["工地食堂"]}).'),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Review(models.TextChoices):
        SERIES = "series", _("Review layers one after another")
        PARALLEL = "parallel", _("Review layers all at once")
        SKIP = "skip", _("No review: issue the slip at once")

    # Issue 40: how a diversion of this sub-category passes the centre's review layers (if any are active).
    # A major-urgent time-limit class always skips them.
    review = models.CharField(_("review before issue"), max_length=8, choices=Review.choices,
                              default=Review.SERIES)

    class Meta:
        verbose_name = _("sub-category")
        verbose_name_plural = _("sub-categories")
        ordering = ["code"]


# Docking with the 12345 platform (issue 40); the routing engine (issue 7): catalog version, department
# overrides per grid, trained models.
from .models_docking import Platform, PlatformEvent, SlipDocking  # noqa: E402, F401
from .models_open311 import Open311Client, Open311Report  # noqa: E402, F401
from .models_routing import (  # noqa: E402, F401
    CatalogVersion,
    DepartmentOverride,
    PoliceSignal,
    RoutingModel,
    RoutingSettings,
)

# Review layers before a slip leaves (issue 40).
from .models_vetting import (  # noqa: E402, F401
    REVIEW_TRANSITIONS,
    ReviewLayer,
    ReviewStatus,
    ReviewStep,
    SlipReview,
)


class SlipStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    ACCEPTED = "accepted", _("Accepted")
    RETURNED = "returned", _("Returned")
    COMPLETED = "completed", _("Completed, awaiting callback")
    REOPENED = "reopened", _("Reopened")
    CLOSED = "closed", _("Closed")


SLIP_TRANSITIONS = StateMachine(
    _("Slip"),
    {
        SlipStatus.ISSUED: [SlipStatus.ACCEPTED, SlipStatus.RETURNED],
        SlipStatus.ACCEPTED: [SlipStatus.COMPLETED, SlipStatus.RETURNED],
        SlipStatus.COMPLETED: [SlipStatus.CLOSED, SlipStatus.REOPENED],
        SlipStatus.REOPENED: [SlipStatus.ACCEPTED],
        SlipStatus.CLOSED: [SlipStatus.REOPENED],
        SlipStatus.RETURNED: [],
    },
)
SLIP_OPEN_STATUSES = [SlipStatus.ISSUED, SlipStatus.ACCEPTED, SlipStatus.COMPLETED, SlipStatus.REOPENED]


# The department inbox's tabs by status (diversion.views.INBOX_TABS), each read from an index of its own.
INBOX_TO_ACCEPT = [SlipStatus.ISSUED, SlipStatus.REOPENED]
INBOX_IN_PROGRESS = [SlipStatus.ACCEPTED]
INBOX_COMPLETED = [SlipStatus.COMPLETED, SlipStatus.CLOSED]


class HandoffSlip(models.Model):
    """任务移交三联单: stub (存根联), the department's part (交办联), receipt (回执联)."""

    year = models.PositiveSmallIntegerField(_("year"))
    number = models.PositiveIntegerField(_("number in year"))
    call = models.ForeignKey("incidents.Call", verbose_name=_("call"), on_delete=models.PROTECT,
                             related_name="slips")
    category = models.ForeignKey(Category, verbose_name=_("sub-category"), on_delete=models.PROTECT,
                                 related_name="slips")
    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.PROTECT,
                                   related_name="slips")
    status = models.CharField(_("status"), max_length=16, choices=SlipStatus.choices,
                              default=SlipStatus.ISSUED)
    instructions = models.TextField(_("instructions to the department"), blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("issued by"),
                                  on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(_("issued at"))
    deadline = models.DateTimeField(_("deadline"))
    notified_at = models.DateTimeField(_("department notified at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("acceptance reminder sent at"), null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("accepted by"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    handler_name = models.CharField(_("handled by (name)"), max_length=64, blank=True)
    returned_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("returned by"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    return_reason = models.TextField(_("reason for return"), blank=True)
    suggested_department = models.ForeignKey(Department, verbose_name=_("suggested department"), null=True,
                                             blank=True, on_delete=models.PROTECT, related_name="+")
    result = models.TextField(_("result"), blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("completed by"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.CharField(_("closed because"), max_length=16, blank=True,
                                    choices=[("satisfied", _("Callback done")),
                                             ("unreachable", _("Caller not reached"))])
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)

    class Meta:
        verbose_name = _("handoff slip")
        verbose_name_plural = _("handoff slips")
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="slip_serial_unique_per_year"),
        ]
        # Each list reads its page from one of these in its own order (issue 42), a department's or the centre's:
        # the API and the returned tab newest issued first, the open tabs by deadline, the done tab newest
        # completion first. The open tabs' are partial, small as the work in hand; the done tab's too, as
        # its two statuses could not be read in one order from an index on the status.
        indexes = [
            models.Index(fields=["department", "status", "-issued_at", "-id"], name="slip_dept_status_issued"),
            models.Index(fields=["status", "issued_at", "id"], name="slip_status_issued"),
            models.Index(fields=["department", "-issued_at", "-id"], name="slip_dept_issued"),
            models.Index(fields=["-issued_at", "-id"], name="slip_issued"),
            *[index
              for name, statuses, order in (("todo", INBOX_TO_ACCEPT, ["deadline", "id"]),
                                            ("doing", INBOX_IN_PROGRESS, ["deadline", "id"]))
              for index in (models.Index(fields=["department", *order], name=f"slip_dept_{name}",
                                         condition=Q(status__in=statuses)),
                            models.Index(fields=order, name=f"slip_{name}", condition=Q(status__in=statuses)))],
            models.Index(fields=["department", "-completed_at", "-id"], name="slip_dept_done",
                         condition=Q(status__in=INBOX_COMPLETED)),
            # The centre's done tab, and the league table's slips completed after a period's end.
            models.Index(fields=["-completed_at", "-id"], name="slip_completed"),
            # The league table's slips still open past their deadline (supervision.scores): as few as are late.
            models.Index(fields=["deadline"], name="slip_open_deadline",
                         condition=Q(completed_at__isnull=True) & ~Q(status=SlipStatus.RETURNED)),
        ]

    def __str__(self):
        return self.serial

    @property
    def serial(self) -> str:
        return f"{self.year}-{self.number:06d}"

    @property
    def is_open(self) -> bool:
        return self.status in SLIP_OPEN_STATUSES


class SlipSerialCounter(models.Model):
    """One row per year; incremented under a row lock so serial numbers never collide."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class Callback(models.Model):
    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        SMS = "sms", _("SMS")
        VISIT = "visit", _("Visit")

    class Resolved(models.TextChoices):
        YES = "yes", _("Yes")
        PARTLY = "partly", _("Partly")
        NO = "no", _("No")

    slip = models.ForeignKey(HandoffSlip, verbose_name=_("slip"), on_delete=models.PROTECT,
                             related_name="callbacks")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    reached = models.BooleanField(_("caller reached"))
    resolved = models.CharField(_("resolved"), max_length=8, choices=Resolved.choices, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1–5)"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"),
                                    on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"))
    reopened_slip = models.BooleanField(_("reopened the slip"), default=False)

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        ordering = ["recorded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(satisfaction__isnull=True) | models.Q(satisfaction__gte=1, satisfaction__lte=5),
                name="callback_satisfaction_1_to_5",
            ),
            models.CheckConstraint(
                condition=models.Q(reached=True) | (models.Q(resolved="") & models.Q(satisfaction__isnull=True)),
                name="callback_unreached_has_no_rating",
            ),
        ]

    def __str__(self):
        return f"{self.slip_id} {self.recorded_at:%Y-%m-%d %H:%M} {self.channel}"

    @property
    def unsatisfied(self) -> bool:
        return self.reached and (
            self.resolved in (self.Resolved.NO, self.Resolved.PARTLY)
            or (self.satisfaction is not None and self.satisfaction <= 2)
        )


# --- Supervision (issue 3): holidays, notices, joint meetings, accountability, reports ----------------

class Holiday(models.Model):
    """The holiday calendar for deadlines counted in working days: public holidays, and the weekend
    days worked in exchange (调休上班)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday (no work)")
        WORKDAY = "workday", _("Weekend working day")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.HOLIDAY)
    name = models.CharField(_("name"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holiday calendar")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()} {self.name}"


class NoticeKind(models.TextChoices):
    WARNING = "warning", _("Warning notice")
    SUPERVISION = "supervision", _("Supervision notice")
    RECTIFICATION = "rectification", _("Rectification notice")


NOTICE_PREFIX = {NoticeKind.WARNING: "YJ", NoticeKind.SUPERVISION: "DB", NoticeKind.RECTIFICATION: "ZG"}


class NoticeStatus(models.TextChoices):
    ISSUED = "issued", _("Awaiting reply")
    REPLIED = "replied", _("Replied")
    CLOSED = "closed", _("Closed")


NOTICE_TRANSITIONS = StateMachine(
    _("Notice"),
    {
        NoticeStatus.ISSUED: [NoticeStatus.REPLIED],
        # A supervisor accepts the reply (closed) or sends it back for a better one.
        NoticeStatus.REPLIED: [NoticeStatus.CLOSED, NoticeStatus.ISSUED],
        NoticeStatus.CLOSED: [],
    },
)


class Notice(models.Model):
    """预警单 / 督办单 / 整改通知单: one notice to one department covering one or more slips or
    joint-meeting actions."""

    kind = models.CharField(_("type"), max_length=16, choices=NoticeKind.choices)
    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.PROTECT,
                                   related_name="notices")
    status = models.CharField(_("status"), max_length=12, choices=NoticeStatus.choices,
                              default=NoticeStatus.ISSUED)
    automatic = models.BooleanField(_("raised by the system"), default=False)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("issued by"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(_("issued at"))
    reason = models.TextField(_("reason"), blank=True)
    reply_deadline = models.DateTimeField(_("reply deadline"))
    read_at = models.DateTimeField(_("first read by the department at"), null=True, blank=True)
    reply = models.TextField(_("department's reply"), blank=True)
    replied_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("replied by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    # Groups the notices one ladder run inserted, so their items can be joined to them in SQL.
    batch = models.CharField(max_length=32, blank=True, db_index=True, editable=False)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["department", "status", "-issued_at"]),
            models.Index(fields=["department", "read_at"]),
            models.Index(fields=["issued_at"]),
        ]

    def __str__(self):
        return self.serial

    @property
    def serial(self) -> str:
        return f"{NOTICE_PREFIX.get(self.kind, 'TZ')}-{self.issued_at:%Y}-{self.pk:06d}"

    @property
    def reason_display(self) -> str:
        """The ladder's reason in the reader's language for a notice the system raised (its stored text is
        the centre's language); a supervisor's own words as written."""
        return ladder_reason(self.kind) if self.automatic else self.reason


def ladder_reason(kind: str) -> str:
    """Why the notice ladder raised a notice of this kind, in the active language."""
    from django.utils.translation import gettext

    if kind == NoticeKind.WARNING:
        return gettext("Used %(p)s%% of the time allowed and not completed yet.") % {
            "p": settings.SUPERVISION_WARN_PERCENT}
    if kind == NoticeKind.SUPERVISION:
        return gettext("Past the deadline and not completed.")
    return gettext("Overdue by more than %(h)s hours, or reopened %(n)s times after unsatisfied callbacks.") % {
        "h": settings.SUPERVISION_RECTIFY_GRACE_HOURS, "n": settings.SUPERVISION_RECTIFY_REOPENS}


class NoticeItem(models.Model):
    """One slip or one joint-meeting action covered by a notice. The system raises each level at most once
    per slip or action: the partial unique constraints make a second ladder run insert nothing."""

    notice = models.ForeignKey(Notice, verbose_name=_("notice"), on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(_("level"), max_length=16, choices=NoticeKind.choices)
    automatic = models.BooleanField(default=False)
    slip = models.ForeignKey(HandoffSlip, verbose_name=_("slip"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="notice_items")
    action = models.ForeignKey("JointMeetingAction", verbose_name=_("joint-meeting action"), null=True,
                               blank=True, on_delete=models.PROTECT, related_name="notice_items")

    class Meta:
        verbose_name = _("notice item")
        verbose_name_plural = _("notice items")
        constraints = [
            models.CheckConstraint(condition=models.Q(slip__isnull=False, action__isnull=True)
                                   | models.Q(slip__isnull=True, action__isnull=False),
                                   name="notice_item_slip_xor_action"),
            models.UniqueConstraint(fields=["slip", "kind"], condition=models.Q(automatic=True, slip__isnull=False),
                                    name="notice_item_one_level_per_slip"),
            models.UniqueConstraint(fields=["action", "kind"],
                                    condition=models.Q(automatic=True, action__isnull=False),
                                    name="notice_item_one_level_per_action"),
        ]

    def __str__(self):
        return f"{self.notice_id}: {self.slip_id or self.action_id} {self.kind}"


class MeetingStatus(models.TextChoices):
    CONVENED = "convened", _("Convened")
    HELD = "held", _("Held, actions open")
    CLOSED = "closed", _("Closed")


MEETING_TRANSITIONS = StateMachine(
    _("Joint meeting"),
    {MeetingStatus.CONVENED: [MeetingStatus.HELD], MeetingStatus.HELD: [MeetingStatus.CLOSED],
     MeetingStatus.CLOSED: []},
)


class JointMeeting(models.Model):
    """联席会议: a complex slip escalated to the departments concerned, with a time limit."""

    slip = models.ForeignKey(HandoffSlip, verbose_name=_("slip"), on_delete=models.PROTECT,
                             related_name="joint_meetings")
    title = models.CharField(_("subject"), max_length=200)
    status = models.CharField(_("status"), max_length=12, choices=MeetingStatus.choices,
                              default=MeetingStatus.CONVENED)
    convened_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("convened by"),
                                    on_delete=models.PROTECT, related_name="+")
    convened_at = models.DateTimeField(_("convened at"))
    meeting_at = models.DateTimeField(_("meeting date"))
    time_limit = models.DateTimeField(_("to be settled by"))
    decisions = models.TextField(_("decisions"), blank=True)
    held_at = models.DateTimeField(_("held at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    departments = models.ManyToManyField(Department, verbose_name=_("departments invited"),
                                         through="JointMeetingInvitation", related_name="joint_meetings")

    class Meta:
        verbose_name = _("joint meeting")
        verbose_name_plural = _("joint meetings")
        ordering = ["-meeting_at", "-id"]

    def __str__(self):
        return f"{self.title} ({self.meeting_at:%Y-%m-%d})"


class JointMeetingInvitation(models.Model):
    meeting = models.ForeignKey(JointMeeting, on_delete=models.CASCADE, related_name="invitations")
    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.PROTECT,
                                   related_name="+")
    invited_at = models.DateTimeField(_("invited at"))

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [models.UniqueConstraint(fields=["meeting", "department"], name="meeting_invite_once")]

    def __str__(self):
        return f"{self.meeting_id} → {self.department_id}"


class JointMeetingAction(models.Model):
    """One decision of a joint meeting: one responsible department, one deadline. Overdue actions go up
    the same warning → supervision → rectification ladder as slips."""

    meeting = models.ForeignKey(JointMeeting, verbose_name=_("joint meeting"), on_delete=models.CASCADE,
                                related_name="actions")
    description = models.TextField(_("action"))
    department = models.ForeignKey(Department, verbose_name=_("responsible department"), on_delete=models.PROTECT,
                                   related_name="meeting_actions")
    created_at = models.DateTimeField(_("decided at"))
    deadline = models.DateTimeField(_("deadline"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("done by"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    done_note = models.TextField(_("what was done"), blank=True)

    class Meta:
        verbose_name = _("joint-meeting action")
        verbose_name_plural = _("joint-meeting actions")
        ordering = ["deadline", "id"]
        indexes = [models.Index(fields=["done_at", "deadline"])]

    def __str__(self):
        return f"{self.department_id}: {self.description[:40]}"


class AccountabilityRecord(models.Model):
    """问责问效: a reminder talk (提醒谈话) or a department held to account, with the notices behind it."""

    class Kind(models.TextChoices):
        REMINDER_TALK = "reminder_talk", _("Reminder talk")
        HELD_TO_ACCOUNT = "held_to_account", _("Department held to account")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.PROTECT,
                                   related_name="accountability_records")
    person = models.CharField(_("person talked to"), max_length=64, blank=True)
    occurred_on = models.DateField(_("date"))
    summary = models.TextField(_("summary"))
    notices = models.ManyToManyField(Notice, verbose_name=_("notices behind it"), blank=True,
                                     related_name="accountability_records")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"),
                                    on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("accountability record")
        verbose_name_plural = _("accountability records")
        ordering = ["-occurred_on", "-id"]

    def __str__(self):
        return f"{self.occurred_on} {self.get_kind_display()} {self.department_id}"


class ReportKind(models.TextChoices):
    DAILY_CALLBACKS = "daily", _("Daily callback list")
    WEEKLY = "weekly", _("Weekly bulletin")
    MONTHLY = "monthly", _("Monthly review")
    QUARTERLY = "quarterly", _("Quarterly listing")


class Report(models.Model):
    """日回访、周通报、月讲评、季挂牌: figures stored as generated; a re-run for the same period replaces them."""

    kind = models.CharField(_("type"), max_length=12, choices=ReportKind.choices)
    period_start = models.DateField(pgettext_lazy("date range", "from"))
    period_end = models.DateField(_("to (exclusive)"))
    generated_at = models.DateTimeField(_("generated at"))
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("generated by"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    data = models.JSONField(_("figures"), default=dict)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-period_start", "kind"]
        constraints = [models.UniqueConstraint(fields=["kind", "period_start"], name="report_one_per_period")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.period_start}"
