"""The demo's staffing story: eight weeks of past volumes (as if imported from the old system),
tomorrow's roster for the demo agents, and rollups of everything the demo desk holds."""

from __future__ import annotations

import math
import random
from datetime import UTC, timedelta

from django.utils import timezone

from helpdesk.staffing import rollups
from helpdesk.staffing.models import ImportedVolume, Shift

WEEKS = 8
LINES = {("voice", "en"): 60, ("sms", "en"): 45, ("sms", "fa"): 20, ("email", "en"): 25, ("chat", "en"): 30,
         ("chat", "km"): 8}  # fmt: skip
WEEK = (1.25, 1.1, 1.05, 1.0, 1.0, 0.7, 0.5)


def _shape(slot: int) -> float:
    hour = slot / 2
    return 0.1 + math.exp(-((hour - 10) ** 2) / 6) + 0.8 * math.exp(-((hour - 15.5) ** 2) / 5)


def seed_staffing_story(*, agents: list) -> None:
    """Once: a desk that has imported history is left as it is."""
    if ImportedVolume.objects.exists():
        return
    rng = random.Random(19)
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    for day in range(WEEKS * 7, 0, -1):
        midnight = today - timedelta(days=day)
        for (channel, language), peak in LINES.items():
            for slot in range(48):
                mean = peak * _shape(slot) * WEEK[midnight.weekday()]
                contacts = max(0, round(rng.gauss(mean, mean**0.5)))
                start = midnight + timedelta(minutes=30 * slot)
                rows.append(
                    ImportedVolume(start=start, channel=channel, language=language, contacts=contacts)
                )
    ImportedVolume.objects.bulk_create(rows, batch_size=5000)
    tomorrow = today + timedelta(days=1)
    skills = [(["voice", "sms"], ["en"]), (["sms", "chat"], ["en", "fa"]), (["email", "chat"], ["en", "km"])]
    for i, agent in enumerate(agents):
        channels, languages = skills[i % len(skills)]
        begins = tomorrow + timedelta(hours=7 + 2 * (i % 3))
        ends = begins + timedelta(hours=8)
        Shift.objects.create(
            agent=agent, starts_at=begins, ends_at=ends, channels=channels, languages=languages
        )
    rollups.refresh()
