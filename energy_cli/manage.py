"""The commands that manage the database: ``db upgrade``, ``db check``, ``db grant-app-role``,
``demo seed`` and ``aggregate`` (the households' users, devices and keys are in
``accounts.py``)."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime

from energy_cli.console import (
    CliError,
    command,
    command_group,
    engine,
    now_option,
    pinned_clock,
    progress_printer,
    upgrade,
)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from energy_core.migrate import database_revisions

    before = database_revisions(engine())
    upgrade()
    after = database_revisions(engine())
    now = ", ".join(sorted(after))
    if before == after:
        print(f"The database schema was up to date already (revision {now}); nothing changed.")
    elif not before:
        print(f"Created the database schema (revision {now}).")
    else:
        print(f"Upgraded the database schema from revision {', '.join(sorted(before))} to {now}.")
    return 0


def cmd_db_check(args: argparse.Namespace) -> int:
    from energy_core.db import session_scope
    from energy_core.integrity import delete_orphans, find_orphans

    upgrade()
    with session_scope() as session:
        report = find_orphans(session)
        for orphan in report.orphans:
            print(
                f"{orphan.table}: {orphan.rows:,} row(s) of device {orphan.device_pk} of user "
                f"{orphan.user_id}, which does not exist"
            )
        if report.ok:
            print("Every reading, hourly aggregate and dirty mark belongs to an existing device.")
            return 0
        if not args.delete_orphans:
            print("Run again with --delete-orphans to delete these rows.")
            return 1
        print(f"Deleted {delete_orphans(session, report):,} row(s).")
    return 0


def cmd_db_grant_app_role(args: argparse.Namespace) -> int:
    from energy_core.household_scope import (
        UnsafeAppRole,
        ensure_app_role,
        grant_app_role,
        unprotected_tables,
    )

    upgrade()
    if engine().dialect.name != "postgresql":
        raise CliError("SQLite has no roles and no row-level security: there is nothing to grant.")
    password = None
    if args.password_env:
        password = os.environ.get(args.password_env)
        if not password:
            raise CliError(f"--password-env names {args.password_env}, which is not set or empty.")
    try:
        with engine().begin() as conn:
            if password is not None:
                print(ensure_app_role(conn, args.role, password))
            statements = grant_app_role(conn, args.role)
            unprotected = unprotected_tables(conn)
    except UnsafeAppRole as exc:
        raise CliError(str(exc)) from None
    for statement in statements:
        print(f"{statement};")
    print(
        f"Role {args.role} may now read and write rows (each household's under row-level "
        "security) but change no table: point the API and the app at it."
    )
    if unprotected:
        print(f"Warning: these tables hold user_id without row-level security: {unprotected}")
        return 1
    return 0


def cmd_demo_seed(args: argparse.Namespace) -> int:
    from energy_core.db import session_scope
    from energy_core.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo_household

    upgrade()
    with pinned_clock(args.now), session_scope() as session:
        result = seed_demo_household(
            session, days=args.days, progress=progress_printer("Demo history")
        )
    if result.created:
        print(f"Seeded the demo household: {result.readings:,} readings.")
    else:
        print("The demo household already exists; nothing to do.")
    print(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
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
    from energy_core.rollup import Rebuild, rebuild_aggregates, rollup_dirty_hours

    if (args.since or args.device) and not args.rebuild:
        raise CliError("--since and --device choose what --rebuild recomputes; add --rebuild.")
    upgrade()
    if args.rebuild:
        device_pks = None
        if args.device:
            with session_scope(system=True) as session:
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
        run = rebuild_aggregates(
            engine(),
            Rebuild(since=args.since, device_pks=device_pks),
            progress=progress_printer("Rebuilding"),
        )
        if run.skipped:
            print(
                "Another scheduler is aggregating right now; run the rebuild again when it is done."
            )
            return 1
        scope = f"{len(device_pks)} device(s)" if device_pks is not None else "all devices"
        since = f" since {args.since.isoformat()}" if args.since else ""
        print(f"Rebuilt {run.hours:,} device-hours of {scope}{since} in {run.duration_s:.2f} s.")
    else:
        run = rollup_dirty_hours(engine(), progress=progress_printer("Aggregating hours"))
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


def add_commands(sub: argparse._SubParsersAction) -> None:
    aggregate = command(
        sub,
        "aggregate",
        cmd_aggregate,
        help="recompute dirty hourly aggregates now, or rebuild them",
        description="Recompute the hourly aggregates that new readings made dirty. With "
        "--rebuild, recompute every hour of the chosen readings (default: all) instead; hours "
        "whose raw readings retention may have pruned are kept as stored.",
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

    db_sub = command_group(sub, "db", help="database schema")
    command(db_sub, "upgrade", cmd_db_upgrade, help="apply migrations")
    check = command(
        db_sub,
        "check",
        cmd_db_check,
        help="find readings, aggregates and dirty marks whose device no longer exists",
        description="Readings have no foreign key to their device; deleting a device or a user "
        "deletes its rows. This finds any rows left behind (exit status 1 if there are).",
    )
    check.add_argument("--delete-orphans", action="store_true", help="delete the rows found")
    grant = command(
        db_sub,
        "grant-app-role",
        cmd_db_grant_app_role,
        help="let a PostgreSQL role read and write rows under row-level security, nothing more",
        description="Run as the owner of the tables (the role that runs `db upgrade`). The role "
        "must exist and must not be a superuser, have BYPASSRLS or own a table; see "
        "docs/row-level-security.md.",
    )
    grant.add_argument("role", help="the role the API and the app connect as")
    grant.add_argument(
        "--password-env",
        metavar="VAR",
        help="create the role if it does not exist (or set its password if it does) with the "
        "password in environment variable VAR; needs a role that may create roles",
    )

    demo_sub = command_group(sub, "demo", help="the demo household")
    seed = command(
        demo_sub, "seed", cmd_demo_seed, help="create the demo household if it does not exist"
    )
    seed.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    now_option(seed, doing="end the history at")
