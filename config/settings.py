"""Stepwise settings: every deployment-specific value comes from the environment.

Defaults give the embedded quickstart: SQLite in var/, Celery over kombu's
filesystem transport (a folder in var/, no broker server needed, shared by all
processes on the machine). DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""
import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ

from config.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env("STEPWISE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    # No secret lives in the repository: without SECRET_KEY in the environment the
    # quickstart makes one once and keeps it in var/ (ignored by git).
    key = env("SECRET_KEY", default=None)
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.admin_site.SuperuserAdminConfig",  # django.contrib.admin, for superusers only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "axes",
    "drf_spectacular",
    "django_celery_results",
    "csp",  # django-csp: the Content-Security-Policy header (its system checks need the app)
    "labeling",
    "api",
    "activelearn",
]

MIDDLEWARE = [
    "config.request_context.RequestIdMiddleware",  # first: every log line of the request carries its id
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # before whitenoise, so static files get the header too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

# Brute-force protection (django-axes): after AXES_FAILURE_LIMIT failed logins from one
# IP for one username, that pair is locked out for AXES_COOLOFF_MINUTES.
# ProfileBackend is ModelBackend with a one-query session lookup (labeling/people/rights.py); ModelBackend
# stays listed so that sessions made before it still load.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "labeling.people.rights.ProfileBackend",
                           "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# --- Security: HTTPS, headers, cookies, Content-Security-Policy -----------------
# HTTPS=1 says the site is reached over TLS (docker-compose sets it: a TLS-terminating proxy in
# front); it turns on the http->https redirect, HSTS and Secure cookies. The quickstart serves
# plain http://127.0.0.1, so it stays off there (`check --deploy` then warns, rightly).
HTTPS = env.bool("HTTPS", default=False)
# Name of the header in which the proxy says "https" (e.g. X-Forwarded-Proto). Trust it only
# when the proxy always sets it itself: a client could otherwise claim https.
if proxy_header := env("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + proxy_header.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]  # the container health check asks http://localhost:8000/healthz/
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True  # the CSRF cookie stays readable: label.js sends it as X-CSRFToken
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# No inline script anywhere (pages load their JS from static/; Swagger UI's init script is a
# separate request), no eval. Fonts and images may be data: URIs (KaTeX, swagger-ui CSS). The
# labelling page alone adds style-src-attr 'unsafe-inline' for KaTeX's layout (labeling/views.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    },
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "activelearn.context_processors.worker_health",
                "labeling.context_processors.project_menu",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'stepwise.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the worker read while the other writes;
    # IMMEDIATE transactions take the write lock up front instead of failing mid-way.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
         "transaction_mode": "IMMEDIATE", "timeout": 20}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Front-end libraries come from npm (package.json; `make setup` runs `npm ci`) and are served
# from node_modules under static/vendor/, never copied into the repository.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [BASE_DIR / "static"] + [
    (f"vendor/{name}", NODE_MODULES / path) for name, path in
    (("katex", "katex/dist"), ("markdown-it", "markdown-it/dist/browser"), ("chart.js", "chart.js/dist"),
                       ("swagger-ui-dist", "swagger-ui-dist"))
    if (NODE_MODULES / path).is_dir()
]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
IMPORT_MAX_UPLOAD_MB = env.int("IMPORT_MAX_UPLOAD_MB", default=512)  # larger files: the import commands
IMPORT_MAX_LINE_KB = env.int("IMPORT_MAX_LINE_KB", default=1024)  # one JSONL record; commands and uploads alike
# Every import path, whatever the format (docs/security.md, "Imports' limits"): one text value (a problem, a step,
# an answer), the file once un-gzipped, an import's wall time, its records.
IMPORT_MAX_VALUE_KB = env.int("IMPORT_MAX_VALUE_KB", default=256)
IMPORT_MAX_DECOMPRESSED_MB = env.int("IMPORT_MAX_DECOMPRESSED_MB", default=4096)
IMPORT_MAX_SECONDS = env.int("IMPORT_MAX_SECONDS", default=3600)
IMPORT_MAX_RECORDS = env.int("IMPORT_MAX_RECORDS", default=5_000_000)
IMPORT_MAX_ALTERNATIVES = env.int("IMPORT_MAX_ALTERNATIVES", default=100)  # other candidates of one step
# The most steps in a solution: the submit takes at most this many ratings, so imports, generation and
# resegmentation refuse longer solutions (labeling/formats/limits.py).
MAX_SOLUTION_STEPS = env.int("MAX_SOLUTION_STEPS", default=1000)

# --- Mail and password reset (docs/security.md, "Accounts, sessions and mail") -------------------------
# No mail unless an operator sets EMAIL_URL (smtp+tls://user:password@host:587, smtps://...): without it nothing
# ever tries to send (no SMTP connection to localhost:25) and the password-reset pages answer 404.
EMAIL_URL = env("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="stepwise@localhost")
# With mail configured, on unless turned off; the mail is sent by the worker, so the page answers alike whether the
# address has an account or not. At most PASSWORD_RESET_PER_HOUR requests per address and per client IP.
PASSWORD_RESET_ENABLED = bool(EMAIL_URL) and env.bool("PASSWORD_RESET_ENABLED", default=True)
PASSWORD_RESET_PER_HOUR = env.int("PASSWORD_RESET_PER_HOUR", default=5)

# --- Celery -----------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    # Sessions read from Redis (the database only on a miss): the labelling API then authenticates a
    # request in one query (labeling/people/rights.py). Nothing else uses the cache.
    # Short timeouts and a store that falls back to the database: labelling goes on while Redis is away.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "stepwise",
                          "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    SESSION_ENGINE = "labeling.people.sessions"
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),  # pidbox/broadcast files, not in the working directory
        "store_processed": False,
    }
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="celery")
# A round's training task (activelearn.tasks.run_round) can go to a queue of its own, so that a GPU
# worker (`celery -A config worker -Q <this>`) takes only training; empty: CELERY_QUEUE like the rest.
TRAIN_QUEUE = env("CELERY_TRAIN_QUEUE", default="")
# The same for a round's sampling from the policy (activelearn.tasks.generate_chunk): workers close to
# the policy server (`-Q <this>`); empty: CELERY_QUEUE.
GENERATE_QUEUE = env("CELERY_GENERATE_QUEUE", default="")
CELERY_TASK_ROUTES = ["config.celery.route_task"]
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_BEAT_SCHEDULE: dict = {}

# --- Models -----------------------------------------------------------------
PRM_BASE_MODEL = env("PRM_BASE_MODEL", default="")  # empty: the packaged all-MiniLM-L6-v2
# The other backbones a round may name (API, page, start_round), comma-separated: `name=path-or-hub-id`, or a
# bare absolute path (named by its basename) or hub id (named by itself). A round gives the name, never a path.
PRM_ALLOWED_BACKBONES = env.list("PRM_ALLOWED_BACKBONES", default=[])
# ProcessBench-shaped files a new version is validated on where people's held-out labels are too few
# (activelearn/prm/validation_sets.py): {problem, steps, label[, final_answer_correct]} records
PRM_VALIDATION_FILES = env.list("PRM_VALIDATION_FILES", default=[])
MODEL_DIR = Path(env("MODEL_DIR", default=str(VAR_DIR / "models")))
# Backbones (PRM_ALLOWED_BACKBONES names) whose repository code may run (trust_remote_code); none by default.
PRM_TRUST_REMOTE_CODE = env.list("PRM_TRUST_REMOTE_CODE", default=[])
# Training as several processes (activelearn/prm/launch.py): 0 trains inside the worker as before; N >= 1
# runs `accelerate launch --num_processes N` as a child of the worker. PRM_ACCELERATE_CONFIG: an accelerate
# config file (DeepSpeed, FSDP, mixed precision...); PRM_TRAIN_CPU: launch on CPU (gloo) even with a GPU.
PRM_TRAIN_PROCESSES = env.int("PRM_TRAIN_PROCESSES", default=0)
PRM_ACCELERATE_CONFIG = env("PRM_ACCELERATE_CONFIG", default="")
PRM_TRAIN_CPU = env.bool("PRM_TRAIN_CPU", default=False)
# The deployment's policy (the `default` connection): an OpenAI-compatible server. Its API key, if any,
# is the workers' POLICY_API_KEY environment variable (read where it is used, never stored).
POLICY_BASE_URL = env("POLICY_BASE_URL", default="")
POLICY_MODEL = env("POLICY_MODEL", default="")
POLICY_ENDPOINT = env("POLICY_ENDPOINT", default="completions")
# Hosts a connection's base_url may name (host, host:port, [v6]:port, or .domain for its subdomains),
# comma-separated; empty: loopback only (127.0.0.0/8, ::1, localhost). docs/security.md, "Outbound hosts".
POLICY_ALLOWED_HOSTS = env.list("POLICY_ALLOWED_HOSTS", default=[])
# Which connection may use which key variable, towards which host: VARIABLE=project[/connection]@host[:port],
# comma-separated. Only the `default` connection needs no entry (POLICY_API_KEY to POLICY_BASE_URL's host).
# docs/security.md, "Secrets and model servers".
POLICY_KEY_GRANTS = env.list("POLICY_KEY_GRANTS", default=[])
HF_ALLOW_NETWORK = env.bool("HF_ALLOW_NETWORK", default=False)
if not HF_ALLOW_NETWORK:
    # Set before anything imports huggingface_hub, which reads it once at import time.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# --- Labelling queue ----------------------------------------------------------
LABEL_LEASE_SECONDS = env.int("LABEL_LEASE_SECONDS", default=1800)  # a claimed task returns to the queue after
LABEL_QC_EVERY = env.int("LABEL_QC_EVERY", default=10)  # one QC question after this many regular tasks
LABEL_SCREENING_THRESHOLD = env.float("LABEL_SCREENING_THRESHOLD", default=0.8)  # first-error agreement to pass
CELERY_BEAT_SCHEDULE["reap-expired-leases"] = {"task": "labeling.tasks.reap_expired_leases", "schedule": 60.0}
EXPORT_KEEP_DAYS = env.int("EXPORT_KEEP_DAYS", default=7)
CELERY_BEAT_SCHEDULE["expire-exports"] = {"task": "labeling.tasks.expire_exports", "schedule": 3600.0}

# Active-learning rounds and worker health.
WORKER_DEAD_AFTER_SECONDS = env.int("WORKER_DEAD_AFTER_SECONDS", default=60)
ROUND_STALL_SECONDS = env.int("ROUND_STALL_SECONDS", default=900)
ROUND_RESEND_SECONDS = env.int("ROUND_RESEND_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["watch-rounds"] = {"task": "activelearn.tasks.watch_rounds", "schedule": 30.0}

# --- REST framework ---------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "api.schema.ErrorsAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiTokenAuthentication",
                                       "rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's three, with a JSON parser that answers a too deeply nested body with 400 (api/parsers.py)
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Stepwise API",
    "DESCRIPTION": "Step-level labels for process reward models. Authenticate with `Authorization: Bearer <token>` "
                   "(tokens from /api/tokens/) or a browser session (send the CSRF token on writes).",
    "VERSION": "1.0.0",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from npm (swagger-ui-dist), served by whitenoise: no CDN at run time.
    "SWAGGER_UI_DIST": "/static/vendor/swagger-ui-dist",
    "SWAGGER_UI_FAVICON_HREF": "/static/vendor/swagger-ui-dist/favicon-32x32.png",
    # No validator badge: it would send the schema URL to validator.swagger.io (and break the CSP).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Choice sets shared by several components need a name of their own (else a warning).
    "ENUM_NAME_OVERRIDES": {"JobStatusEnum": "labeling.models.JOB_STATUSES",
                            "ImportFormatEnum": "labeling.models.ImportFormat",
                            "ExportFormatEnum": "labeling.models.ExportFormat",
                            "RoundStatusEnum": "labeling.models.RunStatus",
                            # the automatic labellers' names: a run's source and a round's auto_label_with
                            "LabellerEnum": "activelearn.labellers.runs.SOURCES"},
}

# One line per record on stdout, JSON or text, with the request id / Celery task id (config/logging.py).
LOGGING = logging_config(env("LOG_FORMAT", default="text"), env("LOG_LEVEL", default="INFO"))

# The interpreter that runs unit-test outcome checks in the sandbox (activelearn/grading/sandbox.py); empty: the
# system's /usr/bin/python3, so the checked program gets none of Stepwise's packages.
SANDBOX_PYTHON = env("SANDBOX_PYTHON", default="")
