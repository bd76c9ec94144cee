"""Fenliu settings. Every value comes from the environment; the defaults give the embedded demo
(SQLite file, a file-based Celery broker, console e-mail)."""

import re
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_pair, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FENLIU_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("FENLIU_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("SECRET_KEY must be set")
    SECRET_KEY = "fenliu-embedded-demo-key-not-for-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",  # the ASGI server: `runserver` serves pages and the live channel (issue 36)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
    "channels",
    "axes",
    "csp",
    "core",
    "grids",
    "diversion",
    "incidents",
    "mediation",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.LanguageMiddleware",
    "core.middleware.RefuseNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "core.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "core.context_processors.navigation",
                "diversion.context_processors.reviews",
            ],
        },
    },
]

# --- Database: SQLite file unless DATABASE_URL says otherwise -------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    try:
        # A worker keeps its connection across requests (a new PostgreSQL connection costs about as much as
        # an intake's queries), checked before reuse so a restarted database costs one failed check, not a
        # failed request. The ASGI entry point (daphne) sets 0: Django keeps no connection across async
        # requests' threads.
        _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 300, minimum=0),
                                    conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL this app understands: {exc}") from None
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "fenliu.sqlite3")}
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker) share the file: wait for locks instead of failing at once.
    _db.setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    # A file, not memory, for the test database: the browser tests' live server thread and the test
    # thread then use separate connections instead of one shared in-memory database that locks.
    _db.setdefault("TEST", {"NAME": str(VAR_DIR / "test.sqlite3")})
DATABASES = {"default": _db}
# A read replica for the review and report pages (core.replica): DATABASE_REPLICA_URL names it. Without one the
# alias still exists (the same database, never used: REPLICA_READS is false), so code and tests see one shape.
# Tests mirror it onto the test database.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
REPLICA_READS = bool(DATABASE_REPLICA_URL)
if DATABASE_REPLICA_URL:
    try:
        _replica = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=_db.get("CONN_MAX_AGE", 0),
                                         conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URL is not a database URL this app understands: {exc}") from None
else:
    _replica = {**_db}
DATABASES["replica"] = {**_replica, "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: login and API throttle counts. Local memory (one process) unless CACHE_URL names a Redis
# database, which production sets so that every web process counts together (not the broker's database).
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL; got {CACHE_URL!r}")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
                      "KEY_PREFIX": "fenliu"} if CACHE_URL else
          {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fenliu"}}

AUTHENTICATION_BACKENDS = [
    "core.throttle.AddressThrottleBackend",
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- HTTPS, cookies and sessions -------------------------------------------------------------------
# Off in the embedded demo (plain HTTP on 127.0.0.1); a production deployment behind HTTPS sets them (README,
# "Production"): each variable is named as the Django setting it sets.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
# The header by which the proxy in front says the request came over HTTPS: "HTTP_X_FORWARDED_PROTO,https".
SECURE_PROXY_SSL_HEADER = env_pair("SECURE_PROXY_SSL_HEADER")
if SECURE_PROXY_SSL_HEADER and not SECURE_PROXY_SSL_HEADER[0].startswith("HTTP_"):
    raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER names a request header as Django sees it, e.g. "
                               "HTTP_X_FORWARDED_PROTO,https")
# Command-centre terminals are shared: a session ends when the browser closes, and after a shift at most.
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600, minimum=60)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # pages send the token from the template (hx-headers), no script reads the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# Failed-login throttling (django-axes): lock a username+address after N failures for a while.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_COOLOFF_MINUTES = env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1)
AXES_COOLOFF_TIME = LOGIN_COOLOFF_MINUTES / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("LOGIN_THROTTLING", True)
# Password spraying: failed logins from one address, over any usernames, within LOGIN_COOLOFF_MINUTES
# (core.throttle). Higher than the per-user limit: a centre's terminals may share one address.
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 20, minimum=1)

# --- Languages and time --------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE is not a known time zone: {TIME_ZONE!r}") from None

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Served at the site's root by WhiteNoise: /favicon.ico, which browsers ask for on pages without an icon link.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- E-mail: console in the embedded default ----------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "fenliu@localhost")
# Seconds an SMTP exchange may take: a mail server that never answers must not hold an outbox delivery
# past its lease (OUTBOX_LEASE_SECONDS), or the message could be sent twice.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
# The file backend (EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend) writes mail here.
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))

# Where e-mails link to: the address people open Fenliu at (no trailing slash).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- API ------------------------------------------------------------------------------------
# Requests per token (core.throttle), as DRF writes a rate: a number, "/", then s, min, hour or day.
API_THROTTLE_RATE = env_str("API_THROTTLE_RATE", "1200/min").strip()
if not re.fullmatch(r"[1-9]\d*/(s|sec|second|m|min|minute|h|hour|d|day)", API_THROTTLE_RATE):
    raise ImproperlyConfigured(f"API_THROTTLE_RATE must be like 1200/min (per s, min, hour or day); "
                               f"got {API_THROTTLE_RATE!r}")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["core.throttle.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": API_THROTTLE_RATE},
    "DEFAULT_PAGINATION_CLASS": "core.pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.schema.FenliuAutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
# An API token with its user is remembered this long (core.authentication); a change to either forgets it.
API_TOKEN_CACHE_SECONDS = env_int("API_TOKEN_CACHE_SECONDS", 30, minimum=0)
# A JSON body is refused (400) above this size or nesting depth, before it is parsed (core.parsers).
API_JSON_MAX_BYTES = env_int("API_JSON_MAX_BYTES", 1024 * 1024, minimum=1024)
API_JSON_MAX_DEPTH = env_int("API_JSON_MAX_DEPTH", 32, minimum=2)
SPECTACULAR_SETTINGS = {
    "TITLE": "Fenliu API",
    "VERSION": "1",
    "ENUM_NAME_OVERRIDES": {
        "CallChannelEnum": "incidents.models.Channel",
        "CallbackChannelEnum": "diversion.models.Callback.Channel",
        "Open311StatusEnum": "diversion.open311.selectors.STATUSES",
    },
    # Issue 40: what Fenliu POSTs to others, signed (docs/docking.md), as OpenAPI 3.1 webhooks.
    "OAS_VERSION": "3.1.0",
    "WEBHOOKS": ["diversion.docking.schema.SLIP_ISSUED", "core.schema.STATUS_WEBHOOK"],
    # Issue 41: Open311's paths name their format (services.json); core.schema keeps them in the schema.
    "DEFAULT_GENERATOR_CLASS": "core.schema.FenliuSchemaGenerator",
}

# --- Celery: Redis when configured, else an embedded file-based broker ------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or env_str("REDIS_URL", "")
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Publishing fails at once when the broker is down instead of retrying inside a request (the outbox
    # keeps the message; the relay's sweep delivers it).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 0, "socket_connect_timeout": 2, "socket_timeout": 5}
# Where tasks go unless routed elsewhere (a test's worker listens on a queue of its own).
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# A queue per long job type (README "Growth past one machine"): with CELERY_QUEUES_BY_JOB=1 the daily review,
# imports and model training go to queues of their own, each served by workers started with `-Q <queue>`, so a
# year's rebuild never delays a notification. Off (the default), everything goes to the default queue.
CELERY_QUEUES_BY_JOB = env_bool("CELERY_QUEUES_BY_JOB", False)
CELERY_TASK_ROUTES = {
    "incidents.review.tasks.*": {"queue": "review"},
    "incidents.tasks.calls_import_*": {"queue": "imports"},
    "diversion.tasks.routing_model_train": {"queue": "training"},
} if CELERY_QUEUES_BY_JOB else {}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The one beat schedule: every periodic job of the project is declared here.
CELERY_BEAT_SCHEDULE = {
    # The outbox sweep (issue 32): delivers what a lost wake left waiting, and the retries that fall due.
    "outbox-sweep": {"task": "core.tasks.outbox_relay",
                     "schedule": float(env_int("OUTBOX_SWEEP_SECONDS", 10, minimum=1))},
    "outbox-prune": {"task": "core.tasks.outbox_prune", "schedule": crontab(hour=3, minute=40)},
    "slips-remind-unaccepted": {
        "task": "diversion.tasks.slips_remind_unaccepted",
        "schedule": 60.0 * env_int("SLIP_REMINDER_SWEEP_MINUTES", 5, minimum=1),
    },
    # Review layers (issue 40): a warning for each layer that kept a call past its time limit.
    "reviews-warn-overdue": {"task": "diversion.tasks.reviews_warn_overdue", "schedule": 60.0},
    # Grids (issue 5): close hotspot cases whose grid has stayed quiet long enough (idempotent).
    "hotspots-review": {
        "task": "grids.tasks.hotspots_review",
        "schedule": crontab(hour=0, minute=20),
    },
    # Supervision (issue 3): the notice ladder every few minutes; reports early each morning.
    "supervision-ladder": {
        "task": "diversion.supervision.tasks.supervision_ladder_run",
        "schedule": 60.0 * env_int("SUPERVISION_LADDER_MINUTES", 5, minimum=1),
    },
    "report-daily-callbacks": {"task": "diversion.supervision.tasks.report_generate_due", "args": ("daily",),
                               "schedule": crontab(hour=7, minute=0)},
    "report-weekly": {"task": "diversion.supervision.tasks.report_generate_due", "args": ("weekly",),
                      "schedule": crontab(hour=7, minute=10, day_of_week="mon")},
    "report-monthly": {"task": "diversion.supervision.tasks.report_generate_due", "args": ("monthly",),
                       "schedule": crontab(hour=7, minute=20, day_of_month="1")},
    "report-quarterly": {"task": "diversion.supervision.tasks.report_generate_due", "args": ("quarterly",),
                         "schedule": crontab(hour=7, minute=30, day_of_month="1", month_of_year="1,4,7,10")},
    # Daily review (issue 4): yesterday's 警情日研判, city-wide and per large grid (re-runs replace it).
    "daily-review": {"task": "incidents.review.tasks.daily_review_build_due", "schedule": crontab(hour=0, minute=30)},
    # Backfill (issue 38): any past day with calls and no stored review gets one (a late import, a new site).
    "review-backfill": {"task": "incidents.review.tasks.daily_reviews_backfill",
                        "schedule": 60.0 * env_int("REVIEW_BACKFILL_MINUTES", 60, minimum=1)},
    "callers-anonymise": {"task": "incidents.tasks.callers_anonymise", "schedule": crontab(hour=3, minute=20)},
    # Routing quality (issue 35): last week's misses that matter and override rate, to the supervisors.
    "routing-digest": {"task": "diversion.tasks.routing_digest_queue_due",
                       "schedule": crontab(hour=7, minute=40, day_of_week="mon")},
}

# --- The live channel (issue 36): server push to open pages over WebSockets (Django Channels) ----------
# Redis pub/sub when LIVE_REDIS_URL (or REDIS_URL) is set, so every web process and worker reaches every
# screen; else an in-process layer (the embedded demo: one server process; pages fall back to polling for
# what the worker changes).
LIVE_REDIS_URL = env_str("LIVE_REDIS_URL", "") or env_str("REDIS_URL", "")
if LIVE_REDIS_URL and not LIVE_REDIS_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"LIVE_REDIS_URL must be a redis:// URL; got {LIVE_REDIS_URL!r}")
CHANNEL_LAYERS = {"default": {
    "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
    # Short socket timeouts: a Redis that does not answer must not hold a request that publishes.
    "CONFIG": {"hosts": [{"address": LIVE_REDIS_URL, "socket_connect_timeout": 1, "socket_timeout": 2}],
               "prefix": env_str("LIVE_PREFIX", "fenliu-live")},
} if LIVE_REDIS_URL else {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Pages poll this often (seconds) while the live channel is down, and more slowly while it is up.
LIVE_POLL_SECONDS = env_int("LIVE_POLL_SECONDS", 15, minimum=1)
# A request waits at most this long (seconds) for the channel to take an event (core.live.send_now).
LIVE_SEND_TIMEOUT_SECONDS = env_int("LIVE_SEND_TIMEOUT_SECONDS", 2, minimum=1)
LIVE_POLL_SECONDS_WHEN_PUSHED = env_int("LIVE_POLL_SECONDS_WHEN_PUSHED", 120, minimum=1)
# After Redis refused a publish, requests skip publishing this long (pages poll meanwhile).
LIVE_RETRY_SECONDS = env_int("LIVE_RETRY_SECONDS", 10, minimum=0)
# A dispatcher's claim on a call lapses after this many seconds without activity on it.
CALL_CLAIM_IDLE_SECONDS = env_int("CALL_CLAIM_IDLE_SECONDS", 120, minimum=10)

# --- The outbox (issue 32): every side effect is a row, delivered after commit by one relay ----------
# A failed delivery is retried after BASE, 2*BASE, 4*BASE ... seconds (at most MAX), MAX_ATTEMPTS times in
# all; then it is a dead letter on the outbox page.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 10, minimum=1)
OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 10, minimum=1)
OUTBOX_RETRY_MAX_SECONDS = env_int("OUTBOX_RETRY_MAX_SECONDS", 3600, minimum=1)
# A relay that claimed a message and died: the message is due again after this lease.
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 120, minimum=1)
OUTBOX_BATCH = env_int("OUTBOX_BATCH", 100, minimum=1)
# One relay run stops after this long; the next wake or sweep goes on.
OUTBOX_RELAY_BUDGET_SECONDS = env_int("OUTBOX_RELAY_BUDGET_SECONDS", 50, minimum=1)
OUTBOX_HTTP_TIMEOUT_SECONDS = env_int("OUTBOX_HTTP_TIMEOUT_SECONDS", 10, minimum=1)
# Signed messages with the 12345 platform and the webhooks (issue 40, core.signing): how far a signature's
# timestamp may be from our clock before the message is refused as a replay, and the largest inbound body.
SIGNATURE_MAX_SKEW_SECONDS = env_int("SIGNATURE_MAX_SKEW_SECONDS", 300, minimum=1)
PLATFORM_MAX_BODY_BYTES = env_int("PLATFORM_MAX_BODY_BYTES", 64 * 1024, minimum=1024)
# Open311 GeoReport v2 (issue 41): what discovery tells a partner about whom to ask and how to get a key.
OPEN311_CONTACT = env_str("OPEN311_CONTACT", "110指挥中心 信息科")
OPEN311_KEY_SERVICE = env_str("OPEN311_KEY_SERVICE",
                              "向110指挥中心申请：每个部门或合作方一个api_key（管理后台 › Open311接入方）")
if OUTBOX_LEASE_SECONDS < 2 * max(OUTBOX_HTTP_TIMEOUT_SECONDS, EMAIL_TIMEOUT):
    # A relay hands back what it has not sent by half the lease; one delivery must fit in the other half.
    raise ImproperlyConfigured("OUTBOX_LEASE_SECONDS must be at least twice OUTBOX_HTTP_TIMEOUT_SECONDS and "
                               "EMAIL_TIMEOUT")
# Delivered and discarded messages are deleted after this many days (dead letters stay until handled).
OUTBOX_KEEP_DAYS = env_int("OUTBOX_KEEP_DAYS", 30, minimum=1)
# After the broker refused a wake, requests skip waking the relay this long (the sweep still runs).
OUTBOX_BROKER_RETRY_SECONDS = env_int("OUTBOX_BROKER_RETRY_SECONDS", 30, minimum=0)
# /health/ reports "degraded" when the oldest waiting message is older than this, or a dead letter exists.
OUTBOX_STALE_SECONDS = env_int("OUTBOX_STALE_SECONDS", 300, minimum=1)

# --- Fenliu rules -----------------------------------------------------------------------------
# The plausible range of event times (core.times): a call received before this day, or more than this many
# minutes ahead of our clock, is refused by the form, the API and the service alike.
try:
    EVENT_TIME_EARLIEST = date.fromisoformat(env_str("EVENT_TIME_EARLIEST", "2000-01-01"))
except ValueError:
    raise ImproperlyConfigured("EVENT_TIME_EARLIEST must be a day as YYYY-MM-DD") from None
EVENT_TIME_MAX_AHEAD_MINUTES = env_int("EVENT_TIME_MAX_AHEAD_MINUTES", 10, minimum=0)
# A day asked about in a page's URL or form (a review, a report's period) may be at most this far ahead.
DATE_PARAM_MAX_AHEAD_DAYS = env_int("DATE_PARAM_MAX_AHEAD_DAYS", 366, minimum=0)
# A slip not accepted this many minutes after it was issued gets one reminder e-mail to its department.
SLIP_ACCEPT_REMINDER_MINUTES = env_int("SLIP_ACCEPT_REMINDER_MINUTES", 30, minimum=1)
# A completed slip closes after this many failed callback attempts (caller not reached).
CALLBACK_MAX_ATTEMPTS = env_int("CALLBACK_MAX_ATTEMPTS", 3, minimum=1)
# Repeat checks shown on a call at intake.
REPEAT_PHONE_SHORT_HOURS = env_int("REPEAT_PHONE_SHORT_HOURS", 24, minimum=1)
REPEAT_PHONE_LONG_DAYS = env_int("REPEAT_PHONE_LONG_DAYS", 7, minimum=1)
REPEAT_PLACE_HOURS = env_int("REPEAT_PLACE_HOURS", 2, minimum=1)

# --- Importing historical calls (issue 43) ---------------------------------------------------------
# An import of historical calls keeps this many of its bad rows (line and reason) to show; it counts them all.
IMPORT_ERRORS_KEPT = env_int("IMPORT_ERRORS_KEPT", 1000, minimum=10)
# The largest export file the import page takes (bytes); the command reads any size.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 512 * 1024 * 1024, minimum=1024 * 1024)

# --- Routing engine (issue 7): compiled rules, the learned model -------------------------------
# How often (seconds) a process asks the database whether the catalog or the active model changed.
ROUTING_VERSION_CHECK_SECONDS = env_int("ROUTING_VERSION_CHECK_SECONDS", 5, minimum=0)
# How often (seconds) a process asks the database whether the micro grids or the address list changed
# (grids.spatial): a change saved in another process places calls within this time; in this one at once.
GRID_CHECK_SECONDS = env_int("GRID_CHECK_SECONDS", 5, minimum=0)
# The model's suggestion is used at or above this confidence (percent); below it the call is flagged.
ROUTING_MODEL_THRESHOLD = env_int("ROUTING_MODEL_THRESHOLD_PERCENT", 60, minimum=0) / 100
# Share of the model in the blended candidate score when it is used (percent).
ROUTING_MODEL_WEIGHT = env_int("ROUTING_MODEL_WEIGHT_PERCENT", 50, minimum=0) / 100
# Training from confirmed calls: the fewest calls in all, and per label, for a label to be learnt.
ROUTING_MODEL_MIN_CALLS = env_int("ROUTING_MODEL_MIN_CALLS", 50, minimum=2)
ROUTING_MODEL_MIN_PER_LABEL = env_int("ROUTING_MODEL_MIN_PER_LABEL", 3, minimum=2)

# --- Grids, hotspots and police units (issue 5) ------------------------------------------------
# An address matches a gazetteer place at this fuzzy score (0-100) or better.
GAZETTEER_MIN_SCORE = env_int("GAZETTEER_MIN_SCORE", 90, minimum=1)
# A hotspot: a grid with this many non-police calls in a day (in the case's period of the day) ...
HOTSPOT_THRESHOLD = env_int("HOTSPOT_THRESHOLD", 5, minimum=1)
# ... and its case closes after this many consecutive days under the threshold.
HOTSPOT_QUIET_DAYS = env_int("HOTSPOT_QUIET_DAYS", 14, minimum=1)
# 1-3-5 minutes: arrival targets in minutes by area type of the unit.
POLICE_ARRIVAL_TARGET_URBAN_MINUTES = env_int("POLICE_ARRIVAL_TARGET_URBAN_MINUTES", 3, minimum=1)
POLICE_ARRIVAL_TARGET_SUBURBAN_MINUTES = env_int("POLICE_ARRIVAL_TARGET_SUBURBAN_MINUTES", 5, minimum=1)
# A unit's reported position is used for "nearest" while fresher than this; after that, its base.
UNIT_POSITION_FRESH_MINUTES = env_int("UNIT_POSITION_FRESH_MINUTES", 30, minimum=1)
# The map shades grids by calls in this many days.
MAP_DENSITY_DAYS = env_int("MAP_DENSITY_DAYS", 30, minimum=1)
# Base map tiles: none by default (grids are drawn on a blank background; nothing is loaded from outside).
# E.g. a tile server inside the police network: MAP_TILE_URL=https://tiles.example/{z}/{x}/{y}.png
MAP_TILE_URL = env_str("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = env_str("MAP_TILE_ATTRIBUTION", "")

# Content-Security-Policy (django-csp): scripts and styles from our own origin (vendored, no CDN); an inline
# script needs the request's nonce; no eval, no plugins, no framing, forms post to ourselves. Inline style
# attributes stay allowed: templates and Leaflet set them, and a style cannot run code. Map tiles, when
# MAP_TILE_URL names a server, are the one outside source (images).
_tile = urlsplit(MAP_TILE_URL.replace("{s}", "a"))
_tile_origin = f"{_tile.scheme}://{_tile.netloc}".replace("://a.", "://*.") if _tile.netloc else ""
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:", *([_tile_origin] if _tile_origin else [])],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Mediation (矛盾纠纷, one file per dispute) -------------------------------------------------
# Follow-up visits after a file's outcome, in days (comma-separated).
try:
    MEDIATION_FOLLOWUP_DAYS = sorted({int(d) for d in env_list("MEDIATION_FOLLOWUP_DAYS", ["7", "30", "90"])})
except ValueError:
    raise ImproperlyConfigured("MEDIATION_FOLLOWUP_DAYS must be whole numbers of days, e.g. 7,30,90") from None
if not MEDIATION_FOLLOWUP_DAYS or MEDIATION_FOLLOWUP_DAYS[0] < 1:
    raise ImproperlyConfigured("MEDIATION_FOLLOWUP_DAYS must be positive numbers of days, e.g. 7,30,90")
# Later calls from a party's phone, or dispute calls at the file's address, join the file for this many days
# after its outcome (while it is open, always).
MEDIATION_LINK_DAYS = env_int("MEDIATION_LINK_DAYS", 90, minimum=1)
# Sub-category groups whose calls are disputes (the catalog's 矛盾纠纷类 is "A").
MEDIATION_DISPUTE_GROUPS = env_list("MEDIATION_DISPUTE_GROUPS", ["A"])
# 繁简分流: a file is suggested complex when any of these is reached.
MEDIATION_COMPLEX_PARTIES = env_int("MEDIATION_COMPLEX_PARTIES", 3, minimum=2)
MEDIATION_COMPLEX_REPEAT_CALLS = env_int("MEDIATION_COMPLEX_REPEAT_CALLS", 2, minimum=1)
MEDIATION_COMPLEX_AMOUNT = env_int("MEDIATION_COMPLEX_AMOUNT", 10000, minimum=0)
MEDIATION_COMPLEX_PRIOR_FILES = env_int("MEDIATION_COMPLEX_PRIOR_FILES", 1, minimum=1)

# --- Supervision (issue 3): the notice ladder, department scores, periodic reports ----------------
# Warning notice once a slip (or joint-meeting action) has used this share of its time, not completed.
SUPERVISION_WARN_PERCENT = env_int("SUPERVISION_WARN_PERCENT", 80, minimum=1)
if SUPERVISION_WARN_PERCENT > 99:
    raise ImproperlyConfigured("SUPERVISION_WARN_PERCENT must be from 1 to 99")
# Rectification notice when overdue by more than this, or when callbacks reopened the slip this often.
SUPERVISION_RECTIFY_GRACE_HOURS = env_int("SUPERVISION_RECTIFY_GRACE_HOURS", 24, minimum=0)
SUPERVISION_RECTIFY_REOPENS = env_int("SUPERVISION_RECTIFY_REOPENS", 2, minimum=1)
# Hours a department has to reply to each type of notice.
SUPERVISION_REPLY_HOURS = {
    "warning": env_int("SUPERVISION_REPLY_HOURS_WARNING", 24, minimum=1),
    "supervision": env_int("SUPERVISION_REPLY_HOURS_SUPERVISION", 24, minimum=1),
    "rectification": env_int("SUPERVISION_REPLY_HOURS_RECTIFICATION", 72, minimum=1),
}
# Department score = weighted results (办理实效), caller rating (群众评价), process (办理程序): "40,40,20".
_weights = env_list("SUPERVISION_SCORE_WEIGHTS", ["40", "40", "20"])
try:
    SUPERVISION_SCORE_WEIGHTS = dict(zip(("results", "rating", "process"), map(float, _weights), strict=True))
except ValueError:
    raise ImproperlyConfigured("SUPERVISION_SCORE_WEIGHTS must be three numbers: results,rating,process") from None
if min(SUPERVISION_SCORE_WEIGHTS.values()) < 0 or sum(SUPERVISION_SCORE_WEIGHTS.values()) <= 0:
    raise ImproperlyConfigured("SUPERVISION_SCORE_WEIGHTS must be non-negative with a positive sum")
# A slip accepted within this many minutes of issue counts as accepted on time.
SUPERVISION_ON_TIME_ACCEPT_MINUTES = env_int("SUPERVISION_ON_TIME_ACCEPT_MINUTES", 60, minimum=1)
# Points taken off the process score for each notice received in the period.
SUPERVISION_NOTICE_PENALTY = {"warning": 1, "supervision": 3, "rectification": 5}
# How many of the lowest-ranked departments the quarterly listing names.
SUPERVISION_LISTED_DEPARTMENTS = env_int("SUPERVISION_LISTED_DEPARTMENTS", 3, minimum=1)

# --- Daily review (issue 4): 警情日研判 thresholds ----------------------------------------------------
# Repeat callers: this many calls from one phone on the day, or REVIEW_REPEAT_WEEK_CALLS in the last
# REVIEW_REPEAT_WEEK_DAYS days (the day included).
REVIEW_REPEAT_DAY_CALLS = env_int("REVIEW_REPEAT_DAY_CALLS", 2, minimum=2)
REVIEW_REPEAT_WEEK_CALLS = env_int("REVIEW_REPEAT_WEEK_CALLS", 3, minimum=2)
REVIEW_REPEAT_WEEK_DAYS = env_int("REVIEW_REPEAT_WEEK_DAYS", 7, minimum=2)

# --- Callers' personal information (PIPL): kept only as long as needed ----------------------------------
# The caller's number and name are blanked this many days after the call (a nightly job; the call's facts,
# categories and every figure stay). Repeat checks and mediation match on a keyed hash of the number
# (core.phones.caller_key), which is kept exactly as long as the longest of them looks back, then blanked too.
CALLER_RETENTION_DAYS = env_int("CALLER_RETENTION_DAYS", 180, minimum=1)
CALLER_KEY_SECRET = env_str("CALLER_KEY_SECRET", "") or SECRET_KEY
# Clusters: this many calls of one sub-category in one micro grid within this many hours.
REVIEW_CLUSTER_CALLS = env_int("REVIEW_CLUSTER_CALLS", 3, minimum=2)
REVIEW_CLUSTER_HOURS = env_int("REVIEW_CLUSTER_HOURS", 2, minimum=1)
# Hotspots: a micro grid with this many non-police calls in the window (the day, 7 days, 30 days).
# One hotspot threshold for the review and the hotspot cases unless set apart.
REVIEW_HOTSPOT_CALLS = env_int("REVIEW_HOTSPOT_CALLS", HOTSPOT_THRESHOLD, minimum=1)
# The stored review lists at most this many hotspots per window, hottest first (the counts stay exact).
REVIEW_HOTSPOT_LIST_LIMIT = env_int("REVIEW_HOTSPOT_LIST_LIMIT", 200, minimum=1)
# The hour-of-day × weekday heat covers this many days up to the review's day (28 = four of each weekday).
REVIEW_HEAT_DAYS = env_int("REVIEW_HEAT_DAYS", 28, minimum=7)
# The backfill builds the missing reviews of past days reaching this far back (about 13 months: a year ago
# today is always there to compare with).
REVIEW_BACKFILL_DAYS = env_int("REVIEW_BACKFILL_DAYS", 400, minimum=1)
# The CJK font embedded in the PDF export (Debian fonts-wqy-microhei; bin/system-deps installs it).
REVIEW_PDF_FONT = env_str("REVIEW_PDF_FONT", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_log": {"()": "core.logs.RequestLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"},
                "django.request": {"filters": ["request_log"]}},
}

# How long the keyed hash of a caller's number is kept: the longest look-back of the checks that match on it.
CALLER_KEY_DAYS = max(REPEAT_PHONE_LONG_DAYS, REVIEW_REPEAT_WEEK_DAYS, MEDIATION_LINK_DAYS)
