"""``energy-monitor``: the command line. A shell like the API and the app: it parses arguments,
calls energy_core and prints. Other tools script against these commands, so keep them stable.

The API, scheduler and Streamlit commands replace this process with the real server (``exec``),
so signals reach the server directly and energy_core never imports a web or UI framework.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx

from energy_core.settings import get_settings

log = logging.getLogger("energy_monitor")

SOURCE_ROOT = Path(__file__).resolve().parent.parent


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


# --- helpers for the commands ------------------------------------------------------------------


def _configure(args: argparse.Namespace) -> None:
    """Apply global options as settings (children inherit them through the environment)."""
    if getattr(args, "database_url", None):
        os.environ["ENERGY_DATABASE_URL"] = args.database_url
    get_settings.cache_clear()
    from energy_core import db

    db.get_engine.cache_clear()


def _engine():  # noqa: ANN202
    from energy_core.db import get_engine

    return get_engine()


def _upgrade() -> None:
    from energy_core.migrate import upgrade_database

    upgrade_database(_engine())


def _app_file() -> Path:
    for root in (Path.cwd(), SOURCE_ROOT):
        if (root / "streamlit_app.py").is_file() and (root / "pages").is_dir():
            return root / "streamlit_app.py"
    raise CliError(
        "streamlit_app.py not found: run this from the project checkout (or install it with "
        "`pip install -e .`)."
    )


def _streamlit_argv(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(_app_file()),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]


def api_argv(host: str, port: int, workers: int = 1) -> list[str]:
    """The command that runs the ingest API (also what bench/ingest.py measures)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "ingest_api.app:create_app",
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
    ]


def _progress_printer(label: str):  # noqa: ANN202
    state = {"last": 0.0}

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - state["last"] < 0.5:
            return
        state["last"] = now
        width = 30
        filled = int(width * done / total) if total else width
        sys.stdout.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
        if done >= total:
            sys.stdout.write("\n")
        sys.stdout.flush()

    return progress


# --- commands ----------------------------------------------------------------------------------


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    _upgrade()
    print("Database schema is up to date.")
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    from energy_core.accounts import create_user
    from energy_core.db import session_scope
    from energy_core.models import Role

    _upgrade()
    with session_scope() as session:
        user = create_user(
            session,
            email=args.email,
            password=args.password,
            full_name=args.name or "",
            role=Role.admin if args.admin else Role.member,
            timezone=args.timezone or get_settings().default_timezone,
        )
    print(f"Created {user.role} {user.email} (id {user.id}).")
    return 0


def cmd_devices_add(args: argparse.Namespace) -> int:
    from energy_core.accounts import create_device, issue_api_key, require_user
    from energy_core.db import session_scope
    from energy_core.models import DeviceCreate, KeyScope

    _upgrade()
    with session_scope() as session:
        user = require_user(session, email=args.user)
        device = create_device(
            session,
            user_id=user.id,
            data=DeviceCreate(
                device_id=args.device_id,
                name=args.name,
                type=args.type,
                location=args.location,
                bidirectional=args.bidirectional,
            ),
        )
        issued = issue_api_key(
            session,
            user_id=user.id,
            scope=KeyScope.ingest,
            device_id=device.device_id,
            name=f"{device.device_id} ingest",
        )
    print(f"Created device {device.device_id!r} ({device.name}) for {user.email}.")
    print("Its ingest key (shown once, store it now):")
    print(issued.key)
    return 0


def cmd_keys_add(args: argparse.Namespace) -> int:
    from energy_core.accounts import issue_api_key, require_user
    from energy_core.db import session_scope
    from energy_core.models import KeyScope

    _upgrade()
    with session_scope() as session:
        user = require_user(session, email=args.user)
        issued = issue_api_key(
            session,
            user_id=user.id,
            scope=KeyScope(args.scope),
            device_id=args.device_id,
            name=args.name or f"{args.scope} key",
        )
    target = f"device {args.device_id!r}" if args.device_id else "all devices"
    print(f"Issued a {args.scope} key for {user.email} ({target}); shown once, store it now:")
    print(issued.key)
    return 0


def cmd_demo_seed(args: argparse.Namespace) -> int:
    from energy_core.db import session_scope
    from energy_core.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo_household

    _upgrade()
    with session_scope() as session:
        result = seed_demo_household(
            session, days=args.days, progress=_progress_printer("Demo history")
        )
    if result.created:
        print(f"Seeded the demo household: {result.readings:,} readings.")
    else:
        print("The demo household already exists; nothing to do.")
    print(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Ask the chat analyst; the same engine selection as the Chat page, history included."""
    import json

    from energy_core.accounts import require_user
    from energy_core.chat import load_history, record_exchange, stream_answer
    from energy_core.db import session_scope

    _upgrade()
    with session_scope(read_only=True) as session:
        user = require_user(session, email=args.user)
        history = [
            {"role": m.role, "content": m.content}
            for m in load_history(session, user_id=user.id, limit=20)
        ]
        stream = stream_answer(session, user_id=user.id, question=args.question, history=history)
        for chunk in stream:
            if not args.json:
                sys.stdout.write(chunk)
                sys.stdout.flush()
        answer = stream.result()
    if not args.no_history:
        with session_scope() as session:
            record_exchange(session, user_id=user.id, question=args.question, answer=answer)
    if args.json:
        print(json.dumps({**answer.to_dict(), "figures": answer.figures()}, indent=2, default=str))
    else:
        print()
        print(f"({answer.engine} engine, {len(answer.tool_calls)} tool calls)", file=sys.stderr)
    return 0


def _parse_since(value: str) -> datetime:
    """A date or ISO 8601 instant; without an offset it is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date: use YYYY-MM-DD or an ISO 8601 time such as "
            "2026-03-01T06:00:00+01:00"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cmd_aggregate(args: argparse.Namespace) -> int:
    from sqlmodel import col, select

    from energy_core.db import session_scope
    from energy_core.models import Device
    from energy_core.rollup import mark_for_rebuild, rollup_dirty_hours

    if (args.since or args.device) and not args.rebuild:
        raise CliError("--since and --device choose what --rebuild recomputes; add --rebuild.")
    _upgrade()
    if args.rebuild:
        with session_scope() as session:
            device_pks = None
            if args.device:
                # Device ids are unique per user: an id rebuilds that device of every user.
                found = session.exec(
                    select(Device.id, Device.device_id).where(
                        col(Device.device_id).in_(args.device)
                    )
                ).all()
                missing = sorted(set(args.device) - {device_id for _, device_id in found})
                if missing:
                    raise CliError(f"No device with id {missing[0]!r}.")
                device_pks = [pk for pk, _ in found]
            marked = mark_for_rebuild(session, since=args.since, device_pks=device_pks)
        scope = f"{len(device_pks)} device(s)" if device_pks is not None else "all devices"
        since = f" since {args.since.isoformat()}" if args.since else ""
        print(f"Marked {marked:,} device-hours of {scope}{since} for recomputation.")
    run = rollup_dirty_hours(_engine(), progress=_progress_printer("Aggregating hours"))
    if run.skipped:
        print(
            "Another scheduler is aggregating right now; the hours stay marked and it will "
            "recompute them."
        )
        return 1
    print(f"Recomputed {run.hours:,} device-hours in {run.duration_s:.2f} s.")
    if run.remaining:
        print(f"{run.remaining:,} device-hours became dirty meanwhile; the scheduler will do them.")
    return 0


def _simulator_key(email: str) -> str:
    """A fresh household ingest key for the simulator; earlier simulator keys are revoked."""
    from energy_core.accounts import issue_replacement_key, require_user
    from energy_core.db import session_scope
    from energy_core.demo import DEMO_KEY_NAME

    with session_scope() as session:
        user = require_user(session, email=email)
        return issue_replacement_key(session, user_id=user.id, name=DEMO_KEY_NAME).key


def _simulator_devices(email: str) -> list[str]:
    from energy_core.accounts import list_devices, require_user
    from energy_core.db import session_scope

    with session_scope(read_only=True) as session:
        user = require_user(session, email=email)
        return [d.device_id for d in list_devices(session, user_id=user.id, active_only=True)]


def cmd_simulate(args: argparse.Namespace) -> int:
    from energy_core.simulator import run_simulator

    key = args.key or os.environ.get("ENERGY_SIMULATOR_KEY")
    if not key:
        _upgrade()
        key = _simulator_key(args.user)
    devices = args.device or _simulator_devices(args.user)
    if not devices:
        raise CliError(f"{args.user} has no active devices to simulate.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(
        f"Simulating {len(devices)} devices → {args.api_url} every {args.interval:g} s "
        "(Ctrl-C stops)."
    )
    try:
        run_simulator(
            api_url=args.api_url,
            api_key=key,
            devices=devices,
            interval_s=args.interval,
            stop_event=stop,
        )
    except KeyboardInterrupt:
        stop.set()
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    settings = get_settings()
    argv = api_argv(args.host or settings.api_host, args.port or settings.api_port, args.workers)
    os.execv(sys.executable, argv)
    return 0  # not reached


def cmd_scheduler(args: argparse.Namespace) -> int:
    os.execv(sys.executable, [sys.executable, "-m", "scheduler"])
    return 0  # not reached


def cmd_app(args: argparse.Namespace) -> int:
    _upgrade()  # the app applies migrations on start, like `up`
    settings = get_settings()
    argv = _streamlit_argv(args.host or settings.app_host, args.port or settings.app_port)
    os.chdir(_app_file().parent)  # Streamlit reads .streamlit/config.toml from its working dir
    os.execv(sys.executable, argv)
    return 0  # not reached


def _wait_http(url: str, *, timeout_s: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CliError(f"{url} did not come up: its process exited with {proc.returncode}.")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise CliError(f"{url} did not answer within {timeout_s:.0f} s.")


def cmd_up(args: argparse.Namespace) -> int:
    """Everything on one machine: migrate, seed the demo, run API + scheduler + app + simulator."""
    from energy_core.db import session_scope

    settings = get_settings()
    os.environ["ENERGY_DEMO_MODE"] = "true"
    os.environ["ENERGY_DATABASE_URL"] = settings.database_url
    api_port = args.api_port or settings.api_port
    app_port = args.app_port or settings.app_port
    host = args.host or settings.api_host

    print(f"Database: {settings.database_url}")
    _upgrade()
    demo_key = None
    if not args.no_demo:
        from energy_core.accounts import count_users
        from energy_core.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo_household

        with session_scope(read_only=True) as session:
            empty = count_users(session) == 0
        if empty:
            print(
                f"Empty database: seeding a demo household with {args.demo_days} days of history."
            )
            with session_scope() as session:
                result = seed_demo_household(
                    session, days=args.demo_days, progress=_progress_printer("Demo history")
                )
            demo_key = result.api_key
            print(f"Seeded {result.readings:,} readings for {len(result.device_ids)} devices.")
        else:
            print("Database has users already: not seeding the demo household.")

    app_root = _app_file().parent
    children: dict[str, subprocess.Popen] = {}
    stop = threading.Event()

    def shutdown(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    simulator_thread = None
    try:
        children["ingest API"] = subprocess.Popen(api_argv(host, api_port))
        children["scheduler"] = subprocess.Popen([sys.executable, "-m", "scheduler"])
        children["app"] = subprocess.Popen(_streamlit_argv(host, app_port), cwd=app_root)
        api_url = f"http://{host}:{api_port}"
        app_url = f"http://{host}:{app_port}"
        _wait_http(f"{api_url}/health", timeout_s=60, proc=children["ingest API"])
        _wait_http(f"{app_url}/_stcore/health", timeout_s=120, proc=children["app"])

        if not args.no_simulator and not args.no_demo:
            from energy_core.demo import DEMO_EMAIL
            from energy_core.simulator import run_simulator

            key = demo_key or _simulator_key(DEMO_EMAIL)
            devices = _simulator_devices(DEMO_EMAIL)
            simulator_thread = threading.Thread(
                target=run_simulator,
                kwargs={
                    "api_url": api_url,
                    "api_key": key,
                    "devices": devices,
                    "interval_s": args.simulator_interval,
                    "stop_event": stop,
                },
                name="simulator",
                daemon=True,
            )
            simulator_thread.start()

        print()
        print(f"  Dashboard:  {app_url}")
        print(f"  Ingest API: {api_url}  (docs: {api_url}/docs)")
        if not args.no_demo:
            print(f"  Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
        print("  Press Ctrl-C to stop.")
        print(flush=True)
        while not stop.wait(0.5):
            for name, proc in children.items():
                if proc.poll() is not None:
                    raise CliError(f"The {name} exited unexpectedly (code {proc.returncode}).")
    finally:
        stop.set()
        _stop_children(children)
        if simulator_thread is not None:
            simulator_thread.join(timeout=5)
    print("Stopped.")
    return 0


def _stop_children(children: dict[str, subprocess.Popen]) -> None:
    for proc in children.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 10
    for name, proc in children.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in time; killing it", name)
            proc.kill()
            proc.wait()


# --- the parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="energy-monitor",
        description="Home energy monitor: ingest API, aggregation scheduler and analyst app.",
    )
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy/PostgreSQL URL (default: ENERGY_DATABASE_URL or sqlite:///./data/energy.db)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="run everything locally with a demo household")
    up.add_argument("--host", help="interface for the API and app (default 127.0.0.1)")
    up.add_argument("--api-port", type=int, help="ingest API port (default 8000)")
    up.add_argument("--app-port", type=int, help="Streamlit port (default 8501)")
    up.add_argument("--demo-days", type=int, default=30, help="days of demo history (default 30)")
    up.add_argument(
        "--no-demo", action="store_true", help="do not seed or simulate a demo household"
    )
    up.add_argument("--no-simulator", action="store_true", help="seed, but post no live readings")
    up.add_argument(
        "--simulator-interval", type=float, default=10.0, help="seconds between live readings"
    )
    up.set_defaults(func=cmd_up)

    api = sub.add_parser("api", help="run the ingest API (uvicorn)")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.add_argument("--workers", type=int, default=1)
    api.set_defaults(func=cmd_api)

    sched = sub.add_parser("scheduler", help="run the aggregation scheduler")
    sched.set_defaults(func=cmd_scheduler)

    app = sub.add_parser("app", help="run the Streamlit app")
    app.add_argument("--host")
    app.add_argument("--port", type=int)
    app.set_defaults(func=cmd_app)

    simulate = sub.add_parser("simulate", help="post live readings for a household over HTTP")
    simulate.add_argument("--api-url", default="http://127.0.0.1:8000", help="ingest API base URL")
    simulate.add_argument("--user", default="demo@example.com", help="whose devices to simulate")
    simulate.add_argument("--key", help="ingest key (default: issue one for --user)")
    simulate.add_argument(
        "--device", action="append", help="device id to simulate (repeatable; default: all)"
    )
    simulate.add_argument("--interval", type=float, default=10.0, help="seconds between readings")
    simulate.set_defaults(func=cmd_simulate)

    aggregate = sub.add_parser(
        "aggregate",
        help="recompute dirty hourly aggregates now, or rebuild them",
        description="Recompute the hourly aggregates that new readings made dirty. With "
        "--rebuild, first mark every hour of the chosen readings (default: all) for "
        "recomputation; hours whose raw readings retention may have pruned are kept as stored.",
    )
    aggregate.add_argument(
        "--rebuild", action="store_true", help="recompute hours even if they are not dirty"
    )
    aggregate.add_argument(
        "--since",
        type=_parse_since,
        metavar="DATE",
        help="with --rebuild: only hours from this date or ISO 8601 time on (UTC unless given)",
    )
    aggregate.add_argument(
        "--device",
        action="append",
        metavar="ID",
        help="with --rebuild: only this device id (repeatable)",
    )
    aggregate.set_defaults(func=cmd_aggregate)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    demo = sub.add_parser("demo", help="the demo household")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True, metavar="COMMAND")
    seed = demo_sub.add_parser("seed", help="create the demo household if it does not exist")
    seed.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    seed.set_defaults(func=cmd_demo_seed)

    users = sub.add_parser("users", help="manage users")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    users_add = users_sub.add_parser("add", help="create a user")
    users_add.add_argument("--email", required=True)
    users_add.add_argument("--password", required=True, help="at least 8 characters")
    users_add.add_argument("--name", help="full name")
    users_add.add_argument("--timezone", help="IANA timezone, e.g. Europe/Berlin")
    users_add.add_argument("--admin", action="store_true", help="make the user an admin")
    users_add.set_defaults(func=cmd_users_add)

    devices = sub.add_parser("devices", help="manage devices")
    devices_sub = devices.add_subparsers(dest="devices_command", required=True, metavar="COMMAND")
    devices_add = devices_sub.add_parser(
        "add", help="register a device and print its ingest key once"
    )
    devices_add.add_argument("--user", required=True, help="owner's email")
    devices_add.add_argument("--device-id", required=True, help="the id the device sends")
    devices_add.add_argument("--name", required=True)
    devices_add.add_argument("--type", default="other")
    devices_add.add_argument("--location", default="", help="room or place")
    devices_add.add_argument(
        "--bidirectional", action="store_true", help="may report negative watts (solar, battery)"
    )
    devices_add.set_defaults(func=cmd_devices_add)

    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    keys_add = keys_sub.add_parser("add", help="issue a household-wide key and print it once")
    keys_add.add_argument("--user", required=True, help="owner's email")
    keys_add.add_argument("--scope", required=True, choices=["ingest", "read"])
    keys_add.add_argument("--device-id", help="limit an ingest key to one device")
    keys_add.add_argument("--name", help="a label for the key")
    keys_add.set_defaults(func=cmd_keys_add)

    ask = sub.add_parser("ask", help="ask the chat analyst a question about a user's data")
    ask.add_argument("--user", required=True, help="whose data (email)")
    ask.add_argument("question", help='e.g. "How much did the fridge use last week?"')
    ask.add_argument(
        "--json", action="store_true", help="print the answer, tool calls and results as JSON"
    )
    ask.add_argument(
        "--no-history", action="store_true", help="do not store the exchange in the chat history"
    )
    ask.set_defaults(func=cmd_ask)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure(args)
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request and Alembic every plugin at INFO: noise in a terminal.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from energy_core.accounts import ConflictError, NotFoundError
    from energy_core.security import WeakPasswordError

    try:
        return args.func(args)
    except (CliError, ConflictError, NotFoundError, WeakPasswordError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
