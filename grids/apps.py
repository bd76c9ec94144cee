from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridsConfig(AppConfig):
    name = "grids"
    verbose_name = _("Grids and units")

    def ready(self):
        from django.db import transaction
        from django.db.models.signals import post_delete, post_save

        from . import spatial
        from .models import Grid, GridImport, Place

        def forget(**_kwargs):
            """This process sees its own change at once (and again after commit, in case another thread
            rebuilt from the old rows meanwhile); other processes within GRID_CHECK_SECONDS. The bulk imports
            write no signal per row: their GridImport record stands for them."""
            spatial.reset()
            transaction.on_commit(spatial.reset)

        for model in (Grid, Place, GridImport):
            post_save.connect(forget, sender=model, weak=False, dispatch_uid=f"spatial-reset-save-{model.__name__}")
            post_delete.connect(forget, sender=model, weak=False,
                                dispatch_uid=f"spatial-reset-delete-{model.__name__}")
