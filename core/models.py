from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DISPATCHER = "dispatcher", _("Dispatcher")
    DEPARTMENT = "department", _("Department staff")
    SUPERVISOR = "supervisor", _("Supervisor")
    MEDIATOR = "mediator", _("Mediator")
    ADMIN = "admin", _("Administrator")
    WALLBOARD = "wallboard", _("Wall screen")
    UNIT = "unit", _("Police unit (phone)")
    # The 12345 platform's own account (issue 40): its signed events act through it, never a login.
    PLATFORM = "platform", _("12345 platform (system)")


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.DISPATCHER)
    department = models.ForeignKey(
        "diversion.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
        help_text=_("Required for department staff: they see only this department's slips."),
    )
    # A patrol group's or workstation's login on its phone (issue 37): it sees its own unit's calls only.
    unit = models.ForeignKey(
        "grids.Unit",
        verbose_name=_("police unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="logins",
        help_text=_("Required for a police unit's login: it sees and stamps only this unit's calls."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="department") | models.Q(department__isnull=False),
                name="department_staff_have_department",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="unit") | models.Q(unit__isnull=False),
                name="unit_login_has_unit",
                violation_error_message=_("A police unit's login needs its unit."),
            ),
        ]

    def has_role(self, *roles: str) -> bool:
        """A superuser holds every role; an administrator role only what admin pages need."""
        if not self.is_active:
            return False
        return self.is_superuser or self.role in roles


class AuditAction(models.TextChoices):
    CALL_INTAKE = "call_intake", _("Call received")
    CALL_CLASSIFY = "call_classify", _("Classified")
    CALL_STATUS = "call_status", _("Call status")
    CALL_GRID = "call_grid", _("Grid set")
    SLIP_STATUS = "slip_status", _("Slip status")
    CALLBACK = "callback", _("Callback recorded")
    PHONE_REVEALED = "phone_revealed", _("Full phone number shown")
    EXPORTED = "exported", _("Exported")
    CALLERS_ANONYMISED = "callers_anonymised", _("Callers anonymised")
    # Supervision
    NOTICE_STATUS = "notice_status", _("Notice status")
    NOTICE_READ = "notice_read", _("Notice read")
    MEETING_STATUS = "meeting_status", _("Joint meeting status")
    MEETING_ACTION = "meeting_action", _("Joint meeting action")
    ACCOUNTABILITY = "accountability", _("Accountability recorded")
    REPORT = "report", _("Report generated")
    # Grids and police units
    GRID_IMPORT = "grid_import", _("Grids imported")
    HOTSPOT_STATUS = "hotspot_status", _("Hotspot case status")
    HOTSPOT_ACTION = "hotspot_action", _("Hotspot action")
    POLICE_ARRIVE = "police_arrive", _("Police unit arrived")
    PATROL_CHECK_IN = "patrol_check_in", _("Patrol check-in")
    # The unit's phone page (issue 37)
    POLICE_EN_ROUTE = "police_en_route", _("Police unit on the way")
    POLICE_FINISH = "police_finish", _("Police unit finished")
    POLICE_PUSH = "police_push", _("Call pushed to a workstation")
    PLACES_IMPORT = "places_import", _("Addresses imported")
    CALLS_IMPORT_QUEUED = "calls_import_queued", _("Call import started")
    CALLS_IMPORT = "calls_import", _("Calls imported")
    # Mediation
    DISPUTE_STATUS = "dispute_status", _("File status")
    DISPUTE_ASSIGN = "dispute_assign", _("Mediator assigned")
    DISPUTE_PARTY = "dispute_party", _("Party added")
    DISPUTE_TRIAGE = "dispute_triage", _("Complexity decided")
    DISPUTE_PLAN = "dispute_plan", _("Plan written")
    DISPUTE_SESSION = "dispute_session", _("Session recorded")
    DISPUTE_FOLLOWUP = "dispute_followup", _("Follow-up visit")
    DISPUTE_CALL_LINK = "dispute_call_link", _("Call linked automatically")
    # Routing
    ROUTING_MODEL_TRAINED = "routing_model_trained", _("Routing model trained")
    ROUTING_MODEL_ACTIVATED = "routing_model_activated", _("Routing model activated")
    ROUTING_RETRAIN_REQUESTED = "routing_retrain_requested", _("Routing models' training requested")
    POLICE_WORD_ADDED = "police_word_added", _("Police signal word added")
    # Claims on calls (issue 36)
    CALL_CLAIM = "call_claim", _("Call claimed")
    CALL_RELEASE = "call_release", _("Call released")
    CALL_TAKE_OVER = "call_take_over", _("Call taken over")
    # Review layers before a slip leaves (issue 40)
    REVIEW_STATUS = "review_status", _("Review before issue")
    REVIEW_DECISION = "review_decision", _("Review layer decided")
    REVIEW_OVERDUE = "review_overdue", _("Review layer overdue")
    # Open311 GeoReport v2 (issue 41)
    OPEN311_KEY_ISSUED = "open311_key_issued", _("Open311 api_key issued")
    OPEN311_REPORT = "open311_report", _("Report from an Open311 partner")
    # Outbox
    OUTBOX_RETRY = "outbox_retry", _("Outbox message retried")
    OUTBOX_DISCARD = "outbox_discard", _("Outbox message discarded")


class AuditLog(models.Model):
    """One row per state change or sensitive read: who, when, what, from, to, why."""

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, verbose_name=_("actor"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(_("action"), max_length=48, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=32)
    object_id = models.BigIntegerField(_("object id"))
    # The call this row belongs to, so a call's timeline is one indexed query.
    call = models.ForeignKey(
        "incidents.Call", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_rows"
    )
    from_state = models.CharField(_("from"), max_length=24, blank=True)
    to_state = models.CharField(_("to"), max_length=24, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit row")
        verbose_name_plural = _("audit log")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["object_type", "object_id", "at"]),
                   # Rare actions read newest first over the whole log (reveals and exports, for supervisors).
                   models.Index(fields=["action", "-at"], name="audit_action_at")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"

    @property
    def reason_display(self) -> str:
        """The reason in the reader's language when the system wrote it (core.audit.Reason); what a person
        typed, as typed."""
        from .audit import REASON_KEY, Reason

        stored = (self.data or {}).get(REASON_KEY)
        return Reason.render(stored) if stored else self.reason


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting delivery")
    DELIVERED = "delivered", _("Delivered")
    DEAD = "dead", _("Dead letter")
    DISCARDED = "discarded", _("Discarded")


class OutboxMessage(models.Model):
    """One side effect (an e-mail, a task, a message to another system), written in the same transaction
    as the change that causes it and delivered after commit by the relay (core.outbox), at least once.

    A waiting message is due at `next_attempt_at`. The relay claims a message by moving `next_attempt_at`
    a lease into the future, so a relay that dies mid-delivery leaves it due again when the lease ends."""

    kind = models.CharField(_("kind"), max_length=48)
    key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=12, choices=OutboxStatus.choices,
                              default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering = ["-id"]
        indexes = [
            # The relay's claim: waiting messages in due order. Partial, so delivered rows cost nothing.
            models.Index(fields=["next_attempt_at", "id"], name="outbox_due",
                         condition=models.Q(status="pending")),
            models.Index(fields=["status", "created_at"], name="outbox_status_created"),
        ]

    def __str__(self):
        return f"{self.kind} {self.key}"


# --- Webhooks to the 110 system (issue 40) -----------------------------------------------------------------

class WebhookEvent(models.TextChoices):
    CALL_STATUS = "call.status", _("Call status changed")
    SLIP_STATUS = "slip.status", _("Slip status changed")


def _all_webhook_events() -> list[str]:
    return list(WebhookEvent.values)


class WebhookSubscriber(models.Model):
    """A system (the 110 system, a department's own) that is told of call and slip status changes: each change
    is POSTed to `url` as signed JSON (core.signing) through the outbox, retried, then a dead letter."""

    name = models.CharField(_("name"), max_length=64)
    url = models.URLField(_("address"), max_length=300)
    secret = models.CharField(_("shared secret"), max_length=128,
                              help_text=_("Signs every message (HMAC-SHA256); at least 16 characters."))
    events = models.JSONField(_("event types"), default=_all_webhook_events,
                              help_text=_("Any of: call.status, slip.status."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("webhook subscriber")
        verbose_name_plural = _("webhook subscribers")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        if not isinstance(self.events, list) or not self.events or \
                any(e not in WebhookEvent.values for e in self.events):
            raise ValidationError({"events": _("A list of event types: %(types)s.") % {
                "types": ", ".join(WebhookEvent.values)}})
        if len(self.secret or "") < 16:
            raise ValidationError({"secret": _("At least 16 characters.")})


class WebhookDelivery(models.Model):
    """One event for one subscriber: the subscriber's delivery log. The message itself waits in the outbox
    (its key is `key`); attempts, the last error and the delivery time are kept here as they happen."""

    subscriber = models.ForeignKey(WebhookSubscriber, verbose_name=_("subscriber"), on_delete=models.CASCADE,
                                   related_name="deliveries")
    event = models.CharField(_("event type"), max_length=16, choices=WebhookEvent.choices)
    key = models.CharField(_("message id"), max_length=64, unique=True)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subscriber", "-created_at"])]

    def __str__(self):
        return f"{self.subscriber_id} {self.event} {self.key}"
