"""Run the local fake Twilio server: `manage.py fake_twilio --port 8099`."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from channels_app.fake_twilio.server import build_app, run


class Command(BaseCommand):
    help = "Serve a local HTTP server that speaks Twilio's Messages API (for tests, the demo and benchmarks)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8099)
        parser.add_argument(
            "--callback-delay", type=float, default=0.2, help="Seconds between status callbacks."
        )

    def handle(self, *args, host: str, port: int, callback_delay: float, **options) -> None:
        app = build_app(
            account_sid=settings.TWILIO_ACCOUNT_SID,
            auth_token=settings.TWILIO_AUTH_TOKEN,
            callback_delay=callback_delay,
        )
        self.stdout.write(f"fake Twilio on http://{host}:{port} (account {settings.TWILIO_ACCOUNT_SID})")
        self.stdout.flush()
        run(app, host=host, port=port)
