"""Lossproof settings: one file, every value from the environment (see .env.example)."""

from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_endpoints, env_float, env_int, env_list, env_str
from config.storage import s3_options, storages_setting

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("LOSSPROOF_VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DEBUG", True)
# A development key only exists while DEBUG is on; production must bring its own.
SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-do-not-deploy" if DEBUG else None)
if not DEBUG and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("dev-only")):
    raise ImproperlyConfigured("SECRET_KEY must be a random value of 50 characters or more.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the public host names when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "accounts",
    "incidents",
    "verification",
    "registry",
    "moderation",
    "dashboards",
    "audit",
    "operations",
    "devtools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # After the language is known (its 413 page is translated), before anything reads the body.
    "config.middleware.RequestSizeLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After allauth: moderators, liaisons and admins reach nothing until a second factor is in use.
    "accounts.middleware.SecondFactorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

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
            ],
        },
    },
]


def _database(url: str) -> dict:
    """Turn DATABASE_URL into Django's DATABASES entry, with the engine's safe options."""
    try:
        config = dj_database_url.parse(url)
    except Exception as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {exc}") from None
    engine = config.get("ENGINE", "")
    if engine.endswith("sqlite3"):
        # The worker and the web process share the file: wait for locks, write-ahead log.
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file, not memory, so that a real worker process sees the test database.
        config["TEST"] = {"NAME": str(VAR_DIR / "test-lossproof.sqlite3")}
    elif engine.endswith("postgresql"):
        config["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
        config["CONN_HEALTH_CHECKS"] = True
    else:
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL or an SQLite file.")
    return config


DATABASES = {"default": _database(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'lossproof.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# Every visible string is marked for translation; a language is listed once its catalogue exists.
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request otherwise
STATICFILES_DIRS = [BASE_DIR / "static"]
# Front-end libraries come from npm at install time (`make install`), never from a CDN.
HTMX_DIST = BASE_DIR / "node_modules" / "htmx.org" / "dist"
if HTMX_DIST.is_dir():
    STATICFILES_DIRS.append(("vendor/htmx", HTMX_DIST))
WHITENOISE_USE_FINDERS = DEBUG

# Evidence is private: never under STATIC or a public MEDIA_URL; served only through views
# that check who is asking.
EVIDENCE_ROOT = Path(env_str("EVIDENCE_ROOT", str(VAR_DIR / "evidence"))).resolve()
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
EVIDENCE_MAX_FILES = env_int("EVIDENCE_MAX_FILES", 20, minimum=1)  # per report
EVIDENCE_MAX_REPORT_BYTES = env_int("EVIDENCE_MAX_REPORT_BYTES", 50 * 1024 * 1024, minimum=1024)
# Larger images are refused as decompression bombs before a preview is made.
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 40_000_000, minimum=1)
# Files (evidence, draft uploads, release files): private local folders, or one S3-compatible
# bucket shared by every host (config/storage.py, docs/operations.md "File storage").
FILE_STORAGE = env_str("FILE_STORAGE", "local")
S3_BUCKET = env_str("S3_BUCKET", "lossproof")
S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL", "")
# Connect timeout of every bucket request, and the whole budget of /readyz's bucket probe.
S3_TIMEOUT = env_float("S3_TIMEOUT", 3.0, minimum=0.1)
_S3_OPTIONS = FILE_STORAGE == "s3" and s3_options(
    bucket=S3_BUCKET, endpoint=S3_ENDPOINT_URL, region=env_str("S3_REGION", "us-east-1"),
    access_key=env_str("S3_ACCESS_KEY_ID", ""), secret_key=env_str("S3_SECRET_ACCESS_KEY", ""),
    prefix=env_str("S3_PREFIX", ""), encryption=env_str("S3_ENCRYPTION", ""),
    kms_key_id=env_str("S3_KMS_KEY_ID", ""), addressing=env_str("S3_ADDRESSING_STYLE", ""),
    timeout=S3_TIMEOUT,
)
STORAGES = storages_setting(backend=FILE_STORAGE, evidence_root=EVIDENCE_ROOT, s3=_S3_OPTIONS)
# A file younger than this without its row is still being written, not an orphan (files sweep).
FILE_SWEEP_GRACE_SECONDS = env_int("FILE_SWEEP_GRACE_SECONDS", 3600, minimum=0)

# Chains: {caip2: [endpoint, ...]}; two or more endpoints must agree before a claim verifies.
CHAIN_RPC_URLS = env_endpoints(
    "CHAIN_RPC_URLS", "eip155:31337=http://127.0.0.1:8545", namespaces=("eip155",)
)
ESPLORA_URLS = env_endpoints("ESPLORA_URLS", "", namespaces=("bip122",))
CHAIN_RPC_TIMEOUT = env_float("CHAIN_RPC_TIMEOUT", 10.0, minimum=0.1)
# Relative difference allowed between a claimed and a transferred amount (rounding in
# exchange exports and in what victims copy by hand).
AMOUNT_MATCH_TOLERANCE = Decimal(str(env_float("AMOUNT_MATCH_TOLERANCE", 0.001, minimum=0.0)))
VERIFY_BATCH_SIZE = env_int("VERIFY_BATCH_SIZE", 400, minimum=1)
# How often each worker records that it is alive (a thread, not a task: a task would wait
# behind queued work); `verify --wait` reads the record to know at once whether a worker runs.
WORKER_HEARTBEAT_SECONDS = env_float("WORKER_HEARTBEAT_SECONDS", 1.0, minimum=0.2)
# The nice value (0-19) a Celery worker runs at: on a machine it shares with the web server, an
# import or the database, the checks take the CPU those leave (config/celery.py). 0: as started.
WORKER_NICE = env_int("WORKER_NICE", 10, minimum=0, maximum=19)

# While an incident's reports are being checked, its live summary (the journalists' preview) is
# rebuilt at most every SUMMARY_DEFER_SECONDS and never lags more than SUMMARY_MAX_LAG_SECONDS
# (dashboards.services.summary_rebuild_delay): the rebuilds take the workers the checks need.
SUMMARY_DEFER_SECONDS = env_float("SUMMARY_DEFER_SECONDS", 5.0, minimum=0.5)
SUMMARY_MAX_LAG_SECONDS = env_float("SUMMARY_MAX_LAG_SECONDS", 60.0, minimum=0.0)

# Ed25519 private key (PEM or base64 raw) that signs register releases; see docs/operations.md.
EXPORT_SIGNING_KEY = env_str("EXPORT_SIGNING_KEY", "")
# Where a development signing key is generated when EXPORT_SIGNING_KEY is unset (outside the repo).
EXPORT_DEV_KEY_PATH = Path(
    env_str("EXPORT_DEV_KEY_PATH", str(Path.home() / ".lossproof" / "dev-signing-key.pem"))
)
# Key of the HMAC that turns report ids into the register's stable pseudonyms (report_ref).
# Kept out of the database; changing it changes every report_ref in later releases.
REPORT_REF_KEY = env_str("REPORT_REF_KEY", "dev-only-report-ref-key" if DEBUG else None)
# Key of the HMAC that chains the audit log (audit.models): kept out of the database, so that
# someone with database rights alone cannot rewrite the log and recompute the chain.
AUDIT_KEY = env_str("AUDIT_KEY", "dev-only-audit-key" if DEBUG else None)
if not DEBUG and (len(AUDIT_KEY) < 32 or AUDIT_KEY.startswith("dev-only")):
    raise ImproperlyConfigured("AUDIT_KEY must be a random value of 32 characters or more.")
RELEASES_ROOT = Path(env_str("RELEASES_ROOT", str(VAR_DIR / "releases"))).resolve()

# --- Moderation -------------------------------------------------------------------------
# Above this verified loss (USD) a moderator's decision waits for a second, different moderator.
DECISION_SECOND_REVIEW_USD = Decimal(str(env_int("DECISION_SECOND_REVIEW_USD", 10_000)))
# Minutes a moderator holds a report they claimed before another moderator may take it.
MODERATION_CLAIM_MINUTES = env_int("MODERATION_CLAIM_MINUTES", 30, minimum=1)
# Days an API token of a moderator, liaison or admin stays valid (reporters' tokens do not expire).
STAFF_TOKEN_DAYS = env_int("STAFF_TOKEN_DAYS", 30, minimum=1)

# --- Celery -----------------------------------------------------------------------------
# Default: kombu's filesystem transport under var/broker, so one machine needs no server.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")


def _broker_options(url: str) -> dict:
    """Return transport options for the broker URL, refusing schemes Lossproof does not run on."""
    scheme = url.split("://", 1)[0]
    if scheme == "filesystem":
        folder = Path(url.split("://", 1)[1] or VAR_DIR / "broker").resolve()
        (folder / "queue").mkdir(parents=True, exist_ok=True)
        (folder / "control").mkdir(exist_ok=True)
        return {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
                # The worker looks for its next message this often once its task is acknowledged:
                # at 0.2 s a worker sat idle a sixth of the time between 400-report batches.
                "control_folder": str(folder / "control"), "polling_interval": 0.05}
    if scheme in {"redis", "rediss"}:
        # Longer than any task's hard time limit, so a running task is never handed out twice.
        return {"visibility_timeout": max(3600, 2 * env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=2))}
    if scheme in {"amqp", "amqps", "pyamqp"}:
        return {}
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL scheme {scheme!r} is not supported; use filesystem://, redis:// or amqp://."
    )


CELERY_BROKER_TRANSPORT_OPTIONS = _broker_options(CELERY_BROKER_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Base name of this deployment's queues: tasks go to <base>.chain, .evidence, .exports, .mail or
# <base> itself (config/queues.py); one base per deployment sharing a broker.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "lossproof")
CELERY_TASK_ROUTES = ("config.queues.route_task",)
# Only one beat sends periodic tasks, however many are started: they share a lease in the database.
CELERY_BEAT_SCHEDULER = "operations.beat:LeasedScheduler"
# Seconds a beat's lease lasts without renewal; a standby beat takes over after that.
BEAT_LEASE_SECONDS = env_int("BEAT_LEASE_SECONDS", 60, minimum=2)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # outcomes live in the database, not in a result backend
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=2)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be above CELERY_TASK_SOFT_TIME_LIMIT.")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite has one writer: a second pool process only waits for the write lock the first holds
    # and slows the import sharing the file (docs/scaling.md, "Verification end to end"). On
    # PostgreSQL Celery's default (one process per core) or --concurrency applies.
    CELERY_WORKER_CONCURRENCY = 1
# A message delivered more often than this is abandoned and shown as failed (verification.bounded).
TASK_MAX_DELIVERIES = env_int("TASK_MAX_DELIVERIES", 5, minimum=1)
# How long a queued check keeps its report or file marked in flight (verification.leases): past
# it, a task lost with its worker is queued again by the sweep. Above the task time limit.
VERIFY_LEASE_SECONDS = env_int("VERIFY_LEASE_SECONDS", 3600, minimum=60)
# After a check that ended on a provider error, the sweep waits this long before asking again.
RECHECK_BACKOFF_SECONDS = env_int("RECHECK_BACKOFF_SECONDS", 600, minimum=0)
# A worker that loses the broker stops its running tasks rather than finishing work that the
# broker will hand to someone else too.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# The filesystem transport has no fan-out exchange, so remote control only works on servers.
CELERY_WORKER_ENABLE_REMOTE_CONTROL = not CELERY_BROKER_URL.startswith("filesystem")
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "recheck-unsettled-claims": {"task": "verification.tasks.recheck_claims_task",
                                 "schedule": float(env_int("RECHECK_INTERVAL_SECONDS", 60, minimum=5))},
    "purge-abandoned-drafts": {"task": "incidents.tasks.purge_drafts_task", "schedule": 6 * 3600.0},
    "erase-closed-evidence": {"task": "incidents.tasks.erase_closed_evidence_task", "schedule": 6 * 3600.0},
    "sweep-files": {"task": "operations.tasks.sweep_files_task",
                    "schedule": float(env_int("FILE_SWEEP_INTERVAL_SECONDS", 6 * 3600, minimum=60))},
    # Catches any change to an incident that no caller marked stale (dashboards.services).
    "refresh-dashboard-summaries": {"task": "dashboards.tasks.refresh_summaries_task",
                                    "schedule": float(env_int("SUMMARY_REFRESH_SECONDS", 30, minimum=5))},
}
# Bearer token Prometheus sends to /metrics; empty: /metrics is open only while DEBUG is on.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# A draft nobody touched for this long is erased with its files: it holds personal data and
# uploads that were never submitted.
DRAFT_RETENTION_DAYS = env_int("DRAFT_RETENTION_DAYS", 90, minimum=1)
# Days after an incident is closed before its evidence files are erased (incidents.retention).
EVIDENCE_RETENTION_DAYS = env_int("EVIDENCE_RETENTION_DAYS", 365, minimum=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Writes by one reporter (reports, uploads, withdrawals); reads are not throttled.
    "DEFAULT_THROTTLE_RATES": {"reports": env_str("API_WRITE_RATE", "60/hour")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lossproof API",
    "DESCRIPTION": "Reporters file and follow loss reports; anyone reads published registers.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",  # assets from the drf-spectacular-sidecar package, served locally
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status` or `kind`; name each choice set after its own model.
    "ENUM_NAME_OVERRIDES": {
        "ReportStatusEnum": "incidents.models.ReportStatus",
        "ClaimStatusEnum": "incidents.models.ClaimStatus",
        "EvidenceKindEnum": "incidents.models.EvidenceKind",
        "ClaimKindEnum": "incidents.models.ClaimKind",
    },
}

# --- Accounts (django-allauth) ----------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "incidents:my-reports"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False  # a mail scanner following the link must not confirm it
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# Failed logins are limited per address and per account, never globally (allauth counts them
# in the cache, so several web processes need a shared CACHE_URL).
ACCOUNT_RATE_LIMITS = {
    "login_failed": env_str("LOGIN_FAILED_RATE", "20/m/ip,5/5m/key"),
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}

# Second factor (django-allauth MFA): TOTP with recovery codes, and security keys (WebAuthn, through
# the fido2 package allauth's mfa extra brings) beside them. Enrolment starts with TOTP; a key is
# added from the account's two-factor page. A used TOTP code is remembered in the cache until it
# expires, so several web processes need a shared CACHE_URL.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
# Browsers offer WebAuthn only on https and on http://localhost; allauth accepts the latter in
# development only. Keys are a second factor here, never a way to sign in without the password.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Lossproof")
MFA_ADAPTER = "accounts.adapter.MFAAdapter"

CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": CACHE_URL}}
elif CACHE_URL:
    raise ImproperlyConfigured("CACHE_URL must be a redis:// URL, or unset for a per-process cache.")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Mail: printed to the console unless EMAIL_HOST names an SMTP server.
EMAIL_HOST = env_str("EMAIL_HOST", "")
if not DEBUG and not EMAIL_HOST:
    # The console backend would write sign-up confirmations and password-reset links into the
    # process log, where anyone who reads the logs could use them.
    raise ImproperlyConfigured("EMAIL_HOST must name an SMTP server when DEBUG is off: without it, "
                               "account mails (sign-up confirmations, password resets) would be printed "
                               "to the log instead of sent. Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, "
                               "EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, DEFAULT_FROM_EMAIL).")
# What finally hands a message over: SMTP, or the console of the process that sends it.
MAIL_DELIVERY_BACKEND = ("django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                         else "django.core.mail.backends.console.EmailBackend")
# Queued (config/mail.py): web requests never wait for SMTP; on by default with an SMTP server.
EMAIL_QUEUED = env_bool("EMAIL_QUEUED", bool(EMAIL_HOST))
EMAIL_BACKEND = "config.mail.QueuedEmailBackend" if EMAIL_QUEUED else MAIL_DELIVERY_BACKEND
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Lossproof <no-reply@localhost>")

# --- Security ---------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Probes and scrapers call these over the private network, in plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = EVIDENCE_MAX_FILES

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
