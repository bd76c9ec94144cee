"""Models of the docking with the county 12345 platform (issue 40): the platform, each slip sent there, and
each event the platform sent back. Imported by diversion.models so they belong to the diversion app."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Platform(models.Model):
    """A 12345 platform (数管中心) the centre hands slips to: the slips of the departments reached through it
    are POSTed to `url`, signed with `secret`; its answers come back signed with the same secret to
    /api/v1/platforms/<code>/events/ and act through `user`, the platform's own account."""

    code = models.SlugField(_("code"), max_length=16, unique=True, help_text=_("Used in the inbound address."))
    name = models.CharField(_("name"), max_length=64)
    url = models.URLField(_("address for slips"), max_length=300)
    secret = models.CharField(_("shared secret"), max_length=128,
                              help_text=_("Signs the messages both ways (HMAC-SHA256); at least 16 characters."))
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.PROTECT,
                                related_name="platform",
                                limit_choices_to={"role": "platform"},
                                help_text=_("The account the platform's events act as (role: 12345 platform)."))
    all_departments = models.BooleanField(
        _("every department through it"), default=False,
        help_text=_("Every department's slips go to this platform, not only those set to it."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("12345 platform")
        verbose_name_plural = _("12345 platforms")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["all_departments"], condition=models.Q(all_departments=True, active=True),
                                    name="platform_one_for_all_departments"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class SlipDocking(models.Model):
    """One slip handed to a platform: the outbox message that carries it (its key is the payload's id), when
    the platform took the message (HTTP 2xx), when it acknowledged the slip (its first event on it), and the
    last delivery error. Failed = the message became a dead letter (core.outbox)."""

    slip = models.OneToOneField("diversion.HandoffSlip", verbose_name=_("slip"), on_delete=models.PROTECT,
                                related_name="docking")
    platform = models.ForeignKey(Platform, verbose_name=_("platform"), on_delete=models.PROTECT,
                                 related_name="dockings")
    key = models.CharField(_("message id"), max_length=64, unique=True)
    queued_at = models.DateTimeField(_("queued at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("slip sent to a platform")
        verbose_name_plural = _("slips sent to platforms")
        ordering = ["-queued_at"]

    def __str__(self):
        return f"{self.slip_id} → {self.platform_id}"


class PlatformEvent(models.Model):
    """One event the platform sent (accepted, returned, completed, callback, transfer), kept by its id: the
    same id again is answered with what the first did and changes nothing."""

    class Type(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        RETURNED = "returned", _("Returned")
        COMPLETED = "completed", _("Completed")
        CALLBACK = "callback", _("Callback")
        TRANSFER = "transfer", _("Call transferred to 110")

    platform = models.ForeignKey(Platform, verbose_name=_("platform"), on_delete=models.PROTECT,
                                 related_name="events")
    event_id = models.CharField(_("event id"), max_length=64)
    type = models.CharField(_("type"), max_length=12, choices=Type.choices)
    received_at = models.DateTimeField(_("received at"))
    slip = models.ForeignKey("diversion.HandoffSlip", verbose_name=_("slip"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="platform_events")
    call = models.ForeignKey("incidents.Call", verbose_name=_("call"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="platform_events")
    payload = models.JSONField(_("payload"), default=dict)
    answer = models.JSONField(_("answer"), default=dict)

    class Meta:
        verbose_name = _("platform event")
        verbose_name_plural = _("platform events")
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["platform", "event_id"], name="platform_event_once")]

    def __str__(self):
        return f"{self.platform_id}:{self.event_id} {self.type}"
