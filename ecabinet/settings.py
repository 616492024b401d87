"""Settings for e-Cabinet: one flat module, read once from the environment.

Nothing else in the project reads ``os.environ``. Every variable documented in the README is read
here; a secret may also be given as ``<NAME>_FILE`` pointing at a file (systemd credentials, Docker
secrets), in the manner of healthchecks.
"""

import os
import re
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def envbool(name: str, default: str) -> bool:
    return env(name, default).strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: str) -> int:
    return int(env(name, default))


DEBUG = envbool("DEBUG", "False")
VAR_DIR = Path(env("VAR_DIR", str(BASE_DIR / "var")))


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
# HTTP requests run on a fixed pool of HTTP_MAX_CONCURRENCY threads (ecabinet.http_handler), and
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
                # The process's one channel for all its sockets (ecabinet.hub) carries every doorbell.
                "channel_capacity": {"hub*": 10 * envint("CHANNEL_CAPACITY", "1000")},
                "expiry": 30,
                "group_expiry": 300,
            },
        }
    }
else:
    # The process's one channel for all its sockets (ecabinet.hub) carries every doorbell. Given as
    # compiled (pattern, capacity) pairs: channels 4.3's in-memory layer does not compile a dict.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer",
                                  "CONFIG": {"channel_capacity": [(re.compile(r"hub\."), 10_000)]}}}

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

# --- Web hardening (issue 15, area "harden"; docs/security.md "Web hardening", README "Production settings") ---
# HTTPS: behind the TLS proxy (deploy/nginx) set SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO (nginx
# overwrites that header with its own scheme, so a caller cannot forge it), then the redirect, HSTS and
# Secure cookies. `manage.py check --deploy` is clean with the values in deploy/systemd/env.example.
_proxy_ssl_header = env("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header, "https") if _proxy_ssl_header else None
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "False")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "False")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "False")
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", env("SECURE_COOKIES", "False"))  # SECURE_COOKIES: both
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", str(SESSION_COOKIE_SECURE))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # the document and ballot file views allow their own site (ecabinet.hardening.framed_by_self)
# Powerful browser features no screen uses are switched off; passkeys (WebAuthn) and fullscreen reading stay ours.
PERMISSIONS_POLICY = ", ".join([*(f"{f}=()" for f in (
    "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "geolocation", "gyroscope",
    "hid", "magnetometer", "microphone", "midi", "payment", "picture-in-picture", "screen-wake-lock", "serial",
    "usb", "xr-spatial-tracking")), "fullscreen=(self)", "publickey-credentials-create=(self)",
    "publickey-credentials-get=(self)"])
# Content-Security-Policy (django-csp): scripts only from this site and with the page's nonce, no inline
# style, no plugin, no framing but of our own files. CSP_REPORT_ONLY=true sends it as ...-Report-Only
# (a rollout: the browser reports, blocks nothing); CSP_REPORT_URI names where reports go.
_csp = {"DIRECTIVES": {
    "default-src": [SELF], "script-src": [SELF, NONCE], "style-src": [SELF], "img-src": [SELF, "data:", "blob:"],
    "font-src": [SELF], "connect-src": [SELF], "frame-src": [SELF], "object-src": [NONE], "base-uri": [NONE],
    "frame-ancestors": [NONE], "form-action": [SELF], "report-uri": env("CSP_REPORT_URI", "") or None}}
_csp_report_only = envbool("CSP_REPORT_ONLY", "False")  # (a CSP_* Django setting would be django-csp 3's)
CONTENT_SECURITY_POLICY = None if _csp_report_only else _csp
CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp if _csp_report_only else None
# Sessions: at most SESSION_MAX_HOURS after sign-in, and ended after SESSION_IDLE_MINUTES without a request
# or, while the live room is open, a heartbeat of its socket (ecabinet.idle; docs/limits.md). The last-seen
# mark is written at most once a minute.
SESSION_COOKIE_AGE = envint("SESSION_MAX_HOURS", "12") * 3600
SESSION_IDLE_MINUTES = envint("SESSION_IDLE_MINUTES", "30")
# --- end of web hardening ---

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

# Documents
DOCUMENT_MAX_BYTES = envint("DOCUMENT_MAX_MB", "50") * 1024 * 1024
DOCUMENT_MAX_PAGES = envint("DOCUMENT_MAX_PAGES", "2000")
# State secrets (Mật, Tối mật, Tuyệt mật) must not be stored on networked systems; the switch
# exists only for an isolated installation accredited for them.
ALLOW_STATE_SECRETS = envbool("ALLOW_STATE_SECRETS", "False")
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
WATERMARK_FONT = env("WATERMARK_FONT", str(BASE_DIR / "static" / "fonts" / "DejaVuSans.ttf"))

# --- Request limits, before authentication (issue 14 point 5; area "http"; docs/limits.md) -------
# Every HTTP request body is capped while it streams in, in the server itself (ecabinet.daphne_guard,
# before Twisted buffers it) and in front of the ASGI application (ecabinet.http_limits): a
# Content-Length over the cap is answered 413 at once, a chunked body is cut at the cap.
# The cap: HTTP_MAX_BODY_BYTES for every request (JSON and forms); HTTP_MAX_UPLOAD_BODY_BYTES for a
# multipart upload to a document, version or ballot-document upload (a PDF of DOCUMENT_MAX_BYTES
# plus the form around it); HTTP_MAX_TEXT_BODY_BYTES for saving the minutes' text (a whole minutes
# form, percent-encoded Vietnamese takes up to 9 bytes a character).
HTTP_MAX_BODY_BYTES = envint("HTTP_MAX_BODY_BYTES", str(1024 * 1024))
HTTP_MAX_UPLOAD_BODY_BYTES = envint("HTTP_MAX_UPLOAD_BODY_BYTES", str(DOCUMENT_MAX_BYTES + 1024 * 1024))
HTTP_MAX_TEXT_BODY_BYTES = envint("HTTP_MAX_TEXT_BODY_BYTES", str(DATA_UPLOAD_MAX_MEMORY_SIZE))
# A vote ({"choice": "yes"}) is a few dozen bytes: the vote intake (voting.intake) refuses more than this.
HTTP_MAX_VOTE_BODY_BYTES = envint("HTTP_MAX_VOTE_BODY_BYTES", "4096")
# After a 413 the server reads (and throws away) what the client goes on sending for this long, so
# that the client reads the answer instead of a reset connection; then it closes the connection.
HTTP_REFUSED_BODY_LINGER_SECONDS = envint("HTTP_REFUSED_BODY_LINGER_SECONDS", "5")
# A JSON body (API, vote intake) nests at most JSON_MAX_DEPTH levels and holds at most JSON_MAX_ITEMS
# values in all (object members and array items at any depth): 400 json_too_deep / json_too_many_fields.
JSON_MAX_DEPTH = envint("JSON_MAX_DEPTH", "32")
JSON_MAX_ITEMS = envint("JSON_MAX_ITEMS", "1000")
# Django's own bounds on form bodies (urlencoded and multipart): fields, and files in one request.
DATA_UPLOAD_MAX_NUMBER_FIELDS = envint("DATA_UPLOAD_MAX_NUMBER_FIELDS", "1000")
DATA_UPLOAD_MAX_NUMBER_FILES = envint("DATA_UPLOAD_MAX_NUMBER_FILES", "10")
# --- end of request limits ----------------------------------------------------------------------
# --- issue 14, area "pdf": PDF admission that cannot stall the service (docs/limits.md, "PDF admission") ---
# Uploaded files are spooled to disk above this size (Django's TemporaryFileUploadHandler), so a
# 50 MB upload is never held in memory; the PDF inspector is handed the file's path.
FILE_UPLOAD_MAX_MEMORY_SIZE = envint("FILE_UPLOAD_MAX_MEMORY_KB", "256") * 1024
# The inspector runs in a child process with these hard limits (RLIMIT_CPU, RLIMIT_AS, wall clock).
# Checking a real 50 MB / 2,000-page cabinet paper takes a few seconds and ~200 MB.
PDF_INSPECT_CPU_SECONDS = envint("PDF_INSPECT_CPU_SECONDS", "60")
PDF_INSPECT_TIMEOUT_SECONDS = envint("PDF_INSPECT_TIMEOUT_SECONDS", "90")
PDF_INSPECT_MEMORY_MB = envint("PDF_INSPECT_MEMORY_MB", "1024")
# Children at once per server process (each may use PDF_INSPECT_MEMORY_MB); others wait, then 503.
# Clamped to half of HTTP_MAX_CONCURRENCY (at least 1) so that inspections never hold every request thread.
PDF_INSPECT_CONCURRENCY = envint("PDF_INSPECT_CONCURRENCY", "2")
# --- issue 14, area "fix-pdf" (docs/limits.md, "PDF admission") ---
# How long an upload's request thread waits for an inspection slot before 503 pdf_inspection_busy,
# and the Retry-After it is told. Short: a waiting upload holds one of the HTTP_MAX_CONCURRENCY threads.
PDF_INSPECT_QUEUE_SECONDS = envint("PDF_INSPECT_QUEUE_SECONDS", "3")
PDF_INSPECT_RETRY_AFTER_SECONDS = envint("PDF_INSPECT_RETRY_AFTER_SECONDS", "30")
# Font character maps (ToUnicode, CMap encodings) decoded per page that uses them, in all: text
# extraction parses a shared map again for every page (~6 MB/s), so a map of 8 MB on 10 pages
# cost 14 s. A real subset font's map is a few KB; 2,000 pages x 4 fonts x 5 KB is 40 MB.
PDF_MAX_TEXT_MAP_BYTES = envint("PDF_MAX_TEXT_MAP_MB", "48") * 1024 * 1024
# --- end of area "fix-pdf" ---
# Bounds checked while the file is read. A page of text is tens of KB decoded; a 600 dpi A4 scan
# ~35 MB; 2,000 pages of ordinary text ~200 MB in all.
PDF_MAX_STREAM_BYTES = envint("PDF_MAX_STREAM_MB", "64") * 1024 * 1024
PDF_MAX_DECODED_BYTES = envint("PDF_MAX_DECODED_MB", "1024") * 1024 * 1024
PDF_MAX_OBJECTS = envint("PDF_MAX_OBJECTS", "500000")
PDF_MAX_DEPTH = envint("PDF_MAX_DEPTH", "100")
PDF_MAX_FORMS_PER_PAGE = envint("PDF_MAX_FORMS_PER_PAGE", "2000")
# Text kept from the pages (for "what changed" comparisons) and read per page for the secrecy stamp.
PDF_MAX_TEXT_CHARS = envint("PDF_MAX_TEXT_CHARS", "4000000")
PDF_MAX_PAGE_TEXT_CHARS = envint("PDF_MAX_PAGE_TEXT_CHARS", "50000")
# --- end of area "pdf" ---

# --- issue 14, area "compare": "what changed" between two versions at a bounded cost (docs/limits.md,
# "Comparing versions") ---
# Lines of each version's text that are compared (blank ones count); 100,000 is some 2,000 pages.
COMPARE_MAX_LINES = envint("COMPARE_MAX_LINES", "100000")
# Work of the line matcher for one comparison, in positions visited (~0.1 s per million here). Real
# drafts use a few thousand; past it the regions left are shown whole (removed, then added).
COMPARE_MAX_WORK = envint("COMPARE_MAX_WORK", "2000000")
# Changed lines listed (the first ones); the added/removed counts are always complete.
COMPARE_MAX_CHANGES = envint("COMPARE_MAX_CHANGES", "2000")
# How long a comparison stays in the cache (the text of a version never changes).
COMPARE_CACHE_SECONDS = envint("COMPARE_CACHE_SECONDS", "86400")
# --- end of area "compare" ---
# --- Issue 14, area "fix-http": the client address of the API's per-address throttle (login) -----
# How many proxies stand in front of Daphne. 0: the address is REMOTE_ADDR. Behind the cluster's
# nginx set 1: the last X-Forwarded-For entry (the one nginx wrote) is the address. Unset, DRF used
# the whole header, which the caller writes: a fresh login budget per forged header (docs/limits.md).
API_NUM_PROXIES = envint("API_NUM_PROXIES", "0")
# GET /api/v1/meetings/{id}/minutes/ lists the newest MINUTES_COMMENTS_PAGE comments on the draft,
# with their count (comments_total); older ones page with ?comments_before=<id>.
MINUTES_COMMENTS_PAGE = envint("MINUTES_COMMENTS_PAGE", "100")
# --- end of area "fix-http" ---------------------------------------------------------------------

# --- issue 15, area "mfa": multi-factor sign-in (docs/security.md "Multi-factor sign-in"; docs/limits.md) ---
# MFA_ENFORCE on: a user with one of MFA_REQUIRED_ROLES who has no second factor is sent to enrol
# after the password and gets no API token (401 mfa_enrolment_required). Off (default, the demo):
# a second factor is asked only of those who enrolled one. Roles: participant (any session role:
# chair, member, substitute, observer, secretary), member, secretariat, archivist, staff (admin).
MFA_ENFORCE = envbool("MFA_ENFORCE", "False")
MFA_REQUIRED_ROLES = [r.strip() for r in env("MFA_REQUIRED_ROLES", "participant,member,secretariat,archivist,staff")
                      .split(",") if r.strip()]
MFA_PENDING_SECONDS = envint("MFA_PENDING_SECONDS", "300")  # password accepted, second factor awaited
MFA_PENDING_MAX_ATTEMPTS = envint("MFA_PENDING_MAX_ATTEMPTS", "5")  # wrong codes before the password again
MFA_REAUTH_SECONDS = envint("MFA_REAUTH_SECONDS", "600")  # a sign-in this recent proves the owner (ecabinet.reauth)
MFA_RECOVERY_CODES = 10
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "e-Cabinet")
WEBAUTHN_RP_ID = env("WEBAUTHN_RP_ID", "")  # default: the request's host name
WEBAUTHN_RP_NAME = env("WEBAUTHN_RP_NAME", "e-Cabinet")
# Exact origins accepted in a passkey ceremony; default: the request's own scheme://host[:port].
WEBAUTHN_ORIGINS = [o.strip() for o in env("WEBAUTHN_ORIGINS", "").split(",") if o.strip()]
# --- end of area "mfa" ---

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
    "NUM_PROXIES": API_NUM_PROXIES,  # area "fix-http", below
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

# --- Devices and tokens (issue 15, area "devices"; ecabinet/devices.py, docs/security.md) ---------
# An API token expires API_TOKEN_IDLE_DAYS after its last use (sliding, refreshed at most once every
# API_TOKEN_REFRESH_SECONDS) and API_TOKEN_MAX_DAYS after sign-in whatever its use; an account holds
# at most API_MAX_DEVICES_PER_USER live tokens.
API_TOKEN_IDLE_DAYS = envint("API_TOKEN_IDLE_DAYS", "14")
API_TOKEN_MAX_DAYS = envint("API_TOKEN_MAX_DAYS", "90")
API_TOKEN_REFRESH_SECONDS = envint("API_TOKEN_REFRESH_SECONDS", "300")
API_MAX_DEVICES_PER_USER = envint("API_MAX_DEVICES_PER_USER", "20")
# --- end of area "devices" -------------------------------------------------------------------------

# --- Rate and volume limits per account (issue 14, area "rate"; docs/limits.md, ecabinet/limits.py) ---
# Fixed-window counters per account in Django's cache: Redis (shared by every Daphne process) when
# REDIS_URL is set, else this process's memory (one process: nothing to share). The numbers are far
# above what an honest minister does (docs/limits.md gives the reasoning); 0 switches a limit off.
# Refused requests answer 429 rate_limited with Retry-After; the room socket closes with 4429.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": env("REDIS_PREFIX", "ecabinet")}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ecabinet"}}
RATE_COMMENTS_PER_MINUTE = envint("RATE_COMMENTS_PER_MINUTE", "20")  # comments posted or edited
RATE_COMMENTS_PER_HOUR = envint("RATE_COMMENTS_PER_HOUR", "300")
RATE_COMMENT_CHARS_PER_HOUR = envint("RATE_COMMENT_CHARS_PER_HOUR", "200000")  # characters of those comments
RATE_SPEAKING_PER_MINUTE = envint("RATE_SPEAKING_PER_MINUTE", "20")  # requests to speak and withdrawals
RATE_POSITIONS_PER_MINUTE = envint("RATE_POSITIONS_PER_MINUTE", "60")
RATE_UPLOADS_PER_HOUR = envint("RATE_UPLOADS_PER_HOUR", "300")  # documents, versions, ballot drafts
RATE_UPLOAD_MB_PER_HOUR = envint("RATE_UPLOAD_MB_PER_HOUR", "2048")  # their request bodies, in MiB
RATE_VOTES_PER_MINUTE = envint("RATE_VOTES_PER_MINUTE", "60")
RATE_BALLOT_ANSWERS_PER_MINUTE = envint("RATE_BALLOT_ANSWERS_PER_MINUTE", "60")
RATE_WS_MESSAGES_PER_MINUTE = envint("RATE_WS_MESSAGES_PER_MINUTE", "120")  # resume/ping on the room socket
RATE_WS_CONNECTS_PER_MINUTE = envint("RATE_WS_CONNECTS_PER_MINUTE", "60")  # room sockets opened
# Room sockets open at once per account (all sessions, all processes): beyond, the OLDEST is closed
# with 4409, so a tablet reconnecting over a dying connection is never the one shut out.
WS_MAX_SOCKETS_PER_ACCOUNT = envint("WS_MAX_SOCKETS_PER_ACCOUNT", "8")
# --- end of rate limits ---
# --- Issue 15, area "lockout": failed sign-ins and signing PINs (ecabinet/lockout.py; docs/security.md,
# "Sign-in throttling and lockout"; docs/limits.md). django-axes with ecabinet.lockout's handler: failures
# only (never successes) are counted in the cache above (Redis: shared by every process), per account
# typed and per client address, on the login screen, the admin login and POST /api/v1/auth/token; wrong
# signing PINs per signer. Reaching a limit locks for LOCKOUT_COOLOFF_MINUTES (each failure keeps the
# count LOCKOUT_COOLOFF_MINUTES longer); 0 switches a limit off. TRUSTED_PROXIES: addresses/networks
# of the proxies whose X-Forwarded-For is believed (with API_NUM_PROXIES > 0).
LOCKOUT_ACCOUNT_FAILURES = envint("LOCKOUT_ACCOUNT_FAILURES", "30")
LOCKOUT_ADDRESS_FAILURES = envint("LOCKOUT_ADDRESS_FAILURES", "100")
LOCKOUT_PIN_FAILURES = envint("LOCKOUT_PIN_FAILURES", "5")
LOCKOUT_COOLOFF_MINUTES = envint("LOCKOUT_COOLOFF_MINUTES", "15")
TRUSTED_PROXIES = [p.strip() for p in env("TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if p.strip()]
AXES_HANDLER = "ecabinet.lockout.LockoutHandler"
AXES_CLIENT_IP_CALLABLE = "ecabinet.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "ecabinet.lockout.lockout_response"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = LOCKOUT_ACCOUNT_FAILURES  # axes' own; the handler applies each limit
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # attempts refused during a lock do not lengthen it
AXES_ENABLE_ADMIN = False  # its tables stay empty: the counters are in the cache
AXES_VERBOSE = False
# --- end of area "lockout" ---

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"fontTools": {"level": "ERROR"}, "weasyprint": {"level": "ERROR"}, "pikepdf": {"level": "WARNING"}},
}

# Signing (issue 5, docs/signing.md). Keys: PKI_DIR/<username>.p12 made by ``manage.py init_dev_pki``, or, for
# the users in SIGNING_PKCS11_TOKENS, a key on a PKCS#11 token reached through SIGNING_PKCS11_MODULE (the token
# vendor's library, e.g. /usr/lib/softhsm/libsofthsm2.so). SIGNING_PKCS11_TOKENS is
# "username=token label:key label,..."; the key's certificate carries the key's label.
# Verification: signers chain to SIGNING_TRUST_ROOTS, timestamps to those or SIGNING_TSA_ROOTS (PEM files,
# comma-separated). With TSA_URL (an RFC 3161 service) signatures are PAdES B-LT: timestamped, with certificates
# and revocation data embedded: the CRL files in SIGNING_CRLS (PEM or DER; default the dev CA's), plus OCSP/CRLs
# fetched from the CAs when SIGNING_FETCH_REVOCATION is true.
PKI_DIR = Path(env("PKI_DIR", str(VAR_DIR / "pki")))
SIGNING_TRUST_ROOTS = [Path(p) for p in env("SIGNING_TRUST_ROOTS", "").split(",") if p.strip()] or [PKI_DIR / "ca.pem"]
SIGNING_TSA_ROOTS = [Path(p) for p in env("SIGNING_TSA_ROOTS", "").split(",") if p.strip()]
SIGNING_CRLS = [Path(p) for p in env("SIGNING_CRLS", "").split(",") if p.strip()] or [PKI_DIR / "ca.crl"]
SIGNING_FETCH_REVOCATION = envbool("SIGNING_FETCH_REVOCATION", "False")
SIGNING_PKCS11_MODULE = env("SIGNING_PKCS11_MODULE", "")


def _pkcs11_tokens(value: str) -> dict[str, dict[str, str]]:
    """ "pm=PM token:signing,secretary=..." -> {"pm": {"token": "PM token", "key": "signing"}, ...}"""
    tokens = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        username, _, labels = item.partition("=")
        token, _, key = labels.rpartition(":")
        if not (username.strip() and token.strip() and key.strip()):
            raise ValueError(f"SIGNING_PKCS11_TOKENS: expected “username=token label:key label”, got “{item}”")
        tokens[username.strip()] = {"token": token.strip(), "key": key.strip()}
    return tokens


SIGNING_PKCS11_TOKENS = _pkcs11_tokens(env("SIGNING_PKCS11_TOKENS", ""))
TSA_URL = env("TSA_URL", "")

# Minutes and resolutions (issue 5): how the issuing body is printed on sealed documents.
MINUTES_ISSUER = env("MINUTES_ISSUER", "Chính phủ")
MINUTES_ISSUER_PARENT = env("MINUTES_ISSUER_PARENT", "")
MINUTES_PLACE = env("MINUTES_PLACE", "Hà Nội")
MINUTES_SYMBOL = env("MINUTES_SYMBOL", "BB-CP")
RESOLUTION_SYMBOL = env("RESOLUTION_SYMBOL", "NQ-CP")

# --- Issue 14, area "room": bounded snapshots and events (docs/limits.md § Room) ----------------
# Daphne (autobahn) refuses to send a WebSocket message over 1 MiB (its websocket_max_message_size
# default, which applies to outgoing messages too: the socket then closes with 1011). Any frame the
# room sends is kept under ROOM_FRAME_MAX_BYTES; a snapshot larger than that goes in parts
# ("snapshot.part", docs/protocol.md §1). Half of Daphne's 1 MiB.
ROOM_FRAME_MAX_BYTES = envint("ROOM_FRAME_MAX_BYTES", str(512 * 1024))
# The snapshot carries the newest comments of each agenda item, this many; the older ones come over
# HTTP (GET /api/v1/agenda-items/{id}/comments/?before=<id>).
ROOM_SNAPSHOT_COMMENTS_PER_ITEM = envint("ROOM_SNAPSHOT_COMMENTS_PER_ITEM", "10")
# One page of GET /api/v1/agenda-items/{id}/comments/ holds at most this many comments.
ROOM_COMMENTS_PAGE_MAX = envint("ROOM_COMMENTS_PAGE_MAX", "50")
# Characters in one comment (a remark in the room; written opinions on ballots are longer).
COMMENT_MAX_CHARS = envint("COMMENT_MAX_CHARS", "4000")
# Characters in a longer explanatory text: an agenda item's description, a motion's text, a written
# ballot's explanation for the members (a page or two of a draft's summary).
DESCRIPTION_MAX_CHARS = envint("DESCRIPTION_MAX_CHARS", "10000")
# Agenda items in one session, documents on one agenda item, participants of one session: what a
# government session needs many times over (an online conference of the Government with the 63
# provinces has some 120 participants), and what bounds the room's frames: with 200 participants the
# largest event (vote.tally, speaker.queue) stays under 62 % of ROOM_FRAME_MAX_BYTES even with every
# name at its longest. More is possible (the benchmarks run 1,000): the system check
# meetings.W001 then says which frames could outgrow the budget with pathological names.
MEETING_MAX_AGENDA_ITEMS = envint("MEETING_MAX_AGENDA_ITEMS", "40")
AGENDA_ITEM_MAX_DOCUMENTS = envint("AGENDA_ITEM_MAX_DOCUMENTS", "20")
MEETING_MAX_PARTICIPANTS = envint("MEETING_MAX_PARTICIPANTS", "200")
# Turns one person may have on the speakers' list of one item (waiting, speaking or done): a bound
# on what one member can add to the record of an item (requests to speak are also rate-limited).
SPEAK_MAX_TURNS_PER_ITEM = envint("SPEAK_MAX_TURNS_PER_ITEM", "30")
# The queue a tablet is sent (snapshot and speaker.queue): every waiting turn and the one speaking
# (at most one each per participant), and only the latest this many finished turns, with the count
# of all of them ("spoken"). Bounds the frame whatever the length of the debate.
SPEAK_QUEUE_DONE_SHOWN = envint("SPEAK_QUEUE_DONE_SHOWN", "10")
# --- end of area "room" ------------------------------------------------------------------------
