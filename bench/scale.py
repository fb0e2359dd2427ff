"""Readings at scale on PostgreSQL, partitioned by month: load N readings with COPY, then time the
incremental rollup, every page (warm), retention of one month, the size per million readings,
and BRIN versus btree indexes on ``ts`` for range reads.

Households of 10 devices (the demo's kinds, so that ``bench/pages.py`` times the first household's
pages) with one reading every 5 minutes for a year; N readings make N / 105,120 devices. The
issue's figure is 100 M readings (about 950 households, 9,500 devices... or 3,000 devices over
three years' worth of steps; the rows per month and per household are what the figures depend on).

Baselines in the same process: for the rollup, one raw SQL GROUP BY over the readings of the same
hour; for retention, a DELETE of the same month's rows (rolled back); for the pages, AppTest
running a one-line script (``bench/pages.py``).

    python bench/scale.py --readings 10000000        # load (kept), then measure
    python bench/scale.py --readings 10000000 --reload

Targets (issue 12): incremental rollup under 1 s, every page under 300 ms warm, retention of one
month under 1 s. Not a test; never fails on time.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench import pages  # noqa: E402
from bench.alerts import median_s  # noqa: E402
from bench.databases import bench_parser, open_bench_database  # noqa: E402

log = logging.getLogger("bench.scale")

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/energy_bench_scale"
STEP_S = 300
PER_YEAR = 365 * 86_400 // STEP_S  # 105,120 readings per device and year
HOUSEHOLD = 10


def load(engine, *, readings: int, now: datetime) -> tuple[int, float]:  # noqa: ANN001
    """Create the households and COPY a year of 5-minute readings per device; returns the
    number of readings and the seconds COPY took."""
    from energy_core.accounts import create_device, create_user
    from energy_core.db import session_scope
    from energy_core.models import Role

    devices = max(1, round(readings / PER_YEAR))
    specs = pages.bench_devices(HOUSEHOLD)
    owners: list[tuple[int, int]] = []  # (user_id, device_pk)
    with session_scope(engine) as session:
        for h in range((devices + HOUSEHOLD - 1) // HOUSEHOLD):
            user = create_user(
                session,
                email=pages.EMAIL if h == 0 else f"home-{h}@example.com",
                password=pages.PASSWORD,
                full_name=f"Home {h}",
                role=Role.admin if h == 0 else Role.member,
                timezone="Europe/London",
            )
            for spec in specs[: min(HOUSEHOLD, devices - h * HOUSEHOLD)]:
                device = create_device(session, user_id=user.id, data=spec.to_create())
                owners.append((user.id, device.id))
    end = int(now.timestamp()) // STEP_S * STEP_S
    stamps = np.arange(end - PER_YEAR * STEP_S, end, STEP_S)
    iso = [datetime.fromtimestamp(int(t), UTC).isoformat() for t in stamps]
    hours = (stamps % 86_400) / 3600.0
    rng = np.random.default_rng(12)
    powers = []
    for k in range(len(owners)):
        base = 50 + 40 * (k % 7)
        power = base * (1.2 + np.sin((hours - 6 - k % 5) / 24 * 2 * np.pi))
        powers.append(power + rng.gamma(2.0, 15.0, len(stamps)))
    # Rows in time order, every device's reading of one instant together, as live ingest writes
    # them (what BRIN relies on; a history import writes device by device instead).
    matrix = np.stack(powers, axis=1).tolist()  # [instant][device]
    prefixes = [f"{user_id}\t{device_pk}\t" for user_id, device_pk in owners]
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        with cursor.copy("COPY readings (user_id, device_pk, ts, power_w) FROM STDIN") as copy:
            for day in range(0, len(stamps), 288):
                chunk = []
                for i in range(day, min(day + 288, len(stamps))):
                    stamp = iso[i]
                    chunk.extend(
                        f"{prefix}{stamp}\t{p:.1f}\n"
                        for prefix, p in zip(prefixes, matrix[i], strict=True)
                    )
                copy.write("".join(chunk))
                if day % (288 * 30) == 0:
                    log.info("copied %d days of readings", day // 288)
        raw.driver_connection.commit()
    finally:
        raw.close()
    return len(owners) * len(stamps), time.perf_counter() - started


def incremental_rollup(engine, *, now: datetime, steps: int = 3) -> list[tuple[float, float]]:  # noqa: ANN001
    """Post one reading per device (the next 5-minute step) through the product's ingest, then
    time the rollup of what that made dirty; the raw GROUP BY of the same hour as the baseline."""
    from energy_core.db import session_scope
    from energy_core.ingest import ReadingColumns, record_reading_columns
    from energy_core.rollup import rollup_dirty_hours

    with engine.connect() as conn:
        households = conn.execute(
            text(
                "SELECT d.user_id, array_agg(d.device_id ORDER BY d.id) FROM devices d "
                "GROUP BY d.user_id ORDER BY d.user_id"
            )
        ).all()
    out = []
    end = int(now.timestamp()) // STEP_S * STEP_S
    for k in range(steps):
        at = end + k * STEP_S
        with session_scope(engine) as session:
            for user_id, device_ids in households:
                record_reading_columns(
                    session,
                    user_id=user_id,
                    columns=ReadingColumns(
                        list(device_ids),
                        [at * 1_000_000] * len(device_ids),
                        [100.0] * len(device_ids),
                    ),
                    enforce_window=False,
                )
        started = time.perf_counter()
        run = rollup_dirty_hours(engine)
        rollup_s = time.perf_counter() - started
        hour = datetime.fromtimestamp(at - at % 3600, UTC)

        def group_by(hour: datetime = hour) -> None:
            with engine.connect() as conn:
                conn.execute(
                    text(
                        "SELECT user_id, device_pk, count(*), avg(power_w), min(power_w), "
                        "max(power_w) FROM readings WHERE ts >= :h AND ts < :h + interval '1 hour' "
                        "GROUP BY user_id, device_pk"
                    ),
                    {"h": hour},
                ).all()

        baseline_s = median_s(group_by, repeat=3)
        log.info("incremental rollup: %d hours in %.3f s", run.hours, rollup_s)
        out.append((rollup_s, baseline_s))
    return out


# The check whether a month may go whole as it was before it read the primary keys' bounds: every
# hour the month holds readings of, looked up in the aggregates (the baseline of ``decide``).
_PER_HOUR_CHECK = """
SELECT NOT EXISTS (SELECT 1 FROM (
    SELECT DISTINCT user_id, device_pk, date_bin('1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00')
        AS hour_start FROM {p}) AS held
    WHERE NOT EXISTS (SELECT 1 FROM hourly_aggregates a WHERE a.user_id = held.user_id
                      AND a.device_pk = held.device_pk AND a.hour_start = held.hour_start))
"""


def decide(engine, partition, *, runs: int = 3) -> dict[str, float]:  # noqa: ANN001
    """Median seconds of retention's check that ``partition`` may go whole, and of the per-hour
    lookup it replaced, alternated on the same month; both must say yes."""
    from energy_core.sql.partitions import partition_may_go

    new_s: list[float] = []
    old_s: list[float] = []
    with engine.connect() as conn:
        conn.exec_driver_sql("SET jit = off")
        for _ in range(runs):
            started = time.perf_counter()
            assert partition_may_go(conn, partition, default_gap_s=900)
            new_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert conn.exec_driver_sql(_PER_HOUR_CHECK.format(p=partition.name)).scalar()
            old_s.append(time.perf_counter() - started)
        conn.rollback()
    return {"check_s": sorted(new_s)[runs // 2], "per_hour_check_s": sorted(old_s)[runs // 2]}


def retention(engine, *, first_ts: datetime) -> dict[str, float]:  # noqa: ANN001
    """Drop the partial first month, then time dropping the next (a whole month) against a
    DELETE of the month after (rolled back), and one steady-state hourly run; and the check that
    the whole month may go against the per-hour check it replaced."""
    from energy_core.retention import prune_readings
    from energy_core.settings import Settings
    from energy_core.sql.partitions import MonthPartition, add_months, month_start

    settings = Settings(retention_days=400)
    first_full = add_months(month_start(first_ts), 1)
    keep = timedelta(days=400)
    prune_readings(engine, now=first_full + keep, settings=settings)  # the partial month
    with engine.connect() as conn:
        month_rows = conn.execute(
            text(f"SELECT count(*) FROM {MonthPartition(first_full).name}")
        ).scalar_one()
    checks = decide(engine, MonthPartition(first_full))
    started = time.perf_counter()
    run = prune_readings(engine, now=add_months(first_full, 1) + keep, settings=settings)
    month_s = time.perf_counter() - started
    started = time.perf_counter()
    hourly = prune_readings(
        engine, now=add_months(first_full, 1) + keep + timedelta(hours=1), settings=settings
    )
    hour_s = time.perf_counter() - started
    lo, hi = add_months(first_full, 1), add_months(first_full, 2)
    with engine.connect() as conn:
        started = time.perf_counter()
        deleted = conn.execute(
            text("DELETE FROM readings WHERE ts >= :lo AND ts < :hi"), {"lo": lo, "hi": hi}
        ).rowcount
        delete_s = time.perf_counter() - started
        conn.rollback()
    return {
        **checks,
        "month_s": month_s,
        "partitions": float(len(run.partitions)),
        "month_rows": float(month_rows),
        "hour_s": hour_s,
        "hour_readings": float(hourly.readings),
        "delete_s": delete_s,
        "delete_rows": float(deleted),
    }


def sizes(engine) -> dict[str, int]:  # noqa: ANN001
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT (SELECT sum(pg_total_relation_size(relid)) "
                "FROM pg_partition_tree('readings')),"
                " (SELECT sum(pg_indexes_size(relid)) FROM pg_partition_tree('readings')),"
                " pg_total_relation_size('hourly_aggregates'),"
                " pg_database_size(current_database()),"
                " (SELECT count(*) FROM readings), (SELECT count(*) FROM hourly_aggregates)"
            )
        ).one()
    keys = ("readings", "readings_indexes", "aggregates", "database", "rows", "hours")
    return dict(zip(keys, (int(v) for v in row), strict=True))


def ts_indexes(engine, *, now: datetime) -> list[tuple]:  # noqa: ANN001
    """For no index on ts (the primary key and partition pruning only), a btree and a BRIN: the
    build time, the size, and warm times of the range reads the rollup and pages make (one
    device's hour and day, by the primary key) and of reads by time alone (every device's last
    hour; one day in the middle of history)."""
    with engine.connect() as conn:
        device = conn.execute(text("SELECT user_id, id FROM devices ORDER BY id LIMIT 1")).one()
    mid = (now - timedelta(days=180)).replace(minute=0, second=0, microsecond=0)
    reads = {
        "device hour": (
            "SELECT count(*), sum(power_w) FROM readings WHERE user_id = :u AND device_pk = :d "
            "AND ts >= :at AND ts < :at + interval '1 hour'"
        ),
        "device day": (
            "SELECT count(*), sum(power_w) FROM readings WHERE user_id = :u AND device_pk = :d "
            "AND ts >= :at AND ts < :at + interval '1 day'"
        ),
        "all, last hour": (
            "SELECT count(*), sum(power_w) FROM readings WHERE ts >= :now - interval '1 hour'"
        ),
        "all, one day": (
            "SELECT count(*), sum(power_w) FROM readings "
            "WHERE ts >= :at AND ts < :at + interval '1 day'"
        ),
    }
    params = {"u": device[0], "d": device[1], "at": mid, "now": now}
    results = []
    for kind, ddl in (
        ("none", None),
        ("btree", "CREATE INDEX ix_readings_ts ON readings (ts)"),
        ("brin", "CREATE INDEX ix_readings_ts ON readings USING brin (ts)"),
    ):
        build_s = 0.0
        size = 0
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX IF EXISTS ix_readings_ts"))
            if ddl:
                started = time.perf_counter()
                conn.execute(text(ddl))
                build_s = time.perf_counter() - started
        with engine.connect() as conn:
            conn.execute(text("ANALYZE readings"))
            if ddl:
                size = conn.execute(
                    text(
                        "SELECT sum(pg_relation_size(relid)) "
                        "FROM pg_partition_tree('ix_readings_ts')"
                    )
                ).scalar_one()
            timings = {}
            for name, sql in reads.items():
                conn.execute(text(sql), params).all()  # warm
                timings[name] = median_s(
                    lambda sql=sql: conn.execute(text(sql), params).all(), repeat=5
                )
        results.append((kind, build_s, int(size or 0), timings))
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX IF EXISTS ix_readings_ts"))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--readings", type=int, default=100_000_000)
    parser.add_argument("--skip-pages", action="store_true")
    args = parser.parse_args(argv)
    os.chdir(REPO)
    engine = open_bench_database(args.database_url or DEFAULT_URL, reload=args.reload)
    from energy_core.db import session_scope
    from energy_core.partitions import keep_partitions
    from energy_core.rollup import mark_for_rebuild, rollup_dirty_hours
    from energy_core.sql.partitions import (
        MonthPartition,
        add_months,
        create_month_partition,
        month_partitions,
        month_start,
    )

    now = datetime.now(UTC)
    figures: dict[str, str] = {"load": f"{os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)"}
    if not pages.loaded(engine):
        # The year's months get their partitions first, as the scheduler's upkeep would have
        # made them as the year went by.
        month = month_start(now - timedelta(days=366))
        while month <= now:
            with engine.begin() as conn:
                if MonthPartition(month).name not in {p.name for p in month_partitions(conn)}:
                    create_month_partition(conn, MonthPartition(month))
            month = add_months(month, 1)
        keep_partitions(engine, now=now)
        count, copy_s = load(engine, readings=args.readings, now=now)
        figures["copy"] = f"{count:,} readings in {copy_s:.0f} s ({count / copy_s:,.0f}/s)"
        started = time.perf_counter()
        with session_scope(engine) as session:
            marked = mark_for_rebuild(session, now=now)
        run = rollup_dirty_hours(engine)
        rollup_s = time.perf_counter() - started
        figures["full rollup"] = (
            f"{marked:,} hours marked, {run.hours:,} computed in {rollup_s:.0f} s "
            f"({count / rollup_s:,.0f} readings/s)"
        )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    size = sizes(engine)
    per_million = size["rows"] / 1e6
    figures["size per million readings"] = (
        f"readings {size['readings'] / per_million / 2**20:.1f} MiB (of which indexes "
        f"{size['readings_indexes'] / per_million / 2**20:.1f} MiB), hourly aggregates "
        f"{size['aggregates'] / per_million / 2**20:.1f} MiB, whole database "
        f"{size['database'] / per_million / 2**20:.1f} MiB; {size['rows']:,} readings, "
        f"{size['hours']:,} aggregate rows"
    )
    for k, (rollup_s, baseline_s) in enumerate(incremental_rollup(engine, now=now)):
        figures[f"incremental rollup {k + 1}"] = (
            f"{rollup_s * 1000:.0f} ms (raw GROUP BY of that hour {baseline_s * 1000:.0f} ms, "
            f"{rollup_s / baseline_s:.1f}x)"
        )
    for kind, build_s, index_bytes, timings in ts_indexes(engine, now=now):
        reads = ", ".join(f"{name} {s * 1000:.1f} ms" for name, s in timings.items())
        figures[f"ts index: {kind}"] = (
            f"build {build_s:.1f} s, {index_bytes / 2**20:.1f} MiB; {reads}"
        )
    with engine.connect() as conn:
        first_ts = conn.execute(text("SELECT min(ts) FROM readings")).scalar_one()
    kept = retention(engine, first_ts=first_ts)
    figures["retention of one month"] = (
        f"{kept['month_s'] * 1000:.0f} ms for {kept['month_rows']:,.0f} readings "
        f"({kept['partitions']:.0f} partition dropped); DELETE of the next month's "
        f"{kept['delete_rows']:,.0f} rows {kept['delete_s'] * 1000:.0f} ms "
        f"({kept['delete_s'] / kept['month_s']:.1f}x); hourly run after it "
        f"{kept['hour_s'] * 1000:.0f} ms for {kept['hour_readings']:,.0f} readings"
    )
    figures["may the month go whole?"] = (
        f"{kept['check_s'] * 1000:.0f} ms (the per-hour check it replaced "
        f"{kept['per_hour_check_s'] * 1000:.0f} ms, "
        f"{kept['per_hour_check_s'] / kept['check_s']:.0f}x)"
    )
    figures["load after"] = f"{os.getloadavg()[0]:.1f}"
    print()
    for name, value in figures.items():
        print(f"{name:<28} {value}")
    sys.stdout.flush()
    if not args.skip_pages:
        pages.time_pages(runs=3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
