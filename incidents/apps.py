from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _review_backfill_after_migrate(sender, using, plan=None, **kwargs):
    """After `migrate`: past days that have calls and no daily review get one, in a worker (issue 38). Not
    after a migration backwards, where the tables may be gone."""
    from django.db import connections

    from core.models import OutboxMessage

    from .models import Call, DailyReview

    tables = set(connections[using].introspection.table_names())
    needed = {Call._meta.db_table, DailyReview._meta.db_table, OutboxMessage._meta.db_table}
    if using != "default" or not needed <= tables:
        return
    if plan and any(backwards for _migration, backwards in plan):
        return
    from .review.services import review_backfill_queue

    review_backfill_queue("migrate")


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Calls")

    def ready(self):
        post_migrate.connect(_review_backfill_after_migrate, sender=self,
                             dispatch_uid="incidents.review_backfill_after_migrate")
        from core.labels import register

        from .review.presenters import COMPARE_LABELS, TREND_LABELS, WINDOW_LABELS

        # The keys of the daily review's stored figures, as people read them (core.labels).
        register("compare", dict(COMPARE_LABELS))
        register("window", dict(WINDOW_LABELS))
        register("trend", TREND_LABELS)
