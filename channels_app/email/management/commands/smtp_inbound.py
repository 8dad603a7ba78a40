"""`manage.py smtp_inbound`: the SMTP door, run behind (or as) the desk's MX."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from channels_app.email.smtpd import InboundHandler, smtp_parameters


class Command(BaseCommand):
    help = "Run an SMTP server that stores mail for the desk's domains in the inbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument("--max-bytes", type=int, default=None, help="Default: EMAIL_MAX_BYTES.")

    def handle(self, *args: Any, host: str, port: int, max_bytes: int | None, **options: Any) -> None:
        from aiosmtpd.controller import Controller

        parameters = smtp_parameters()
        if max_bytes:
            parameters["data_size_limit"] = max_bytes
        controller = Controller(InboundHandler(), hostname=host, port=port, **parameters)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        controller.start()
        self.stdout.write(f"smtp_inbound on {host}:{port}, limit {parameters['data_size_limit']} bytes")
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
