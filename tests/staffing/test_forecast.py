"""The forecast and its crisis overlay, the staffing plan against the roster, the API contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from bench.forecast_backtest import seeded_history
from helpdesk.staffing import forecast, plan
from helpdesk.staffing.models import ImportedVolume, Shift

START = datetime(2026, 12, 7, tzinfo=UTC)


def test_a_planned_10k_broadcast_adds_recipients_times_reply_rate_along_the_curve():
    curve = forecast.ReplyCurve(rate=0.08, shares=(0.5, 0.25, 0.125, 0.125))
    send_at = START + timedelta(hours=9, minutes=10)
    overlay = forecast.broadcast_overlay(recipients=10_000, send_at=send_at, curve=curve)
    assert sum(overlay.values()) == pytest.approx(10_000 * 0.08)
    nine = START + timedelta(hours=9)
    assert overlay == {
        nine: 400, nine + timedelta(minutes=30): 200, nine + timedelta(hours=1): 100,
        nine + timedelta(minutes=90): 100,
    }  # fmt: skip
    base = {START + timedelta(minutes=30 * i): 50.0 for i in range(48)}
    raised = forecast.combine(base, overlay)
    assert sum(raised.values()) - sum(base.values()) == pytest.approx(800)
    assert raised[nine] == 450 and raised[START] == 50


def test_the_reply_curve_comes_from_past_broadcasts(db):
    from helpdesk.crisis.models import Broadcast, BroadcastDelivery
    from tests.factories import ContactPointFactory

    broadcast = Broadcast.objects.create(name="Past", channel="sms", bodies={"en": "x"}, audience={})
    sent = timezone.now() - timedelta(days=3)
    rows = []
    for i in range(100):
        point = ContactPointFactory()
        replied = sent + timedelta(minutes=10 if i < 6 else 50) if i < 8 else None
        rows.append(BroadcastDelivery(broadcast=broadcast, contact_point=point, to=point.value,
            status="delivered",
                                      sent_at=sent, replied_at=replied))  # fmt: skip
    BroadcastDelivery.objects.bulk_create(rows)
    curve = forecast.past_reply_curve(channel="sms")
    assert curve.rate == pytest.approx(0.08)
    assert curve.shares[0] == pytest.approx(0.75) and curve.shares[1] == pytest.approx(0.25)
    overlay = forecast.broadcast_overlay(recipients=10_000, send_at=START, curve=curve)
    assert sum(overlay.values()) == pytest.approx(800)


def test_a_similar_past_crisis_is_laid_on_by_time_since_it_began():
    began = datetime(2025, 3, 1, 6, tzinfo=UTC)
    past = {began + timedelta(minutes=30 * i): float(100 - i) for i in range(10)}
    overlay = forecast.crisis_overlay(
        past=past, past_began=began, starts_at=START + timedelta(hours=8), scale=0.5
    )
    assert overlay[START + timedelta(hours=8)] == 50 and len(overlay) == 10


def test_the_forecast_follows_the_seasons_and_beats_last_week():
    counts, holidays = seeded_history(start=datetime(2024, 1, 1).date(), days=731, seed=3)
    cut = datetime(2025, 12, 1, tzinfo=UTC)
    past = forecast.History(
        {k: v for k, v in counts.items() if k < cut}, frozenset(h for h in holidays if h < cut.date())
    )
    actual = {k: v for k, v in counts.items() if cut <= k < cut + timedelta(days=14)}
    predicted = forecast.forecast(
        past, start=cut, days=14, holidays_ahead=[h for h in holidays if h >= cut.date()]
    )
    assert len(predicted) == 14 * 48
    assert forecast.mape(actual, predicted) < forecast.mape(
        actual, forecast.seasonal_naive(past, start=cut, days=14)
    )
    monday_noon = cut + timedelta(hours=12)  # 2025-12-01 is a Monday
    assert predicted[monday_noon] > predicted[monday_noon + timedelta(days=6)]  # Sunday is quieter
    assert predicted[monday_noon] > predicted[cut + timedelta(hours=3)]  # noon busier than 3 a.m.


def test_the_plan_needs_agents_by_erlang_c_and_shows_the_roster_gap(db, agent):
    for day in range(28):
        for slot in range(48):
            start = START - timedelta(days=28 - day) + timedelta(minutes=30 * slot)
            ImportedVolume.objects.create(start=start, channel="voice", language="en",
                                          contacts=100 if 18 <= slot < 36 else 10)  # fmt: skip
    Shift.objects.create(agent=agent, starts_at=START + timedelta(hours=9),
        ends_at=START + timedelta(hours=17),
                         channels=["voice"], languages=["en"])  # fmt: skip
    lines = plan.staffing_plan(start=START, days=1, lines=[("voice", "en")])
    assert len(lines) == 48
    ten = next(line for line in lines if line.start == START + timedelta(hours=10))
    assert ten.expected == pytest.approx(100, rel=0.1)
    staffing = plan.needed_for(ten.expected, plan.target_for("voice"))
    assert ten.needed == staffing.agents and ten.needed > 10  # 100 calls of 240 s in 30 min: 13+ Erlangs
    assert ten.on_shift == 1 and ten.gap == 1 - ten.needed
    night = next(line for line in lines if line.start == START + timedelta(hours=2))
    assert night.on_shift == 0 and night.needed < ten.needed


def test_the_agents_needed_api_answers_the_contract(client, agent):
    client.force_login(agent)
    url = (
        "/api/v1/staffing/agents-needed/"
        "?volume=100&interval_minutes=30&aht_seconds=180&target_level=0.8&target_seconds=20"
    )
    data = client.get(url).json()
    assert data == {"agents": 14, "service_level": pytest.approx(0.8888, abs=0.0005),
        "asa_seconds": pytest.approx(7.8, abs=0.1),
                    "occupancy": pytest.approx(0.7143, abs=0.0001)}  # fmt: skip
    with_patience = client.get(url + "&patience_seconds=120").json()
    assert with_patience["agents"] <= 14 and 0 < with_patience["abandon_rate"] < 0.1
    assert client.get("/api/v1/staffing/agents-needed/?volume=-1&aht_seconds=180").status_code == 400
    assert client.get("/api/v1/staffing/agents-needed/?volume=10&aht_seconds=abc").status_code == 400
    client.logout()
    assert client.get(url).status_code in (401, 403)
