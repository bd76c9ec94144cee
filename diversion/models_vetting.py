"""Models of the review layers a diverted call passes before its slip leaves (四层审核把关, issue 40): the
centre's layers, one review per diversion, one step per layer of it. Imported by diversion.models so they
belong to the diversion app."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import Role
from core.states import StateMachine

from .models import BilingualName  # defined before diversion.models imports this module

MAX_REVIEW_LAYERS = 4


class ReviewLayer(BilingualName):
    """One layer of the centre's review before a slip leaves: who decides it (a role, or a named group such
    as 值班长 or 值班指挥长) and how long it may take. The active layers, in position order, are the review;
    with none active a diverted call's slip is issued at once."""

    position = models.PositiveSmallIntegerField(
        _("position"), unique=True, help_text=_("1 is reviewed first. At most four layers are active."))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, blank=True,
                            help_text=_("Everyone holding this role may decide the layer."))
    group = models.ForeignKey("auth.Group", verbose_name=pgettext_lazy("users", "group"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+",
                              help_text=_("Or: the members of this group decide the layer."))
    time_limit_minutes = models.PositiveIntegerField(
        _("time limit (minutes)"), default=15,
        help_text=_("A call waiting longer than this in the layer is overdue and raises a warning."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("review layer")
        verbose_name_plural = _("review layers")
        ordering = ["position"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(role="") | models.Q(group__isnull=False),
                                   name="review_layer_has_role_or_group"),
            models.CheckConstraint(condition=models.Q(position__gte=1), name="review_layer_position_from_1"),
            models.CheckConstraint(condition=models.Q(time_limit_minutes__gte=1),
                                   name="review_layer_time_limit_positive"),
        ]

    def __str__(self):
        return f"{self.position}. {self.name}"

    def clean(self):
        if not self.role and not self.group_id:
            raise ValidationError(_("Choose the role or the group that decides this layer."))
        if self.active:
            others = ReviewLayer.objects.filter(active=True).exclude(pk=self.pk).count()
            if others >= MAX_REVIEW_LAYERS:
                raise ValidationError(_("At most %(n)s review layers can be active.") % {"n": MAX_REVIEW_LAYERS})


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("In review")
    APPROVED = "approved", _("Approved, slip issued")
    SENT_BACK = "sent_back", _("Sent back")


REVIEW_TRANSITIONS = StateMachine(
    _("Review"),
    {ReviewStatus.PENDING: [ReviewStatus.APPROVED, ReviewStatus.SENT_BACK],
     ReviewStatus.APPROVED: [], ReviewStatus.SENT_BACK: []},
)


class SlipReview(models.Model):
    """One diversion waiting for the centre's review: the slip the dispatcher asked for (sub-category,
    department, instructions), issued when the last layer approves, never if a layer sends it back."""

    class Mode(models.TextChoices):
        SERIES = "series", _("One layer after another")
        PARALLEL = "parallel", _("All layers at once")

    call = models.ForeignKey("incidents.Call", verbose_name=_("call"), on_delete=models.PROTECT,
                             related_name="reviews")
    category = models.ForeignKey("diversion.Category", verbose_name=_("sub-category"), on_delete=models.PROTECT,
                                 related_name="+")
    department = models.ForeignKey("diversion.Department", verbose_name=_("department"),
                                   on_delete=models.PROTECT, related_name="+")
    instructions = models.TextField(_("instructions to the department"), blank=True)
    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices, default=Mode.SERIES)
    status = models.CharField(_("status"), max_length=12, choices=ReviewStatus.choices,
                              default=ReviewStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("diverted by"),
                                     on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("diverted at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    slip = models.OneToOneField("diversion.HandoffSlip", verbose_name=_("slip"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="review")

    class Meta:
        verbose_name = _("review before issue")
        verbose_name_plural = _("reviews before issue")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One live review per call: a second diversion of the same call waits for this one to end.
            models.UniqueConstraint(fields=["call"], condition=models.Q(status="pending"),
                                    name="review_one_pending_per_call"),
        ]

    def __str__(self):
        return f"{self.call_id} → {self.department_id} ({self.get_status_display()})"


class ReviewStep(models.Model):
    """One layer's part of one review. In series only the first undecided step is open (it has `opened_at`
    and `due_at`); in parallel all are open from the start."""

    class Outcome(models.TextChoices):
        APPROVED = "approved", _("Approved")
        SENT_BACK = "sent_back", _("Sent back")

    review = models.ForeignKey(SlipReview, verbose_name=_("review"), on_delete=models.CASCADE,
                               related_name="steps")
    layer = models.ForeignKey(ReviewLayer, verbose_name=_("layer"), on_delete=models.PROTECT, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"))
    opened_at = models.DateTimeField(_("waiting since"), null=True, blank=True)
    due_at = models.DateTimeField(_("due by"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    warned_at = models.DateTimeField(_("overdue warning raised at"), null=True, blank=True)

    class Meta:
        verbose_name = _("review step")
        verbose_name_plural = _("review steps")
        ordering = ["review", "position"]
        constraints = [
            models.UniqueConstraint(fields=["review", "layer"], name="review_step_one_per_layer"),
            models.CheckConstraint(condition=~models.Q(outcome="sent_back") | ~models.Q(reason=""),
                                   name="review_step_sent_back_has_reason"),
        ]
        indexes = [models.Index(fields=["layer", "outcome", "due_at"])]

    def __str__(self):
        return f"{self.review_id}/{self.position} {self.outcome or '…'}"

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None and not self.outcome
