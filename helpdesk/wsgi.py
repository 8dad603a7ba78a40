"""Production HTTP entry point (gunicorn gthread). Hot provider webhooks skip the middleware
stack: see helpdesk/messaging/door.py."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django_application = get_wsgi_application()

from helpdesk.messaging.door import FastDoor  # noqa: E402 - needs the apps loaded above

application = FastDoor(django_application)
