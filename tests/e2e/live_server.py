"""A real ASGI server process (daphne) against the test database, for the pages that need the live channel:
pytest-django's live server speaks WSGI only, without WebSockets."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from tests.processes import process_stop, test_database_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAPHNE = PROJECT_ROOT / ".venv" / "bin" / "daphne"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def asgi_server(tmp_path: Path, *, env: dict | None = None, start_seconds: float = 40):
    """Start daphne on a free port with the test database and `env`; yield its base URL; always stop it."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "FENLIU_VAR_DIR": str(tmp_path / "var"),
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "LOGIN_THROTTLING": "0",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    command = [str(DAPHNE) if DAPHNE.exists() else sys.executable, *([] if DAPHNE.exists() else ["-m", "daphne"]),
               "-b", "127.0.0.1", "-p", str(port), "--ping-interval", "10", "--ping-timeout", "20",
               "config.asgi:application"]
    log_path = tmp_path / f"daphne-{port}.log"
    with open(log_path, "w+") as log:
        proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + start_seconds
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the server exited:\n{log_path.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"{url}/health/", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the server did not answer:\n{log_path.read_text()[-3000:]}") from None
                    time.sleep(0.2)
            yield url
        finally:
            process_stop(proc, grace=10)
