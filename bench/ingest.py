"""Benchmark of the ingest API against PostgreSQL, with the raw-COPY baseline measured in the same
run. Not a test: it prints figures and never fails on timing.

    python bench/ingest.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
                           [--duration 15] [--workers 1 2] [--redis-url redis://...]
                           [--baseline-batches 300] [--batches-only] [--rounds 1]
                           [--api-from /path/to/another/checkout]

It creates a scratch database (dropped at the end), a user with 1,000 devices and a household
ingest key, then for each uvicorn worker count:

  batches  8 concurrent clients post 1,000-reading batches for --duration seconds. Each client is
           a hub that owns 125 of the devices and posts 8 consecutive instants of all of them per
           batch (no two clients write the same device, as in a real installation);
  shared   the same, but every batch holds one instant of all 1,000 devices, so all clients
           write the same device rows and dirty-hour marks at once (the worst case);
  singles  16 concurrent clients post one reading per request for --duration seconds;
  singles+redis  the same against a second API process configured with --redis-url (the
           production setup: key cache and rate counts in Redis), when that flag is given;
  http floor  the same 16 clients against the same uvicorn serving bench/http_floor.py, an app
           that only reads the body and answers: the most one worker answers on this machine
           now. Single readings are printed as a ratio of it (--singles-only: just these).

Every phase starts from empty readings and dirty-hour tables, with validation, auth (cached),
rate limiting, dedupe, dirty-hour marking and last-seen updates all on. Then, in the same run,
the two baselines: raw binary COPY from Python of the rows of the batch phase, in batches of
1,000, one commit per batch, into the product's own ``readings`` table and into a bare table with
nothing but the same (user_id, device_pk, ts) primary key; and the bulk paths the API could use
for its insert, each timed on one connection: the API's own (``insert_readings``: a plain
unnest-array INSERT in a savepoint), the same batches sent again (every reading already stored:
the plain INSERT fails and the unnest-array INSERT ... ON CONFLICT DO NOTHING runs instead), and
COPY into a staging table merged with ON CONFLICT DO NOTHING.

Each row of the table also says where the machine's CPU went per request: the API's processes,
PostgreSQL's, this load generator's and everything else's (the machine may be shared). The load
generator is a minimal keep-alive HTTP/1.1 client on uvloop (--client raw, the default), since
every CPU millisecond it spends is taken from the API and PostgreSQL on the same small machine;
--client aiohttp or httpx measure with a general-purpose client instead.

Both baselines are timed before the HTTP phases (on the rows the batch phase will send) and
after them (on the rows it stored); the ratios use their means. Every phase is printed with its
readings per second as a ratio of each baseline ("vs COPY": the product's table, "vs bare").

--profile runs the request path in this process under cProfile for a few hundred batches and
prints where the time goes.

Before and after a change, on a shared machine: --api-from runs the same phases against the API
of another checkout as well (``git worktree add /tmp/before <commit>``), alternating the two in
each of --rounds rounds, on the same database and against the same baselines, so that both meet
the same load; --batches-only leaves out the single-reading phases. Both checkouts must share the
database schema (the scratch database is migrated by this one). For example:

    python bench/ingest.py --workers 1 --batches-only --rounds 3 --api-from /tmp/before

prints every phase, then the median of each phase and checkout over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

try:  # the lighter load generator: httpx spends more CPU per request than the API itself
    import aiohttp
except ImportError:  # pragma: no cover - aiohttp is in the test extra
    aiohttp = None
import psycopg
import uvloop
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from energy_cli.run import api_argv  # noqa: E402
from energy_core.accounts import create_user, issue_api_key  # noqa: E402
from energy_core.db import make_engine, session_scope  # noqa: E402
from energy_core.ingest import (  # noqa: E402
    decode_json_body,
    parse_readings_columns,
    record_reading_columns,
)
from energy_core.migrate import upgrade_database  # noqa: E402
from energy_core.models import Device, KeyScope  # noqa: E402
from energy_core.settings import Settings  # noqa: E402
from energy_core.sql.ingest import insert_readings  # noqa: E402
from energy_core.types import to_epoch_us  # noqa: E402

DEVICES = 1_000
BATCH = 1_000
BATCH_CLIENTS = 8
SINGLE_CLIENTS = 16


@dataclass
class Phase:
    name: str
    workers: int
    duration_s: float = 0.0
    requests: int = 0
    readings: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)

    def cpu_ms_per_request(self, who: str) -> float:
        return self.cpu_s.get(who, 0.0) / self.requests * 1000 if self.requests else 0.0

    @property
    def readings_per_s(self) -> float:
        return self.readings / self.duration_s if self.duration_s else 0.0

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(q) - 1]


# --- the scratch database ----------------------------------------------------------------------


def create_database(admin_url: str) -> str:
    name = f"energy_bench_ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(url: str) -> tuple[int, str, list[str]]:
    """A user with 1,000 devices and a household ingest key."""
    engine = make_engine(url)
    upgrade_database(engine)
    with session_scope(engine) as s:
        user = create_user(s, email="bench@example.com", password="bench-password-1")
        names = [f"meter-{i:04d}" for i in range(DEVICES)]
        s.add_all([Device(device_id=n, name=n, user_id=user.id) for n in names])
        s.flush()
        key = issue_api_key(s, user_id=user.id, scope=KeyScope.ingest, name="bench").key
        user_id = user.id
    engine.dispose()
    return user_id, key, names


# The second baseline's table: the readings' columns and primary key, nothing else.
BARE_TABLE = "bench_bare_readings"


def create_bare_table(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {BARE_TABLE} (user_id int4 NOT NULL, device_pk int4 NOT NULL, "
            "ts timestamptz NOT NULL, power_w float8 NOT NULL, "
            "PRIMARY KEY (user_id, device_pk, ts))"
        )


def empty_tables(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE readings, dirty_hours, {BARE_TABLE}")
        conn.execute("UPDATE devices SET last_seen_at = NULL")
        conn.execute("VACUUM ANALYZE readings, dirty_hours, devices")


# --- workloads -----------------------------------------------------------------------------------


class Timeline:
    """Distinct instants per device, one second apart, starting two days ago."""

    def __init__(self) -> None:
        self.start = datetime.now(UTC) - timedelta(days=2)

    def iso(self, second: int) -> str:
        return (self.start + timedelta(seconds=second)).isoformat().replace("+00:00", "Z")


def hub_batches(names: list[str], client: int, timeline: Timeline, *, shared: bool):
    """Bodies of 1,000 readings: a hub's 125 devices at 8 instants, or all devices at one."""
    own = names if shared else names[client::BATCH_CLIENTS]
    instants = BATCH // len(own)
    step = 0
    while True:
        readings = []
        for k in range(instants):
            second = (step * instants + k) * (BATCH_CLIENTS if shared else 1) + (
                client if shared else 0
            )
            at = timeline.iso(second)
            readings += [
                {"device_id": n, "timestamp": at, "energy_watts": 100.0 + (i % 500)}
                for i, n in enumerate(own)
            ]
        step += 1
        yield orjson.dumps({"readings": readings})


def single_readings(names: list[str], client: int, timeline: Timeline):
    own = names[client::SINGLE_CLIENTS]
    second = 0
    while True:
        at = timeline.iso(second)
        for i, n in enumerate(own):
            yield b'{"device_id":"%s","timestamp":"%s","energy_watts":%d}' % (
                n.encode(),
                at.encode(),
                100 + i,
            )
        second += 1


def record(phase: Phase, started: float, status: int, body: bytes) -> None:
    phase.latencies_ms.append((time.perf_counter() - started) * 1000)
    if status in (200, 201):
        phase.requests += 1
        phase.readings += orjson.loads(body)["accepted"]
    else:
        phase.errors += 1
        if phase.errors <= 3:
            print(f"  {phase.name}: {status} {body[:200]!r}", file=sys.stderr)


class RawHttpClient(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection that posts a body and awaits the answer, then the next.

    The lightest load generator: on a machine of two cores, the client competes with the API and
    PostgreSQL for the same CPU, and aiohttp spends about as much per single-reading request as
    the API does. It understands exactly what the API sends: a Content-Length body, keep-alive.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:  # noqa: ANN001
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        lines = bytes(self.buffer[:end]).lower().split(b"\r\n")
        length = next(
            int(line.partition(b":")[2]) for line in lines if line.startswith(b"content-length:")
        )
        if len(self.buffer) >= end + 4 + length:
            status = int(lines[0][9:12])
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.waiter.set_result((status, body))

    def connection_lost(self, exc) -> None:  # noqa: ANN001
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("the API closed the connection"))

    async def post(self, request_head: bytes, body: bytes) -> tuple[int, bytes]:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request_head + b"%d\r\n\r\n" % len(body) + body)
        return await self.waiter


async def run_clients(
    url: str, key: str, bodies: list, path: str, phase: Phase, duration: float, client: str
) -> None:
    """One connection per source of bodies, each posting back to back until ``duration``."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    deadline = time.perf_counter() + duration
    started = time.perf_counter()
    if client == "raw":
        host, port = url.removeprefix("http://").split(":")
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        loop = asyncio.get_running_loop()

        async def post_raw(source) -> None:  # noqa: ANN001
            transport, connection = await loop.create_connection(RawHttpClient, host, int(port))
            try:
                while time.perf_counter() < deadline:
                    body, sent = next(source), time.perf_counter()
                    status, answer = await connection.post(head, body)
                    record(phase, sent, status, answer)
            finally:
                transport.close()

        await asyncio.gather(*(post_raw(b) for b in bodies))
    elif client == "aiohttp":
        connector = aiohttp.TCPConnector(limit=len(bodies))
        async with aiohttp.ClientSession(url, headers=headers, connector=connector) as session:

            async def post_aiohttp(source) -> None:  # noqa: ANN001
                while time.perf_counter() < deadline:
                    body, sent = next(source), time.perf_counter()
                    async with session.post(path, data=body) as r:
                        record(phase, sent, r.status, await r.read())

            await asyncio.gather(*(post_aiohttp(b) for b in bodies))
    else:
        limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
        async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as c:

            async def post_httpx(source) -> None:  # noqa: ANN001
                while time.perf_counter() < deadline:
                    body, sent = next(source), time.perf_counter()
                    r = await c.post(path, content=body)
                    record(phase, sent, r.status_code, r.content)

            await asyncio.gather(*(post_httpx(b) for b in bodies))
    phase.duration_s = time.perf_counter() - started


# --- the API server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_pids(root: int) -> list[int]:
    pids, frontier = [root], [root]
    while frontier:
        pid = frontier.pop()
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        pids += [int(c) for c in children]
        frontier += [int(c) for c in children]
    return pids


def peak_rss_mb(pids: list[int]) -> float:
    """Sum of the peak resident set (VmHWM) of the server's processes."""
    total_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


class ApiServer:
    """The API in uvicorn as ``energy-monitor`` starts it; with ``floor``, the same server
    serving bench/http_floor.py instead."""

    def __init__(
        self,
        database_url: str,
        workers: int,
        redis_url: str | None,
        *,
        floor: bool = False,
        root: Path = ROOT,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            # The checkout's own code, whatever the virtualenv has installed.
            "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
            "ENERGY_DATABASE_URL": database_url,
            # Counted (the cost stays in the figures) but never reached.
            "ENERGY_RATE_LIMIT_REQUESTS": str(10**9),
            "ENERGY_LOG_LEVEL": "WARNING",
        }
        env.pop("ENERGY_REDIS_URL", None)
        if redis_url:
            env["ENERGY_REDIS_URL"] = redis_url
        argv = [*api_argv("127.0.0.1", self.port, workers), "--log-level", "warning"]
        if floor:
            app = argv.index("ingest_api.app:create_app")
            argv[app : app + 2] = ["--app-dir", str(ROOT / "bench"), "http_floor:app"]
        self.process = subprocess.Popen(argv, cwd=root, env=env, start_new_session=True)
        self.workers = workers

    def __enter__(self) -> ApiServer:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/ready", timeout=1).status_code == 200:
                    if len(server_pids(self.process.pid)) >= self.workers:
                        return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the API did not become ready")

    def pids(self) -> list[int]:
        return server_pids(self.process.pid)

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def cpu_by_process() -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) used so far by every process: (name, seconds)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / ticks)
    return out


def run_phase(
    server: ApiServer, key: str, name: str, bodies: list, path: str, args: argparse.Namespace
) -> Phase:
    phase = Phase(name, server.workers)
    before = cpu_by_process()
    uvloop.run(run_clients(server.url, key, bodies, path, phase, args.duration, args.client))
    after = cpu_by_process()
    phase.peak_rss_mb = peak_rss_mb(server.pids())
    # Where the machine's CPU went: the API, PostgreSQL, this client, everything else.
    api = set(server.pids())
    for pid, (proc, seconds) in after.items():
        used = seconds - before.get(pid, (proc, 0.0))[1]
        who = (
            "api"
            if pid in api
            else "postgres"
            if proc == "postgres"
            else "client"
            if pid == os.getpid()
            else "other"
        )
        phase.cpu_s[who] = phase.cpu_s.get(who, 0.0) + used
    return phase


# --- baselines -----------------------------------------------------------------------------------


def planned_rows(url: str, user_id: int, names: list[str], *, batches: int) -> list[tuple]:
    """The rows of the first ``batches`` batches the batch phase sends, as COPY would send them."""
    with psycopg.connect(url) as conn:
        pks = dict(conn.execute("SELECT device_id, id FROM devices").fetchall())
    timeline = Timeline()
    sources = [hub_batches(names, c, timeline, shared=False) for c in range(BATCH_CLIENTS)]
    rows = []
    for i in range(batches):
        for r in orjson.loads(next(sources[i % BATCH_CLIENTS]))["readings"]:
            at = datetime.fromisoformat(r["timestamp"])
            rows.append((user_id, pks[r["device_id"]], at, r["energy_watts"]))
    return rows


def stored_rows(url: str) -> list[tuple[int, int, datetime, float]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT user_id, device_pk, ts, power_w FROM readings ORDER BY ts, device_pk"
        ).fetchall()


def time_batches(url: str, rows: list, insert) -> float:  # noqa: ANN001
    """Rows per second of ``insert(conn, chunk)`` over 1,000-row chunks, one commit each."""
    empty_tables(url)
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            insert(conn, rows[i : i + BATCH])
            conn.commit()
        return len(rows) / (time.perf_counter() - started)


def copy_into(table: str):  # noqa: ANN201
    """Raw binary COPY of a chunk into ``table``."""

    def raw_copy(conn: psycopg.Connection, chunk: list) -> None:
        with conn.cursor().copy(
            f"COPY {table} (user_id, device_pk, ts, power_w) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int4", "int4", "timestamptz", "float8"])
            for row in chunk:
                copy.write_row(row)

    return raw_copy


raw_copy = copy_into("readings")
bare_copy = copy_into(BARE_TABLE)


def staged_copy_merge(conn: psycopg.Connection, chunk: list) -> None:
    cur = conn.cursor()
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS readings_stage "
        "(user_id int4, device_pk int4, ts timestamptz, power_w float8) ON COMMIT DELETE ROWS"
    )
    with cur.copy("COPY readings_stage FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["int4", "int4", "timestamptz", "float8"])
        for row in chunk:
            copy.write_row(row)
    cur.execute(
        "INSERT INTO readings SELECT * FROM readings_stage ORDER BY device_pk, ts "
        "ON CONFLICT DO NOTHING"
    )


def unnest_merge(url: str, rows: list) -> tuple[float, float]:
    """The API's insert (insert_readings) on its own, through SQLAlchemy: rows per second of the
    batches, then of the same batches sent again (all duplicates)."""
    empty_tables(url)
    engine = make_engine(url)
    chunks = [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]
    columns = [
        (
            [r[1] for r in chunk],
            [to_epoch_us(r[2]) for r in chunk],
            [r[3] for r in chunk],
        )
        for chunk in chunks
    ]
    rates = []
    for expected in (len, lambda chunk: 0):
        started = time.perf_counter()
        for chunk, (pks, stamps, powers) in zip(chunks, columns, strict=True):
            with engine.begin() as conn:
                stored = insert_readings(
                    conn, user_id=chunk[0][0], device_pks=pks, ts_us=stamps, power_w=powers
                )
            assert stored == expected(chunk), (stored, expected(chunk))
        rates.append(len(rows) / (time.perf_counter() - started))
    engine.dispose()
    return rates[0], rates[1]


# --- profile -------------------------------------------------------------------------------------


def profile(url: str, user_id: int, names: list[str], batches: int = 300) -> None:
    engine = make_engine(url)
    settings = Settings(database_url=url)
    timeline = Timeline()
    sources = [hub_batches(names, c, timeline, shared=False) for c in range(BATCH_CLIENTS)]
    bodies = [next(sources[i % BATCH_CLIENTS]) for i in range(batches)]
    empty_tables(url)
    stages = {"decode": 0.0, "validate": 0.0, "record+commit": 0.0}

    def one(body: bytes) -> None:
        t0 = time.perf_counter()
        payload = decode_json_body(body)
        t1 = time.perf_counter()
        columns = parse_readings_columns(payload, batch=True, max_readings=5_000)
        t2 = time.perf_counter()
        with session_scope(engine) as s:
            record_reading_columns(s, user_id=user_id, columns=columns, settings=settings)
        t3 = time.perf_counter()
        stages["decode"] += t1 - t0
        stages["validate"] += t2 - t1
        stages["record+commit"] += t3 - t2

    profiler = cProfile.Profile()
    profiler.enable()
    for body in bodies:
        one(body)
    profiler.disable()
    print(f"\nper 1,000-reading batch, in process ({batches} batches, under cProfile):")
    for name, total in stages.items():
        print(f"  {name:14s} {total / batches * 1000:7.2f} ms")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    engine.dispose()


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per HTTP phase")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--redis-url",
        default=None,
        help="also run the single-reading phase against an API configured with this Redis",
    )
    parser.add_argument("--skip-shared", action="store_true", help="leave out the shared phase")
    parser.add_argument(
        "--batches-only",
        action="store_true",
        help="only the batch and shared phases (no single readings, no HTTP floor)",
    )
    parser.add_argument(
        "--api-from",
        type=Path,
        default=None,
        help="another checkout whose API runs the batch phases too, alternating with this one",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="times each checkout runs the batch phases"
    )
    parser.add_argument(
        "--singles-only",
        action="store_true",
        help="only the single-reading phases and their HTTP floor (baselines on planned rows)",
    )
    parser.add_argument(
        "--baseline-batches",
        type=int,
        default=300,
        help="1,000-row batches the baselines copy before the HTTP phases",
    )
    parser.add_argument(
        "--client",
        choices=["raw", "aiohttp", "httpx"],
        default="raw",
        help="HTTP client of the load generator (raw: a minimal keep-alive HTTP/1.1 client)",
    )
    parser.add_argument("--profile", action="store_true", help="profile the request path")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    url = create_database(args.admin_url)
    try:
        user_id, key, names = seed(url)
        create_bare_table(url)
        print(
            f"scratch database {make_url(url).database}: 1 user, {DEVICES} devices; "
            f"{os.cpu_count()} CPUs; Redis: {args.redis_url or 'none'}; client: {args.client}; "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        if args.profile:
            profile(url, user_id, names)
            return 0
        # The baselines are measured before and after the HTTP phases (the machine may be
        # shared): first on the rows the batch phase will send, then on the rows it stored.
        planned = planned_rows(url, user_id, names, batches=args.baseline_batches)
        before = {"copy": time_batches(url, planned, raw_copy)}
        before["bare"] = time_batches(url, planned, bare_copy)
        phases: list[Phase] = []
        batch_rows: list = []
        timeline = Timeline()

        def run(server: ApiServer, name: str, shared: bool | None, label: str = "") -> None:
            empty_tables(url)
            if shared is None:
                sources = [single_readings(names, c, timeline) for c in range(SINGLE_CLIENTS)]
                path = "/api/v1/telemetry"
            else:
                sources = [
                    hub_batches(names, c, timeline, shared=shared) for c in range(BATCH_CLIENTS)
                ]
                path = "/api/v1/telemetry/batch"
            phases.append(run_phase(server, key, label or name, sources, path, args))

        trees = [("", ROOT)]
        if args.api_from:
            trees.append((f"@{args.api_from.name}", args.api_from.resolve()))
        for workers in args.workers:
            for _ in range(args.rounds if not args.singles_only else 0):
                for label, root in trees:
                    with ApiServer(url, workers, None, root=root) as server:
                        run(server, "batches", False, "batches" + label)
                        if not batch_rows:
                            batch_rows = stored_rows(url)
                        if not args.skip_shared:
                            run(server, "shared", True, "shared" + label)
            if args.batches_only:
                continue
            with ApiServer(url, workers, None) as server:
                run(server, "singles", None)
            if args.redis_url:
                with ApiServer(url, workers, args.redis_url) as server:
                    run(server, "singles", None, "singles+redis")
            # The same server with an app that does no work: the most it could answer here now.
            with ApiServer(url, workers, None, floor=True) as server:
                run(server, "singles", None, "http floor")
        # The same rows the first batch phase stored, on the same tables and primary key.
        batch_rows = batch_rows or planned
        after = {"copy": time_batches(url, batch_rows, raw_copy)}
        after["bare"] = time_batches(url, batch_rows, bare_copy)
        baseline = {k: (before[k] + after[k]) / 2 for k in before}
        staged = time_batches(url, batch_rows, staged_copy_merge)
        unnest, unnest_again = unnest_merge(url, batch_rows)

        print()
        width = max(13, *(len(p.name) for p in phases))
        print(
            f"{'phase':{width}s} {'workers':>7s} {'readings/s':>11s} {'requests/s':>10s} "
            f"{'p50 ms':>7s} {'p99 ms':>7s} {'errors':>6s} {'RSS MB':>6s} {'vs COPY':>7s} "
            f"{'vs bare':>7s} | CPU ms/request: {'api':>6s} {'pg':>6s} {'client':>6s} "
            f"{'other':>6s}"
        )
        for p in phases:
            print(
                f"{p.name:{width}s} {p.workers:7d} {p.readings_per_s:11,.0f} "
                f"{p.requests_per_s:10,.0f} "
                f"{p.percentile(50):7.1f} {p.percentile(99):7.1f} {p.errors:6d} "
                f"{p.peak_rss_mb:6.0f} {p.readings_per_s / baseline['copy']:7.2f} "
                f"{p.readings_per_s / baseline['bare']:7.2f}"
                f" | {'':15s} {p.cpu_ms_per_request('api'):6.2f} "
                f"{p.cpu_ms_per_request('postgres'):6.2f} {p.cpu_ms_per_request('client'):6.2f} "
                f"{p.cpu_ms_per_request('other'):6.2f}"
            )
        if args.rounds > 1 or args.api_from:
            print(f"\nmedian over {args.rounds} round(s), readings/s and vs bare:")
            for workers in args.workers:
                for name in dict.fromkeys(p.name for p in phases if p.workers == workers):
                    rates = [
                        p.readings_per_s for p in phases if (p.name, p.workers) == (name, workers)
                    ]
                    rate = statistics.median(rates)
                    print(
                        f"  {name:{width}s} {workers} worker(s): {rate:11,.0f}  "
                        f"{rate / baseline['bare']:.2f}x  (rounds: "
                        + ", ".join(f"{r:,.0f}" for r in rates)
                        + ")"
                    )
        floors = {p.workers: p for p in phases if p.name == "http floor"}
        print()
        print(
            "single readings vs the HTTP floor (the same uvicorn serving an app that only reads "
            "the body and answers, same clients, same run):"
        )
        for p in phases:
            if p.name.startswith("singles") and floors.get(p.workers):
                floor = floors[p.workers]
                ratio = p.requests_per_s / floor.requests_per_s
                print(
                    f"  {p.name:13s} {p.workers} worker(s): {p.requests_per_s:7,.0f} vs "
                    f"{floor.requests_per_s:7,.0f} req/s = {ratio:.2f}x"
                    f"; API CPU {p.cpu_ms_per_request('api'):.3f} vs "
                    f"{floor.cpu_ms_per_request('api'):.3f} ms/request"
                )
        print()
        print("baselines: raw binary COPY, 1,000 rows a commit, 1 connection:")
        for name, what in (("copy", "into readings"), ("bare", f"into {BARE_TABLE} (PK only)")):
            print(
                f"  {what:34s} {baseline[name]:10,.0f} rows/s (before the HTTP phases "
                f"{before[name]:,.0f}, after {after[name]:,.0f})"
            )
        # Little's law: clients that each wait for their answer before sending again see a mean
        # latency of clients / throughput, whatever the server does with its time.
        floor_ms = BATCH_CLIENTS * BATCH / baseline["bare"] * 1000
        print(
            f"latency floor: {BATCH_CLIENTS} clients waiting on {BATCH:,}-reading batches at the "
            f"bare baseline's rate would see {floor_ms:.0f} ms per batch on average (Little's law)"
        )
        print("insert paths on 1 connection (same rows), vs bare:")
        print(
            f"  unnest arrays (the API's)      {unnest:10,.0f} rows/s  "
            f"{unnest / baseline['bare']:.2f}x"
        )
        print(
            f"  the same batches sent again    {unnest_again:10,.0f} rows/s  "
            f"{unnest_again / baseline['bare']:.2f}x  (all stored: ON CONFLICT DO NOTHING)"
        )
        print(
            f"  COPY to staging + merge        {staged:10,.0f} rows/s  "
            f"{staged / baseline['bare']:.2f}x  (ON CONFLICT DO NOTHING)"
        )
        print(
            f"rows compared: {len(batch_rows):,}; load average at the end "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
    finally:
        if not args.keep:
            drop_database(args.admin_url, url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
