"""Load test of the scaled-out setup: simulated devices posting single readings through nginx to
two API replicas, with the scheduler rolling up, on PostgreSQL; one replica killed mid-run.

Each device has a key of its own and posts one reading every ``--interval`` seconds (the devices'
phases spread evenly over the interval), timestamped when it is due. A request that fails (a
refused connection, a 502/503) is retried after a second, as a device would, until it is stored.
At the end every reading generated must be in the database exactly once; readings a device had
not sent by the end of the run (the setup could not keep up) are counted as not sent.

Figures: request latency through nginx (p50/p95/p99/max) before and after the kill, the rate
achieved, how late the generator fell behind its schedule, and the aggregation lag: for readings of
probe devices, the time from their commit to the rollup run whose aggregate counts them
(``hourly_aggregates.computed_at``), polled every 2 s. The baseline is ``GET /health`` through the
same nginx, timed in the same process before the load starts: what a round trip costs here.

    python bench/replicas_load.py                                   # 2,000 devices, 10 minutes
    python bench/replicas_load.py --devices 200 --duration 60       # a short run

Loopback only. Targets (issue 12): p99 under 50 ms, aggregation lag under 2 minutes, 0 lost, the
same with one replica killed. Not a test; never fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from bench.databases import ensure_database  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/energy_bench_load"
PROBES = 50


@dataclass
class Phase:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0


@dataclass
class Load:
    before: Phase = field(default_factory=Phase)
    after: Phase = field(default_factory=Phase)
    killed_at: float | None = None
    generated: int = 0
    stored_2xx: int = 0
    duplicates: int = 0
    behind_s: list[float] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)  # statuses of readings given up on
    # (device index, reading ts) -> monotonic commit time, for probe devices
    probe_commits: dict[tuple[int, datetime], float] = field(default_factory=dict)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def setup_household(engine, devices: int) -> tuple[list[str], list[int]]:  # noqa: ANN001
    """One user with ``devices`` devices, each with a key of its own: the keys and device pks."""
    from energy_core.accounts import create_device, create_user
    from energy_core.accounts.keys import issue_api_key
    from energy_core.db import session_scope
    from energy_core.models import DeviceCreate, KeyScope

    with session_scope(engine) as session:
        user = create_user(
            session, email="load@example.com", password="load-password-1", full_name="Load"
        )
        pks, keys = [], []
        for i in range(devices):
            device_id = f"meter-{i:05d}"
            pks.append(
                create_device(
                    session,
                    user_id=user.id,
                    data=DeviceCreate(device_id=device_id, name=f"Meter {i}", type="meter"),
                ).id
            )
            keys.append(
                issue_api_key(
                    session, user_id=user.id, scope=KeyScope.ingest, device_id=device_id
                ).key
            )
    return keys, pks


async def device_loop(
    session: aiohttp.ClientSession,
    url: str,
    key: str,
    index: int,
    *,
    start: float,
    start_wall: datetime,
    phase_s: float,
    interval_s: float,
    end: float,
    load: Load,
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    due = start + phase_s
    # A device behind its schedule posts its readings late, one after the other; at the end of
    # the run it stops generating, so a setup that cannot keep up shows as readings not sent.
    while due < end and time.monotonic() < end:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        load.behind_s.append(time.monotonic() - due)
        # Stamped when due, as a device stamps its sample: a late post keeps its own instant.
        ts = (start_wall + timedelta(seconds=due - start)).replace(microsecond=0)
        body = {"timestamp": ts.isoformat(), "energy_watts": 100.0 + index % 900}
        load.generated += 1
        while True:
            phase = load.after if load.killed_at is not None else load.before
            sent = time.monotonic()
            try:
                async with session.post(url, json=body, headers=headers) as response:
                    status = response.status
                    payload = await response.json() if status in (200, 201) else None
                    if status not in (200, 201):
                        await response.read()
            except (TimeoutError, aiohttp.ClientError):
                status, payload = 0, None
            done = time.monotonic()
            if status in (200, 201):
                phase.latencies_ms.append((done - sent) * 1000)
                load.stored_2xx += 1
                load.duplicates += int(payload.get("duplicates", 0))
                if index < PROBES:
                    load.probe_commits[(index, ts)] = done
                break
            if status not in (0, 502, 503, 504):
                load.refused.append(status)
                break
            phase.errors += 1
            await asyncio.sleep(1.0)
        due += interval_s


async def generate(
    proxy: str, keys: list[str], *, interval_s: float, duration_s: float, kill, kill_at_s: float
) -> Load:  # noqa: ANN001
    load = Load()
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.monotonic() + 1.0
        start_wall = datetime.now(UTC) + timedelta(seconds=start - time.monotonic())
        end = start + duration_s
        url = f"{proxy}/api/v1/telemetry"

        async def killer() -> None:
            await asyncio.sleep(max(0.0, start + kill_at_s - time.monotonic()))
            kill()
            load.killed_at = time.monotonic() - start

        tasks = [
            device_loop(
                session,
                url,
                key,
                i,
                start=start,
                start_wall=start_wall,
                phase_s=interval_s * i / len(keys),
                interval_s=interval_s,
                end=end,
                load=load,
            )
            for i, key in enumerate(keys)
        ]
        if kill_at_s < duration_s:
            tasks.append(killer())
        await asyncio.gather(*tasks)
    return load


def poll_aggregation(engine, pks: list[int], stop: threading.Event, seen: dict) -> None:  # noqa: ANN001
    """Every 2 s: each probe device's aggregates (hour -> sample_count, computed_at), keeping
    the first computed_at at which each count was reached, with the monotonic time of the poll."""
    probe = pks[:PROBES]
    while not stop.is_set():
        try:
            rows = _probe_aggregates(engine, probe)
        except OperationalError as exc:  # an overloaded server: poll again
            print(f"aggregation poll failed, retrying: {exc}", file=sys.stderr)
            stop.wait(2.0)
            continue
        offset = time.monotonic() - time.time()
        for device_pk, hour, count, computed_at in rows:
            key = (device_pk, hour, count)
            if key not in seen:
                seen[key] = computed_at.timestamp() + offset
        stop.wait(2.0)


def _probe_aggregates(engine, probe: list[int]) -> list:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT device_pk, hour_start, sample_count, computed_at "
                "FROM hourly_aggregates WHERE device_pk = ANY(:pks) "
                "AND hour_start >= now() - interval '3 hours'"
            ),
            {"pks": probe},
        ).all()


def aggregation_lags(load: Load, pks: list[int], seen: dict) -> tuple[list[float], int]:
    """Seconds from each probe reading's commit to the first rollup that counted it, and how
    many probe readings no rollup has counted."""
    by_device: dict[int, list[datetime]] = {}
    for index, ts in load.probe_commits:
        by_device.setdefault(index, []).append(ts)
    counted: dict[tuple[int, datetime], list[tuple[int, float]]] = {}
    for (device_pk, hour, count), at in seen.items():
        counted.setdefault((device_pk, hour), []).append((count, at))
    lags, missing = [], 0
    for index, stamps in by_device.items():
        stamps.sort()
        for ts in stamps:
            hour = ts.replace(minute=0, second=0, microsecond=0)
            position = sum(1 for s in stamps if hour <= s <= ts)
            times = [at for count, at in counted.get((pks[index], hour), []) if count >= position]
            if not times:
                missing += 1
                continue
            lags.append(min(times) - load.probe_commits[(index, ts)])
    return lags, missing


def round_trip_baseline(proxy: str, n: int = 200) -> list[float]:
    out = []
    with httpx.Client(timeout=10) as client:
        for _ in range(n):
            sent = time.perf_counter()
            client.get(f"{proxy}/health")
            out.append((time.perf_counter() - sent) * 1000)
    return out


def describe(name: str, phase: Phase) -> str:
    values = phase.latencies_ms
    return (
        f"{name}: {len(values):,} requests, p50 {percentile(values, 50):.1f} ms, "
        f"p95 {percentile(values, 95):.1f} ms, p99 {percentile(values, 99):.1f} ms, "
        f"max {max(values, default=float('nan')):.1f} ms; {phase.errors} failed attempts retried"
    )


def main() -> None:
    from energy_core.db import make_engine
    from energy_core.migrate import upgrade_database
    from tests.e2e.support import running
    from tests.e2e.test_replicas import replicas_behind_nginx

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between readings")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--kill-at", type=float, help="seconds into the run (default: half)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    parser.add_argument("--rollup-interval", type=int, default=60)
    args = parser.parse_args()
    kill_at = args.duration / 2 if args.kill_at is None else args.kill_at

    ensure_database(args.database_url, reload=True)
    engine = make_engine(args.database_url)
    upgrade_database(engine)
    started = time.perf_counter()
    keys, pks = setup_household(engine, args.devices)
    print(f"{args.devices:,} devices and keys created in {time.perf_counter() - started:.1f} s")

    tmp = Path(tempfile.mkdtemp(prefix="energy-load-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "ENERGY_DATABASE_URL": args.database_url,
        "ENERGY_TRUSTED_PROXIES": "127.0.0.1",
        "ENERGY_ROLLUP_INTERVAL_S": str(args.rollup_interval),
        "ENERGY_LOG_LEVEL": "WARNING",
    }
    if args.redis_url:
        env["ENERGY_REDIS_URL"] = args.redis_url
    scheduler = [sys.executable, "-m", "energy_cli", "scheduler"]
    with (
        replicas_behind_nginx(env, tmp) as replicas,
        running(scheduler, {**env, "ENERGY_LOG_LEVEL": "INFO"}, tmp / "scheduler.log"),
    ):
        proxy, first = replicas.proxy, replicas.first
        baseline = round_trip_baseline(proxy)

        def kill() -> None:
            first.send_signal(signal.SIGKILL)

        stop = threading.Event()
        seen: dict = {}
        poller = threading.Thread(target=poll_aggregation, args=(engine, pks, stop, seen))
        poller.start()
        load_before = os.getloadavg()
        wall = time.perf_counter()
        load = asyncio.run(
            generate(
                proxy,
                keys,
                interval_s=args.interval,
                duration_s=args.duration,
                kill=kill,
                kill_at_s=kill_at,
            )
        )
        wall = time.perf_counter() - wall
        load_after = os.getloadavg()
        # Let the scheduler count the last readings: two more rollup runs at most.
        deadline = time.monotonic() + 2 * args.rollup_interval + 30
        while time.monotonic() < deadline:
            lags, missing = aggregation_lags(load, pks, seen)
            if missing == 0:
                break
            time.sleep(2)
        stop.set()
        poller.join()
    lags, missing = aggregation_lags(load, pks, seen)
    planned = sum(
        math.ceil((args.duration - args.interval * i / args.devices) / args.interval)
        for i in range(args.devices)
    )
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM readings")).scalar_one()
        per_device = conn.execute(
            text("SELECT count(DISTINCT device_pk) FROM readings")
        ).scalar_one()
    engine.dispose()

    print(
        f"\n{args.devices:,} devices, one reading each every {args.interval:g} s for "
        f"{args.duration:g} s ({args.devices / args.interval:.0f} readings/s planned), "
        f"2 replicas behind nginx, scheduler rolling up every {args.rollup_interval} s"
    )
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"({os.cpu_count()} cores)"
    )
    print(
        f"baseline GET /health through nginx: p50 {percentile(baseline, 50):.1f} ms, "
        f"p99 {percentile(baseline, 99):.1f} ms"
    )
    print(f"achieved {load.stored_2xx / wall:.0f} readings/s over {wall:.0f} s")
    print(
        f"generator behind schedule: p50 {percentile(load.behind_s, 50) * 1000:.0f} ms, "
        f"p99 {percentile(load.behind_s, 99) * 1000:.0f} ms, max {max(load.behind_s) * 1000:.0f} ms"
    )
    print(describe("both replicas", load.before))
    if load.killed_at is not None:
        print(f"replica 1 killed (SIGKILL) at {load.killed_at:.0f} s")
        print(describe("one replica  ", load.after))
    everything = load.before.latencies_ms + load.after.latencies_ms
    print(
        f"p99 over the whole run {percentile(everything, 99):.1f} ms "
        f"({percentile(everything, 99) / percentile(baseline, 99):.1f}x the /health p99)"
    )
    print(
        f"planned {planned:,}, generated {load.generated:,} "
        f"({planned - load.generated:,} not sent by the end of the run), "
        f"acknowledged {load.stored_2xx:,} "
        f"({load.duplicates} as duplicates of a retried request), stored {stored:,} "
        f"from {per_device:,} devices: lost {load.generated - stored:,}; "
        f"refused {len(load.refused)} {sorted(set(load.refused))}"
    )
    print(
        f"aggregation lag of {len(lags):,} probe readings ({PROBES} devices): "
        f"p50 {percentile(lags, 50):.1f} s, p99 {percentile(lags, 99):.1f} s, "
        f"max {max(lags, default=float('nan')):.1f} s; not counted by any rollup: {missing}"
    )
    print(f"logs: {tmp}")


if __name__ == "__main__":
    main()
