"""Reads a read replica may serve (issue 43): the daily review, reports and quality figures.

PostgreSQL streaming replication gives a second server that answers reads a moment behind the primary. The
review and report pages read much and write little, and a few seconds' lag is nothing to them; the
dispatcher's queue, a department's inbox and every write need the primary. So nothing goes to the replica
unless a view says so (`replica_view`, or `replica_reads()` around the reads), and then only with
DATABASE_REPLICA_URL set (settings.REPLICA_READS) and outside a transaction: reads inside one stay with the
primary, which they must agree with.

`ReplicaRouter` (settings.DATABASE_ROUTERS) does the sending. Writes always go to the primary; migrations
run only there (the replica copies them)."""

from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.db import connections

REPLICA = "replica"
_reads = ContextVar("replica_reads", default=False)


@contextmanager
def replica_reads():
    token = _reads.set(True)
    try:
        yield
    finally:
        _reads.reset(token)


def replica_view(view):
    """A view whose GET reads the replica may serve (it renders inside, so its templates' queries go there too).
    A POST to it (a report generated, a review rebuilt) reads and writes the primary."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        with replica_reads():
            return view(request, *args, **kwargs)

    return wrapped


def reading_replica() -> bool:
    return (_reads.get() and settings.REPLICA_READS and REPLICA in settings.DATABASES
            and not connections["default"].in_atomic_block)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        return REPLICA if reading_replica() else None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data on both

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA
