"""The base of the project's management commands: one that finds the database unmigrated says so and
stops, instead of failing later with a missing-table traceback."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _


class MigratedCommand(BaseCommand):
    requires_migrations_checks = True

    def check_migrations(self):
        try:
            executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            raise CommandError(_("Cannot read the database (%(error)s): check DATABASE_URL, then run manage.py "
                                 "migrate first.") % {"error": exc}) from None
        if pending:
            raise CommandError(_("The database is not migrated (%(count)d migrations pending): run manage.py "
                                 "migrate first.") % {"count": len(pending)})
