"""Benchmark of evaluating alerts (a script, not a test).

    python bench/alerts.py [database URL] [--repeat 5]

Seeds the demo household (60 days of readings, rolled up) into a scratch SQLite file (or the
given database, which must be empty) and times, from fresh transactions:
  baseline: one read of the household's hourly figures over the 9 weeks the hourly rules look
            at (``read_series``, the largest read an evaluation makes), in the same process;
  first:    an evaluation in a new hour of a new day (every rule: offline, unusual use, left on,
            baseload, budget);
  steady:   an evaluation later in the same hour (what most runs of the 5-minute job do: the
            devices' latest readings only).
Prints the medians and each ratio against the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datetime import datetime  # noqa: E402

from energy_core.alerts import evaluate_household  # noqa: E402
from energy_core.alerts.models import AlertSettings  # noqa: E402
from energy_core.db import make_engine, session_scope  # noqa: E402
from energy_core.demo import seed_demo_household  # noqa: E402
from energy_core.migrate import upgrade_database  # noqa: E402
from energy_core.rollup import rollup_dirty_hours  # noqa: E402
from energy_core.settings import Settings  # noqa: E402
from energy_core.stats import load_household, read_series  # noqa: E402
from energy_core.stats.period import instant_period  # noqa: E402

NOW = datetime(2026, 12, 2, 10, 15, tzinfo=ZoneInfo("Europe/London"))


def median_s(run, repeat: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = make_engine(url)
    upgrade_database(engine)
    with session_scope(engine) as session:
        user_id = seed_demo_household(session, now=NOW, days=60, step_s=300).user_id
    rollup_dirty_hours(engine, settings=Settings(_env_file=None, database_url=url))

    def baseline() -> None:
        with session_scope(engine, read_only=True) as session:
            household = load_household(session, user_id=user_id)
            period = instant_period(NOW - timedelta(weeks=9), NOW, timezone=household.timezone)
            read_series(session, household.select(period, granularity="hour"), flows=False)

    def first() -> None:
        with session_scope(engine) as session:
            session.merge(AlertSettings(user_id=user_id))  # forget the checks done
            evaluate_household(session, user_id=user_id, now=NOW)
            session.rollback()

    def steady() -> None:
        with session_scope(engine) as session:
            evaluate_household(session, user_id=user_id, now=NOW + timedelta(minutes=5))

    with session_scope(engine) as session:
        evaluate_household(session, user_id=user_id, now=NOW)
    base = median_s(baseline, args.repeat)
    print(f"{engine.dialect.name}: demo household, 7 devices, 60 days rolled up")
    print(f"baseline (9 weeks of hourly figures): {base * 1000:8.1f} ms")
    for name, run in (("first of the hour and day", first), ("steady (same hour)", steady)):
        took = median_s(run, args.repeat)
        print(f"{name:34s} {took * 1000:8.1f} ms   ratio {took / base:6.2f}")


if __name__ == "__main__":
    main()
