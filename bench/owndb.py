"""Each benchmark works in a database of its own, next to the one DATABASE_URL names, so it never touches
real data."""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def use_own_database(name: str, *, sqlite_ok: bool, fresh: bool = False) -> str:
    """Point DATABASE_URL at the database `name` and return its vendor ("postgresql" or "sqlite").

    On PostgreSQL the database is created beside DATABASE_URL's (dropped first when `fresh`). Without a
    PostgreSQL URL the benchmark uses var/<name>.sqlite3 if `sqlite_ok`, else it stops with a message."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        if not sqlite_ok:
            sys.exit(f"{Path(sys.argv[0]).name} needs PostgreSQL: set DATABASE_URL=postgres://… "
                     "(or use --quick where SQLite is allowed)")
        path = ROOT / "var" / f"{name}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            path.unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        return "sqlite"
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    return "postgresql"
