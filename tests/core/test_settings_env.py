import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Variables the settings module reads that could leak in from the shell or CI and change the outcome.
_SETTINGS_VARS = ("DATABASE_URL", "TIME_ZONE", "DEBUG", "CELERY_BROKER_URL", "REDIS_URL", "DB_CONN_MAX_AGE",
                  "LIVE_REDIS_URL", "LIVE_PREFIX", "DATABASE_REPLICA_URL")


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), (" Yes ", True), ("ON", True),
                                               ("0", False), ("false", False), ("no", False), ("off", False),
                                               ("", False)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FENLIU_TEST_FLAG", raw)
    assert env_bool("FENLIU_TEST_FLAG", not expected) is expected


def test_env_bool_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("FENLIU_TEST_FLAG", raising=False)
    assert env_bool("FENLIU_TEST_FLAG", True) is True
    assert env_bool("FENLIU_TEST_FLAG", False) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled"])
def test_env_bool_rejects_anything_else(monkeypatch, raw):
    monkeypatch.setenv("FENLIU_TEST_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="FENLIU_TEST_FLAG"):
        env_bool("FENLIU_TEST_FLAG", False)


def test_env_int_reads_an_integer(monkeypatch):
    monkeypatch.setenv("FENLIU_TEST_INT", " 42 ")
    assert env_int("FENLIU_TEST_INT", 1, minimum=1) == 42


def test_env_int_uses_the_default_when_unset_or_empty(monkeypatch):
    monkeypatch.delenv("FENLIU_TEST_INT", raising=False)
    assert env_int("FENLIU_TEST_INT", 7) == 7
    monkeypatch.setenv("FENLIU_TEST_INT", "  ")
    assert env_int("FENLIU_TEST_INT", 7) == 7


@pytest.mark.parametrize("raw", ["abc", "1.5", "3 minutes"])
def test_env_int_rejects_what_is_not_an_integer(monkeypatch, raw):
    monkeypatch.setenv("FENLIU_TEST_INT", raw)
    with pytest.raises(ImproperlyConfigured, match="must be an integer"):
        env_int("FENLIU_TEST_INT", 1)


def test_env_int_rejects_a_value_below_the_minimum(monkeypatch):
    monkeypatch.setenv("FENLIU_TEST_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("FENLIU_TEST_INT", 5, minimum=1)


def test_env_int_accepts_the_minimum_itself(monkeypatch):
    monkeypatch.setenv("FENLIU_TEST_INT", "1")
    assert env_int("FENLIU_TEST_INT", 5, minimum=1) == 1


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("FENLIU_TEST_LIST", " a.example, ,b.example,")
    assert env_list("FENLIU_TEST_LIST", ["x"]) == ["a.example", "b.example"]
    monkeypatch.delenv("FENLIU_TEST_LIST")
    assert env_list("FENLIU_TEST_LIST", ["x"]) == ["x"]


def test_env_str_falls_back_to_the_default(monkeypatch):
    monkeypatch.delenv("FENLIU_TEST_STR", raising=False)
    assert env_str("FENLIU_TEST_STR", "d") == "d"


def _load_settings(tmp_path, code: str, **env) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter, as a web or worker process would at start-up."""
    clean = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARS}
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", FENLIU_VAR_DIR=str(tmp_path / "var"), **env)
    script = "import django; django.setup(); from django.conf import settings; " + code
    return subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=clean, capture_output=True,
                          text=True, timeout=60)


def test_a_sqlite_database_url_gives_the_sqlite_engine(tmp_path):
    db = tmp_path / "x.db"
    proc = _load_settings(tmp_path, "d = settings.DATABASES['default']; print(d['ENGINE'], d['NAME'])",
                          DATABASE_URL=f"sqlite:///{db}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["django.db.backends.sqlite3", str(db)]


def test_a_postgres_database_url_gives_the_postgresql_engine(tmp_path):
    proc = _load_settings(
        tmp_path, "d = settings.DATABASES['default']; print(d['ENGINE'], d['NAME'], d['HOST'], d['PORT'])",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/x",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["django.db.backends.postgresql", "x", "127.0.0.1", "5432"]


def test_a_web_process_keeps_its_connection_and_checks_it_before_reuse(tmp_path):
    show = "d = settings.DATABASES['default']; print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    wsgi = _load_settings(tmp_path, show, DATABASE_URL="postgres://postgres@127.0.0.1:5432/x")
    assert wsgi.returncode == 0, wsgi.stderr
    assert wsgi.stdout.split() == ["300", "True"]
    # The ASGI entry point (daphne) keeps none: each async request's sync work runs in a thread of its own.
    clean = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARS}
    asgi = subprocess.run([sys.executable, "-c", "import config.asgi; from django.conf import settings; " + show],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
                          env={**clean, "FENLIU_VAR_DIR": str(tmp_path / "var"),
                               "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x"})
    assert asgi.returncode == 0, asgi.stderr
    assert asgi.stdout.split()[:1] == ["0"]


def test_a_replica_url_adds_the_replica_and_turns_its_reads_on(tmp_path):
    show = "r = settings.DATABASES['replica']; print(r['HOST'], r['NAME'], settings.REPLICA_READS)"
    with_replica = _load_settings(tmp_path, show, DATABASE_URL="postgres://postgres@127.0.0.1:5432/x",
                                  DATABASE_REPLICA_URL="postgres://postgres@10.0.0.2:5432/x")
    assert with_replica.returncode == 0, with_replica.stderr
    assert with_replica.stdout.split() == ["10.0.0.2", "x", "True"]
    without = _load_settings(tmp_path, show, DATABASE_URL="postgres://postgres@127.0.0.1:5432/x")
    assert without.stdout.split() == ["127.0.0.1", "x", "False"]


def test_long_jobs_go_to_queues_of_their_own_when_asked(tmp_path):
    show = ("from config.celery import app; route = app.amqp.router.route; "
            "print(*[route({}, name)['queue'].name for name in ('incidents.review.tasks.daily_reviews_backfill', "
            "'incidents.tasks.calls_import_run', 'diversion.tasks.routing_model_train', 'core.tasks.outbox_relay')])")
    by_job = _load_settings(tmp_path, show, CELERY_QUEUES_BY_JOB="1")
    assert by_job.returncode == 0, by_job.stderr
    assert by_job.stdout.split() == ["review", "imports", "training", "celery"]
    one = _load_settings(tmp_path, show)
    assert one.stdout.split() == ["celery"] * 4


def test_without_a_database_url_it_uses_the_embedded_sqlite_file(tmp_path):
    proc = _load_settings(tmp_path, "d = settings.DATABASES['default']; print(d['ENGINE'], d['NAME'])")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["django.db.backends.sqlite3", str(tmp_path / "var" / "fenliu.sqlite3")]


def test_an_unknown_time_zone_fails_loudly(tmp_path):
    proc = _load_settings(tmp_path, "print(settings.TIME_ZONE)", TIME_ZONE="Not/AZone")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "Not/AZone" in proc.stderr


def test_a_bad_boolean_in_the_environment_stops_start_up(tmp_path):
    proc = _load_settings(tmp_path, "print(settings.DEBUG)", DEBUG="maybe")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "DEBUG" in proc.stderr


def test_a_database_url_it_does_not_understand_stops_start_up(tmp_path):
    proc = _load_settings(tmp_path, "print(settings.DATABASES)", DATABASE_URL="nosuchdb://h/x")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "DATABASE_URL" in proc.stderr


def test_an_outbox_lease_shorter_than_two_delivery_timeouts_is_refused(tmp_path):
    proc = _load_settings(tmp_path, "print(settings.OUTBOX_LEASE_SECONDS)", OUTBOX_LEASE_SECONDS="30",
                          EMAIL_TIMEOUT="20")
    assert proc.returncode != 0
    assert "OUTBOX_LEASE_SECONDS must be at least twice" in proc.stderr
    proc = _load_settings(tmp_path, "print(settings.OUTBOX_LEASE_SECONDS)", OUTBOX_LEASE_SECONDS="40",
                          EMAIL_TIMEOUT="20")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "40"


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "channels.layers.InMemoryChannelLayer"),  # the embedded demo: no Redis needed
    ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, "channels_redis.pubsub.RedisPubSubChannelLayer"),
    ({"LIVE_REDIS_URL": "redis://127.0.0.1:6379/3"}, "channels_redis.pubsub.RedisPubSubChannelLayer"),
])
def test_the_live_channel_uses_redis_when_there_is_one_and_memory_otherwise(tmp_path, env, expected):
    proc = _load_settings(tmp_path, "print(settings.CHANNEL_LAYERS['default']['BACKEND'])", **env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected


def test_a_live_redis_url_that_is_not_redis_stops_start_up(tmp_path):
    proc = _load_settings(tmp_path, "print(1)", LIVE_REDIS_URL="http://127.0.0.1:6379")
    assert proc.returncode != 0 and "LIVE_REDIS_URL must be a redis:// URL" in proc.stderr
