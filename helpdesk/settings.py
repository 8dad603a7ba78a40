"""Tourniquet settings: every value comes from the environment, with safe demo defaults."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY", default="demo-insecure-secret-key-change-me-in-production-0123456789"
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# HTTP is served by WSGI workers (persistent database connections); websockets by a separate
# ASGI process. Where a proxy routes /ws/ to it, leave this empty (same origin).
WEBSOCKET_BASE_URL = env.str("WEBSOCKET_BASE_URL", default="").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "channels",
    "helpdesk.accounts",
    "helpdesk.customers",
    "helpdesk.crisis",
    "helpdesk.feedback",
    "helpdesk.staffing",
    "helpdesk.integrations",
    "helpdesk.portal",
    "helpdesk.tickets",
    "helpdesk.messaging",
    "channels_app",
    "channels_app.webform",
    "channels_app.sms",
    "channels_app.email",
    "channels_app.chat",
    "channels_app.voice",
    "triage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "helpdesk.middleware.AgentLocalFormatMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "helpdesk.middleware.PermissionsPolicyMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"
ASGI_APPLICATION = "helpdesk.asgi.application"

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
                "helpdesk.context_processors.workspace",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Hot statements (the webhook inbox INSERT) are prepared once per connection; 0 behind a
# transaction-pooling PgBouncer.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
# After seeing the inbox wake flag set, a web process skips Redis this long; drains linger twice as
# long to cover it (channels_app/inbox.py). The same value on web and workers; 0 turns it off.
INBOX_WAKE_SKIP_MS = env.int("INBOX_WAKE_SKIP_MS", default=20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://tourniquet"),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Django's model backend, refusing a username or address after too many failed sign-ins.
AUTHENTICATION_BACKENDS = ["helpdesk.accounts.throttle.ThrottledModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "tickets:queue"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("fa", _("Persian")),
    ("km", _("Khmer")),
    ("kn", _("Kannada")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Django's LANG_INFO names Khmer and Kannada in English; the language menu shows name_local,
# and a reader looks for their language in their own script.
from django.conf.locale import LANG_INFO  # noqa: E402

LANG_INFO["km"]["name_local"] = "ខ្មែរ"
LANG_INFO["kn"]["name_local"] = "ಕನ್ನಡ"
# Formats Django's own locale files lack (helpdesk/formats/<lang>/formats.py), looked up first.
FORMAT_MODULE_PATH = ["helpdesk.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND", default="django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = BASE_DIR / "media"

# --- Security: strict in production, relaxed only when DJANGO_DEBUG or the demo says so.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
# Behind one reverse proxy that sets X-Forwarded-Proto and appends to X-Forwarded-For; the
# forwarded address is believed only from the proxy's own addresses, which must be named: a
# default such as "every private network" would let any client on them pick its own address.
BEHIND_PROXY = env.bool("DJANGO_BEHIND_PROXY", False)
TRUSTED_PROXIES = env.list("DJANGO_TRUSTED_PROXIES", default=[])
if BEHIND_PROXY and not TRUSTED_PROXIES:
    raise ImproperlyConfigured(
        "DJANGO_BEHIND_PROXY=1 needs DJANGO_TRUSTED_PROXIES: the proxy's own addresses or networks "
        "(e.g. 10.0.0.5 or 10.0.0.0/24), the only clients whose X-Forwarded-For is believed."
    )
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy on every response (django-csp): scripts and styles from our own
# static files only, no inline script or style, no plugins, no <base>, no framing. The
# websocket server may live on another origin (WEBSOCKET_BASE_URL).
# Request bodies: forms and JSON up to 2.5 MB in memory (Django's default, said here on purpose);
# uploads past 1 MB spill to a temporary file, and each upload field has its own cap.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 1_048_576
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", *([WEBSOCKET_BASE_URL] if WEBSOCKET_BASE_URL else [])],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# Features no page of ours uses: denied to every frame.
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "hid=(), midi=(), magnetometer=(), gyroscope=(), accelerometer=(), display-capture=(), "
    "interest-cohort=()"
)

# --- REST API
REST_FRAMEWORK = {
    # Token first: a request without credentials gets 401 with a `WWW-Authenticate: Token` challenge
    # (DRF takes the challenge from the first class; session auth has none, which meant 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["helpdesk.permissions.IsStaffAgent"],
    # JSON bodies only: one content type to validate, and the schema says exactly that.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "helpdesk.apischema.AutoSchema",
    "EXCEPTION_HANDLER": "helpdesk.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "helpdesk.api.KeysetIdPagination",
    "PAGE_SIZE": 50,
}
# API tokens (django-rest-knox): stored as hashes, a new one per sign-in, expiring after a shift
# unless used (each use extends it), deleted with a password change or deactivation.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=12)),
    "AUTO_REFRESH": True,
    "TOKEN_LIMIT_PER_USER": 20,
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "GET_LIB_DOC_EXCLUDES": "helpdesk.apischema.lib_doc_excludes",
    "TITLE": "Tourniquet API",
    "DESCRIPTION": "Crisis-support help desk: customers, tickets and the unified timeline.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: the docs work on an offline or locked-down network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Group operations by resource (customers, tickets, crises...) rather than one "v1" heap.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "helpdesk.api.document_error_responses",
    ],
    # Several choice sets share a field name (kind, status, channel); name each one.
    "ENUM_NAME_OVERRIDES": {
        "ContactKindEnum": "helpdesk.customers.models.ContactKind",
        "EventKindEnum": "helpdesk.tickets.models.EventKind",
        "TicketStatusEnum": "helpdesk.tickets.models.TicketStatus",
        "TicketStatusFilterEnum": "helpdesk.tickets.serializers.TICKET_STATUS_FILTER_CHOICES",
        "ChannelEnum": "helpdesk.tickets.models.Channel",
        "BroadcastChannelEnum": "helpdesk.crisis.models.BROADCAST_CHANNEL_CHOICES",
        # Two TextChoices named DeliveryStatus: a message's and a webhook delivery's.
        "DeliveryStatusEnum": "helpdesk.tickets.models.DeliveryStatus",
        "WebhookDeliveryStatusEnum": "helpdesk.integrations.models.DeliveryStatus",
    },
}

# --- Celery
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup would close every database connection around every task; tasks age
# them as requests do instead (helpdesk/celery.py: CONN_MAX_AGE, health checks).
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "helpdesk.messaging.tasks.relay_outbox*": {"queue": "outbound"},
    "helpdesk.tickets.tasks.process_inbound_event": {"queue": "inbound"},
    "helpdesk.messaging.tasks.drain_inbox": {"queue": "inbound"},
    "helpdesk.messaging.tasks.sweep_inbox": {"queue": "inbound"},
    # Sweeps have a queue of their own: a sweep never waits behind a running dispatch task.
    "helpdesk.crisis.tasks.sweep_broadcasts": {"queue": "sweep"},
    "helpdesk.crisis.tasks.evaluate_surges_task": {"queue": "sweep"},
    "helpdesk.crisis.*": {"queue": "broadcast"},
    "triage.*": {"queue": "triage"},
}
CELERY_BEAT_SCHEDULE = {
    "relay-outbox-sweep": {"task": "helpdesk.messaging.tasks.relay_outbox", "schedule": 30.0},
    "inbox-sweep": {"task": "helpdesk.messaging.tasks.sweep_inbox", "schedule": 30.0},
    "triage-reminders": {"task": "triage.tasks.remind_and_expire_runs", "schedule": 60.0},
    "sla-escalation": {"task": "helpdesk.tickets.tasks.escalate_sla", "schedule": 60.0},
    # Every 2 s, so a dead dispatcher's rows are settled and replaced within ~DISPATCHER_LEASE
    # + 2 s; a tick that waited past the next one is dropped, not run late.
    "broadcast-sweep": {
        "task": "helpdesk.crisis.tasks.sweep_broadcasts",
        "schedule": 2.0,
        "options": {"expires": 2.0},
    },
    "surveys-due": {"task": "helpdesk.feedback.tasks.send_due_surveys", "schedule": 60.0},
    "report-rollups": {"task": "helpdesk.staffing.tasks.refresh_rollups", "schedule": 60.0},
    "webhook-retries": {"task": "helpdesk.integrations.tasks.deliver_due", "schedule": 60.0},
    "self-service-retries": {"task": "helpdesk.portal.tasks.call_due_actions", "schedule": 60.0},
    "review-feeds": {"task": "helpdesk.feedback.tasks.poll_review_feeds", "schedule": 900.0},
    # "surge-evaluation": added with the surge settings below.
}

# --- Channels (realtime)
CHANNEL_LAYERS = {
    "default": (
        {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 caps a pool at 100 connections and then raises, and reads time out after
            # 5 s, as long as channels_redis blocks waiting for a socket's next message: with a
            # thousand chat widgets open, consumers crashed on both (bench.chat_load). One pool per
            # process and event loop.
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": env.int("CHANNEL_LAYER_MAX_CONNECTIONS", default=2000),
                        "socket_timeout": 30,
                        "socket_connect_timeout": 5,
                    }
                ]
            },
        }
        if env.bool("CHANNEL_LAYER_REDIS", default=True)
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}

# --- Channels: each declares itself once (channels_app.base.ChannelSpec); the core reads these.
CHANNELS: list[str] = env.list(
    "CHANNELS",
    default=[
        "channels_app.sms.spec.SMS",
        "channels_app.email.spec.EMAIL",
        "channels_app.webform.spec.WEB",
        "channels_app.voice.spec.VOICE",
        "channels_app.chat.spec.CHAT",
    ],
)
# The console gateway prints instead of sending: only where a person reads the console (the demo,
# development). Elsewhere a channel configured with it counts as having no gateway.
DEMO_GATEWAYS_ENABLED = env.bool("DEMO_GATEWAYS_ENABLED", default=DEBUG)
_CONSOLE = "channels_app.console.gateway.ConsoleGateway"
# Channel name -> dotted path of the class that sends on it. A channel without one is not offered.
CHANNEL_GATEWAYS = env.dict(
    "CHANNEL_GATEWAYS",
    # Chat is served by the desk itself: its gateway pushes to the visitor's socket.
    default={"chat": "channels_app.chat.gateway.ChatGateway"}
    | (dict.fromkeys(("sms", "email"), _CONSOLE) if DEMO_GATEWAYS_ENABLED else {}),
)
# A visitor's chat messages a minute, per visitor and per IP address (0: no limit).
# Voice (channels_app/voice): Twilio's <Say> locale per desk language; a language left empty has
# no Twilio voice, so callers hear the manager's recording for it, and fixed prompts in English.
VOICE_SAY_LANGUAGES: dict[str, str] = env.dict(
    "VOICE_SAY_LANGUAGES", default={"en": "en-US", "kn": "kn-IN", "fa": "", "km": ""}
)
# The Twilio <Client> identity an agent's call back rings: "agent-<username>" unless set here.
VOICE_AGENT_CLIENT_PREFIX = env.str("VOICE_AGENT_CLIENT_PREFIX", default="agent-")
CHAT_MESSAGES_PER_MINUTE = env.int("CHAT_MESSAGES_PER_MINUTE", default=30)
CHAT_MESSAGES_PER_MINUTE_PER_IP = env.int("CHAT_MESSAGES_PER_MINUTE_PER_IP", default=300)
# A visitor's photo or PDF (channels_app.chat.uploads): at most this many bytes.
CHAT_UPLOAD_MAX_BYTES = env.int("CHAT_UPLOAD_MAX_BYTES", default=5_000_000)
# Rate limits shared by all processes: "redis" (production), or "local" for one process (the demo).
SEND_RATE_LIMIT_BACKEND = env.str("SEND_RATE_LIMIT_BACKEND", default="redis")
# Inbound handlers offered each new inbound event in order; the first that consumes it wins.
INBOUND_HANDLERS: list[str] = env.list(
    "INBOUND_HANDLERS",
    default=[
        "helpdesk.messaging.consent.handle_inbound",  # consent keywords (STOP/START/HELP) win first
        "triage.inbound.handle_inbound",  # an answer to the customer's active triage run
        "helpdesk.feedback.inbound.handle_inbound",  # a score or comment for a survey that waits
    ],
)
# Asked before a message from a customer without an open ticket opens one: a ticket that holds it
# without reopening (a survey waiting on its score), see tickets.services.held_thread.
INBOUND_THREAD_HOLDS: list[str] = env.list(
    "INBOUND_THREAD_HOLDS", default=["helpdesk.feedback.inbound.held_thread"]
)
# The same handlers for a drained batch, set-based where they can be (helpdesk.messaging.inbox):
# it takes the messages that INBOUND_HANDLERS would treat exactly as it does, and leaves the others
# to them (all of them when INBOUND_HANDLERS is not the list it stands for). Empty: one by one.
# A ticket receiving more than INBOUND_TICKET_LIMIT messages in INBOUND_TICKET_WINDOW_SECONDS keeps
# and shows them all but answers none automatically until the window ends (0: no limit); only
# INBOUND_FLOOD_HANDLERS (opting out) are still asked. helpdesk/messaging/flood.py.
INBOUND_TICKET_LIMIT = env.int("INBOUND_TICKET_LIMIT", default=30)
INBOUND_TICKET_WINDOW_SECONDS = env.int("INBOUND_TICKET_WINDOW_SECONDS", default=600)
INBOUND_FLOOD_HANDLERS: list[str] = env.list(
    "INBOUND_FLOOD_HANDLERS", default=["helpdesk.messaging.consent.handle_opt_out"]
)
# Surveys (helpdesk.feedback): a crisis's customers are asked this long after its closing message;
# a recovery case is due this long after it opens.
SURVEY_AFTER_CLOSING_HOURS = env.int("SURVEY_AFTER_CLOSING_HOURS", default=24)
# ... and a completed triage's customer this many minutes after their last answer.
SURVEY_AFTER_TRIAGE_MINUTES = env.int("SURVEY_AFTER_TRIAGE_MINUTES", default=60)
RECOVERY_DUE_HOURS = env.int("RECOVERY_DUE_HOURS", default=48)
# The report rollups are kept current by the beat (helpdesk.staffing.tasks); the demo has no beat, so
# its reports page refreshes them before it reads.
REPORTS_REFRESH_ON_VIEW = env.bool("REPORTS_REFRESH_ON_VIEW", default=False)
# Outbound calls to addresses people typed (webhooks, review feeds: helpdesk.integrations.netguard)
# never reach loopback, link-local, private or reserved addresses, except these networks (CIDRs,
# for self-hosted systems on the LAN; the tests allow 127.0.0.1 for their local receivers).
OUTBOUND_ALLOWED_NETWORKS: list[str] = env.list(
    "OUTBOUND_ALLOWED_NETWORKS", default=["127.0.0.1/32"] if DEBUG else []
)  # the demo's fake bank and airline listen on 127.0.0.1
# The demo's fake bank and airline (manage.py fake_backends) check self-service calls with this key.
DEMO_BACKENDS_SECRET = env.str("DEMO_BACKENDS_SECRET", default="demo-backends-secret-0123")
# Staffing (helpdesk.staffing.plan): each channel's average handle time and service target. Voice
# 80 % answered in 20 s; chat 80 % in 60 s with three chats an agent; SMS 80 % in 5 minutes; email
# planned by workload (answered within hours, not while the customer waits).
STAFFING_TARGETS: dict[str, dict] = {
    "voice": {"aht_seconds": env.int("STAFFING_VOICE_AHT_SECONDS", default=240), "level": 0.8, "seconds": 20,
              "patience_seconds": env.int("STAFFING_VOICE_PATIENCE_SECONDS", default=0)},
    "chat": {"aht_seconds": env.int("STAFFING_CHAT_AHT_SECONDS", default=420), "level": 0.8, "seconds": 60,
             "concurrency": env.int("STAFFING_CHAT_CONCURRENCY", default=3)},
    "sms": {"aht_seconds": env.int("STAFFING_SMS_AHT_SECONDS", default=180), "level": 0.8, "seconds": 300,
            "concurrency": 2},
    "email": {"aht_seconds": env.int("STAFFING_EMAIL_AHT_SECONDS", default=360), "deferred": True},
    "default": {"aht_seconds": 300, "deferred": True},
}  # fmt: skip
INBOUND_BATCH_HANDLER: str = env.str("INBOUND_BATCH_HANDLER", default="triage.inbound.answer_many")

# Extra panels on the ticket page: URL names taking the ticket id, each loaded by htmx into the
# sidebar, so later apps (triage, crisis, surveys) add a panel without touching tickets' templates.
TICKET_PANELS: list[str] = ["triage:ticket_panel", "voice:ticket_panel", "feedback:ticket_panel"]

# --- Triage: one reminder after this much silence, expiry later; RESUME works for a week.
TRIAGE_REMIND_AFTER_MINUTES = env.int("TRIAGE_REMIND_AFTER_MINUTES", default=120)
TRIAGE_EXPIRE_AFTER_MINUTES = env.int("TRIAGE_EXPIRE_AFTER_MINUTES", default=24 * 60)
TRIAGE_RESUME_WINDOW_DAYS = env.int("TRIAGE_RESUME_WINDOW_DAYS", default=7)
TRIAGE_BROADCAST_YES_WINDOW_HOURS = env.int("TRIAGE_BROADCAST_YES_WINDOW_HOURS", default=72)

# --- Crisis broadcasts: parallel dispatch tasks per broadcast, price for the cost estimate, and
# how long after a broadcast an inbound SMS counts as a reply to it.
BROADCAST_DISPATCHERS = env.int("BROADCAST_DISPATCHERS", default=2)
# Broadcasts to more recipients than this wait for a second manager's approval (0: never forced).
BROADCAST_APPROVAL_THRESHOLD = env.int("BROADCAST_APPROVAL_THRESHOLD", default=1000)
# The same for a triage flow started for a segment of customers (each gets the first question).
SEGMENT_APPROVAL_THRESHOLD = env.int("SEGMENT_APPROVAL_THRESHOLD", default=BROADCAST_APPROVAL_THRESHOLD)
SMS_PRICE_PER_SEGMENT = env.float("SMS_PRICE_PER_SEGMENT", default=0.0079)
BROADCAST_REPLY_WINDOW_HOURS = env.int("BROADCAST_REPLY_WINDOW_HOURS", default=72)

# --- Surge mode (helpdesk/crisis/surge.py): inbound contacts are counted over this many seconds,
# and beat evaluates the switch as often; the expected wait of a capacity alert takes this handle
# time per ticket (the IVR keeps its own for calls, IvrConfig.handle_seconds).
SURGE_EVALUATION_SECONDS = env.int("SURGE_EVALUATION_SECONDS", default=60)
SURGE_HANDLE_SECONDS = env.int("SURGE_HANDLE_SECONDS", default=240)
# Each run counts one period: a tick that waited past the next is dropped, not run late.
CELERY_BEAT_SCHEDULE["surge-evaluation"] = {
    "task": "helpdesk.crisis.tasks.evaluate_surges_task",
    "schedule": float(SURGE_EVALUATION_SECONDS),
    "options": {"expires": float(SURGE_EVALUATION_SECONDS)},
}
# The public surfaces (crisis page, banner.json, widget notice, HELP answer, IVR message) read one
# snapshot kept in Redis (helpdesk.crisis.public): rebuilt on every publish, and at the latest
# after this many seconds; the last copy is served while PostgreSQL is down. 0: rebuilt each read.
PUBLIC_SNAPSHOT_FRESH_SECONDS = env.int("PUBLIC_SNAPSHOT_FRESH_SECONDS", default=30)
# Incentives (helpdesk.feedback): one worth more than this needs a manager to grant it; the business's
# systems sign POST /api/v1/recovery/redeem/ with this secret (empty: every redemption is refused, 403).
INCENTIVE_APPROVAL_VALUE = env.float("INCENTIVE_APPROVAL_VALUE", default=20.0)
INCENTIVE_REDEEM_SECRET = env.str("INCENTIVE_REDEEM_SECRET", default="demo-redeem-secret" if DEBUG else "")

# --- Twilio
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="AC00000000000000000000000000000000")
# The demo's token (the fake Twilio signs with it): production refuses it (deploy check, 503).
TWILIO_DEMO_AUTH_TOKEN = "demo-auth-token"  # noqa: S105 - published on purpose
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default=TWILIO_DEMO_AUTH_TOKEN)
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="")
TWILIO_FROM = env.str("TWILIO_FROM", default="+15005550006")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
# The account's sending rate (messages per second, shared by replies and broadcasts): 1 for one US
# long code, more for a messaging service with several senders or a short code; 0 for no limit.
TWILIO_MESSAGES_PER_SECOND = env.float("TWILIO_MESSAGES_PER_SECOND", default=10.0)
# Twilio holds about 4-10 h of queued traffic per sender and drops what waits longer: the planner
# refuses an SMS broadcast whose drain time (recipients / rate) is longer than this many hours.
BROADCAST_QUEUE_WINDOW_HOURS = env.float("BROADCAST_QUEUE_WINDOW_HOURS", default=4.0)
# Non-emergency broadcasts wait for the recipient's morning: "start-end" in local hours (the
# customer's time zone, else TIME_ZONE); "21-8" holds those planned from 21:00 to 08:00. "": none.
_QUIET_HOURS = env.str("BROADCAST_QUIET_HOURS", default="21-8").replace(" ", "")
BROADCAST_QUIET_HOURS: tuple[int, int] | None = None
if _QUIET_HOURS:
    _start, _sep, _end = _QUIET_HOURS.partition("-")
    if not (_start.isdigit() and _end.isdigit()):
        raise ImproperlyConfigured("BROADCAST_QUIET_HOURS is two hours 0-23, e.g. 21-8")
    BROADCAST_QUIET_HOURS = (int(_start), int(_end))
    if max(BROADCAST_QUIET_HOURS) > 23 or BROADCAST_QUIET_HOURS[0] == BROADCAST_QUIET_HOURS[1]:
        raise ImproperlyConfigured("BROADCAST_QUIET_HOURS is two different hours 0-23, e.g. 21-8")
# The phone simulator at /demo/phone/ posts signed webhooks as any number: demo machines only.
DEMO_PHONE_ENABLED = env.bool("DEMO_PHONE_ENABLED", default=DEBUG)

# --- Email
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="help@tourniquet.example")
# The desk's name in From ("Dara via Tourniquet") and the domain of our Message-IDs.
EMAIL_DESK_NAME = env.str("EMAIL_DESK_NAME", default="Tourniquet")
EMAIL_MESSAGE_ID_DOMAIN = env.str("EMAIL_MESSAGE_ID_DOMAIN", default=DEFAULT_FROM_EMAIL.rpartition("@")[2])
# The shared secret of POST /webhooks/email/inbound/ (HMAC-SHA256 of the body); empty: the door
# refuses everything (403).
EMAIL_INBOUND_SECRET = env.str("EMAIL_INBOUND_SECRET", default="demo-email-secret" if DEBUG else "")
# The largest raw message any door accepts (the webhook answers 413 above it).
EMAIL_MAX_BYTES = env.int("EMAIL_MAX_BYTES", default=25 * 1024 * 1024)
# Domains the SMTP door accepts mail for, besides those of the configured mailboxes (empty: the
# domain of DEFAULT_FROM_EMAIL); any other recipient is refused with 550, so it is no open relay.
EMAIL_INBOUND_DOMAINS: list[str] = env.list("EMAIL_INBOUND_DOMAINS", default=[])
# The IMAP poll's interval when the server has no IDLE, in seconds.
EMAIL_POLL_SECONDS = env.int("EMAIL_POLL_SECONDS", default=60)
# Authentication-Results headers are believed only from these servers (authserv-ids, RFC 8601):
# the MTA in front of the desk that checks SPF, DKIM and DMARC. A sender nobody vouches for is
# unproven: never threaded into, or attached to, a known customer.
EMAIL_TRUSTED_AUTHSERV_IDS: list[str] = env.list("EMAIL_TRUSTED_AUTHSERV_IDS", default=[])
# Mail from one address past this many in the window is kept but never answered (mail loops).
EMAIL_SENDER_LIMIT = env.int("EMAIL_SENDER_LIMIT", default=20)
EMAIL_SENDER_WINDOW_SECONDS = env.int("EMAIL_SENDER_WINDOW_SECONDS", default=600)

# --- Help desk behaviour
TICKET_THREAD_WINDOW_HOURS = env.int("TICKET_THREAD_WINDOW_HOURS", default=72)
DEFAULT_SLA_MINUTES = env.int("DEFAULT_SLA_MINUTES", default=24 * 60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # The Twilio SDK logs ~8 INFO lines per request, with phone numbers and query strings.
        "twilio": {"level": "WARNING"},
    },
}
