from django.conf import settings
from django.db import models
from django.utils.translation import get_language
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

    class Meta:
        verbose_name = _("time-limit class")
        verbose_name_plural = _("time-limit classes")
        ordering = ["deadline_hours"]


class Department(BilingualName):
    code = models.CharField(_("code"), max_length=16, unique=True)
    email = models.EmailField(_("e-mail for new slips"), blank=True)
    phone = models.CharField(_("duty phone"), max_length=32, blank=True)
    active = models.BooleanField(_("active"), default=True)

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

    class Meta:
        verbose_name = _("sub-category")
        verbose_name_plural = _("sub-categories")
        ordering = ["code"]


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
        indexes = [
            models.Index(fields=["department", "status", "-issued_at"]),
            models.Index(fields=["status", "issued_at"]),
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
