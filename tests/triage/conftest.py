"""Triage fixtures: the seeded flow, a small three-step flow, an SMS customer, inbound helper."""

from __future__ import annotations

import itertools

import pytest

from channels_app.base import InboundMessage
from helpdesk.tickets.services import record_inbound
from tests.factories import ContactPointFactory, CustomerFactory
from triage import services

_sids = itertools.count(1)

SMALL = {
    "max_retries": 1,
    "steps": [
        {
            "key": "hurt",
            "kind": "single",
            "text": {"en": "What hurts most?", "fa": "چه چیزی بیشتر آسیب زده؟"},
            "choices": [
                {"value": "cash", "label": {"en": "Cash", "fa": "پول"}, "weight": 4},
                {"value": "staff", "label": {"en": "Staff", "fa": "کارکنان"}, "weight": 1},
            ],
        },
        {
            "key": "people",
            "kind": "number",
            "text": {"en": "How many people?"},
            "bands": [{"min": 50, "weight": 4}],
        },
        {"key": "urgent", "kind": "yesno", "text": {"en": "Is anyone in danger?"}, "yes_weight": 4},
    ],
    "severity_bands": [
        {"min_score": 0, "severity": 1},
        {"min_score": 4, "severity": 3},
        {"min_score": 8, "severity": 5},
    ],
    "rules": [{"when": {"severity_gte": 5}, "priority": 1, "tags": ["urgent-triage"]}],
}


@pytest.fixture
def seeded_flow(db):
    return services.seed_stop_the_bleeding()


@pytest.fixture
def small_flow(db):
    version = services.import_flow(data={"name": "Small", "slug": "small", "definition": SMALL})
    return version.flow


@pytest.fixture
def phone(db):
    return ContactPointFactory(value="+14155550199", customer=CustomerFactory(language="en"))


@pytest.fixture
def inbound(django_capture_on_commit_callbacks):
    """Record an SMS as the webhook would, running the inbound handlers (eager Celery) on commit."""

    def send(body: str, sender: str = "+14155550199"):
        with django_capture_on_commit_callbacks(execute=True):
            result = record_inbound(
                message=InboundMessage(
                    channel="sms",
                    sender_kind="phone",
                    sender=sender,
                    body=body,
                    provider="twilio",
                    provider_id=f"SMtest{next(_sids)}",
                    sender_proven=True,
                )
            )
        return result.event

    return send
