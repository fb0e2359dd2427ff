"""Benchmark of costing under a dynamic tariff (a script, not a test).

    python bench/tariff_prices.py [database URL] [--repeat 5]

Seeds the demo household (40 days of readings, rolled up) into a scratch SQLite file (or the
given database, which must be empty), stores a year of half-hourly import prices, and times the
cost of one day and of one month, each from a fresh request (the household loaded, its tariff
built, the cost read):
  baseline: every stored price read first, as every read did before prices were loaded by
            window (the same SELECT without a window, in the same process);
  windowed: the prices of the read's window only (``Tariff.load_prices``).
Prints the medians, the prices each read held, and the ratio windowed / baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from energy_core.db import make_engine, session_scope  # noqa: E402
from energy_core.demo import seed_demo_household  # noqa: E402
from energy_core.migrate import upgrade_database  # noqa: E402
from energy_core.rollup import rollup_dirty_hours  # noqa: E402
from energy_core.settings import Settings  # noqa: E402
from energy_core.stats import load_household, read_series  # noqa: E402
from energy_core.stats.period import day_period, month_period  # noqa: E402
from energy_core.tariffs import import_prices, set_tariff  # noqa: E402

NOW = datetime(2026, 12, 2, 10, 15, tzinfo=ZoneInfo("Europe/London"))
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
TARIFF = {
    "currency": "GBP",
    "valid_from": "2026-01-01",
    "standing_charge_per_day": 0.5,
    "import": {"default": 0.30, "series": True},
    "export": {"default": 0.15},
}


def seed(url: str) -> int:
    engine = make_engine(url)
    upgrade_database(engine)
    with session_scope(engine) as session:
        user_id = seed_demo_household(session, now=NOW, days=40, step_s=300).user_id
    rollup_dirty_hours(engine, settings=Settings(_env_file=None, database_url=url))
    rows = ["start,price"]
    for i in range(366 * 48):
        at = YEAR_START + timedelta(minutes=30 * i)
        rows.append(f"{at.isoformat()},{0.05 + (i % 48) / 200:.4f}")
    with session_scope(engine) as session:
        set_tariff(session, user_id=user_id, document=TARIFF)
        import_prices(session, user_id=user_id, text="\n".join(rows))
    engine.dispose()
    return user_id


def cost_once(engine, settings, user_id: int, period, *, whole: bool) -> tuple[float, float, int]:
    started = time.perf_counter()
    with session_scope(engine, read_only=True) as session:
        household = load_household(session, user_id=user_id, settings=settings)
        if whole:
            household.tariff.load_prices(YEAR_START, YEAR_START + timedelta(days=367))
        cost = read_series(session, household.select(period)).total.cost_value
        held = household.tariff.import_series.held
    return time.perf_counter() - started, cost, held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="an empty database (default: a scratch SQLite)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{folder}/bench.db"
        started = time.perf_counter()
        user_id = seed(url)
        print(f"seeded in {time.perf_counter() - started:.1f} s: {366 * 48} half-hourly prices")
        engine = make_engine(url)
        settings = Settings(_env_file=None, database_url=url)
        reads = {
            "one day (1 Dec)": day_period(datetime(2026, 12, 1).date(), now=NOW),
            "one month (Nov)": month_period(2026, 11, now=NOW),
        }
        for name, period in reads.items():
            figures = {}
            for whole in (True, False):
                runs = [
                    cost_once(engine, settings, user_id, period, whole=whole)
                    for _ in range(args.repeat)
                ]
                figures[whole] = (statistics.median(r[0] for r in runs), runs[0][1], runs[0][2])
            (base_s, base_cost, base_held), (win_s, win_cost, win_held) = (
                figures[True],
                figures[False],
            )
            assert abs(base_cost - win_cost) < 1e-9, (base_cost, win_cost)
            print(
                f"{name}: baseline {base_s * 1000:.1f} ms ({base_held} prices held), windowed "
                f"{win_s * 1000:.1f} ms ({win_held} prices held), ratio {win_s / base_s:.2f}, "
                f"cost {win_cost:.4f} GBP both ways"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
