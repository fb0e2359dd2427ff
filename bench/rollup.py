"""Benchmark of the hourly rollup and the aggregate reads on PostgreSQL (a script, not a test).

    python bench/rollup.py [postgresql://user@host:port/db] [--devices 500] [--readings 20000]
    python bench/rollup.py --series-only KEPT_DATABASE [--sqlite FILE]
    python bench/rollup.py --reuse KEPT_DATABASE   (a) to (c) again without loading

Creates a scratch database next to the given one (default ENERGY_BENCH_DATABASE_URL or the local
``test`` database), loads devices x readings at irregular 10-60 s intervals with COPY, then times:
  (a) a full rebuild of every aggregate (rebuild_aggregates: no marks, one run per device) against
      one raw SQL GROUP BY over the same table, run in the same session (target: at most 1.5x
      the baseline); with --compare-marks also the same rebuild through marks (mark_for_rebuild,
      then rollup_dirty_hours), as it was done before;
  (b) an incremental run after one minute of new readings from every device (target < 100 ms),
      in a job process that has already run once, as a scheduler's has;
  (c) read_series for 30 days x all devices at day granularity, taking every metric's column of
      the 15,000 cells as a table does (target < 100 ms); --series-only also times the same read
      taking a figure object of each cell;
and the peak RSS of the job processes (target: flat, independent of table size). The rebuild and
the incremental run each run in a child process, as the scheduler's job would, so their peak RSS
is their own. The scratch database is dropped at the end, unless kept (--keep) or reused (--reuse:
the load of 10 M readings is skipped, its aggregates and marks emptied first).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from energy_core.db import make_engine, session_scope  # noqa: E402
from energy_core.migrate import upgrade_database  # noqa: E402
from energy_core.settings import normalize_database_url  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_EPOCH_US = 946_684_800 * 1_000_000  # PostgreSQL's binary timestamps count from 2000-01-01
BASELINE_SQL = (
    "SELECT device_pk, date_trunc('hour', ts) AS hour, sum(power_w), count(*), min(power_w), "
    "max(power_w) FROM readings GROUP BY device_pk, date_trunc('hour', ts)"
)

# The job as the scheduler runs it, in a process of its own: prints its timings and peak RSS.
JOB = """
import json, resource, sys, time
from energy_core.db import make_engine, session_scope
from energy_core.rollup import mark_for_rebuild, rebuild_aggregates, rollup_dirty_hours
from energy_core.settings import Settings
engine = make_engine(sys.argv[1])
settings = Settings(database_url=sys.argv[1])
started = time.perf_counter()
marked = 0
if sys.argv[2] == "rebuild":
    cpu = time.process_time()
    run = rebuild_aggregates(engine, settings=settings)
    print(json.dumps({
        "marked": 0, "mark_s": 0.0, "hours": run.hours, "batches": run.batches,
        "rollup_s": run.duration_s, "total_s": time.perf_counter() - started,
        "job_cpu_s": time.process_time() - cpu,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "workers": settings.rollup_workers,
    }), flush=True)
    sys.stdin.readline()
    sys.exit(0)
if sys.argv[2] == "rebuild-marked":
    with session_scope(engine) as session:
        marked = mark_for_rebuild(session, settings=settings)
if sys.argv[2] == "incremental":
    # A scheduler's process is warm when its run comes: connected, statements compiled.
    rollup_dirty_hours(engine, settings=settings)
    print("warm", flush=True)
    sys.stdin.readline()  # the minute of readings is in
    started = time.perf_counter()
marked_s = time.perf_counter() - started
cpu = time.process_time()
run = rollup_dirty_hours(engine, settings=settings)
print(json.dumps({
    "marked": marked, "mark_s": marked_s, "hours": run.hours, "batches": run.batches,
    "rollup_s": run.duration_s, "total_s": time.perf_counter() - started,
    "job_cpu_s": time.process_time() - cpu,
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "workers": settings.rollup_workers,
}), flush=True)
sys.stdin.readline()  # its database sessions stay open until their CPU time is read
"""
# The job's connections name themselves, so that the CPU time of their server processes can be
# read (the machine may be shared: the CPU a run costs holds still where its wall time does not).
JOB_APPLICATION = "energy_bench_rollup_job"


def backend_pids(url: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (JOB_APPLICATION,)
            )
        ]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (those still running)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_database(admin_url: str) -> tuple[str, str]:
    name = f"energy_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(psycopg_url(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = psycopg_url(admin_url).rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(psycopg_url(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load(url: str, *, devices: int, readings: int, end: datetime, seed: int = 42):
    """One user, ``devices`` devices (every tenth bidirectional), ``readings`` each with COPY."""
    rng = np.random.default_rng(seed)
    end_us = int(end.timestamp() * 1_000_000)
    row = np.dtype(
        [
            ("fields", ">i2"),
            ("l_user", ">i4"),
            ("user", ">i4"),
            ("l_device", ">i4"),
            ("device", ">i4"),
            ("l_ts", ">i4"),
            ("ts", ">i8"),
            ("l_power", ">i4"),
            ("power", ">f8"),
        ]
    )
    with psycopg.connect(url) as conn:
        user_id = conn.execute(
            "INSERT INTO users (email, password_hash, full_name, role, is_active, timezone, "
            "price_per_kwh, currency, auto_register_devices, failed_logins, created_at, "
            "updated_at) VALUES ('bench@example.com', 'x', 'Bench', 'member', true, 'UTC', 0.3, "
            "'EUR', false, 0, now(), now()) RETURNING id"
        ).fetchone()[0]
        device_pks = [
            conn.execute(
                "INSERT INTO devices (user_id, device_id, name, type, location, is_active, "
                "bidirectional, created_at, updated_at) VALUES (%s, %s, %s, 'other', '', true, "
                "%s, now(), now()) RETURNING id",
                (user_id, f"dev-{i:04d}", f"Device {i}", i % 10 == 0),
            ).fetchone()[0]
            for i in range(devices)
        ]
        conn.commit()
        started = time.perf_counter()
        # A bulk restore: the foreign-key triggers would check every row against 500 devices.
        conn.execute("SET session_replication_role = replica")
        copy_sql = "COPY readings (user_id, device_pk, ts, power_w) FROM STDIN (FORMAT BINARY)"
        with conn.cursor().copy(copy_sql) as copy:
            copy.write(b"PGCOPY\n\xff\r\n\x00" + bytes(8))
            for index, pk in enumerate(device_pks):
                steps = np.round(rng.uniform(10, 60, readings) * 1e6).astype(np.int64)
                offsets = np.cumsum(steps)
                last = end_us - int(rng.integers(0, 60_000_000))
                power = np.abs(np.cumsum(rng.normal(0, 40, readings))) + 5
                if index % 10 == 0:
                    power -= 800  # a solar inverter or battery: export shows as negative watts
                block = np.empty(readings, row)
                block["fields"] = 4
                block["l_user"], block["user"] = 4, user_id
                block["l_device"], block["device"] = 4, pk
                block["l_ts"], block["ts"] = 8, last - (offsets[-1] - offsets) - PG_EPOCH_US
                block["l_power"], block["power"] = 8, np.round(power, 3)
                copy.write(block.tobytes())
            copy.write((-1).to_bytes(2, "big", signed=True))
        conn.commit()
        copy_s = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return user_id, device_pks, copy_s


def reset(url: str) -> tuple[int, list[int], int]:
    """A kept database as a load leaves it: no aggregates, no marks (the minutes of readings that
    earlier runs' incremental parts added stay; they are a few hundred rows each)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE hourly_aggregates, daily_aggregates, daily_zones, dirty_hours")
        conn.execute("UPDATE devices SET last_seen_at = NULL, first_reading_at = NULL")
        conn.execute("VACUUM ANALYZE")
        found = conn.execute("SELECT id FROM users WHERE email = 'bench@example.com'").fetchone()
        user_id = found[0]
        device_pks = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM devices WHERE user_id = %s ORDER BY id", (user_id,)
            )
        ]
        total = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    return user_id, device_pks, total


def timed(conn: psycopg.Connection, sql: str) -> tuple[float, float]:
    """The wall time of ``sql`` and the CPU time its database session spent on it."""
    cpu, started = cpu_seconds([conn.info.backend_pid]), time.perf_counter()
    conn.execute(sql).fetchall()
    return time.perf_counter() - started, cpu_seconds([conn.info.backend_pid]) - cpu


def parallel_workers(conn: psycopg.Connection, sql: str) -> int:
    """How many parallel workers the planner gives ``sql`` (0: its session alone runs it)."""
    plan = json.dumps(conn.execute(f"EXPLAIN (FORMAT JSON) {sql}").fetchone()[0])
    found = [int(n) for n in re.findall(r'"Workers Planned": (\d+)', plan)]
    return max(found, default=0)


def run_job(url: str, mode: str, before_run=None) -> dict:  # noqa: ANN001
    """The job in a process of its own; ``before_run()`` is called once its process is warm (the
    incremental job runs once on an empty backlog first, as a scheduler that has been running).
    Also says how much CPU the job's database sessions used during the timed run (``pg_cpu_s``)."""
    named = f"{url}{'&' if '?' in url else '?'}application_name={JOB_APPLICATION}"
    process = subprocess.Popen(
        [sys.executable, "-c", JOB, named, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "ENERGY_LOG_LEVEL": "WARNING"},
    )
    pids: list[int] = []
    if mode == "incremental":
        assert process.stdout.readline().strip() == "warm"
        if before_run is not None:
            before_run()
        pids = backend_pids(url)
        process.stdin.write("go\n")
        process.stdin.flush()
    cpu_before = cpu_seconds(pids)
    result = json.loads(process.stdout.readline())
    if mode.startswith("rebuild"):
        # Every session of the rebuild was opened by it and is still open: their whole CPU time.
        pids, cpu_before = backend_pids(url), 0.0
    result["pg_cpu_s"] = cpu_seconds(pids) - cpu_before if pids else float("nan")
    process.stdin.write("done\n")
    process.stdin.flush()
    process.communicate()
    if process.returncode:
        raise RuntimeError(f"the {mode} job failed")
    return result


def one_minute_of_readings(url: str, *, user_id: int, device_pks: list[int]) -> float:
    """One minute of new readings from every device, through the real write path."""
    from energy_core.ingest import ReadingIn, record_readings
    from energy_core.models import Device

    engine = make_engine(url)
    rng = np.random.default_rng(7)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        names = {pk: session.get(Device, pk).device_id for pk in device_pks}
        batch = []
        for pk in device_pks:
            t = now - timedelta(seconds=60)
            while True:
                t += timedelta(seconds=float(rng.uniform(10, 60)))
                if t > now:
                    break
                batch.append(ReadingIn(names[pk], t, float(round(rng.uniform(0, 2000), 3))))
        started = time.perf_counter()
        result = record_readings(session, user_id=user_id, readings=batch, now=now)
    engine.dispose()
    print(f"  ingested {result.accepted} new readings from {len(device_pks)} devices", flush=True)
    return time.perf_counter() - started


def time_series(url: str, *, user_id: int, repeats: int = 5, take: str = "columns") -> dict:
    """read_series for 30 days x all devices by day: the first call's wall time, and the median
    call's wall time, this process's CPU and its database session's CPU (none on SQLite: the
    database runs in this process). ``take``: what the caller takes of the series, every
    metric's column of the 15,000 (device, day) cells as a table does ("columns"), or a figure
    object of each ("figures")."""
    from energy_core.stats import instant_period, load_household, read_series
    from energy_core.stats.table import METRICS

    engine = make_engine(url, pool_size=1)
    pid = None
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    pids = [pid] if pid else []
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = today - timedelta(days=29), today + timedelta(days=1)
    calls, points = [], []
    for _ in range(repeats):
        wall, cpu, pg = time.perf_counter(), time.process_time(), cpu_seconds(pids)
        with session_scope(engine, read_only=True) as session:
            household = load_household(session, user_id=user_id)
            period = instant_period(start, end, timezone=household.timezone)
            series = read_series(session, household.select(period, granularity="day"))
            if take == "figures":
                points = list(series.rows())
            else:
                points = series.table.columns(METRICS)["device_id"]
        calls.append(
            (
                time.perf_counter() - wall,
                time.process_time() - cpu,
                cpu_seconds(pids) - pg,
            )
        )
    engine.dispose()
    median = sorted(calls)[len(calls) // 2]
    return {"first_s": calls[0][0], "median": median, "points": len(points)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "url", nargs="?", default=os.environ.get("ENERGY_BENCH_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument(
        "--readings", type=int, default=20_000, help="per device (4,000 runs in about a minute)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--compare-marks",
        action="store_true",
        help="also time (a) the way the scheduler's catch-up does it, by marking every hour "
        "and rolling the marks up, before the rebuild without marks",
    )
    parser.add_argument(
        "--reuse",
        metavar="DATABASE",
        help="time (a) to (c) again on a database an earlier run kept (--keep), without loading: "
        "its aggregates and marks are emptied first, and it is kept",
    )
    parser.add_argument(
        "--series-only",
        metavar="DATABASE",
        help="only (c), on a database an earlier run kept (--keep), several times in a row",
    )
    parser.add_argument(
        "--sqlite",
        metavar="FILE",
        help="with --series-only: time (c) on SQLite, in FILE (a copy of the kept database's "
        "household and aggregates, made on the first use of FILE)",
    )
    args = parser.parse_args()
    admin_url = normalize_database_url(args.url)
    if args.series_only:
        kept = f"{psycopg_url(admin_url).rsplit('/', 1)[0]}/{args.series_only}"
        if args.sqlite:
            return series_only(sqlite_copy(kept, Path(args.sqlite)))
        return series_only(kept)
    if args.reuse:
        name, url = args.reuse, f"{psycopg_url(admin_url).rsplit('/', 1)[0]}/{args.reuse}"
        args.keep = True
    else:
        name, url = create_database(admin_url)
    print(f"scratch database {name}", flush=True)
    try:
        engine = make_engine(url)
        upgrade_database(engine)
        engine.dispose()
        if args.reuse:
            user_id, device_pks, total = reset(url)
            copy_s = float("nan")
        else:
            total = args.devices * args.readings
            print(f"loading {total:,} readings with COPY ...", flush=True)
            user_id, device_pks, copy_s = load(
                url, devices=args.devices, readings=args.readings, end=datetime.now(UTC)
            )
        with psycopg.connect(url, autocommit=True) as conn:
            timed(conn, BASELINE_SQL)  # warm the cache for both contenders
            baseline_s, baseline_cpu_s = min(timed(conn, BASELINE_SQL) for _ in range(2))
            baseline_workers = parallel_workers(conn, BASELINE_SQL)
            table_mb = conn.execute(
                # Every partition of the table (the table itself when it has none).
                "SELECT sum(pg_total_relation_size(relid)) / 1048576.0 "
                "FROM pg_partition_tree('readings')"
            ).fetchone()[0]
        marked_rebuild = None
        if args.compare_marks:
            print("full rebuild through marks ...", flush=True)
            marked_rebuild = run_job(url, "rebuild-marked")
            reset(url)
        print("full rebuild ...", flush=True)
        rebuild = run_job(url, "rebuild")
        print("one minute of new readings, then the incremental run ...", flush=True)
        minute = {}

        def ingest_minute() -> None:
            minute["s"] = one_minute_of_readings(url, user_id=user_id, device_pks=device_pks)

        incremental = run_job(url, "incremental", before_run=ingest_minute)
        ingest_s = minute["s"]
        with psycopg.connect(url, autocommit=True) as conn:
            # What autovacuum does within a minute of the rebuild; without fresh statistics the
            # planner takes the 98k new aggregate rows for an empty table.
            conn.execute("VACUUM ANALYZE hourly_aggregates, dirty_hours")
        series = time_series(url, user_id=user_id)
        median_s, python_s, pg_s = series["median"]
        bench_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        rows = [
            ("readings loaded (COPY)", f"{total:,}", f"{copy_s:.1f} s", ""),
            ("readings table incl. index", f"{table_mb:,.0f} MB", "", ""),
            (
                "baseline: raw GROUP BY device, hour",
                "",
                f"{baseline_s:.2f} s",
                f"{baseline_workers} parallel workers; CPU {baseline_cpu_s:.2f} s in PostgreSQL"
                + (" (its workers' not counted)" if baseline_workers else ""),
            ),
            (
                f"(a) full rebuild, no marks, {rebuild['workers']} workers",
                f"{rebuild['hours']:,} hours / {rebuild['batches']} tx",
                f"{rebuild['rollup_s']:.2f} s",
                "",
            ),
            (
                "(a) full rebuild total / baseline",
                "",
                f"{rebuild['total_s']:.2f} s",
                f"{rebuild['total_s'] / baseline_s:.2f}x (target <= 1.5x)",
            ),
            (
                "(a) full rebuild CPU in PostgreSQL / baseline's",
                "",
                f"{rebuild['pg_cpu_s']:.2f} s",
                f"{rebuild['pg_cpu_s'] / baseline_cpu_s:.2f}x (the work done; the wall time "
                f"shares it among {rebuild['workers']} sessions)",
            ),
            *marked_rows(marked_rebuild, baseline_s, baseline_cpu_s),
            ("    ingest of that minute (API path)", "", f"{ingest_s:.3f} s", ""),
            (
                "(b) incremental run after 1 minute",
                f"{incremental['hours']:,} hours",
                f"{incremental['rollup_s']:.3f} s",
                f"target < 100 ms; CPU {incremental['pg_cpu_s'] * 1000:.0f} ms in PostgreSQL, "
                f"{incremental['job_cpu_s'] * 1000:.0f} ms in the job",
            ),
            (
                "(c) read_series 30 d x all, by day",
                f"{series['points']:,} points",
                f"{median_s * 1000:.0f} ms",
                f"first call {series['first_s'] * 1000:.0f} ms; target < 100 ms; CPU "
                f"{python_s * 1000:.0f} ms in Python, {pg_s * 1000:.0f} ms in PostgreSQL",
            ),
            (
                "peak RSS: rebuild job process",
                "",
                f"{rebuild['rss_mb']:.0f} MB",
                "",
            ),
            (
                "peak RSS: incremental job process",
                "",
                f"{incremental['rss_mb']:.0f} MB",
                "flat: same as the rebuild's",
            ),
            ("peak RSS: this script (loader)", "", f"{bench_rss:.0f} MB", ""),
        ]
        width = max(len(r[0]) for r in rows)
        print()
        print(f"{'figure':<{width}}  {'size':>26}  {'time':>9}  note")
        print("-" * (width + 70))
        for label, size, duration, note in rows:
            print(f"{label:<{width}}  {size:>26}  {duration:>9}  {note}")
        print()
        print(
            f"PostgreSQL {server_version(url)}, {os.cpu_count()} CPUs, load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
    finally:
        if args.keep:
            print(f"kept {name}")
        else:
            drop_database(admin_url, name)
    return 0


def marked_rows(run: dict | None, baseline_s: float, baseline_cpu_s: float) -> list[tuple]:
    """The rows of the rebuild through marks (--compare-marks): mark every hour, then roll the
    marks up, as the scheduler's catch-up does."""
    if run is None:
        return []
    return [
        (
            "(a') rebuild through marks: mark hours",
            f"{run['marked']:,} hours",
            f"{run['mark_s']:.2f} s",
            "",
        ),
        (
            f"(a') rebuild through marks: rollup, {run['workers']} workers",
            f"{run['hours']:,} hours / {run['batches']} tx",
            f"{run['rollup_s']:.2f} s",
            "",
        ),
        (
            "(a') rebuild through marks total / baseline",
            "",
            f"{run['total_s']:.2f} s",
            f"{run['total_s'] / baseline_s:.2f}x; CPU {run['pg_cpu_s']:.2f} s in PostgreSQL, "
            f"{run['pg_cpu_s'] / baseline_cpu_s:.2f}x the baseline's",
        ),
    ]


def series_only(url: str, *, rounds: int = 3) -> int:
    """(c) alone on a kept database: a few rounds of the same timing, each with the load."""
    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        user_id = conn.exec_driver_sql(
            "SELECT id FROM users WHERE email = 'bench@example.com'"
        ).scalar_one()
    engine.dispose()
    print(f"on {engine.dialect.name}", flush=True)
    for _ in range(rounds):
        for take in ("columns", "figures"):
            series = time_series(url, user_id=user_id, repeats=7, take=take)
            median_s, python_s, pg_s = series["median"]
            cpu = (
                f"CPU {python_s * 1000:.0f} ms in Python, {pg_s * 1000:.0f} ms in PostgreSQL"
                if url.startswith("postgresql")
                else f"CPU {python_s * 1000:.0f} ms in Python and SQLite"
            )
            print(
                f"(c) read_series 30 d x all, by day, as {take}: {series['points']:,} points, "
                f"median {median_s * 1000:.0f} ms (first call {series['first_s'] * 1000:.0f} ms, "
                f"target < 100 ms); {cpu}; load average "
                f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
                flush=True,
            )
    return 0


# What read_series reads of a household, copied table by table to SQLite; instants go through
# the app's own column type, which stores them there as integer microseconds.
SQLITE_COPIED = (
    "users",
    "devices",
    "hourly_aggregates",
    "daily_aggregates",
    "daily_zones",
    "dirty_hours",
)


def sqlite_copy(url: str, path: Path) -> str:
    """The SQLite URL of ``path``, made on first use from the kept PostgreSQL database ``url``:
    the same household, devices and aggregates, so both backends read the same figures."""
    from sqlalchemy import insert, select
    from sqlmodel import SQLModel

    import energy_core.models  # noqa: F401 - registers the tables

    target = f"sqlite:///{path.resolve()}"
    if path.exists():
        return target
    engine = make_engine(target)
    upgrade_database(engine)
    source = make_engine(url, pool_size=1)
    with source.connect() as reading, engine.begin() as writing:
        for name in SQLITE_COPIED:
            table = SQLModel.metadata.tables[name]
            rows = [dict(row._mapping) for row in reading.execute(select(table))]
            if rows:
                writing.execute(insert(table), rows)
    source.dispose()
    engine.dispose()
    print(f"copied {', '.join(SQLITE_COPIED)} to {path}", flush=True)
    return target


def server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


if __name__ == "__main__":
    sys.exit(main())
