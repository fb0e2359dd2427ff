"""Benchmark of the history import on PostgreSQL: a year of one-minute readings of one device
(525,600 rows of CSV) read, stored and rolled up, with a raw COPY of the same rows as the
baseline measured in the same run. Not a test: it prints figures and never fails on timing.

    python bench/history_import.py   (ENERGY_TEST_DATABASE_URL names the server)
"""

from __future__ import annotations

import io
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from energy_core.db import make_engine, session_scope  # noqa: E402
from energy_core.history_import import CsvOptions, read_history, store_history  # noqa: E402
from energy_core.rollup import rollup_dirty_hours  # noqa: E402
from tests.databases import scratch_postgres_database  # noqa: E402
from tests.factories import make_user  # noqa: E402

MINUTES = 525_600


def main() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    csv_text = "time,meter\n" + "".join(
        f"{(start + timedelta(minutes=m)).isoformat()},{200 + m % 300}\n" for m in range(MINUTES)
    )
    with scratch_postgres_database("energy_bench_import") as url:
        engine = make_engine(url)
        with session_scope(engine) as s:
            user_id = make_user(s).id
        t0 = time.perf_counter()
        plan = read_history(csv_text, format="csv", options=CsvOptions())
        t1 = time.perf_counter()
        with session_scope(engine) as session:
            result = store_history(session, user_id=user_id, plan=plan)
        t2 = time.perf_counter()
        run = rollup_dirty_hours(engine)
        t3 = time.perf_counter()
        with session_scope(engine) as session:
            again = store_history(session, user_id=user_id, plan=plan)
        t4 = time.perf_counter()
        # Baseline: COPY of the same rows into a bare table with the same primary key.
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(
                "CREATE TEMP TABLE bare (user_id int, device_pk int, ts timestamptz, "
                "power_w float8, PRIMARY KEY (user_id, device_pk, ts))"
            )
            buf = io.StringIO()
            for ts, p in zip(plan.columns.ts_us, plan.columns.power_w, strict=True):
                buf.write(f"1\t1\t{datetime.fromtimestamp(ts / 1e6, UTC).isoformat()}\t{p}\n")
            tb = time.perf_counter()
            with cur.copy("COPY bare FROM STDIN") as copy:
                copy.write(buf.getvalue())
            raw.commit()
            tc = time.perf_counter()
        finally:
            raw.close()
        engine.dispose()
    print(f"rows: {MINUTES:,}")
    print(f"read CSV:   {t1 - t0:6.2f} s")
    print(f"store:      {t2 - t1:6.2f} s  ({result.accepted:,} new)")
    print(f"rollup:     {t3 - t2:6.2f} s  ({run.hours:,} device-hours)")
    print(f"total:      {t3 - t0:6.2f} s")
    print(f"re-import:  {t4 - t3:6.2f} s  ({again.accepted:,} new, {again.duplicates:,} dup)")
    print(
        f"baseline COPY into a bare table: {tc - tb:6.2f} s (store is {(t2 - t1) / (tc - tb):.1f}x)"
    )


if __name__ == "__main__":
    main()
