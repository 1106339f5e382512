"""Settings for every environment, configured only by environment variables (see README and .env.example).

Development and production differ by environment alone: SQLite and an in-memory channel layer when
nothing is set; PostgreSQL through DATABASE_URL and Redis through REDIS_URL for the scaled deployment.
"""

from __future__ import annotations

import tomllib
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url

from core.env import (
    env_bool,
    env_choice,
    env_duration,
    env_float,
    env_int,
    env_list,
    env_media_types,
    env_networks,
    env_origins,
    env_rate,
    env_size,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core -------------------------------------------------------------------------------------------
_DEV_SECRET_KEY = "django-insecure-dev-key-do-not-use-in-production-0123456789abcdefghijklmnop"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    SECRET_KEY = _DEV_SECRET_KEY
    warnings.warn(
        "DJANGO_SECRET_KEY is not set: using the development key. Set it in production.",
        RuntimeWarning,
        stacklevel=1,
    )
# Earlier keys, while signed and sealed values (sessions, reset links, webhook signing secrets) move over.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "chatsite",  # first: its `runserver` is daphne's, with the bounds of chatsite/server.py
    "daphne",  # before staticfiles, so that `runserver` serves ASGI (HTTP and WebSockets)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_q",
    "jobs",
    "users",
    "messaging",
    "emails",
    "integrations",
    "realtime",
    "compat",
    "corsheaders",
]

MIDDLEWARE = [
    # Outermost: the request id is set before anything logs, and the metrics time every middleware.
    "core.request_context.RequestContextMiddleware",
    # Before anything that can answer: a CORS preflight is answered here, never reaching authentication.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RefuseNulInQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
WSGI_APPLICATION = "chatsite.wsgi.application"
ASGI_APPLICATION = "chatsite.asgi.application"
AUTH_USER_MODEL = "users.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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

# --- Database ---------------------------------------------------------------------------------------
# Django advises against persistent connections under ASGI; PostgreSQL uses psycopg's pool instead
# and SQLite runs in WAL mode with IMMEDIATE transactions, so concurrent writers queue instead of
# failing with "database is locked" when a reader upgrades to a writer.
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Database work runs on one sync thread (thread-sensitive executor), so keeping its connection
    # open is safe, and opening a SQLite connection (with its PRAGMAs) per query is not cheap.
    _db["CONN_MAX_AGE"] = None
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif _db["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_POOL", True):
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN", 2, minimum=0),
        "max_size": env_int("DATABASE_POOL_MAX", 20, minimum=1),
        "timeout": env_float("DATABASE_POOL_TIMEOUT", 10.0, minimum=0.1),
    }

# --- Redis: cache and channel layer -----------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
# The pub/sub layer, measured against the core layer with this project's hub (README, "Performance"):
# less server and Redis CPU per delivery, no per-channel capacity to overflow, and a dead process's
# subscriptions vanish with its connection. "core" stays available.
CHAT_CHANNEL_LAYER = env_str("CHAT_CHANNEL_LAYER", "pubsub")
if CHAT_CHANNEL_LAYER not in {"core", "pubsub"}:
    raise ValueError(f"CHAT_CHANNEL_LAYER={CHAT_CHANNEL_LAYER!r}: use 'core' or 'pubsub'")
# One hub per process subscribes to the layer, so a channel only queues events for a whole process;
# a capacity that large never drops in practice, and a drop would be healed from the database.
CHAT_LAYER_CAPACITY = env_int("CHAT_LAYER_CAPACITY", 10_000, minimum=100)
CHAT_REDIS_POOL_SIZE = env_int("CHAT_REDIS_POOL_SIZE", 200, minimum=10)
# Redis calls a process makes at once (group joins, presence); below the pool size, which raises when full.
CHAT_REDIS_CONCURRENCY = env_int("CHAT_REDIS_CONCURRENCY", 64, minimum=1)
CHAT_LAYER_PREFIX = env_str("CHAT_LAYER_PREFIX", "chat")
CHAT_GROUP_EXPIRY = env_int("CHAT_GROUP_EXPIRY", 120, minimum=1)

CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CHAT_LAYER_PREFIX,
        }
    }
    _host = {"address": REDIS_URL, "max_connections": CHAT_REDIS_POOL_SIZE}
    if CHAT_CHANNEL_LAYER == "pubsub":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [_host], "prefix": CHAT_LAYER_PREFIX},
            }
        }
    else:
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [_host],
                    "prefix": CHAT_LAYER_PREFIX,
                    "capacity": CHAT_LAYER_CAPACITY,
                    "expiry": 60,
                    # Hubs re-join their groups on every presence heartbeat, so a killed process's
                    # channel drops out of every group after this long (channels-redis trims on send).
                    "group_expiry": CHAT_GROUP_EXPIRY,
                },
            }
        }
else:
    # Rate-limit budgets live here too: room for many users before entries are culled (default 300).
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 20_000}}
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHAT_LAYER_CAPACITY},
        }
    }

# --- Auth and passwords -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

CHAT_SIGNUP_OPEN = env_bool("CHAT_SIGNUP_OPEN", True)
CHAT_ACCESS_TOKEN_LIFETIME = env_duration("CHAT_ACCESS_TOKEN_LIFETIME", 15 * 60)
CHAT_REFRESH_TOKEN_LIFETIME = env_duration("CHAT_REFRESH_TOKEN_LIFETIME", 7 * 86400)
# Secure cookies by default unless DEBUG; set false to try the API over plain http on a LAN.
CHAT_SECURE_COOKIES = env_bool("CHAT_SECURE_COOKIES", not DEBUG)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=CHAT_ACCESS_TOKEN_LIFETIME),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=CHAT_REFRESH_TOKEN_LIFETIME),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # A password change revokes tokens issued before it.
    "CHECK_REVOKE_TOKEN": True,
}

CHAT_ACCESS_COOKIE = "access_token"
CHAT_REFRESH_COOKIE = "refresh_token"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Our personal access tokens (``chat_...``, scoped); anything else falls through.
        "users.authentication.ApiTokenAuthentication",
        # First, so a provider's token is verified by OIDC; any other Bearer token falls through to ours.
        "users.authentication.OidcBearerAuthentication",
        "users.authentication.BearerTokenAuthentication",
        "users.authentication.CookieTokenAuthentication",
        # So that an administrator signed in to /admin/ can use the browsable API (CSRF enforced).
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Deeply nested JSON is a 400, and text a client sent is always renderable (core/parsers.py,
    # core/renderers.py); views that name their parsers use core.parsers.JSONParser too.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "core.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exception_handler.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "signup": env_str("CHAT_SIGNUP_RATE", "20/hour"),
        "token": env_str("CHAT_TOKEN_RATE", "30/min"),
        "upload": env_str("CHAT_UPLOAD_RATE", "60/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Throttles identify clients by REMOTE_ADDR, never by a client-supplied X-Forwarded-For: behind the
    # bundled proxy, daphne --proxy-headers already puts the real address there.
    "NUM_PROXIES": 0,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "back_chat on Django",
    "DESCRIPTION": (
        "REST API of the chat backend. The WebSocket protocol (`/ws/messages/`, `/ws/notifications/`) is "
        "described by the AsyncAPI 3 document at [/api/asyncapi.yaml](/api/asyncapi.yaml)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "WorkspaceRoleEnum": "users.models.User.Role",
        "RoomRoleEnum": "messaging.models.Membership.Role",
    },
}

# --- OpenID Connect ---------------------------------------------------------------------------------
# Access tokens of an OpenID Connect provider (Keycloak, as back_chat used) are accepted beside ours when
# the issuer, audience and JWKS URL are all set; users map by (issuer, subject), never by a name.
CHAT_OIDC_ISSUER = env_str("CHAT_OIDC_ISSUER", "")
CHAT_OIDC_AUDIENCE = env_str("CHAT_OIDC_AUDIENCE", "")
CHAT_OIDC_JWKS_URL = env_str("CHAT_OIDC_JWKS_URL", "")
_oidc_set = [bool(CHAT_OIDC_ISSUER), bool(CHAT_OIDC_AUDIENCE), bool(CHAT_OIDC_JWKS_URL)]
if any(_oidc_set) and not all(_oidc_set):
    raise ValueError("Set all of CHAT_OIDC_ISSUER, CHAT_OIDC_AUDIENCE and CHAT_OIDC_JWKS_URL, or none of them")
CHAT_OIDC_JWKS_TTL = env_duration("CHAT_OIDC_JWKS_TTL", 3600)
# Refetches for unknown key ids are spaced at least this far apart, so bogus ids cannot hammer the provider.
CHAT_OIDC_JWKS_MIN_INTERVAL = env_duration("CHAT_OIDC_JWKS_MIN_INTERVAL", 60)
# Keycloak names the client a token was issued to in "azp" and adds it to "aud" only with an Audience
# mapper (stock tokens say "aud": ["account"]); on, a token whose azp is CHAT_OIDC_AUDIENCE is accepted
# when aud does not name it (README "Migrating from back_chat"). Off: aud must name it.
CHAT_OIDC_ACCEPT_AZP = env_bool("CHAT_OIDC_ACCEPT_AZP", True)
CHAT_OIDC_LEEWAY = env_int("CHAT_OIDC_LEEWAY", 30, minimum=0)
CHAT_OIDC_ALGORITHMS = env_list("CHAT_OIDC_ALGORITHMS", ["RS256"])
# Only public-key algorithms: "none" and HMAC would let anyone holding the public key forge tokens.
_oidc_refused = sorted(set(CHAT_OIDC_ALGORITHMS) - {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
if _oidc_refused or not CHAT_OIDC_ALGORITHMS:
    raise ValueError(f"CHAT_OIDC_ALGORITHMS: use RS256, RS384, RS512, PS256, PS384 or PS512, not {_oidc_refused}")

# The release, in /healthz and back_chat's /api/health ("version").
_PROJECT = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["project"]
CHAT_VERSION = env_str("CHAT_VERSION", "") or _PROJECT["version"]

# --- Socket lifetime, CORS and shutdown (README "Socket lifetime", "CORS", "Graceful shutdown") ----------
# back_chat's socket paths check the token at the handshake only, as back_chat did ("handshake"); with
# "expiry" they close with 4401 when it expires unrenewed, as the new paths always do. Deactivation,
# deletion and a password change close every socket at once either way.
CHAT_LEGACY_TOKEN_CHECK = env_choice("CHAT_LEGACY_TOKEN_CHECK", "handshake", {"handshake", "expiry"})

# CORS (django-cors-headers) for web clients on other origins: none by default. Credentials (the
# access_token cookie) are allowed for those origins; a preflight OPTIONS is answered by the middleware.
CORS_ALLOWED_ORIGINS = env_origins("CHAT_CORS_ALLOWED_ORIGINS", [])
CORS_ALLOW_CREDENTIALS = env_bool("CHAT_CORS_ALLOW_CREDENTIALS", True)
# The API (new and back_chat's paths) and health; not the admin, the page or /metrics.
CORS_URLS_REGEX = r"^/(api/|v1/|healthz$|connected_users/?$|ws/connected_users/?$)"
CORS_EXPOSE_HEADERS = ["Content-Disposition", "Retry-After", "X-Request-ID"]
# On SIGTERM a daphne process (chatsite.shutdown) and gunicorn (chatsite/gunicorn_conf.py) stop accepting,
# close sockets with 1012, finish requests in flight and exit within this many seconds.
CHAT_SHUTDOWN_TIMEOUT = env_duration("CHAT_SHUTDOWN_TIMEOUT", 10)
# The browser origins allowed to open a WebSocket (scheme, host and port compared exactly). Empty: the
# host of the Origin must be one of ALLOWED_HOSTS, on any port (the behaviour before this setting).
CHAT_WS_ALLOWED_ORIGINS = env_origins("CHAT_WS_ALLOWED_ORIGINS", [])

# --- Chat limits ------------------------------------------------------------------------------------
CHAT_MAX_MESSAGE_LENGTH = env_int("CHAT_MAX_MESSAGE_LENGTH", 4000, minimum=1)
CHAT_HISTORY_PAGE_SIZE = env_int("CHAT_HISTORY_PAGE_SIZE", 10, minimum=1)
CHAT_HISTORY_MAX_PAGE = env_int("CHAT_HISTORY_MAX_PAGE", 100, minimum=1)
# Message search (messaging/search.py): PostgreSQL's text search configuration (stemming and stop words);
# SQLite's FTS5 stems English (porter) for "english" and only folds case and accents for any other.
# The index is built in this language: after changing it, run `manage.py search_index --rebuild`.
CHAT_SEARCH_LANGUAGE = env_choice(
    "CHAT_SEARCH_LANGUAGE",
    "english",
    {
        "simple", "arabic", "armenian", "basque", "catalan", "danish", "dutch", "english", "finnish", "french",
        "german", "greek", "hindi", "hungarian", "indonesian", "irish", "italian", "lithuanian", "nepali",
        "norwegian", "portuguese", "romanian", "russian", "serbian", "spanish", "swedish", "tamil", "turkish",
        "yiddish",
    },
)  # fmt: skip
CHAT_MAX_UPLOAD_BYTES = env_size("CHAT_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
CHAT_MAX_UPLOAD_FILES = env_int("CHAT_MAX_UPLOAD_FILES", 10, minimum=1)
CHAT_MAX_UPLOAD_REQUEST_BYTES = env_size("CHAT_MAX_UPLOAD_REQUEST_BYTES", 50 * 1024 * 1024)
# The largest request body the server reads at all (multipart uploads; any other body is held to
# DATA_UPLOAD_MAX_MEMORY_SIZE): the files of an upload request plus room for their multipart framing.
CHAT_MAX_BODY_BYTES = env_size("CHAT_MAX_BODY_BYTES", CHAT_MAX_UPLOAD_REQUEST_BYTES + 1024 * 1024)
# Seconds a client has to send a request's line and headers (slow clients, slowloris) before it is closed.
CHAT_HEADER_TIMEOUT = env_duration("CHAT_HEADER_TIMEOUT", 10)
CHAT_MAX_AVATAR_BYTES = env_size("CHAT_MAX_AVATAR_BYTES", 2 * 1024 * 1024)
CHAT_MAX_FRAME_BYTES = env_size("CHAT_MAX_FRAME_BYTES", 64 * 1024)
CHAT_REPLAY_LIMIT = env_int("CHAT_REPLAY_LIMIT", 500, minimum=1)
# A replay is sent in history frames of at most this many bytes: daphne refuses frames over 1 MiB.
CHAT_REPLAY_FRAME_BYTES = env_size("CHAT_REPLAY_FRAME_BYTES", 512 * 1024)
if not 16 * 1024 <= CHAT_REPLAY_FRAME_BYTES <= 1024 * 1024:
    raise ValueError(f"CHAT_REPLAY_FRAME_BYTES={CHAT_REPLAY_FRAME_BYTES} must be from 16KiB to 1MiB")
CHAT_SOCKET_RATE = env_float("CHAT_SOCKET_RATE", 10.0, minimum=0.1)  # frames per second, sustained
CHAT_SOCKET_BURST = env_int("CHAT_SOCKET_BURST", 30, minimum=1)
CHAT_SOCKET_FLOOD_LIMIT = env_int("CHAT_SOCKET_FLOOD_LIMIT", 20, minimum=1)  # refused frames before 4429
# Per-user budgets, shared by REST and every socket in every process (core/budgets.py): messages
# posted, and notifications sent (one unit per recipient).
CHAT_MESSAGE_RATE = env_rate("CHAT_MESSAGE_RATE", "30/10s")
CHAT_NOTIFICATION_RATE = env_rate("CHAT_NOTIFICATION_RATE", "100/5m")
# Reactions added or removed per user (REST and sockets together).
CHAT_REACTION_RATE = env_rate("CHAT_REACTION_RATE", "60/min")
# Reports of messages, per reporter (teams: moderation).
CHAT_REPORT_RATE = env_rate("CHAT_REPORT_RATE", "10/10m")
# A message does not notify someone who still has an unread notification of the same kind from the same
# sender in the same room, younger than this (0: every message notifies).
CHAT_NOTIFICATION_COALESCE_WINDOW = env_duration("CHAT_NOTIFICATION_COALESCE_WINDOW", 10 * 60)
# Open sockets per user across every process (presence counts them), and per client address per process.
CHAT_MAX_SOCKETS_PER_USER = env_int("CHAT_MAX_SOCKETS_PER_USER", 20, minimum=1)
CHAT_MAX_SOCKETS_PER_IP = env_int("CHAT_MAX_SOCKETS_PER_IP", 200, minimum=1)
# WebSocket handshakes in progress per process (realtime/admission.py), so that a reconnect storm cannot
# push every handshake past its timeout; over it a handshake waits, then is refused with 503 and
# Retry-After. 0: no cap.
CHAT_MAX_PENDING_HANDSHAKES = env_int("CHAT_MAX_PENDING_HANDSHAKES", 200, minimum=0)
# How long a handshake over that cap waits, parked in arrival order, for a slot before it is refused
# (0: refused at once); at most 10x the cap wait, the others are refused at once.
CHAT_HANDSHAKE_QUEUE_SECONDS = env_duration("CHAT_HANDSHAKE_QUEUE_SECONDS", 10)
CHAT_TYPING_INTERVAL = env_float("CHAT_TYPING_INTERVAL", 2.0, minimum=0.0)
CHAT_PRESENCE_HEARTBEAT = env_float("CHAT_PRESENCE_HEARTBEAT", 15.0, minimum=0.1)
CHAT_PRESENCE_EXPIRY = env_float("CHAT_PRESENCE_EXPIRY", 45.0, minimum=0.2)
CHAT_PRESENCE_BACKEND = env_str(
    "CHAT_PRESENCE_BACKEND",
    "realtime.presence.RedisPresence" if REDIS_URL else "realtime.presence.DatabasePresence",
)
CHAT_LAYER_TIMEOUT = env_float("CHAT_LAYER_TIMEOUT", 2.0, minimum=0.05)
# How long each process reuses its last /healthz answer (core/health.py); 0 probes on every request.
CHAT_HEALTH_CACHE_SECONDS = env_float("CHAT_HEALTH_CACHE_SECONDS", 1.0, minimum=0.0)
# How often each process compares its rooms with the database and delivers what the layer lost. Without
# Redis this is also how messages posted by the jobs worker (a bot's reply) reach sockets: every second.
CHAT_HUB_SYNC_INTERVAL = env_float("CHAT_HUB_SYNC_INTERVAL", 5.0 if REDIS_URL else 1.0, minimum=0.05)
CHAT_UNREAD_INTERVAL = env_float("CHAT_UNREAD_INTERVAL", 0.5, minimum=0.01)
CHAT_SLOW_READER_LIMIT = env_size("CHAT_SLOW_READER_LIMIT", 4 * 1024 * 1024)
# A replay frame still unsent, plus the live frames behind it, must not look like a slow reader.
CHAT_REPLAY_FRAME_BYTES = max(16 * 1024, min(CHAT_REPLAY_FRAME_BYTES, CHAT_SLOW_READER_LIMIT // 2))

# Upload types, as sniffed from the bytes (messaging/sniffing.py): full types, families such as
# "video/*", or "*". A type must be allowed and not denied; everything is allowed by default.
CHAT_UPLOAD_ALLOWED_TYPES = env_media_types("CHAT_UPLOAD_ALLOWED_TYPES", ["*"])
CHAT_UPLOAD_DENIED_TYPES = env_media_types("CHAT_UPLOAD_DENIED_TYPES", [])
# Image thumbnails (messaging/thumbnails.py): the longest side in pixels, and the largest image (width
# x height) that is decoded for one; larger images are stored without a thumbnail.
CHAT_THUMBNAIL_SIZE = env_int("CHAT_THUMBNAIL_SIZE", 400, minimum=16)
CHAT_THUMBNAIL_MAX_PIXELS = env_int("CHAT_THUMBNAIL_MAX_PIXELS", 50_000_000, minimum=1)

DATA_UPLOAD_MAX_MEMORY_SIZE = env_size("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = [
    "messaging.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Background jobs (jobs/, on django-q2 with its ORM broker: README "Background jobs") ------------
# "embedded": `python -m chatsite.serve` starts one worker process and stops it on exit (make run);
# "external": run `manage.py jobs_worker` yourself, as many as you like (docker-compose's worker service).
CHAT_JOBS_WORKER = env_str("CHAT_JOBS_WORKER", "embedded")
if CHAT_JOBS_WORKER not in {"embedded", "external"}:
    raise ValueError(f"CHAT_JOBS_WORKER={CHAT_JOBS_WORKER!r}: use 'embedded' or 'external'")
CHAT_JOBS_CONCURRENCY = env_int("CHAT_JOBS_CONCURRENCY", 2, minimum=1)  # jobs one worker runs at once
CHAT_JOBS_TIMEOUT = env_duration("CHAT_JOBS_TIMEOUT", 300)  # a longer job is stopped and counts as failed
# A job whose worker died (kill -9, OOM, a lost host) runs again after this long; longer than the timeout,
# or a job still running would be handed to a second worker.
CHAT_JOBS_REDELIVER_AFTER = env_duration("CHAT_JOBS_REDELIVER_AFTER", CHAT_JOBS_TIMEOUT + 60)
if CHAT_JOBS_REDELIVER_AFTER <= CHAT_JOBS_TIMEOUT:
    raise ValueError("CHAT_JOBS_REDELIVER_AFTER must be longer than CHAT_JOBS_TIMEOUT")
CHAT_JOBS_POLL = env_float("CHAT_JOBS_POLL", 0.5, minimum=0.05)  # seconds between looks at an empty queue
# How often a worker looks for delayed jobs (and retries) that are due: their lateness at most.
CHAT_JOBS_SCHEDULE_INTERVAL = env_float("CHAT_JOBS_SCHEDULE_INTERVAL", 1.0, minimum=0.05)
# Touched by a healthy worker on every schedule check; docker-compose's health check reads its age.
CHAT_JOBS_HEARTBEAT_FILE = env_str("CHAT_JOBS_HEARTBEAT_FILE", "")
Q_CLUSTER = {
    "name": "chat",
    "label": "Background jobs",
    "orm": "default",
    "workers": CHAT_JOBS_CONCURRENCY,
    # Prefetch no more than the worker can start at once: a prefetched job waits unacknowledged.
    "queue_limit": CHAT_JOBS_CONCURRENCY,
    "bulk": 1,
    "timeout": CHAT_JOBS_TIMEOUT,
    "retry": CHAT_JOBS_REDELIVER_AFTER,
    # A failed job is acknowledged: jobs.runner has already scheduled its retry with backoff.
    "ack_failures": True,
    "max_attempts": 0,
    "poll": CHAT_JOBS_POLL,
    "save_limit": env_int("CHAT_JOBS_KEEP_SUCCESSES", 250, minimum=0),
    "catch_up": False,
    "cpu_affinity": 0,
    "recycle": 500,
}

# --- Email ------------------------------------------------------------------------------------------
# The console backend unless an SMTP host is set: `make run` prints each email it would send.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Chat <chat@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Absolute links in emails (the page, unsubscribe) start with this.
CHAT_SITE_URL = env_str("CHAT_SITE_URL", "http://localhost:8000").rstrip("/")
# A mention or direct message still unread this long after it arrived is emailed (README "Missed-message email").
CHAT_EMAIL_DELAY = env_duration("CHAT_EMAIL_DELAY", 10 * 60)

# --- Integrations: incoming and outgoing webhooks (integrations/, README "Webhooks and slash commands") --
# Messages one incoming webhook may post (core/budgets.py), and the largest body it accepts.
CHAT_WEBHOOK_RATE = env_rate("CHAT_WEBHOOK_RATE", "30/min")
CHAT_WEBHOOK_MAX_BODY = env_size("CHAT_WEBHOOK_MAX_BODY", 64 * 1024)
# Outgoing deliveries: targets that resolve to loopback, private, link-local, multicast, reserved or
# metadata addresses are refused unless allowed (tests allow them); plain http:// needs the second switch.
CHAT_WEBHOOK_ALLOW_PRIVATE = env_bool("CHAT_WEBHOOK_ALLOW_PRIVATE", False)
CHAT_WEBHOOK_ALLOW_HTTP = env_bool("CHAT_WEBHOOK_ALLOW_HTTP", False)
CHAT_WEBHOOK_TIMEOUT = env_float("CHAT_WEBHOOK_TIMEOUT", 5.0, minimum=0.1)  # connect, and each read
CHAT_WEBHOOK_MAX_RESPONSE = env_size("CHAT_WEBHOOK_MAX_RESPONSE", 64 * 1024)  # more is not read
# Failed tries in a row (over all of a subscription's deliveries) after which it is disabled.
CHAT_WEBHOOK_DISABLE_AFTER = env_int("CHAT_WEBHOOK_DISABLE_AFTER", 10, minimum=1)
# The first wait between tries of a delivery, doubled after each (6 tries: about an hour in all).
CHAT_WEBHOOK_RETRY_BASE = env_float("CHAT_WEBHOOK_RETRY_BASE", 120.0, minimum=0.0)

# --- Internationalisation, static and media files ---------------------------------------------------
LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("es", "Spanish"), ("fr", "French"), ("de", "German"), ("pt", "Portuguese")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media")))

# --- Security ---------------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = CHAT_SECURE_COOKIES
CSRF_COOKIE_SECURE = CHAT_SECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Behind the bundled proxy: the scheme from X-Forwarded-Proto, and (under gunicorn, chatsite/wsgi.py; daphne
# has --proxy-headers) the client's address from X-Forwarded-For, which nginx overwrites.
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
# Container health checks call a replica directly over plain http; a redirect to https would fail them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# Preload binds the whole domain to https in browsers for months and is slow to undo, so it stays an
# explicit opt-in (DJANGO_SECURE_HSTS_PRELOAD) rather than a `check --deploy` warning on every deployment.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- Logging ----------------------------------------------------------------------------------------
# "plain" lines for people, "json" (one object per line, python-json-logger) for a log pipeline. Both
# carry the request id (HTTP) or connection id (sockets) and are redacted (core/log_filters.py).
CHAT_LOG_FORMAT = env_choice("CHAT_LOG_FORMAT", "plain", {"plain", "json"})
# One `chat.access` line per HTTP request from Django, with its request id, view, status and duration.
# daphne writes its own access log; gunicorn (docker-compose's http service) does not, so it turns this on.
CHAT_REQUEST_LOG = env_bool("CHAT_REQUEST_LOG", False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_tokens": {"()": "core.log_filters.RedactTokensFilter"},
        "context": {"()": "core.request_context.ContextFilter"},
    },
    "formatters": {
        "plain": {
            "()": "core.log_filters.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(context)s%(message)s",
        },
        "json": {
            "()": "core.log_filters.RedactingJsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(connection_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": CHAT_LOG_FORMAT,
            "filters": ["context", "redact_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": env_str("CHAT_ACCESS_LOG_LEVEL", "INFO"), "propagate": True},
        "chat.access": {"level": env_str("CHAT_ACCESS_LOG_LEVEL", "INFO"), "propagate": True},
        "daphne": {"level": "WARNING", "propagate": True},
        # django-q2 logs every enqueue and every job at INFO; our runner logs failures and retries.
        "django-q": {"level": env_str("CHAT_JOBS_LOG_LEVEL", "WARNING"), "propagate": True},
    },
}

# --- Metrics (README "Metrics") ---------------------------------------------------------------------
# /metrics answers clients in these networks, or any client with `Authorization: Bearer <token>` when a
# token is set; everyone else gets a 404. Loopback only by default; an empty list and no token: off.
CHAT_METRICS_ALLOW = env_networks("CHAT_METRICS_ALLOW", ["127.0.0.0/8", "::1"])
CHAT_METRICS_TOKEN = env_str("CHAT_METRICS_TOKEN", "")
if CHAT_METRICS_TOKEN and len(CHAT_METRICS_TOKEN) < 16:
    raise ValueError("CHAT_METRICS_TOKEN must be at least 16 characters (e.g. openssl rand -hex 24)")
