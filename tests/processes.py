"""Real processes beside the tests (a Celery worker, an ASGI server) on the test database."""

import os
import signal
import subprocess
from urllib.parse import quote

from django.db import connection


def test_database_url() -> str:
    """The test database as a DATABASE_URL, for a process started by a test (it sees committed rows only)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def process_stop(proc: subprocess.Popen, *, grace: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `grace` seconds. A process started in a session of
    its own (start_new_session=True) goes with everything it started: a worker's embedded beat is a child
    that would otherwise outlive a crashed worker and send its schedule for the rest of the run."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    _kill_group(proc)


def process_crash(proc: subprocess.Popen) -> None:
    """SIGKILL the process and all it started (no warm shutdown anywhere): a crash."""
    _kill_group(proc)
    proc.wait(timeout=10)


def _kill_group(proc: subprocess.Popen) -> None:
    # Started with start_new_session, the process leads a group numbered by its pid, which outlives it
    # while a child is left; otherwise no such group exists and nothing happens.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
