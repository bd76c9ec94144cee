from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DiversionConfig(AppConfig):
    name = "diversion"
    verbose_name = _("Diversion")

    def ready(self):
        from . import signals  # noqa: F401
