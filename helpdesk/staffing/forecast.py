"""Contacts per 30-minute interval for the coming days, from past volumes, plus a crisis overlay.

What we chose, and why. Half-hour contact volumes have three seasons (the day's curve, the week,
the year) and holidays. One Holt-Winters model over 35,000 half-hours with a 336-interval season
is slow to fit and still blind to the year; so, as workforce planners do, the forecast is top-down:

1. Daily totals, with last year's same-season factor taken out (a day-of-year index: each past
   day's volume over its year's mean, smoothed over ±7 days, averaged over the years there are)
   and past holidays replaced by what the same weekdays around them saw.
2. statsmodels' Holt-Winters exponential smoothing (`ExponentialSmoothing`: damped additive trend,
   multiplicative weekly season) fits those days in milliseconds and forecasts the next ones.
3. The yearly factor goes back in, and a holiday's own factor (how far past holidays fell from
   their neighbours) on the holidays ahead.
4. Each day is spread over its 48 intervals by that weekday's intraday profile (the share of each
   half-hour over the last eight weeks of that weekday).

bench/forecast_backtest.py backtests it on two seeded years with known seasons against the
seasonal-naive baseline (same interval last week) and reports MAPE per interval for both.

The crisis overlay adds what the plan does not know yet: a planned broadcast's replies
(recipients × the reply rate past broadcasts saw, spread along their reply curve) and the extra
contacts of the most similar past crisis, by hours since it began.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

INTERVAL = timedelta(
    minutes=30
)  # helpdesk.staffing.models.INTERVAL_MINUTES; this module stays free of Django

SLOTS = 48  # half-hours a day
PROFILE_WEEKS = 8
YEAR_WINDOW_DAYS = 7
DEFAULT_REPLY_RATE = 0.05
CURVE_INTERVALS = 48  # a broadcast's replies are followed for 24 hours


@dataclass(frozen=True)
class History:
    """Contacts per interval start (UTC, on the half-hour), and the holidays that fell in it."""

    counts: Mapping[datetime, float]
    holidays: frozenset[date] = frozenset()


def _days(history: History) -> tuple[list[date], list[float]]:
    per_day: dict[date, float] = defaultdict(float)
    for start, n in history.counts.items():
        per_day[start.date()] += n
    if not per_day:
        return [], []
    first, last = min(per_day), max(per_day)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return days, [per_day.get(d, 0.0) for d in days]


def _year_index(days: list[date], values: list[float]) -> dict[int, float]:
    """Day of year → its volume relative to its year's mean (smoothed), where a whole year exists."""
    if len(days) < 365 + 28:
        return {}
    ratios: dict[int, list[float]] = defaultdict(list)
    for first in range(len(days) - 365, -1, -365):  # whole years, counted back from the latest day
        year = values[first : first + 365]
        mean = sum(year) / 365
        if mean > 0:
            for j, value in enumerate(year):
                ratios[days[first + j].timetuple().tm_yday].append(value / mean)
    raw = {doy: sum(r) / len(r) for doy, r in ratios.items() if r}
    if not raw:
        return {}
    smooth = {}
    for doy in range(1, 367):
        near = [raw[(doy + k - 1) % 366 + 1] for k in range(-YEAR_WINDOW_DAYS, YEAR_WINDOW_DAYS + 1)
                if (doy + k - 1) % 366 + 1 in raw]  # fmt: skip
        smooth[doy] = sum(near) / len(near) if near else 1.0
    mean = sum(smooth.values()) / len(smooth)
    return {doy: v / mean for doy, v in smooth.items()}


def _neighbours(values: list[float], i: int) -> float | None:
    near = [values[i + k] for k in (-14, -7, 7, 14) if 0 <= i + k < len(values)]
    return sum(near) / len(near) if near else None


def _profiles(history: History, last_day: date) -> dict[int, list[float]]:
    """Weekday → the share of each half-hour in that day's contacts (last eight weeks)."""
    totals: dict[int, list[float]] = {w: [0.0] * SLOTS for w in range(7)}
    since = last_day - timedelta(weeks=PROFILE_WEEKS)
    for start, n in history.counts.items():
        if start.date() > since and start.date() not in history.holidays:
            totals[start.weekday()][start.hour * 2 + start.minute // 30] += n
    out = {}
    for weekday, slots in totals.items():
        total = sum(slots)
        out[weekday] = [s / total for s in slots] if total else [1 / SLOTS] * SLOTS
    return out


def forecast(
    history: History, *, start: datetime, days: int, holidays_ahead: Iterable[date] = ()
) -> dict[datetime, float]:
    """Expected contacts per interval from `start` (a day's first half-hour, UTC) for `days` days."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    day_list, values = _days(history)
    if not day_list:
        return {start + INTERVAL * i: 0.0 for i in range(days * SLOTS)}
    year = _year_index(day_list, values)
    factor = [year.get(d.timetuple().tm_yday, 1.0) or 1.0 for d in day_list]
    adjusted = [v / f for v, f in zip(values, factor, strict=True)]
    holiday_ratios = []
    for i, d in enumerate(day_list):
        if d in history.holidays:
            expected = _neighbours(adjusted, i)
            if expected:
                holiday_ratios.append(adjusted[i] / expected)
                adjusted[i] = expected
    holiday_factor = sum(holiday_ratios) / len(holiday_ratios) if holiday_ratios else 1.0
    # Fit on the latest year at most: the season's shape moves, and the yearly index holds the rest.
    fit_days = adjusted[-364:]
    horizon_first = start.date()
    gap = (horizon_first - day_list[-1]).days - 1
    steps = max(gap, 0) + days
    if len(fit_days) >= 21 and min(fit_days) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = ExponentialSmoothing(
                fit_days, trend="add", damped_trend=True, seasonal="mul", seasonal_periods=7,
                initialization_method="estimated",
            ).fit()  # fmt: skip
        daily = list(model.forecast(steps))
    else:  # too little history: each weekday's mean of what there is
        by_weekday: dict[int, list[float]] = defaultdict(list)
        for d, v in zip(day_list, adjusted, strict=True):
            by_weekday[d.weekday()].append(v)
        daily = []
        for k in range(steps):
            d = day_list[-1] + timedelta(days=k + 1)
            same = by_weekday.get(d.weekday()) or adjusted
            daily.append(sum(same) / len(same))
    daily = daily[-days:]
    profiles = _profiles(history, day_list[-1])
    ahead = set(holidays_ahead)
    out: dict[datetime, float] = {}
    for k in range(days):
        d = horizon_first + timedelta(days=k)
        total = max(daily[k], 0.0) * (year.get(d.timetuple().tm_yday, 1.0) or 1.0)
        if d in ahead:
            total *= holiday_factor
        midnight = datetime(d.year, d.month, d.day, tzinfo=UTC)
        for slot, share in enumerate(profiles[d.weekday()]):
            out[midnight + INTERVAL * slot] = total * share
    return out


def seasonal_naive(history: History, *, start: datetime, days: int) -> dict[datetime, float]:
    """The baseline: each interval as the same interval a week before (from history only)."""
    out = {}
    for i in range(days * SLOTS):
        moment = start + INTERVAL * i
        back = moment - timedelta(weeks=1)
        while back >= start:
            back -= timedelta(weeks=1)
        out[moment] = float(history.counts.get(back, 0.0))
    return out


def mape(actual: Mapping[datetime, float], predicted: Mapping[datetime, float]) -> float:
    """Mean absolute percentage error over the intervals that had contacts, in percent."""
    errors = [abs(predicted.get(k, 0.0) - v) / v for k, v in actual.items() if v > 0]
    return 100 * sum(errors) / len(errors) if errors else math.nan


# --- The crisis overlay ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyCurve:
    rate: float  # replies per recipient
    shares: tuple[float, ...]  # the share of replies in each half-hour after sending (sums to 1)


def default_curve() -> ReplyCurve:
    """Before any broadcast: 5 % reply, half of them within the first hour."""
    raw = [0.5 ** (i / 2) for i in range(CURVE_INTERVALS)]
    total = sum(raw)
    return ReplyCurve(DEFAULT_REPLY_RATE, tuple(r / total for r in raw))


def past_reply_curve(*, channel: str = "sms") -> ReplyCurve:
    """Reply rate and curve from past broadcasts' deliveries (sent and replied times)."""
    from django.db.models import Count, F, Q

    from helpdesk.crisis.models import BroadcastDelivery

    sent = BroadcastDelivery.objects.filter(sent_at__isnull=False, broadcast__channel=channel)
    totals = sent.aggregate(n=Count("id"), replied=Count("id", filter=Q(replied_at__isnull=False)))
    if not totals["n"] or not totals["replied"]:
        return default_curve()
    delays = sent.filter(replied_at__isnull=False).annotate(delay=F("replied_at") - F("sent_at"))
    counts = [0] * CURVE_INTERVALS
    for delay in delays.values_list("delay", flat=True).iterator(chunk_size=20_000):
        slot = int(delay.total_seconds() // INTERVAL.total_seconds()) if delay else 0
        if 0 <= slot < CURVE_INTERVALS:
            counts[slot] += 1
    total = sum(counts)
    if not total:
        return default_curve()
    return ReplyCurve(totals["replied"] / totals["n"], tuple(c / total for c in counts))


def broadcast_overlay(*, recipients: int, send_at: datetime, curve: ReplyCurve) -> dict[datetime, float]:
    """Extra contacts per interval from a planned broadcast: recipients × rate, along the curve."""
    first = _floor(send_at)
    expected = recipients * curve.rate
    return {first + INTERVAL * i: expected * share for i, share in enumerate(curve.shares) if share}


def crisis_overlay(*, past: Mapping[datetime, float], past_began: datetime, starts_at: datetime,
                   scale: float = 1.0) -> dict[datetime, float]:  # fmt: skip
    """Extra contacts per interval as a past crisis had them, by time since it began, from `starts_at`."""
    origin, first = _floor(past_began), _floor(starts_at)
    return {first + (moment - origin): n * scale for moment, n in past.items() if moment >= origin}


def _floor(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 30, second=0, microsecond=0)


def combine(*layers: Mapping[datetime, float]) -> dict[datetime, float]:
    out: dict[datetime, float] = defaultdict(float)
    for layer in layers:
        for moment, n in layer.items():
            out[moment] += n
    return dict(out)
