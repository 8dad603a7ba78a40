"""Serve the demo's fake review site (Atom at /feed.atom, JSON Feed at /feed.json)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from helpdesk.feedback.fake_feed import FakeReviewFeed


class Command(BaseCommand):
    help = "Serve a fake review site's feeds for the demo and tests."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8025)

    def handle(self, *args, port: int, **options) -> None:
        feed = FakeReviewFeed(port=port).start()
        self.stdout.write(f"Fake reviews at {feed.url}/feed.atom and {feed.url}/feed.json")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            feed.stop()
