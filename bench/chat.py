"""Answer latency of the offline chat analyst over the golden set, on PostgreSQL, a year of data.

The demo household (7 devices) is seeded with a year of history up to the golden set's fixed
``now`` (one reading per device per ``--step`` seconds, default 60: about 3.7 M readings) and rolled
up with the product's own rollup. Then every golden question is answered as the Chat page answers
it (a read-only session, the user's context, the offline analyst): one warm-up pass, then
``--passes`` timed passes; a question's latency is the median of its passes. The golden set is
graded on this database too (its expected figures are computed from the raw readings, so they
hold for any data).

Baseline, measured in the same run: one raw SQL GROUP BY over a month of hourly aggregates.

    python bench/chat.py                     # seed once (kept for later runs), then time
    python bench/chat.py --reload --step 300 # drop, seed a coarser year, then time

Not a test; never fails on time.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import text  # noqa: E402

from bench.databases import ensure_database  # noqa: E402

log = logging.getLogger("bench.chat")

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/energy_bench_chat"


def seed(engine, *, days: int, step_s: int) -> int:  # noqa: ANN001
    from energy_core.db import session_scope
    from energy_core.demo import seed_demo_household
    from energy_core.migrate import upgrade_database
    from energy_core.rollup import rollup_dirty_hours
    from tests.chat.conftest import NOW, chat_settings

    upgrade_database(engine)
    started = time.perf_counter()
    with session_scope(engine) as session:
        result = seed_demo_household(session, now=NOW, days=days, step_s=step_s)
    if not result.created:
        log.info("the demo household is already seeded; timing it as it is")
        return result.user_id
    seeded_s = time.perf_counter() - started
    run = rollup_dirty_hours(engine, settings=chat_settings())
    # What autovacuum would have done by now on a live server: plan with real statistics.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    print(
        f"seeded {result.readings:,} readings ({days} days, one per device every {step_s} s) "
        f"in {seeded_s:.0f} s; rolled up {run.hours:,} device-hours in {run.duration_s:.0f} s"
    )
    return result.user_id


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL of the bench database")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--step", type=int, default=60, help="seconds between readings")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--reload", action="store_true", help="drop and seed the database again")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from energy_core.chat.offline import OfflineAnalyst
    from energy_core.chat.tools import ToolContext
    from energy_core.db import make_engine, session_scope
    from tests.chat.conftest import NOW, chat_settings
    from tests.chat.test_golden_set import GOLDEN, Oracle, grade

    ensure_database(args.url, reload=args.reload)
    engine = make_engine(args.url)
    user_id = seed(engine, days=args.days, step_s=args.step)
    settings = chat_settings()

    def answer(question: str):  # noqa: ANN202 - as the page does it: one read-only session
        with session_scope(engine, read_only=True) as session:
            ctx = ToolContext.load(session, user_id=user_id, now=NOW, settings=settings)
            return OfflineAnalyst().answer(ctx, question)

    def baseline() -> None:
        with engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT device_pk, SUM(energy_wh) FROM hourly_aggregates "
                    "WHERE user_id = :u AND hour_start >= :a AND hour_start < :b "
                    "GROUP BY device_pk"
                ),
                {"u": user_id, "a": "2026-03-01T00:00:00Z", "b": "2026-04-01T00:00:00Z"},
            ).all()

    # Warm-up pass, graded.
    failures = {}
    with session_scope(engine, read_only=True) as session:
        oracle = Oracle(session, user_id)
        for case in GOLDEN:
            problems = grade(case, answer(case.question), oracle)
            if problems:
                failures[case.question] = problems
    timings: dict[str, list[float]] = {case.question: [] for case in GOLDEN}
    base: list[float] = []
    for _ in range(args.passes):
        for case in GOLDEN:
            started = time.perf_counter()
            answer(case.question)
            timings[case.question].append(time.perf_counter() - started)
            started = time.perf_counter()
            baseline()
            base.append(time.perf_counter() - started)
    per_question = {q: statistics.median(t) for q, t in timings.items()}
    values = sorted(per_question.values())
    p50, p95 = percentile(values, 50), percentile(values, 95)
    base_ms = statistics.median(base) * 1000

    correct = len(GOLDEN) - len(failures)
    print(f"golden set on this database: {correct}/{len(GOLDEN)} correct")
    for question, problems in failures.items():
        print(f"  wrong: {question!r}: {problems[0][:200]}")
    print(
        f"offline analyst latency over {len(GOLDEN)} questions (median of {args.passes} passes "
        f"each): p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {values[-1] * 1000:.0f} ms"
    )
    print(
        f"baseline (one raw SQL GROUP BY over a month of hourly aggregates): {base_ms:.1f} ms; "
        f"p50 = {p50 * 1000 / base_ms:.0f}x baseline, p95 = {p95 * 1000 / base_ms:.0f}x"
    )
    print("slowest questions:")
    for question, seconds in sorted(per_question.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  {seconds * 1000:6.0f} ms  {question}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
