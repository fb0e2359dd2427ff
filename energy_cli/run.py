"""The commands that run processes: ``up`` (everything, with a demo household), ``api``,
``scheduler``, ``app`` and ``simulate``.

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
from pathlib import Path

from energy_cli.console import CliError, command, progress_printer, upgrade
from energy_core.settings import get_settings

log = logging.getLogger("energy_monitor")


def app_file() -> Path:
    """The app's entry file, shipped inside the webapp package with its pages and its Streamlit
    settings (``.streamlit/config.toml`` beside it, which Streamlit reads whatever the working
    directory)."""
    import webapp

    return Path(webapp.__file__).resolve().parent / "streamlit_app.py"


# The servers run as modules of the installed packages; -P keeps the working directory off
# sys.path, so that a folder holding its own scheduler.py (say) cannot stand in for ours.
def module_argv(module: str, *args: str) -> list[str]:
    return [sys.executable, "-P", "-m", module, *args]


def streamlit_argv(host: str, port: int) -> list[str]:
    return module_argv(
        "streamlit",
        "run",
        str(app_file()),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    )


def api_argv(host: str, port: int, workers: int = 1) -> list[str]:
    """The command that runs the ingest API (also what bench/ingest.py measures)."""
    return module_argv(
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
        # The app believes X-Forwarded-* only from ENERGY_TRUSTED_PROXIES (uvicorn's default
        # would trust 127.0.0.1, where every local process could then claim any address).
        "--no-proxy-headers",
    )


def simulator_key(email: str) -> str:
    """A fresh household ingest key for the simulator; earlier simulator keys are revoked."""
    from energy_core.accounts import issue_replacement_key, require_user
    from energy_core.db import session_scope
    from energy_core.demo import DEMO_KEY_NAME

    with session_scope() as session:
        user = require_user(session, email=email)
        return issue_replacement_key(session, user_id=user.id, name=DEMO_KEY_NAME).key


def simulator_devices(email: str) -> list[str]:
    from energy_core.accounts import list_devices, require_user
    from energy_core.db import session_scope

    with session_scope(read_only=True) as session:
        user = require_user(session, email=email)
        return [d.device_id for d in list_devices(session, user_id=user.id, active_only=True)]


def cmd_simulate(args: argparse.Namespace) -> int:
    from energy_cli.simulator import run_simulator

    key = args.key or os.environ.get("ENERGY_SIMULATOR_KEY")
    if not key:
        upgrade()
        key = simulator_key(args.user)
    devices = args.device or simulator_devices(args.user)
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
    os.execv(sys.executable, module_argv("scheduler"))
    return 0  # not reached


def cmd_mqtt(args: argparse.Namespace) -> int:
    os.execv(sys.executable, module_argv("mqtt_bridge", *args.bridge_args))
    return 0  # not reached


def cmd_app(args: argparse.Namespace) -> int:
    upgrade()  # the app applies migrations on start, like `up`
    settings = get_settings()
    argv = streamlit_argv(args.host or settings.app_host, args.port or settings.app_port)
    os.execv(sys.executable, argv)
    return 0  # not reached


def wait_http(url: str, *, timeout_s: float, proc: subprocess.Popen) -> None:
    import httpx  # here, not at the top: every command (``ask`` too) would pay for it

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
    upgrade()
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
                    session, days=args.demo_days, progress=progress_printer("Demo history")
                )
            demo_key = result.api_key
            print(f"Seeded {result.readings:,} readings for {len(result.device_ids)} devices.")
        else:
            print("Database has users already: not seeding the demo household.")

    children: dict[str, subprocess.Popen] = {}
    stop = threading.Event()

    def shutdown(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    simulator_thread = None
    api_url = f"http://{host}:{api_port}"
    if not settings.public_api_url:
        # The app's "Send data" samples name the API this command actually started.
        reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        os.environ["ENERGY_PUBLIC_API_URL"] = f"http://{reachable}:{api_port}"
    try:
        children["ingest API"] = subprocess.Popen(api_argv(host, api_port))
        children["scheduler"] = subprocess.Popen(module_argv("scheduler"))
        children["app"] = subprocess.Popen(streamlit_argv(host, app_port))
        app_url = f"http://{host}:{app_port}"
        wait_http(f"{api_url}/health", timeout_s=60, proc=children["ingest API"])
        wait_http(f"{app_url}/_stcore/health", timeout_s=120, proc=children["app"])

        if not args.no_simulator and not args.no_demo:
            from energy_cli.simulator import run_simulator
            from energy_core.demo import DEMO_EMAIL

            key = demo_key or simulator_key(DEMO_EMAIL)
            devices = simulator_devices(DEMO_EMAIL)
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
        docs = f"  (docs: {api_url}/docs)" if settings.api_docs else ""
        print(f"  Ingest API: {api_url}{docs}")
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
        stop_children(children)
        if simulator_thread is not None:
            simulator_thread.join(timeout=5)
    print("Stopped.")
    return 0


def stop_children(children: dict[str, subprocess.Popen]) -> None:
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


def add_commands(sub: argparse._SubParsersAction) -> None:
    up = command(sub, "up", cmd_up, help="run everything locally with a demo household")
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

    api = command(sub, "api", cmd_api, help="run the ingest API (uvicorn)")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.add_argument("--workers", type=int, default=1)

    command(sub, "scheduler", cmd_scheduler, help="run the aggregation scheduler")

    mqtt = command(
        sub,
        "mqtt",
        cmd_mqtt,
        help="run the MQTT bridge (Shelly, Tasmota, Home Assistant statestream)",
        description="Subscribe to Shelly, Tasmota and Home Assistant topics and store their "
        "power. Arguments: --user E [--host H] [--port P] [--username U] [--password P] "
        "[--mapping FILE.toml] [--timezone TZ] [--client-id ID].",
        prefix_chars="+",  # every option belongs to the bridge's own parser
    )
    mqtt.add_argument("bridge_args", nargs=argparse.REMAINDER, help="the bridge's arguments")

    app = command(sub, "app", cmd_app, help="run the Streamlit app")
    app.add_argument("--host")
    app.add_argument("--port", type=int)

    simulate = command(
        sub, "simulate", cmd_simulate, help="post live readings for a household over HTTP"
    )
    simulate.add_argument("--api-url", default="http://127.0.0.1:8000", help="ingest API base URL")
    simulate.add_argument("--user", default="demo@example.com", help="whose devices to simulate")
    simulate.add_argument("--key", help="ingest key (default: issue one for --user)")
    simulate.add_argument(
        "--device", action="append", help="device id to simulate (repeatable; default: all)"
    )
    simulate.add_argument("--interval", type=float, default=10.0, help="seconds between readings")
