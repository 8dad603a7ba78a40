"""Backtest the staffing forecast (helpdesk.staffing.forecast) on two seeded years of half-hours.

    python -m bench.forecast_backtest [--weeks 4] [--seed 7] [--folds 4]

The history has known seasons: an intraday curve (morning and afternoon peaks), a week (Mondays
busy, Sundays quiet), a year (a winter peak, ±25 %), a slow trend, holidays at a third of a normal
day, and Poisson noise. Each fold forecasts `weeks` weeks from everything before them, and so
does the seasonal-naive baseline (each interval as the same interval a week earlier). The score is
MAPE per interval (intervals with contacts), the figure the issue asks for; the baseline is
measured on the same data in the same run.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from datetime import UTC, date, datetime, timedelta

from helpdesk.staffing import forecast

INTERVAL = timedelta(minutes=30)


def intraday(slot: int) -> float:
    hour = slot / 2
    return 0.15 + math.exp(-((hour - 10) ** 2) / 6) + 0.8 * math.exp(-((hour - 15.5) ** 2) / 5)


WEEK = (1.25, 1.1, 1.05, 1.0, 1.0, 0.7, 0.5)  # Monday .. Sunday


def seeded_history(*, start: date, days: int, seed: int) -> tuple[dict[datetime, float], set[date]]:
    rng = random.Random(seed)
    np_rng = __import__("numpy").random.default_rng(seed)
    holidays = {start + timedelta(days=d) for d in range(days) if rng.random() < 0.012}
    counts: dict[datetime, float] = {}
    for d in range(days):
        day = start + timedelta(days=d)
        year = 1 + 0.25 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)
        level = 900 * (1 + 0.08 * d / 365) * year * WEEK[day.weekday()] * (0.35 if day in holidays else 1)
        shape = [intraday(s) for s in range(48)]
        total = sum(shape)
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for slot in range(48):
            counts[midnight + INTERVAL * slot] = float(np_rng.poisson(level * shape[slot] / total))
    return counts, holidays


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--folds", type=int, default=4)
    args = parser.parse_args()
    first = date(2024, 1, 1)
    days = 731
    counts, holidays = seeded_history(start=first, days=days, seed=args.seed)
    horizon = args.weeks * 7
    total = sum(counts.values())
    print(f"history: {days} days × 48 intervals, {total:,.0f} contacts, {len(holidays)} holidays")
    ours: list[float] = []
    naive: list[float] = []
    took: list[float] = []
    for fold in range(args.folds):
        cut = first + timedelta(days=days - horizon * (fold + 1))
        cut_at = datetime(cut.year, cut.month, cut.day, tzinfo=UTC)
        past = forecast.History(
            counts={k: v for k, v in counts.items() if k < cut_at},
            holidays=frozenset(h for h in holidays if h < cut),
        )
        actual = {k: v for k, v in counts.items() if cut_at <= k < cut_at + timedelta(days=horizon)}
        began = time.perf_counter()
        predicted = forecast.forecast(past, start=cut_at, days=horizon,
                                      holidays_ahead=[h for h in holidays if h >= cut])  # fmt: skip
        took.append(time.perf_counter() - began)
        baseline = forecast.seasonal_naive(past, start=cut_at, days=horizon)
        ours.append(forecast.mape(actual, predicted))
        naive.append(forecast.mape(actual, baseline))
        print(
            f"fold {fold + 1}: from {cut}  MAPE forecast {ours[-1]:.1f} %  "
            f"seasonal naive {naive[-1]:.1f} %  ({took[-1] * 1000:.0f} ms)"
        )
    mean_ours, mean_naive = sum(ours) / len(ours), sum(naive) / len(naive)
    print(f"mean MAPE per interval: forecast {mean_ours:.1f} %, seasonal naive {mean_naive:.1f} % "
          f"(ratio {mean_ours / mean_naive:.2f}; below 1 is better than the baseline)")  # fmt: skip
    if mean_ours >= mean_naive:
        raise SystemExit("the forecast is not better than the seasonal-naive baseline")


if __name__ == "__main__":
    main()
