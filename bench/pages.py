"""Server-side render time of every page of the analyst app on a big household.

PostgreSQL, 20 devices x 1 year of one-minute readings (about 10.5 M rows, loaded with COPY and
rolled up with the product's own rollup), then each page is rendered through AppTest as a signed-in
admin: cold (Streamlit's data caches cleared first) and warm (the same run again). The baseline is
an AppTest run of a one-line script in the same process, i.e. what AppTest itself costs.

    python bench/pages.py                   # load once (kept for later runs), then time
    python bench/pages.py --reload          # drop and load the data again

Targets: every page under 1.5 s cold and 300 ms warm, and a History filter change under 300 ms.
Not a test; never fails on time.
"""

from __future__ import annotations

import io
import logging
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import text  # noqa: E402

from bench.databases import bench_parser, open_bench_database  # noqa: E402

log = logging.getLogger("bench.pages")

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/energy_bench_pages"
EMAIL = "bench@example.com"
PASSWORD = "bench-password-1"
TARGET_COLD_S = 1.5
TARGET_WARM_S = 0.3


# --- the data ----------------------------------------------------------------------------------


def bench_devices(count: int):  # noqa: ANN201 - list of DemoDevice
    from energy_core.demo import DEMO_DEVICES, DemoDevice

    out = []
    for i in range(count):
        base = DEMO_DEVICES[i % len(DEMO_DEVICES)]
        n = i // len(DEMO_DEVICES) + 1
        out.append(
            DemoDevice(
                device_id=f"{base.device_id}-{n}",
                name=f"{base.name} {n}",
                type=base.type,
                location=base.location,
                bidirectional=base.bidirectional,
            )
        )
    return out


def load(engine, *, devices: int, days: int, now: datetime) -> None:  # noqa: ANN001
    """Create the household and COPY its readings, then mark every hour and roll them up."""
    from energy_core.accounts import create_device, create_user
    from energy_core.db import session_scope
    from energy_core.demo import iter_demo_readings
    from energy_core.models import Role
    from energy_core.rollup import mark_for_rebuild, rollup_dirty_hours

    specs = bench_devices(devices)
    with session_scope(engine) as session:
        user = create_user(
            session,
            email=EMAIL,
            password=PASSWORD,
            full_name="Bench Admin",
            role=Role.admin,
            timezone="Europe/London",
            price_per_kwh=0.28,
            currency="GBP",
        )
        pks = {
            spec.device_id: create_device(session, user_id=user.id, data=spec.to_create()).id
            for spec in specs
        }
        user_id = user.id

    started = time.perf_counter()
    rows = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        with cursor.copy("COPY readings (user_id, device_pk, ts, power_w) FROM STDIN") as copy:
            buffer = io.StringIO()
            for reading in iter_demo_readings(end_at=now, days=days, step_s=60, devices=specs):
                buffer.write(
                    f"{user_id}\t{pks[reading.device_id]}\t{reading.ts.isoformat()}\t"
                    f"{reading.power_w}\n"
                )
                rows += 1
                if rows % 200_000 == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
                    log.info("copied %s readings", f"{rows:,}")
            copy.write(buffer.getvalue())
        raw.driver_connection.commit()
    finally:
        raw.close()
    log.info("COPY of %s readings took %.0f s", f"{rows:,}", time.perf_counter() - started)

    started = time.perf_counter()
    with session_scope(engine) as session:
        marked = mark_for_rebuild(session, now=now)
    run = rollup_dirty_hours(engine)
    log.info(
        "rolled up %s marked hours (%s computed) in %.0f s",
        f"{marked:,}",
        f"{run.hours:,}",
        time.perf_counter() - started,
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def loaded(engine) -> bool:  # noqa: ANN001
    with engine.connect() as conn:
        has_user = conn.execute(
            text("SELECT 1 FROM users WHERE email = :email"), {"email": EMAIL}
        ).first()
        return bool(has_user) and bool(
            conn.execute(text("SELECT 1 FROM hourly_aggregates LIMIT 1")).first()
        )


# --- the pages ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3, help="cold/warm pairs per page")
    parser.add_argument("--load-only", action="store_true")
    args = parser.parse_args(argv)
    os.chdir(REPO)
    engine = open_bench_database(args.database_url or DEFAULT_URL, reload=args.reload)
    if not loaded(engine):
        load(engine, devices=args.devices, days=args.days, now=datetime.now(UTC))
    if args.load_only:
        return 0
    return time_pages(runs=args.runs)


# (label, page, widget key -> value set before timing, query parameters)
PAGES = [
    ("Live", "pages/live.py", {}, {}),
    ("History (last 7 days)", "pages/history.py", {}, {}),
    ("History (this year)", "pages/history.py", {"history_range": "this_year"}, {}),
    ("Device (7 days)", "pages/device.py", {}, {"device": "heat-pump-1"}),
    ("Device (30 days)", "pages/device.py", {"device_window": "30d"}, {"device": "heat-pump-1"}),
    ("Devices", "pages/devices.py", {}, {}),
    ("Account", "pages/account.py", {}, {}),
    ("Users (admin)", "pages/admin_users.py", {}, {}),
    ("System status (admin)", "pages/admin_status.py", {}, {}),
]


def _leave_legacy_pages_mode() -> None:
    """As a running server does after its first run (tests/conftest.py explains why)."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs) -> None:  # noqa: ANN001
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init


def _keep_compiled_scripts() -> None:
    """As a running server does: one script cache for every run. AppTest compiles the app and
    its page again on each run (a new cache per run), which a server does once per file."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared


def _timed(run) -> float:  # noqa: ANN001
    started = time.perf_counter()
    at = run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise SystemExit(f"the page raised: {at.exception[0].value}")
    return elapsed


def time_pages(*, runs: int) -> int:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    _leave_legacy_pages_mode()
    _keep_compiled_scripts()
    app = str(REPO / "webapp" / "streamlit_app.py")
    baseline = AppTest.from_string("import streamlit as st\nst.write('baseline')")
    baseline_s = statistics.median(_timed(baseline.run) for _ in range(max(runs, 5)))

    at = AppTest.from_file(app, default_timeout=60).run()
    next(box for box in at.text_input if box.label == "Email").input(EMAIL)
    next(box for box in at.text_input if box.label == "Password").input(PASSWORD)
    next(button for button in at.button if button.label == "Sign in").click()
    at.run()
    if at.exception or "energy_signed_in_user" not in at.session_state:
        raise SystemExit("could not sign in as the bench user")

    rows = []
    for label, page, widgets, query in PAGES:
        cold, warm = [], []
        for _ in range(runs):
            at.query_params.clear()
            at.query_params.update(query)
            at.switch_page(page).run()
            for key, value in widgets.items():
                next(w for w in at.selectbox if w.key == key).set_value(value)
            st.cache_data.clear()
            cold.append(_timed(at.run))
            warm.append(_timed(at.run))
        rows.append((label, statistics.median(cold), statistics.median(warm)))
    # A filter change on History: the page open and warm, then a room chosen that no earlier run
    # chose (its figures are not in Streamlit's cache; everything else the page read is).
    at.query_params.clear()
    at.switch_page("pages/history.py").run()
    at.run()
    rooms = next(w for w in at.multiselect if w.key == "history_rooms").options
    changes = []
    for room in rooms[: max(runs, 1)]:
        next(w for w in at.multiselect if w.key == "history_rooms").set_value([room])
        changes.append(_timed(at.run))
    rows.append(("History filter change", None, statistics.median(changes)))

    print()
    print(f"Pages of the analyst app, AppTest server-side render, median of {runs} runs")
    print(f"baseline (AppTest running a one-line script): {baseline_s * 1000:.0f} ms")
    print()
    header = f"{'page':<26}{'cold ms':>9}{'warm ms':>9}{'cold/base':>11}{'warm/base':>11}  target"
    print(header)
    print("-" * len(header))
    failed = 0
    for label, cold_s, warm_s in rows:
        ok = (cold_s is None or cold_s < TARGET_COLD_S) and warm_s < TARGET_WARM_S
        failed += not ok
        cold = (
            ("", "") if cold_s is None else (f"{cold_s * 1000:.0f}", f"{cold_s / baseline_s:.1f}x")
        )
        print(
            f"{label:<26}{cold[0]:>9}{warm_s * 1000:>9.0f}"
            f"{cold[1]:>11}{warm_s / baseline_s:>10.1f}x  "
            f"{'met' if ok else 'MISSED'}"
        )
    print()
    print(
        f"targets: cold < {TARGET_COLD_S * 1000:.0f} ms, warm < {TARGET_WARM_S * 1000:.0f} ms. "
        "Cold = Streamlit's data caches cleared before the run (PostgreSQL's own buffers stay "
        "warm); warm = the same run again. The filter change is a warm History page answering "
        f"a room not chosen before (target < {TARGET_WARM_S * 1000:.0f} ms). Load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
