"""Serve the demo's fake bank and airline (helpdesk.portal.fake_backends)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from helpdesk.portal.fake_backends import FakeBackends


class Command(BaseCommand):
    help = "Serve a fake bank and airline for the self-service demo."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8030)

    def handle(self, *args, port: int, **options) -> None:
        backends = FakeBackends(secret=settings.DEMO_BACKENDS_SECRET, port=port).start()
        self.stdout.write(f"Fake bank and airline at {backends.url}/bank/… and {backends.url}/airline/rebook")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            backends.stop()
