"""The demo's feedback story: weeks of survey answers on every channel, an unhappy customer's
recovery case half way through its plan, a coupon pool, and the fake review site's reviews."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from helpdesk.feedback import recovery, reviews, services, surveys
from helpdesk.feedback.fake_feed import DEMO_REVIEWS
from helpdesk.feedback.models import CouponPool, ReviewSource, Survey, SurveyScale, SurveyState
from helpdesk.tickets.models import Ticket

HISTORY_WEEKS = 8
POOL_NAME = "Fee refund voucher"


def seed_feedback_story(*, manager) -> None:
    """Once: later runs find the demo's coupon pool and leave everything as it is."""
    if CouponPool.objects.filter(name=POOL_NAME).exists():
        return
    rng = random.Random(18)
    now = timezone.now()
    every = list(Ticket.objects.select_related("customer").order_by("id")[:121])
    tickets, unhappy = every[:-1], (every[-1] if every else None)
    rows = []
    for i, ticket in enumerate(tickets):
        asked = now - timedelta(days=rng.randrange(1, HISTORY_WEEKS * 7), hours=rng.randrange(24))
        nps = i % 6 == 0
        answered = rng.random() < 0.62
        # Satisfaction dips in the crisis weeks (the last two) and recovers with the plan.
        low_bias = 1 if asked > now - timedelta(days=14) else 0
        score = (
            (
                rng.choice([3, 6, 7, 8, 9, 9, 10, 10])
                if nps
                else max(1, rng.choice([2, 3, 4, 4, 5, 5]) - low_bias)
            )
            if answered
            else None
        )
        rows.append(
            Survey(
                customer=ticket.customer,
                ticket=ticket,
                channel=ticket.channel if ticket.channel != "web" else "email",
                trigger="solved",
                scale=SurveyScale.NPS if nps else SurveyScale.CSAT,
                language=ticket.language or "en",
                state=SurveyState.ANSWERED if answered else SurveyState.EXPIRED,
                score=score,
                queue_id=ticket.queue_id,
                agent_id=ticket.assignee_id,
                crisis_id=ticket.crisis_id,
                due_at=asked,
                asked_at=asked,
                answered_at=asked + timedelta(minutes=7) if answered else None,
            )  # fmt: skip
        )
    Survey.objects.bulk_create(rows)
    # One unhappy customer, answered just now through the real path: the case, its apology, its plan.
    point = unhappy.customer.contact_points.filter(kind="phone").first() if unhappy else None
    if unhappy is not None and point is not None:
        survey = Survey.objects.create(
            customer=unhappy.customer, ticket=unhappy, contact_point=point, channel="sms", trigger="solved",
            language=unhappy.language or "en", state=SurveyState.ASKED, queue_id=unhappy.queue_id,
            agent_id=unhappy.assignee_id, crisis_id=unhappy.crisis_id, due_at=now, asked_at=now,
        )  # fmt: skip
        surveys.record_answer(survey=survey, score=1)
        surveys.record_comment(survey=survey, text="I waited two days for my card and nobody called back.")
        case = survey.cases.first()
        if case is not None:
            recovery.assign_case(case=case, owner=manager)
            first = case.steps.order_by("position").first()
            if first is not None:
                recovery.complete_step(step=first, actor=manager)
    pool = CouponPool.objects.create(name=POOL_NAME, value=15, currency="USD")
    services.generate_codes(pool=pool, count=50, prefix="SORRY-")
    source = ReviewSource.objects.create(name="Review site (demo)", kind="csv")
    ReviewSource.objects.create(name="Partner webhook (demo)", kind="webhook", secret="demo-review-secret")
    reviews.store_reviews(
        source=source, items=[item for r in DEMO_REVIEWS if (item := reviews.item_from_dict(r))]
    )
