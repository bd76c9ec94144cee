"""Models of the Open311 GeoReport v2 interface (issue 41): the systems that use it, each with its own key,
and the reports partners posted, kept by the partner's own id. Imported by diversion.models so they belong to
the diversion app."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def key_hash(key: str) -> str:
    """Keys are random (secrets.token_urlsafe), so a plain SHA-256 of one is enough to find it and shows
    nothing of it: the database holds only the hash."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Open311Client(models.Model):
    """A system that uses /open311/v2/ with its api_key. A department's case system reads that department's
    slips (never another's); a partner (a city app, a website) posts reports, which become calls in the
    dispatchers' queue, and reads what became of them, through `user`, its own system account."""

    class Kind(models.TextChoices):
        DEPARTMENT = "department", _("Department's case system (reads its slips)")
        PARTNER = "partner", _("Partner (posts reports, reads their status)")

    code = models.SlugField(_("code"), max_length=16, unique=True,
                            help_text=_("Short name, part of the ids of the partner's reports."))
    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    department = models.ForeignKey("diversion.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="open311_clients",
                                   help_text=_("Required for a department's case system: the only slips it reads."))
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("account"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="open311_client", editable=False,
                                help_text=_("The system account a partner's reports are entered as."))
    key_prefix = models.CharField(_("key begins"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    key_issued_at = models.DateTimeField(_("key issued at"), null=True, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("Open311 client")
        verbose_name_plural = _("Open311 clients")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="department", department__isnull=False)
                           | Q(kind="partner", department__isnull=True)),
                name="open311_department_key_names_its_department",
                violation_error_message=_("A department's case system names its department; a partner names "
                                          "none.")),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def new_key(self) -> str:
        """Set a fresh key and return it: the only time it is shown. The old key stops working on save."""
        key = secrets.token_urlsafe(24)
        self.key_prefix, self.key_hash = key[:8], key_hash(key)
        return key


class Open311Report(models.Model):
    """A report a partner posted: its own id, the call it became. The same id again from the same partner is
    answered with this call and writes nothing."""

    client = models.ForeignKey(Open311Client, verbose_name=_("partner"), on_delete=models.PROTECT,
                               related_name="reports")
    partner_request_id = models.CharField(_("partner's own id"), max_length=40)
    call = models.OneToOneField("incidents.Call", verbose_name=_("call"), on_delete=models.PROTECT,
                                related_name="open311_report")
    service = models.ForeignKey("diversion.Category", verbose_name=_("service named by the partner"),
                                on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("received at"))
    # What the specification lets a partner send that a call has no field for: kept, shown with the call.
    email = models.EmailField(_("reporter's e-mail"), blank=True)
    account_id = models.CharField(_("reporter's account with the partner"), max_length=64, blank=True)
    device_id = models.CharField(_("reporter's device"), max_length=64, blank=True)
    media_url = models.URLField(_("photo or video"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("Open311 report")
        verbose_name_plural = _("Open311 reports")
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["client", "partner_request_id"],
                                               name="open311_report_once_per_partner_id")]

    def __str__(self):
        return f"{self.client_id}:{self.partner_request_id}"
