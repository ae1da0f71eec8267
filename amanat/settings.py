"""Amanat settings: one file, every deployment knob read from the environment.

Each variable is documented in README.md ("Configuration"). Defaults give an embedded
SQLite set-up under var/ that needs nothing else installed.
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.getenv("AMANAT_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.getenv(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.getenv("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not env_bool("AMANAT_ALLOW_INSECURE_KEY"):
        raise RuntimeError("SECRET_KEY must be set (or DEBUG=true for local use).")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_NAME = os.getenv("SITE_NAME", "Amanat")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_scopes",
    "ninja",  # so the API docs page serves Swagger UI locally, not from a CDN
    # Amanat apps, in dependency order (an app imports only apps listed above it).
    "amanat.ui",
    "amanat.audit",
    "amanat.geography",
    "amanat.accounts",
    "amanat.elections",
    "amanat.committees",
    "amanat.risks",
    "amanat.readiness",
    "amanat.incidents",
    "amanat.reports",
    "huey.contrib.djhuey",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "amanat.ui.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "amanat.accounts.middleware.AdminScopeMiddleware",
    # Axes must come last so that it sees the outcome of every authentication attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "amanat.urls"
WSGI_APPLICATION = "amanat.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "amanat" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "amanat.ui.context_processors.site",
                "amanat.accounts.context_processors.notifications",
                "amanat.reports.context_processors.current_event",
            ],
        },
    },
]

if not os.getenv("DATABASE_URL") or not os.getenv("REDIS_URL"):
    # The embedded database and the embedded task queue both live in files under var/.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.getenv("DATABASE_URL", f"sqlite:///{VAR_DIR / 'amanat.sqlite3'}"),
        conn_max_age=int(os.getenv("DATABASE_CONN_MAX_AGE", "60")),
        # A persistent connection is checked (one `SELECT 1`) at the start of each request that uses
        # it, so a database restart costs no failed request; set false to save that round trip.
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while one writer commits; IMMEDIATE avoids lock upgrades
    # that would otherwise fail with "database is locked" under concurrent writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

REDIS_URL = os.getenv("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Reference data (taxonomies, the election calendar, the users behind API tokens) is cached; without
# Redis each process keeps its own copy, and a change reaches the other processes within this many
# seconds (API tokens: API_TOKEN_CACHE_SECONDS).
REFERENCE_CACHE_SECONDS = int(os.getenv("REFERENCE_CACHE_SECONDS", "60"))
API_TOKEN_CACHE_SECONDS = int(os.getenv("API_TOKEN_CACHE_SECONDS", "10"))

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": int(os.getenv("PASSWORD_MIN_LENGTH", "10"))},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling (django-axes): lock a username+address pair after repeated failures.
AXES_FAILURE_LIMIT = int(os.getenv("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.getenv("LOGIN_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_ENABLED = env_bool("LOGIN_THROTTLING", True)
# The client's address: behind PROXY_COUNT trusted proxies, from X-Forwarded-For; with none, only
# REMOTE_ADDR, since a forwarded header from a client directly connected could be forged.
PROXY_COUNT = int(os.getenv("PROXY_COUNT", "0"))
AXES_IPWARE_PROXY_COUNT = PROXY_COUNT or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if PROXY_COUNT else ["REMOTE_ADDR"]
)
AXES_VERBOSE = False

# Sessions expire after SESSION_HOURS of inactivity and when the browser closes.
SESSION_COOKIE_AGE = int(float(os.getenv("SESSION_HOURS", "8")) * 3600)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Persian first: RTL layout, Jalali dates, Persian digits; English is a switch away.
LANGUAGE_CODE = os.getenv("LANGUAGE_CODE", "fa")
LANGUAGES = [("fa", _("Persian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "amanat" / "locale"]
TIME_ZONE = os.getenv("TIME_ZONE", "Asia/Tehran")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.getenv("STATIC_ROOT", VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or env_bool("AMANAT_PLAIN_STATIC")
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(os.getenv("MEDIA_ROOT", VAR_DIR / "media"))

EMAIL_BACKEND = os.getenv("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.getenv("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.getenv("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.getenv("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "amanat@localhost")

# Background tasks (reminders, escalation) run on Huey: Redis in production, a SQLite file for the
# embedded set-up, run inline in tests. Start the worker with `amanat run_huey`.
HUEY = {
    "name": "amanat",
    "huey_class": "huey.RedisHuey" if REDIS_URL else "huey.SqliteHuey",
    "connection": {"url": REDIS_URL} if REDIS_URL else {"filename": str(VAR_DIR / "tasks.sqlite3")},
    "immediate": env_bool("TASKS_IMMEDIATE", False),
    "utc": True,
    "consumer": {"workers": int(os.getenv("TASK_WORKERS", "2")), "worker_type": "thread"},
}
# An overdue action item climbs one level (county -> province -> national) per grace period.
ACTION_ITEM_ESCALATION_GRACE_DAYS = int(os.getenv("ACTION_ITEM_ESCALATION_GRACE_DAYS", "3"))
# Reminders go out this many days before an action item falls due.
ACTION_ITEM_REMINDER_DAYS = int(os.getenv("ACTION_ITEM_REMINDER_DAYS", "2"))
# Voting day: a watched station not heard from for this many minutes is marked unreachable.
LIVE_SILENCE_MINUTES = int(os.getenv("LIVE_SILENCE_MINUTES", "10"))
# A station's report may be at most this many seconds ahead of the server's clock (device clock drift).
LIVE_CLOCK_SKEW_SECONDS = int(os.getenv("LIVE_CLOCK_SKEW_SECONDS", "120"))
# Readiness: stations whose items fall due within this many days, and are not done, are at risk.
READINESS_AT_RISK_DAYS = int(os.getenv("READINESS_AT_RISK_DAYS", "14"))
# Incidents: evidence files live here, outside the web root, served only through a checked view.
EVIDENCE_ROOT = Path(os.getenv("EVIDENCE_ROOT", VAR_DIR / "evidence"))
INCIDENT_EVIDENCE_MAX_BYTES = int(os.getenv("INCIDENT_EVIDENCE_MAX_MB", "10")) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024  # request bodies other than files (JSON batches)
# A report's time may be at most this many seconds ahead of the server's clock.
INCIDENT_CLOCK_SKEW_SECONDS = int(os.getenv("INCIDENT_CLOCK_SKEW_SECONDS", "300"))
# Reports of the same category at the same station or county within this many hours may be duplicates.
INCIDENT_DUPLICATE_WINDOW_HOURS = int(os.getenv("INCIDENT_DUPLICATE_WINDOW_HOURS", "12"))
# The public reporting page: submissions allowed per client address, and the challenge's work factor.
PUBLIC_REPORT_RATE = os.getenv("PUBLIC_REPORT_RATE", "5/h")
ALTCHA_MAX_NUMBER = int(os.getenv("ALTCHA_MAX_NUMBER", "50000"))

# Lists never load more than a page; the API caps what a client may ask for.
PAGE_SIZE = int(os.getenv("PAGE_SIZE", "50"))
API_MAX_PAGE_SIZE = 500
NINJA_PAGINATION_PER_PAGE = PAGE_SIZE
NINJA_PAGINATION_MAX_LIMIT = API_MAX_PAGE_SIZE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "WARNING")},
}
