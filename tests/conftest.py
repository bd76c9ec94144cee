"""Fixed actors (healthchecks' hc/test.py style) so permission tests are one-liners, and helpers that
walk a call through the real services."""

import importlib
import os
import socket

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from core.models import Role
from diversion.models import Department, ReviewLayer
from incidents import services as call_services
from tests.factories import UnitFactory, UserFactory, call_data, category

# Playwright's sync API runs an event loop in the test thread; Django's ORM is used beside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool((marker is not None and marker.kwargs.get("transaction"))
                or {"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test (live server, concurrent connections, a real worker) ends by flushing every
    table, the catalog that a data migration loaded included. Load it again after the flush (this runs
    after all fixture teardowns), with the police signals and the routing defaults, for the tests that
    follow."""
    yield
    if nextitem is None or not _is_transactional(item):
        return  # after the last test the session's teardown has already dropped the test database
    from django.apps import apps
    from pytest_django.plugin import blocking_manager_key

    with item.config.stash[blocking_manager_key].unblock():
        if not Department.objects.exists():
            importlib.import_module("diversion.migrations.0003_default_catalog").load(apps, None)
            importlib.import_module("diversion.migrations.0005_routing_engine").add_defaults(apps, None)
            importlib.import_module("diversion.migrations.0007_default_police_signals").load(apps, None)
            importlib.import_module("diversion.migrations.0009_signal_exclusions").load(apps, None)


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (Chinese), whatever an earlier test activated."""
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The production hasher takes ~0.5 s per password by design; tests make many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _clear_cache():
    """Login and API throttle counts (core.throttle) start from nothing in every test."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _reset_routing_cache():
    from diversion import routing
    from grids import spatial

    # The compiled rules, grid index and gazetteer are cached per process; rows roll back between tests.
    routing.catalog_reset()
    spatial.reset()
    yield
    routing.catalog_reset()
    spatial.reset()


@pytest.fixture
def dept_a(db):
    """Department A: 生态环境局 (noise goes here by default)."""
    return Department.objects.get(code="STJ")


@pytest.fixture
def dept_b(db):
    """Department B: 城管局."""
    return Department.objects.get(code="CGJ")


@pytest.fixture
def dispatcher(db):
    return UserFactory(username="dispatcher", role=Role.DISPATCHER, first_name="接警员")


@pytest.fixture
def staff_a(db, dept_a):
    return UserFactory(username="staff_a", role=Role.DEPARTMENT, department=dept_a)


@pytest.fixture
def staff_b(db, dept_b):
    return UserFactory(username="staff_b", role=Role.DEPARTMENT, department=dept_b)


@pytest.fixture
def supervisor(db):
    return UserFactory(username="supervisor", role=Role.SUPERVISOR)


@pytest.fixture
def mediator(db):
    return UserFactory(username="mediator", role=Role.MEDIATOR)


@pytest.fixture
def outsider(db):
    """Logged in, but no role that reaches calls or slips."""
    return UserFactory(username="outsider", role=Role.ADMIN)


@pytest.fixture
def unit(db):
    return UnitFactory(code="P01", name="一号巡逻组")


# Review layers before a slip leaves (issue 40): the shift leaders' group, then any supervisor.
@pytest.fixture
def leaders(db):
    return Group.objects.create(name="值班长")


@pytest.fixture
def leader(leaders):
    """A shift leader: a dispatcher in the 值班长 group."""
    user = UserFactory(username="leader", role=Role.DISPATCHER, first_name="值班长")
    user.groups.add(leaders)
    return user


@pytest.fixture
def two_layers(db, leaders):
    """Layer 1: the shift leaders' group (值班长), 10 minutes; layer 2: any supervisor (值班指挥长), 15 minutes."""
    return [ReviewLayer.objects.create(position=1, name_zh="值班长", name_en="Shift leader", group=leaders,
                                       time_limit_minutes=10),
            ReviewLayer.objects.create(position=2, name_zh="值班指挥长", name_en="Duty commander",
                                       role=Role.SUPERVISOR, time_limit_minutes=15)]


@pytest.fixture
def make_call(db, dispatcher):
    def make(**overrides):
        return call_services.call_intake(actor=dispatcher, data=call_data(**overrides)).call

    return make


@pytest.fixture
def make_slip(make_call, dispatcher, dept_a):
    """A call diverted to department A (C01 noise) on a fresh slip."""

    def make(code="C01", department=None, **call_overrides):
        call = make_call(**call_overrides)
        return call_services.call_divert(actor=dispatcher, call_pk=call.pk, category=category(code),
                                         department=department or dept_a)

    return make


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _require(condition: bool, why: str):
    """Skip locally when a real component is missing; in CI a missing component is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must run this test, but {why}")
        pytest.skip(why)


@pytest.fixture
def require_postgres():
    _require(settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
             "the suite is not running on PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def redis_url():
    from urllib.parse import urlsplit

    url = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    parts = urlsplit(url)
    _require(parts.scheme == "redis" and _reachable(parts.hostname or "127.0.0.1", parts.port or 6379),
             f"no Redis at {url}")
    return url


def _broker_pool_reset():
    """Make the app look its broker pools up again: a pool keeps the URL it was made with. (Kombu keeps one
    pool per URL, so the pool of the real broker is found again afterwards, still open.)"""
    from config.celery import app

    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down(settings):
    """This process publishes to a port where nothing listens, as when Redis is down (tasks not eager)."""
    from config.celery import app
    from core import outbox

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    _broker_pool_reset()
    outbox.wake_reset()
    yield
    app.conf.broker_url = old
    _broker_pool_reset()
    outbox.wake_reset()
