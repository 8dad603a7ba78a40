"""CSAT and NPS by channel, queue, agent, crisis and week; response rate; detractors recovered.

Each grouping is one GROUP BY over the surveys (their queue, agent and crisis were copied when
asked, so nothing joins the tickets), so the page's query count is the same for a thousand
responses as for a hundred thousand. CSAT: the share of 1–5 answers that are 4 or 5. NPS: the
share of 0–10 answers at 9–10 minus the share at 0–6, in points. Response rate: answered of asked.
Recovered: of the recovery cases whose re-survey was answered, those whose score went up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncWeek

from helpdesk.charts import ratio
from helpdesk.feedback.models import RecoveryCase, Survey, SurveyScale, SurveyState

GROUPS = ("channel", "queue", "agent", "crisis", "week")
_LABELS = {
    "channel": "channel",
    "queue": "queue__name",
    "agent": "agent__username",
    "crisis": "crisis__title",
}
_KEYS = {"channel": "channel", "queue": "queue_id", "agent": "agent_id", "crisis": "crisis_id"}


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    channel: str = ""
    queue_id: int | None = None
    crisis_id: int | None = None


@dataclass(frozen=True)
class Row:
    key: object
    label: str
    asked: int
    answered: int
    csat_answers: int
    satisfied: int
    csat_total: int
    nps_answers: int
    promoters: int
    detractors: int

    @property
    def response_rate(self) -> float | None:
        return ratio(self.answered, self.asked)

    @property
    def csat(self) -> float | None:
        return ratio(self.satisfied, self.csat_answers)

    @property
    def average(self) -> float | None:
        return ratio(self.csat_total, self.csat_answers)

    @property
    def nps(self) -> float | None:
        if not self.nps_answers:
            return None
        return 100 * (self.promoters - self.detractors) / self.nps_answers


def _surveys(filters: Filters):
    qs = Survey.objects.filter(state__in=(SurveyState.ASKED, SurveyState.ANSWERED, SurveyState.EXPIRED))
    if filters.since:
        qs = qs.filter(asked_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(asked_at__lt=filters.until)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.queue_id:
        qs = qs.filter(queue_id=filters.queue_id)
    if filters.crisis_id:
        qs = qs.filter(crisis_id=filters.crisis_id)
    return qs


_CSAT = Q(scale=SurveyScale.CSAT, score__isnull=False)
_NPS = Q(scale=SurveyScale.NPS, score__isnull=False)
_MEASURES = {
    "asked": Count("id"),
    "answered": Count("id", filter=Q(score__isnull=False)),
    "csat_answers": Count("id", filter=_CSAT),
    "satisfied": Count("id", filter=_CSAT & Q(score__gte=4)),
    "csat_total": Sum("score", filter=_CSAT, default=0),
    "nps_answers": Count("id", filter=_NPS),
    "promoters": Count("id", filter=_NPS & Q(score__gte=9)),
    "detractors": Count("id", filter=_NPS & Q(score__lte=6)),
}


def _row(key: object, label: str, values: dict) -> Row:
    return Row(key=key, label=label, **{name: int(values[name] or 0) for name in _MEASURES})


def totals(filters: Filters) -> Row:
    return _row("all", "", _surveys(filters).aggregate(**_MEASURES))


def grouped(filters: Filters, group: str) -> list[Row]:
    """One row per channel, queue, agent, crisis or week (one query)."""
    if group not in GROUPS:
        raise ValueError(group)
    qs = _surveys(filters)
    if group == "week":
        rows = qs.annotate(k=TruncWeek("asked_at")).values("k").annotate(**_MEASURES).order_by("k")
        return [_row(r["k"], r["k"].date().isoformat() if r["k"] else "", r) for r in rows]
    rows = qs.values(k=F(_KEYS[group]), name=F(_LABELS[group])).annotate(**_MEASURES).order_by("-asked", "k")
    return [_row(r["k"], str(r["name"] or ""), r) for r in rows]


@dataclass(frozen=True)
class Recovered:
    cases: int
    resurveyed: int
    improved: int

    @property
    def rate(self) -> float | None:
        return ratio(self.improved, self.resurveyed)


def recovered(filters: Filters) -> Recovered:
    qs = RecoveryCase.objects.all()
    if filters.since:
        qs = qs.filter(created_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(created_at__lt=filters.until)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.crisis_id:
        qs = qs.filter(ticket__crisis_id=filters.crisis_id)
    if filters.queue_id:
        qs = qs.filter(ticket__queue_id=filters.queue_id)
    values = qs.aggregate(
        cases=Count("id"),
        resurveyed=Count("id", filter=Q(score_after__isnull=False, score_before__isnull=False)),
        improved=Count("id", filter=Q(score_after__gt=F("score_before"))),
    )
    return Recovered(**{k: int(v or 0) for k, v in values.items()})


def report(filters: Filters) -> dict:
    """Everything the report page shows: totals, each grouping, recovery (seven queries)."""
    return {
        "totals": totals(filters),
        "groups": {group: grouped(filters, group) for group in GROUPS},
        "recovered": recovered(filters),
    }
