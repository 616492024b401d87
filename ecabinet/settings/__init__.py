"""Settings for e-Cabinet, read once from the environment: Django's own here, each topic in its module.

Nothing else in the project reads ``os.environ``: every variable documented in the README is read in this
package, through ``ecabinet.settings.environment`` (where a secret may also be given as ``<NAME>_FILE``).
DJANGO_SETTINGS_MODULE is ``ecabinet.settings``; the topic modules are imported whole below:
``security`` (web hardening, MFA, devices and tokens, lockout), ``documents`` (documents, PDF admission,
comparisons), ``limits`` (request bodies, rates, the room's bounds) and ``signing`` (keys, timestamps,
how the issuer is printed).
"""

import re
from pathlib import Path

import dj_database_url

from ecabinet.settings.documents import *  # noqa: F403
from ecabinet.settings.environment import BASE_DIR, VAR_DIR, env, envbool, envint
from ecabinet.settings.limits import *  # noqa: F403
from ecabinet.settings.limits import API_NUM_PROXIES
from ecabinet.settings.security import *  # noqa: F403
from ecabinet.settings.signing import *  # noqa: F403

DEBUG = envbool("DEBUG", "False")


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once per installation in VAR_DIR.

    A fixed fallback in the code would let every installation forge the others' sessions.
    """
    key = env("SECRET_KEY", "")
    if key:
        return key
    import secrets

    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "channels",
    "csp",
    "ecabinet",
    "meetings",
    "voting",
    "records",
    "followup",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise, so static files keep their long cache; every other answer is confidential.
    "ecabinet.hardening.HardeningMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ecabinet.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "ecabinet.idle.IdleSessionMiddleware",  # after the messages: it says why a session ended
    "ecabinet.mfa_views.MFAEnrolmentMiddleware",  # MFA_ENFORCE: confines a user who must enrol
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # a refused sign-in becomes 429 (ecabinet.lockout)
    # Last, so that its 400 gets every header the others add; still before any view authenticates.
    "ecabinet.middleware.JSONLimitsMiddleware",
]

ROOT_URLCONF = "ecabinet.urls"
ASGI_APPLICATION = "ecabinet.asgi.application"
WSGI_APPLICATION = None

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
                "ecabinet.context_processors.notifications",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# Database: SQLite by default (zero set-up), PostgreSQL with DATABASE_URL.
# SQLite runs in WAL mode with IMMEDIATE transactions so that writers queue on the busy timeout
# instead of failing with "database is locked" when a read transaction tries to upgrade.
# HTTP requests run on a fixed pool of HTTP_MAX_CONCURRENCY threads (hotpath.http_handler), and
# the sockets' database work on one more thread: a bounded number of threads, so each keeps its
# connection (DB_CONN_MAX_AGE seconds; opening a SQLite connection costs more than most queries).
# PostgreSQL: a connection pool per process (Django's, psycopg_pool), larger than those threads;
# DB_POOL_MAX=0 turns it off (behind PgBouncer), and DB_CONN_MAX_AGE then applies there too.
DATABASE_URL = env("DATABASE_URL", "")
# DATABASE_URL=sqlite:///path is the same as SQLITE_PATH=path (WAL, IMMEDIATE); only a server database gets the pool.
_sqlite_path = DATABASE_URL[len("sqlite://"):] if DATABASE_URL.startswith("sqlite://") else ""
if _sqlite_path:
    _sqlite_path = _sqlite_path[1:] if _sqlite_path.startswith("/") else _sqlite_path
    DATABASE_URL = ""
HTTP_MAX_CONCURRENCY = envint("HTTP_MAX_CONCURRENCY", "8" if DATABASE_URL else "4")
DB_CONN_MAX_AGE = envint("DB_CONN_MAX_AGE", "600")
if DATABASE_URL:
    DB_POOL_MAX = envint("DB_POOL_MAX", str(HTTP_MAX_CONCURRENCY + 4))
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0 if DB_POOL_MAX else DB_CONN_MAX_AGE)}
    if DB_POOL_MAX:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(2, DB_POOL_MAX), "max_size": DB_POOL_MAX,
            "timeout": envint("DB_POOL_TIMEOUT", "30"), "max_idle": 300}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _sqlite_path or env("SQLITE_PATH", str(VAR_DIR / "ecabinet.sqlite3")),
            "CONN_MAX_AGE": DB_CONN_MAX_AGE,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": envint("SQLITE_BUSY_TIMEOUT", "20"),
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
            "TEST": {"NAME": env("SQLITE_TEST_PATH", "") or None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channels: in-memory layer on one process, Redis when scaled out (docs/deploy.md, "The channel
# layer"). The core layer stores a group message once per receiving process, bounded (capacity, per
# process and per socket: beyond it the oldest doorbells are dropped and clients resume from the
# database) and short-lived (expiry: an old doorbell is worthless). Memberships expire unless the
# sockets renew them (every minute, meetings.consumers), so the sockets of a process that died stop
# receiving copies, and a restarted Redis is repopulated. REDIS_PREFIX keeps installations (or test
# runs) sharing one Redis apart.
REDIS_URL = env("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env("REDIS_PREFIX", "ecabinet"),
                "capacity": envint("CHANNEL_CAPACITY", "1000"),
                # The process's one channel for all its sockets (hotpath.hub) carries every doorbell.
                "channel_capacity": {"hub*": 10 * envint("CHANNEL_CAPACITY", "1000")},
                "expiry": 30,
                "group_expiry": 300,
            },
        }
    }
else:
    # The process's one channel for all its sockets (hotpath.hub) carries every doorbell. Given as
    # compiled (pattern, capacity) pairs: channels 4.3's in-memory layer does not compile a dict.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer",
                                  "CONFIG": {"channel_capacity": [(re.compile(r"hub\."), 10_000)]}}}
# Django's cache holds the rate counters (ecabinet.limits) and the lockout's (ecabinet.lockout): Redis, shared
# by every Daphne process, when REDIS_URL is set, else this process's memory (one process: nothing to share).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": env("REDIS_PREFIX", "ecabinet")}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ecabinet"}}

AUTH_USER_MODEL = "ecabinet.User"
AUTHENTICATION_BACKENDS = [
    "ecabinet.lockout.LockoutBackend",  # first: refuses a locked account or address before any password check
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# django-guardian: no anonymous user object; permissions live in direct foreign-key tables.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Ho_Chi_Minh")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media-not-served/"  # documents are only ever served through permission-checked views

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "e-cabinet@localhost")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes unauthenticated calls answer 401, not 403.
        "ecabinet.api.authentication.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated",
                                   "ecabinet.api.mfa_gate.SecondFactorEnrolled"],  # issue 15, MFA_ENFORCE
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "ecabinet.api.parsers.JSONParser",  # rest_framework's, with ecabinet.jsonguard's bounds
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ecabinet.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": API_NUM_PROXIES,  # area "fix-http", in ecabinet.settings.limits
}
SPECTACULAR_SETTINGS = {
    "TITLE": "e-Cabinet API",
    "DESCRIPTION": "Public API v1 of e-Cabinet. Errors are {\"code\", \"detail\"}; every POST accepts "
    "an Idempotency-Key header.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # `check --deploy` is the deployment's security check (README "Production settings"); the schema's own
    # naming warnings belong to the API's tests (tests/test_api_auth_and_errors.py), not to start-up.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
}
IDEMPOTENCY_KEY_TTL_HOURS = envint("IDEMPOTENCY_KEY_TTL_HOURS", "72")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"fontTools": {"level": "ERROR"}, "weasyprint": {"level": "ERROR"}, "pikepdf": {"level": "WARNING"}},
}
