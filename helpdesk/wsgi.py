"""Production HTTP entry point (gunicorn gthread). Provider webhooks skip the middleware stack:
see channels_app/lean.py."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django_application = get_wsgi_application()

from channels_app.lean import LeanWebhooks  # noqa: E402 - needs the apps loaded above

application = LeanWebhooks(django_application)
