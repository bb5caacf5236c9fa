"""MarketPulse settings: one module, every difference between environments is an env var.

Variables are listed with comments in `.env.example`. With neither `DATABASE_URL` nor
`REDIS_URL` set, `python -m marketpulse.embedded` (what `make run` and `make test` use)
starts embedded servers and writes their URLs to `var/embedded.env`, read below, so a bare
`.venv/bin/python manage.py …` finds them while they run.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# Values already in the environment win over both files.
environ.Env.read_env(BASE_DIR / ".env")
environ.Env.read_env(VAR_DIR / "embedded.env")

SECRET_KEY = env.str("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_EXPOSE_HEADERS = [
    "X-Request-ID",
    "X-Cache",
    "Server-Timing",
    "ETag",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]

# Behind TLS in production: set these to true (check --deploy then passes).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env.bool("BEHIND_PROXY", default=False)
    else None
)
# Proxies (addresses or networks) whose X-Forwarded-For names the client. Read by uvicorn
# (`--forwarded-allow-ips` in the Procfile, Dockerfile and compose), which otherwise
# trusts loopback: any local client could then pick its own rate-limit bucket and
# WebSocket quota. Empty: the socket's peer is the client.
FORWARDED_ALLOW_IPS = env.list("FORWARDED_ALLOW_IPS", default=[])
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework_simplejwt",
    "django_celery_beat",
    "axes",
    "django_prometheus",
    "auditlog",
    "marketpulse",
    "assets",
    "prices",
    "prices.ingest",
    "portfolio",
    "analytics",
    "analytics.alerts",
    "analytics.dashboard",
    "analytics.forecasts",
]

MIDDLEWARE = [
    "marketpulse.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The audit log's actor (resolved after DRF authenticates) and request id.
    "marketpulse.audit.AuditContextMiddleware",
    # Django's, skipped for the API's reads (marketpulse/api/skipped_for_reads.py).
    "marketpulse.api.skipped_for_reads.Messages",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "marketpulse.api.throttles.RateLimitHeadersMiddleware",
    # Last, as axes asks: turns an admin sign-in it locked out into the envelope's 429.
    "axes.middleware.AxesMiddleware",
]

# The browser pages sign in with a session (the API takes tokens and keys too).
LOGIN_URL = "dashboard:signin"
LOGIN_REDIRECT_URL = "dashboard:portfolio"
LOGOUT_REDIRECT_URL = "dashboard:overview"

# axes first: it refuses a locked-out username or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Password guessing (marketpulse/accounts/lockout.py): this many failures lock a username
# (from any address) and an address (for any username) for the cool-off. Counted in
# PostgreSQL (axes' database handler), so the lockout holds with Redis down.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "marketpulse.accounts.lockout.lockout_response"
# The address is REMOTE_ADDR: the socket's peer, or what a proxy named in
# FORWARDED_ALLOW_IPS says (uvicorn), never a header a client chose.

# The largest request body read into memory (Django's check, applied by DRF's parsers
# too); larger is a 413 in the envelope. The API's biggest input is a page of trades.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=1_048_576)

# Metrics (README, Operations): django-prometheus counts requests by view and status,
# database and cache operations; off, none of its middleware or backends is installed
# (the bench compares both in one run).
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
# `GET /metrics` answers a bearer token equal to this, or a client in these networks.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list(
    "METRICS_ALLOWED_IPS", default=["127.0.0.1/32", "::1/128"]
)
METRICS_ALLOWED_NETWORKS = [
    ipaddress.ip_network(value, strict=False) for value in METRICS_ALLOWED_IPS
]
# The broker queues whose length is exported (Celery's default queue is "celery").
METRICS_CELERY_QUEUES = env.list("METRICS_CELERY_QUEUES", default=["celery"])
if METRICS_ENABLED:
    MIDDLEWARE = [*MIDDLEWARE, "marketpulse.metrics.RequestMetricsMiddleware"]

# Audit log (django-auditlog): each entry's correlation id is the request id.
AUDITLOG_CID_GETTER = "marketpulse.audit.request_id_for_audit"
# Entries older than this are deleted daily (marketpulse.purge_audit_log, beat schedule).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)

ROOT_URLCONF = "marketpulse.urls"
WSGI_APPLICATION = "marketpulse.wsgi.application"
# Threads per web process running Django's WSGI handler behind the ASGI server (asgi.py).
# 4, not 8: threads past what overlaps the waits only contend for the GIL. On 2 cores,
# 2 processes at 64 connections, 4 against 8 in the same runs (2026-12-03): asset list
# 595-680 vs 496-543 req/s, latest price 809-911 vs 747-850, cold 1000-candle page
# 156-158 vs 130-153, cold year of days 211-228 vs 182-191; no row slower.
HTTP_THREADS = env.int("HTTP_THREADS", default=4)
# In the web server: anonymous and user rate limits counted in the process and added to
# Redis every this many ms (0: a round trip per request); latest prices answered from
# the process's mirror of them (marketpulse/api/throttles.py, prices/latest_mirror.py).
RATE_LIMIT_BATCH_MS = env.int("RATE_LIMIT_BATCH_MS", default=50)
LATEST_PRICE_MIRROR = env.bool("LATEST_PRICE_MIRROR", default=True)
ASGI_APPLICATION = "marketpulse.asgi.application"

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
            ],
        },
    },
]

# PostgreSQL is the one engine everywhere. CONN_MAX_AGE keeps connections between requests;
# the health check still makes a real round trip.
DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Seconds a request waits for an unreachable PostgreSQL before its 503: libpq's floor.
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
    "DB_CONNECT_TIMEOUT", default=2
)
if METRICS_ENABLED:
    # The same PostgreSQL backend, with query counts and latencies exported.
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "mp",
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
            # A cache miss is harmless: with Redis down, requests fall through to PostgreSQL.
            "IGNORE_EXCEPTIONS": True,
        },
    },
}
# The response cache (marketpulse/api/caching.py) is the one store a client can grow
# (every distinct query is an entry): give it a Redis of its own with `maxmemory` and
# `allkeys-lru`, so eviction never touches the broker, the rate limits or the latest
# prices. The embedded and compose setups do; with one Redis it falls back to REDIS_URL.
CACHE_REDIS_URL = env.str("CACHE_REDIS_URL", default=REDIS_URL)
CACHES["responses"] = {
    **CACHES["default"],
    "LOCATION": CACHE_REDIS_URL,
    "KEY_PREFIX": "mp",
}
# Bodies over this are served but not cached.
API_CACHE_MAX_BODY_BYTES = env.int("API_CACHE_MAX_BODY_BYTES", default=1_048_576)
# What each web process holds of it in memory (marketpulse/api/caching.py: a hit of a
# popular page without a round trip); 0: none.
API_CACHE_HELD_BYTES = env.int("API_CACHE_HELD_BYTES", default=32 * 1_048_576)
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
if METRICS_ENABLED:
    # django-redis with cache get/hit/miss counters (django_cache_*).
    for _cache in CACHES.values():
        _cache["BACKEND"] = "django_prometheus.cache.backends.redis.RedisCache"

# The price and alert streams do not use it: they fan out through Redis pub/sub once per
# process (prices/fanout.py; groups measured 15 s p50 at 1000 clients, NOTES.md). It stays
# configured for `channels` features that expect a layer (e.g. a future consumer's groups).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 30},
    }
}

# WebSockets (prices/consumers/, prices/fanout.py). Redis pub/sub channels ignore the db
# number, so the prefix includes it: deployments and test runs sharing a Redis stay apart.
REALTIME_CHANNEL_PREFIX = env.str(
    "REALTIME_CHANNEL_PREFIX",
    default=f"mp:{urlparse(REDIS_URL).path.strip('/') or '0'}:",
)
# Limits: connections per client address (counted across every web process in Redis),
# symbols per connection, characters per client message, frames queued for a client
# before it counts as too slow.
WS_MAX_CONNECTIONS_PER_IP = env.int("WS_MAX_CONNECTIONS_PER_IP", default=50)
# Each connection holds a lease in Redis, renewed every third of it: the connections of
# a web process that died stop counting after one lease.
WS_CONNECTION_LEASE_SECONDS = env.int("WS_CONNECTION_LEASE_SECONDS", default=60)
WS_MAX_SUBSCRIPTIONS = env.int("WS_MAX_SUBSCRIPTIONS", default=100)
WS_MAX_MESSAGE_CHARS = env.int("WS_MAX_MESSAGE_CHARS", default=4096)
WS_SEND_QUEUE = env.int("WS_SEND_QUEUE", default=500)
# Replay pace in candles per second, and candles read per query.
WS_REPLAY_DEFAULT_SPEED = env.float("WS_REPLAY_DEFAULT_SPEED", default=10.0)
WS_REPLAY_MAX_SPEED = env.float("WS_REPLAY_MAX_SPEED", default=100_000.0)
WS_REPLAY_PAGE = env.int("WS_REPLAY_PAGE", default=500)
# Replays at a time per client address (across every web process, counted like
# connections) and per web process: each full-speed replay keeps about a core busy, and
# the live streams of its process share that core.
WS_REPLAYS_PER_IP = env.int("WS_REPLAYS_PER_IP", default=3)
WS_REPLAYS_PER_PROCESS = env.int("WS_REPLAYS_PER_PROCESS", default=10)
# A replay client that takes no frame for this long while candles wait is cut off (1008).
WS_REPLAY_STALL_SECONDS = env.float("WS_REPLAY_STALL_SECONDS", default=30.0)
# Messages a client may send, per connection: a token bucket refilled at WS_MESSAGE_RATE
# per second, holding up to WS_MESSAGE_BURST. One over: an error, then close 1008.
WS_MESSAGE_RATE = env.float("WS_MESSAGE_RATE", default=10.0)
WS_MESSAGE_BURST = env.int("WS_MESSAGE_BURST", default=30)
# Threads for the database reads of WebSocket connections (marketpulse/wsdb.py), each
# with its own database connection; a connection has at most one read in flight.
WS_DB_THREADS = env.int("WS_DB_THREADS", default=4)

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# An unreachable broker fails a publish in seconds, not kombu's patient defaults.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2}
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Worker and beat log through LOGGING below (JSON lines), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# The pages' libraries come from node_modules/ (npm ci), found by the dashboard's finder.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "analytics.dashboard.finders.NodeModulesFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "marketpulse.api.errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "marketpulse.api.pagination.LimitOffsetPage",
    "PAGE_SIZE": 100,
    # Bearer first: its WWW-Authenticate header makes unauthenticated requests 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "marketpulse.accounts.authentication.BearerAuthentication",
        "marketpulse.accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticatedOrReadOnly"
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # orjson: a deeply nested body is a 400, not a RecursionError (marketpulse/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "marketpulse.api.parsers.OrjsonParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
    # Counted in Redis, shared by every process (marketpulse/api/throttles.py). `make bench`
    # raises them for its load generator through these same variables.
    "DEFAULT_THROTTLE_CLASSES": [
        "marketpulse.api.throttles.AnonThrottle",
        "marketpulse.api.throttles.UserThrottle",
    ],
    # Proxies in front that append to X-Forwarded-For; 0 trusts only the socket's peer
    # address, so a client cannot pick its own rate-limit bucket with a forged header.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_RATE_ANON", default="600/min"),
        "user": env.str("THROTTLE_RATE_USER", default="3000/min"),
        "login": env.str("THROTTLE_RATE_LOGIN", default="10/min"),
    },
}

# Seconds one process reuses its health probe (marketpulse/health.py); 0 probes each call.
HEALTH_CACHE_SECONDS = env.float("HEALTH_CACHE_SECONDS", default=5)

# Seconds a cached API response may live. Entries also go stale at once when new data for
# their asset arrives (prices/caching.py); the TTL only bounds what an unhooked write
# (e.g. a bulk UPDATE of listings) can leave behind.
API_CACHE_TTL = env.int("API_CACHE_TTL", default=300)
# Stored rows one history request may aggregate into coarser candles (a year of 1m rows is
# 525,600): past it the request is a 400 naming `limit` (prices/selectors.py).
HISTORY_MAX_AGGREGATED_ROWS = env.int("HISTORY_MAX_AGGREGATED_ROWS", default=600_000)

SPECTACULAR_SETTINGS = {
    "TITLE": "MarketPulse API",
    "DESCRIPTION": "Crypto market data: listings, latest prices, OHLCV history, "
    "portfolios, analytics. Errors share one envelope: "
    '`{"error": {"code", "message", "details", "request_id"}}`.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc assets come from the sidecar package: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Requests and responses get components of their own: a request says what validation
    # accepts (`minLength: 1` where a field may not be blank, token credentials included),
    # a response what is sent (blank strings too).
    "COMPONENT_SPLIT_REQUEST": True,
    # Two choice sets share the field name "kind" (alerts' and anomalies'); the forecast
    # horizons and model families are one choice set each, wherever named.
    "ENUM_NAME_OVERRIDES": {
        "AlertKindEnum": "analytics.alerts.models.AlertKind",
        "AnomalyKindEnum": "analytics.models.AnomalyKind",
        "ForecastHorizonEnum": "analytics.forecasts.models.Horizon",
        "ForecastModelEnum": "analytics.forecasts.models.Family",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "marketpulse.api.error_schema.add_error_responses",
        "marketpulse.api.text_schema.forbid_nul_in_text",
    ],
}

# Access tokens for API clients (`POST /api/v1/auth/token/`), signed with SECRET_KEY.
# Refresh tokens are not rotated. Each token carries a digest of the user's password hash
# (CHECK_REVOKE_TOKEN): a password change revokes every token issued before it, and a
# deactivated or deleted user's tokens are refused (marketpulse/accounts/tokens.py).
SIMPLE_JWT: dict[str, Any] = {
    "ACCESS_TOKEN_LIFETIME": timedelta(
        minutes=env.int("JWT_ACCESS_MINUTES", default=15)
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=1)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": True,
    "CHECK_REVOKE_TOKEN": True,
    "TOKEN_REFRESH_SERIALIZER": "marketpulse.accounts.tokens.RefreshSerializer",
}
# An API key's last-used time is written at most this often (one write per key, not per
# request).
API_KEY_TOUCH_SECONDS = env.int("API_KEY_TOUCH_SECONDS", default=60)
# A repeated `Idempotency-Key` replays the first response for this long.
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)

# The currency every price is quoted in (USDT-quoted market data counts as USD).
QUOTE_CURRENCY = env.str("QUOTE_CURRENCY", default="USD")

# Structured logs: one JSON object per line, each carrying the request id.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "marketpulse.api.middleware.RequestIdLogFilter"}},
    "formatters": {
        "json": {"()": "marketpulse.logs.JsonLines"},
    },
    "handlers": {
        "console": {
            # Buffered in the web server (marketpulse/logs.py, LineHandler).
            "class": "marketpulse.logs.LineHandler",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Access lines come from our middleware (with the request id), not the server.
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}

# --- Providers and the sync pipeline (prices/providers, prices/sync.py) -------------------
# Order matters: the first provider serves each sync, the next ones are fallbacks. The
# offline `replay` provider plays the recorded demo candles as if live.
MARKET_PROVIDERS = env.list("MARKET_PROVIDERS", default=["replay"])
COINGECKO_API_KEY = env.str("COINGECKO_API_KEY", default="")
COINGECKO_API_PLAN = env.str("COINGECKO_API_PLAN", default="demo")  # demo | pro
COINGECKO_BASE_URL = env.str("COINGECKO_BASE_URL", default="")
COINGECKO_RATE_PER_MINUTE = env.float("COINGECKO_RATE_PER_MINUTE", default=30)
COINMARKETCAP_API_KEY = env.str("COINMARKETCAP_API_KEY", default="")
COINMARKETCAP_BASE_URL = env.str("COINMARKETCAP_BASE_URL", default="")
COINMARKETCAP_RATE_PER_MINUTE = env.float("COINMARKETCAP_RATE_PER_MINUTE", default=30)
BINANCE_BASE_URL = env.str("BINANCE_BASE_URL", default="")
BINANCE_RATE_PER_MINUTE = env.float("BINANCE_RATE_PER_MINUTE", default=600)
PROVIDER_CONNECT_TIMEOUT = env.float("PROVIDER_CONNECT_TIMEOUT", default=3)
PROVIDER_READ_TIMEOUT = env.float("PROVIDER_READ_TIMEOUT", default=10)
PROVIDER_MAX_ATTEMPTS = env.int("PROVIDER_MAX_ATTEMPTS", default=4)
PROVIDER_BACKOFF_SECONDS = env.float("PROVIDER_BACKOFF_SECONDS", default=1)
PROVIDER_MAX_BACKOFF_SECONDS = env.float("PROVIDER_MAX_BACKOFF_SECONDS", default=30)
# A 429 asking to wait longer than this fails over to the next provider instead.
PROVIDER_MAX_RETRY_AFTER = env.float("PROVIDER_MAX_RETRY_AFTER", default=60)
REPLAY_STEP_SECONDS = env.int("REPLAY_STEP_SECONDS", default=20)
# Fine-grained candles older than this many days are deleted daily (0 keeps them all);
# coarser intervals are kept.
CANDLE_RETENTION_DAYS = env.int("CANDLE_RETENTION_DAYS", default=0)
CANDLE_RETENTION_INTERVALS = env.list(
    "CANDLE_RETENTION_INTERVALS", default=["1m", "5m"]
)
# Finished sync runs are kept this long (the replay tick alone records ~4,000 a day).
SYNC_RUN_RETENTION_DAYS = env.int("SYNC_RUN_RETENTION_DAYS", default=7)

# --- Analytics (issue 13): anomaly detection ---------------------------------------------
# Celery tasks (by name) sent after candles are written (upsert_candles), with
# (asset_id, interval, first open time, last open time): prices stays unaware of analytics.
CANDLE_WRITE_TASKS = env.list(
    "CANDLE_WRITE_TASKS",
    default=[
        "analytics.detect_anomalies",
        "alerts.evaluate_candles",
        "forecasts.score_written_candles",
    ],
)
# Sent by the prices sync with the fresh prices of another provider it replaced.
PRICE_CROSS_CHECK_TASK = env.str(
    "PRICE_CROSS_CHECK_TASK", default="analytics.record_price_disagreements"
)
# Trailing windows of the robust z-scores, and how many candles one may hold.
ANOMALY_WINDOWS = env.list("ANOMALY_WINDOWS", default=["1h", "24h", "7d", "30d", "90d"])
ANOMALY_MIN_SAMPLES = env.int("ANOMALY_MIN_SAMPLES", default=20)
ANOMALY_MAX_SAMPLES = env.int("ANOMALY_MAX_SAMPLES", default=2000)
# |robust z| at or above these is an anomaly (calibrated on the demo data, see
# analytics/anomalies.py and tests/analytics/test_anomalies.py).
ANOMALY_Z_RETURN = env.float("ANOMALY_Z_RETURN", default=8.0)
# Intraday excursions are one-sided and skewed (the high is never below the open): a
# higher bar, or hourly candles flag every brisk hour.
ANOMALY_Z_INTRADAY = env.float("ANOMALY_Z_INTRADAY", default=12.0)
ANOMALY_Z_VOLUME = env.float("ANOMALY_Z_VOLUME", default=8.0)
# The smallest scale (log return) a window may have: 0.1% per candle.
ANOMALY_MIN_SIGMA = env.float("ANOMALY_MIN_SIGMA", default=0.001)
# Two providers' prices at most this many seconds apart, differing by this many percent.
ANOMALY_DISAGREEMENT_PCT = env.float("ANOMALY_DISAGREEMENT_PCT", default=2.0)
ANOMALY_DISAGREEMENT_MAX_AGE = env.int("ANOMALY_DISAGREEMENT_MAX_AGE", default=900)
# Anomalies younger than this (seconds) are pushed live; older ones only stored.
ANOMALY_PUBLISH_MAX_AGE = env.int("ANOMALY_PUBLISH_MAX_AGE", default=86400)

# --- Alerts (issue 14) ---------------------------------------------------------------------
ALERTS_MAX_PER_USER = env.int("ALERTS_MAX_PER_USER", default=100)
WEBHOOKS_MAX_PER_USER = env.int("WEBHOOKS_MAX_PER_USER", default=10)
# Webhooks: seconds per attempt, attempts per event (backoff BASE * 2^n seconds between
# them), consecutive failed attempts after which an endpoint is disabled.
ALERT_WEBHOOK_TIMEOUT = env.float("ALERT_WEBHOOK_TIMEOUT", default=5.0)
ALERT_WEBHOOK_MAX_ATTEMPTS = env.int("ALERT_WEBHOOK_MAX_ATTEMPTS", default=5)
ALERT_WEBHOOK_RETRY_BASE = env.float("ALERT_WEBHOOK_RETRY_BASE", default=10.0)
ALERT_WEBHOOK_DISABLE_AFTER = env.int("ALERT_WEBHOOK_DISABLE_AFTER", default=15)
# Webhook URLs resolving to loopback, private, link-local or reserved addresses are
# refused (SSRF) unless this is set (tests, an intranet receiver).
ALERT_WEBHOOK_ALLOW_PRIVATE = env.bool("ALERT_WEBHOOK_ALLOW_PRIVATE", default=False)
# Email: Django's backend; the console by default, SMTP through EMAIL_URL.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="alerts@marketpulse.local")

# --- Forecasts (issue 15) -----------------------------------------------------------------
# Candles each training reads (the latest, per asset and horizon) and the least it needs.
FORECAST_HISTORY = env.int("FORECAST_HISTORY", default=5000)
FORECAST_MIN_HISTORY = env.int("FORECAST_MIN_HISTORY", default=300)
# Walk-forward: up to this many origins, one horizon apart, and at most this many fits
# per family (in between, the latest fit forecasts from each origin's own candles).
FORECAST_BACKTEST_ORIGINS = env.int("FORECAST_BACKTEST_ORIGINS", default=200)
FORECAST_BACKTEST_FITS = env.int("FORECAST_BACKTEST_FITS", default=8)
# ARIMA's and drift's rolling window, gradient boosting's training rows (candles).
FORECAST_WINDOW = env.int("FORECAST_WINDOW", default=500)
FORECAST_GBM_ROWS = env.int("FORECAST_GBM_ROWS", default=3000)
# Split-conformal intervals: the latest residuals used, and the fewest that make one.
FORECAST_CONFORMAL_WINDOW = env.int("FORECAST_CONFORMAL_WINDOW", default=250)
FORECAST_CONFORMAL_MIN = env.int("FORECAST_CONFORMAL_MIN", default=20)
# Fewer scored targets than this: the verdict says it cannot judge yet.
FORECAST_MIN_TARGETS = env.int("FORECAST_MIN_TARGETS", default=20)
# A model is served (and said to beat naive) only when a one-sided paired t-test of its
# absolute errors against naive's gives a p-value below this; 1 serves the lowest MAE.
FORECAST_SERVE_MAX_P = env.float("FORECAST_SERVE_MAX_P", default=0.05)
# Scoring: a latest price this close (seconds) to a target time stands in for the
# candle closing at it.
FORECAST_SCORE_TOLERANCE = env.int("FORECAST_SCORE_TOLERANCE", default=120)
# The periodic scoring tries targets of the last this many days (candle writes score
# older ones when their candles arrive).
FORECAST_SCORE_DAYS = env.int("FORECAST_SCORE_DAYS", default=7)
# Assets trained by the schedule (empty: every asset with enough candles).
FORECAST_SYMBOLS = env.list("FORECAST_SYMBOLS", default=[])
