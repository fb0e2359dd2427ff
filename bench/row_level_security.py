"""What row-level security costs on PostgreSQL: the same library calls as the table owner's
superuser (which passes through every policy) and as the application's role (held by them), in
alternation in one run, with the ratio of each. Not a test: it prints figures, never fails.

    python bench/row_level_security.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
                                       [--households 8] [--devices 10] [--days 2] [--rounds 5]

It creates a scratch database (dropped at the end) with ``--households`` households of
``--devices`` devices and ``--days`` of one reading a minute each, rolled up, and a login role
without BYPASSRLS granted as ``energy-monitor db grant-app-role`` grants. Then, ``--rounds`` times
and alternating which goes first:

  ingest    20 batches of 1,000 readings (one household, 10 devices x 100 minutes) through
            ``record_readings``, one transaction each;
  readings  ``list_readings`` of one device, a page of 1,000;
  hourly    ``hourly_stats`` of the household, a page of 1,000;
  summary   ``household_summary`` of the household's last day.

It also prints the time of the scope statement each transaction sends (``set_config``) and the
plan of a readings page as the application's role, to show the index still leads.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from energy_core.accounts import create_device, create_user  # noqa: E402
from energy_core.db import make_engine, session_scope  # noqa: E402
from energy_core.household_scope import grant_app_role  # noqa: E402
from energy_core.ingest import ReadingIn, record_readings  # noqa: E402
from energy_core.migrate import upgrade_database  # noqa: E402
from energy_core.models import DeviceCreate  # noqa: E402
from energy_core.read_requests import Listing, Window  # noqa: E402
from energy_core.reads import hourly_stats, household_summary, list_readings  # noqa: E402
from energy_core.rollup import rollup_dirty_hours  # noqa: E402
from energy_core.stats import load_household  # noqa: E402

APP_ROLE = "energy_app_bench"
END = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)


def seed(engine, *, households: int, devices: int, days: int) -> list[int]:
    users = []
    minutes = days * 24 * 60
    for h in range(households):
        with session_scope(engine) as s:
            user = create_user(s, email=f"h{h}@example.com", password="bench-password-1234")
            for d in range(devices):
                create_device(
                    s, user_id=user.id, data=DeviceCreate(device_id=f"d{d}", name=f"D{d}")
                )
            users.append(user.id)
        step = max(1, 1000 // devices)
        for chunk in range(0, minutes, step):
            stamps = [
                END - timedelta(minutes=minutes - m)
                for m in range(chunk, min(chunk + step, minutes))
            ]
            with session_scope(engine) as s:
                record_readings(
                    s,
                    user_id=user.id,
                    readings=[
                        ReadingIn(f"d{d}", t, 100.0 + d) for t in stamps for d in range(devices)
                    ],
                    enforce_window=False,
                )
    rollup_dirty_hours(engine)
    return users


def timed(fn) -> float:  # noqa: ANN001
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--households", type=int, default=8)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    name = f"bench_rls_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        if (
            conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}).first()
            is None
        ):
            conn.exec_driver_sql(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS")
    owner_url = make_url(args.admin_url).set(database=name)
    app_url = owner_url.set(username=APP_ROLE, password=None)
    try:
        owner = make_engine(owner_url.render_as_string(hide_password=False))
        upgrade_database(owner)
        with owner.begin() as conn:
            grant_app_role(conn, APP_ROLE)
        started = time.perf_counter()
        users = seed(owner, households=args.households, devices=args.devices, days=args.days)
        print(
            f"seeded {args.households} households x {args.devices} devices x {args.days} days "
            f"in {time.perf_counter() - started:.1f} s"
        )
        app = make_engine(app_url.render_as_string(hide_password=False))
        engines = {"superuser (no policy)": owner, "app role (policies)": app}
        user_id = users[0]
        batch_no = iter(range(10**6))

        def ingest(engine) -> None:  # noqa: ANN001
            for _ in range(20):
                n = next(batch_no)
                base = END + timedelta(minutes=1 + 100 * n)
                with session_scope(engine, household=user_id) as s:
                    record_readings(
                        s,
                        user_id=user_id,
                        readings=[
                            ReadingIn(f"d{d}", base + timedelta(minutes=m), 50.0)
                            for m in range(100)
                            for d in range(10)
                        ],
                        enforce_window=False,
                    )

        def reads(what):  # noqa: ANN001, ANN202
            def run(engine) -> None:  # noqa: ANN001
                for _ in range(10):
                    with session_scope(engine, read_only=True, household=user_id) as s:
                        what(s, load_household(s, user_id=user_id))

            return run

        work = {
            "ingest 20 x 1,000": ingest,
            "readings page x10": reads(lambda s, h: list_readings(s, h, Listing(device_id="d0"))),
            "hourly page x10": reads(lambda s, h: hourly_stats(s, h, Listing())),
            "summary 1 day x10": reads(
                lambda s, h: household_summary(s, h, Window(END - timedelta(days=1), END))
            ),
        }
        times: dict[tuple[str, str], list[float]] = {}
        for round_no in range(args.rounds):
            order = list(engines.items())
            if round_no % 2:
                order.reverse()
            for label, fn in work.items():
                for who, engine in order:
                    times.setdefault((label, who), []).append(timed(lambda: fn(engine)))  # noqa: B023
        print(f"\n{'work':<20} {'superuser s':>12} {'app role s':>12} {'ratio':>7}")
        for label in work:
            base = statistics.median(times[(label, "superuser (no policy)")])
            rls = statistics.median(times[(label, "app role (policies)")])
            print(f"{label:<20} {base:>12.3f} {rls:>12.3f} {rls / base:>7.2f}")

        with app.connect() as conn:
            reps = 200
            started = time.perf_counter()
            for _ in range(reps):
                conn.execute(
                    text(
                        "SELECT set_config('energy.household', :h, true), "
                        "set_config('energy.scope', '', true)"
                    ),
                    {"h": str(user_id)},
                )
            per = (time.perf_counter() - started) / reps
            conn.rollback()
        batch = statistics.median(times[("ingest 20 x 1,000", "app role (policies)")]) / 20
        print(
            f"\nscope statement per transaction: {per * 1000:.2f} ms "
            f"({per / batch:.1%} of a 1,000-reading batch transaction)"
        )
        with session_scope(app, read_only=True, household=user_id) as s:
            plan = s.execute(
                text(
                    "EXPLAIN SELECT device_pk, ts, power_w FROM readings WHERE user_id = :u "
                    "AND device_pk = (SELECT min(id) FROM devices WHERE user_id = :u) "
                    "AND ts >= :t ORDER BY ts LIMIT 1000"
                ),
                {"u": user_id, "t": END - timedelta(days=1)},
            ).scalars()
            print("\nplan of a readings page as the app role:")
            for line in plan:
                print(f"  {line}")
        app.dispose()
        owner.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
