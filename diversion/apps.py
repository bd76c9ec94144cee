from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DiversionConfig(AppConfig):
    name = "diversion"
    verbose_name = _("Diversion")

    def ready(self):
        from core.labels import register

        from . import signals  # noqa: F401
        from .models import AccountabilityRecord, Callback, NoticeKind, SlipStatus

        # The keys of this app's stored figures, as people read them (core.labels).
        register("notice", NoticeKind)
        register("accountability", AccountabilityRecord.Kind)
        register("callback_channel", Callback.Channel)
        register("resolved", Callback.Resolved)
        register("slip_status", SlipStatus)
        register("slip_totals", {"issued": _("Slips issued"), "accepted": _("Slips accepted"),
                                 "completed": _("Slips completed"), "overdue": _("Slips overdue"),
                                 "overdue_open": _("Overdue and still open"), "returned": _("Slips returned"),
                                 "reopened": _("Slips reopened")})
