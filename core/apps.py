from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Users and audit")

    def ready(self):
        from . import throttle  # noqa: F401  (connects the failed-login counter by address)
