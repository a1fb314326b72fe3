"""Settings, driven by the environment.

Local (`make run`, `make test`): DEBUG on, embedded PostgreSQL/Redis URLs provided by
scripts/devservices.py. Production (docker-compose.yml): `EHCASE_ENV=production` with
`DJANGO_SECRET_KEY`, `DATABASE_URL`, `REDIS_URL` and `ALLOWED_HOSTS` set.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

ENVIRONMENT = os.environ.get("EHCASE_ENV", "local")
PRODUCTION = ENVIRONMENT == "production"
DEBUG = os.environ.get("DJANGO_DEBUG", "0" if PRODUCTION else "1") == "1"

if PRODUCTION:
    SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
else:
    SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "local-only-not-secret-" + "x" * 40)

ALLOWED_HOSTS = [
    h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# Demo personas share a published password: never in production.
DEMO_DATA_ALLOWED = not PRODUCTION

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ehcase",
    "hubs",
    "pathway",
    "assessments",
    "reporting",
    "ehcase.notifications",
    "ehcase.two_factor",
    "ehcase.disclosure",
    "ehcase.oversight",
    "ehcase.retention",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ehcase.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ehcase.middleware.IdleTimeoutMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "ehcase.security.RequestSizeLimitMiddleware",
    "ehcase.security.LoginRateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ehcase.middleware.RequestContextMiddleware",
    "ehcase.middleware.NoStoreForAuthenticatedMiddleware",
    "ehcase.two_factor.middleware.TwoFactorRequiredMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ehcase.urls"
WSGI_APPLICATION = "ehcase.wsgi.application"

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
                "ehcase.context_processors.service",
                "ehcase.notifications.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default="postgres://postgres@127.0.0.1:5432/ehcase",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("EHCASE_TEST_DB", "test_ehcase")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "ehcase.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Sessions live in PostgreSQL so that a Redis outage logs nobody out. Idle timeout: a signed-in
# request pushes the expiry forward (ehcase.middleware.IdleTimeoutMiddleware saves the session when
# it was last saved over SESSION_REFRESH_SECONDS ago), so SESSION_COOKIE_AGE is the idle limit.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Lockout after repeated failures (django-axes): per username and address.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Two-factor authentication (docs/two-factor.md): django-otp's authenticator app (TOTP) and recovery
# codes, required on every page by ehcase.two_factor.middleware.
OTP_TOTP_ISSUER = "Early Help"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("govuk", BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"),
    ("htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
# GOV.UK Frontend's CSS asks for fonts and images under /assets/.
WHITENOISE_ROOT = BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Rate-limit counters (ehcase/security.py, ehcase/api/throttling.py): in Redis so that every web
    # worker and container counts against the same limits.
    "ratelimit": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("RATELIMIT_REDIS_URL", REDIS_URL),
        "KEY_PREFIX": "ehcase-ratelimit",
    },
}

# Sign-in attempts (POSTs to /accounts/login/) per minute, per client address and per username
# (docs/hardening.md). django-axes' lockout after AXES_FAILURE_LIMIT failures still applies.
LOGIN_RATE_PER_ADDRESS = int(os.environ.get("LOGIN_RATE_PER_ADDRESS", "20"))
LOGIN_RATE_PER_USERNAME = int(os.environ.get("LOGIN_RATE_PER_USERNAME", "10"))
# API requests per signed-in user and, for operations open to the signed-out, per address.
API_THROTTLE_RATES = {
    "user": os.environ.get("API_RATE_USER", "1200/min"),
    "anon": os.environ.get("API_RATE_ANON", "60/min"),
}

# Request sizes. The largest upload is consent evidence (5 MB, assessments.services); a body over
# MAX_REQUEST_BYTES is refused with a 413 page before it is read. Uploads stay in memory up to that
# size, so that a family's documents are never written to a temporary file. Form fields other than
# files: DATA_UPLOAD_MAX_MEMORY_SIZE (over it, the 400 page).
MAX_REQUEST_BYTES = int(os.environ.get("MAX_REQUEST_MB", "6")) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {
    # Reminders (docs/reminders.md): a cheap state-based scan, delivery every minute, the daily emails.
    "scan-due-reminders": {
        "task": "ehcase.notifications.tasks.scan_due_reminders",
        "schedule": timedelta(minutes=int(os.environ.get("REMINDER_SCAN_MINUTES", "10"))),
    },
    "deliver-reminders": {
        "task": "ehcase.notifications.tasks.deliver_reminders",
        "schedule": timedelta(minutes=1),
    },
    "daily-emails": {
        "task": "ehcase.notifications.tasks.scan_daily_emails",
        "schedule": crontab(hour=int(os.environ.get("REMINDER_DAILY_EMAIL_HOUR", "7")), minute=0),
    },
    # Quarterly performance (docs/reporting.md): recalculate the current and previous quarter nightly.
    "refresh-performance-snapshots": {
        "task": "reporting.tasks.refresh_snapshots",
        "schedule": crontab(hour=2, minute=30),
    },
    # Unusual access (docs/oversight.md): yesterday's reads, once a day; safe to run again.
    "raise-access-alerts": {
        "task": "ehcase.oversight.tasks.raise_access_alerts",
        "schedule": crontab(hour=5, minute=15),
    },
    # Retention (docs/retention.md): list the records due for destruction for review; safe to run again.
    "scan-retention": {
        "task": "ehcase.retention.tasks.scan_retention",
        "schedule": crontab(hour=3, minute=15),
    },
    # Assessment PDFs (docs/pdfs.md): rendered files are personal data at rest; delete them once expired.
    "delete-expired-pdfs": {
        "task": "assessments.tasks.delete_expired_pdf_jobs",
        "schedule": timedelta(minutes=10),
    },
    # Audit table (docs/audit.md): the monthly partitions for this month and the months ahead.
    "ensure-audit-partitions": {
        "task": "ehcase.tasks.ensure_audit_partitions",
        "schedule": crontab(hour=1, minute=45),
    },
}

# Assessment PDFs are rendered by a Celery worker and kept this many minutes after rendering; a job still
# waiting for a worker after PDF_JOB_STALE_MINUTES is shown as failed, so the user can ask again.
PDF_JOB_EXPIRY_MINUTES = int(os.environ.get("PDF_JOB_EXPIRY_MINUTES", "60"))
PDF_JOB_STALE_MINUTES = int(os.environ.get("PDF_JOB_STALE_MINUTES", "10"))

# Months of audit partitions created ahead of the current one (ehcase.partitions). A daily run that
# fails leaves this many months before an event would land in the DEFAULT partition.
AUDIT_PARTITION_MONTHS_AHEAD = int(os.environ.get("AUDIT_PARTITION_MONTHS_AHEAD", "3"))

# Emergency (break-glass) access lasts this many hours; the daily access check raises an alert above
# these numbers (docs/oversight.md).
BREAK_GLASS_HOURS = int(os.environ.get("BREAK_GLASS_HOURS", "4"))
ACCESS_ALERT_FAMILIES_PER_DAY = int(os.environ.get("ACCESS_ALERT_FAMILIES_PER_DAY", "20"))
ACCESS_ALERT_BREAK_GLASS_PER_WEEK = int(os.environ.get("ACCESS_ALERT_BREAK_GLASS_PER_WEEK", "3"))

# The partnership's name on the cover of the board pack.
PARTNERSHIP_NAME = os.environ.get("PARTNERSHIP_NAME", "")

# Reminder time limits (DESIGN.md §5). A date-triggered reminder missed while nothing could run (a
# broker or worker outage) is still sent within REMINDER_CATCH_UP_DAYS of its date.
REMINDER_REVIEW_DUE_DAYS = int(os.environ.get("REMINDER_REVIEW_DUE_DAYS", "7"))
REMINDER_EHA_DRAFT_DAYS = int(os.environ.get("REMINDER_EHA_DRAFT_DAYS", "28"))
REMINDER_NO_LEAD_DAYS = int(os.environ.get("REMINDER_NO_LEAD_DAYS", "14"))
REMINDER_SUSTAINMENT_MONTHS = int(os.environ.get("REMINDER_SUSTAINMENT_MONTHS", "6"))
REMINDER_REREFERRAL_MONTHS = int(os.environ.get("REMINDER_REREFERRAL_MONTHS", "12"))
REMINDER_CATCH_UP_DAYS = int(os.environ.get("REMINDER_CATCH_UP_DAYS", "14"))
REMINDER_WEEKLY_DIGEST_WEEKDAY = int(os.environ.get("REMINDER_WEEKLY_DIGEST_WEEKDAY", "0"))  # Monday
REMINDER_DAILY_EMAIL_HOUR = int(os.environ.get("REMINDER_DAILY_EMAIL_HOUR", "7"))
REMINDER_BATCH_SIZE = int(os.environ.get("REMINDER_BATCH_SIZE", "50"))
REMINDER_MAX_ATTEMPTS = int(os.environ.get("REMINDER_MAX_ATTEMPTS", "5"))

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "early-help@example.org")
# SMTP (EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
# The service's address, for links in emails (for example https://early-help.example.gov.uk).
SITE_URL = os.environ.get("SITE_URL", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "ehcase.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["ehcase.api.throttling.ApiRateThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Early Help case management API",
    "DESCRIPTION": "Families, people, agencies and hubs, filtered by the same access rules as the web pages.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False
ANONYMOUS_USER_NAME = None  # no anonymous user with object permissions

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

SERVICE_NAME = "Early Help case management"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
