"""Django settings, all read from the environment through ``vams.env``.

With no variables set, the service runs on its embedded default: a SQLite file in
``var/`` and, when started with ``manage.py run_embedded``, an in-process AWS
emulator. Production sets ``DATABASE_URL`` to PostgreSQL and leaves
``VAMS_AWS_ENDPOINT_URL`` unset so boto3 talks to real AWS.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

from vams.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAMS_VAR_DIR", str(BASE_DIR / "var")))


def _read_or_create_secret_key() -> str:
    """Return DJANGO_SECRET_KEY, or a random key kept in ``var/secret_key``.

    A key generated here stays on this machine, so local sessions and tokens
    survive restarts. Production sets DJANGO_SECRET_KEY explicitly.
    """
    configured = env_str("DJANGO_SECRET_KEY")
    if configured:
        return configured
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _read_or_create_secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "vams.apps.VamsConfig",
    "authz.apps.AuthzConfig",
    "workflows.apps.WorkflowsConfig",
    "executions.apps.ExecutionsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "vams.api.middleware.ApiCacheControlMiddleware",
]

# The documented routes accept requests with and without a trailing slash, so
# Django must not redirect either form.
APPEND_SLASH = False

ROOT_URLCONF = "vams.urls"
WSGI_APPLICATION = "vams.wsgi.application"

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

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("VAMS_DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (server, pipeline worker) share the file in the embedded
    # default, so a write waits up to 20 seconds for the lock instead of failing
    # with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "authz.permissions.IsAllowedRoute",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["vams.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "vams.api.exception_handler.handle_api_exception",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(
        minutes=env_int("VAMS_ACCESS_TOKEN_MINUTES", 60)
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("VAMS_REFRESH_TOKEN_DAYS", 1)),
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "VAMS Workflows API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's scripts come from this installation, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "DESCRIPTION": (
        "Workflows chain pipelines into AWS Step Functions state machines and run "
        "them on asset files. Send 'Authorization: Bearer <access token>' from "
        "POST /auth/token/."
    ),
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "vams.api.schema.postprocess_schema",
    ],
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
}

# AWS. Credentials come from boto3's default chain and never from settings.
VAMS_AWS_REGION = env_str("VAMS_AWS_REGION", env_str("AWS_DEFAULT_REGION", "us-east-1"))
# Unset means real AWS. ``manage.py run_embedded`` sets it to the emulator it starts.
VAMS_AWS_ENDPOINT_URL = env_str("VAMS_AWS_ENDPOINT_URL")
VAMS_STATE_MACHINE_ROLE_ARN = env_str("VAMS_STATE_MACHINE_ROLE_ARN")
VAMS_STATE_MACHINE_PREFIX = env_str("VAMS_STATE_MACHINE_PREFIX", "vams-")
VAMS_ASSET_BUCKET = env_str("VAMS_ASSET_BUCKET", "vams-assets")
VAMS_AUXILIARY_BUCKET = env_str("VAMS_AUXILIARY_BUCKET", "vams-assets-auxiliary")
VAMS_OUTPUT_QUEUE_NAME = env_str("VAMS_OUTPUT_QUEUE_NAME", "vams-process-output")
# boto3 reads credentials from the EC2 instance metadata service only when this
# is true (on EC2 with an instance role). Elsewhere a missing credential fails
# at once instead of probing that address.
VAMS_AWS_INSTANCE_METADATA = env_bool("VAMS_AWS_INSTANCE_METADATA", False)
if not VAMS_AWS_INSTANCE_METADATA:
    # botocore reads this variable whenever it resolves credentials, so it
    # covers django-storages' clients as well as the gateways'.
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
# Queue names of the built-in pipelines are this prefix plus the pipeline id.
VAMS_BUILTIN_QUEUE_PREFIX = env_str("VAMS_BUILTIN_QUEUE_PREFIX", "vams-pipeline-")
# A built-in pipeline step running longer than this many seconds is stopped
# and fails with StepTimedOut. Keep it below the pipelines' task timeout.
VAMS_PIPELINE_STEP_TIMEOUT_SECONDS = env_int("VAMS_PIPELINE_STEP_TIMEOUT_SECONDS", 900)

AWS_STORAGE_BUCKET_NAME = VAMS_ASSET_BUCKET
AWS_S3_REGION_NAME = VAMS_AWS_REGION
AWS_S3_ENDPOINT_URL = VAMS_AWS_ENDPOINT_URL
AWS_S3_FILE_OVERWRITE = True
AWS_DEFAULT_ACL = None

STORAGES = {
    "default": {"BACKEND": "storages.backends.s3.S3Storage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

VAMS_LOG_FORMAT = env_str("VAMS_LOG_FORMAT", "text")
VAMS_LOG_LEVEL = env_str("VAMS_LOG_LEVEL", "INFO")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "vams.logging.JsonFormatter",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": VAMS_LOG_FORMAT,
        },
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "vams": {"level": VAMS_LOG_LEVEL},
        "workflows": {"level": VAMS_LOG_LEVEL},
        "executions": {"level": VAMS_LOG_LEVEL},
        "authz": {"level": VAMS_LOG_LEVEL},
        # moto's server logs every request at INFO, so only its warnings are kept.
        "werkzeug": {"level": "WARNING"},
    },
}
