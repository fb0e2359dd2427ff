"""The commands that manage the database and its households: ``db upgrade``, ``db check``,
``users``, ``devices``, ``keys``, ``demo seed`` and ``aggregate``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from energy_cli.console import CliError, engine, instant, pinned_clock, progress_printer, upgrade
from energy_core.settings import get_settings


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    upgrade()
    print("Database schema is up to date.")
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


def cmd_users_add(args: argparse.Namespace) -> int:
    from energy_core.accounts import create_user
    from energy_core.db import session_scope
    from energy_core.models import Role

    upgrade()
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

    upgrade()
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

    upgrade()
    with session_scope() as session:
        user = require_user(session, email=args.user)
        issued = issue_api_key(
            session,
            user_id=user.id,
            scope=KeyScope(args.scope),
            device_id=args.device_id,
            name=args.name or f"{args.scope} key",
            emoncms=args.emoncms,
            register_inputs=args.register_inputs,
        )
    target = f"device {args.device_id!r}" if args.device_id else "all devices"
    print(f"Issued a {args.scope} key for {user.email} ({target}); shown once, store it now:")
    print(issued.key)
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
    from energy_core.rollup import mark_for_rebuild, rollup_dirty_hours

    if (args.since or args.device) and not args.rebuild:
        raise CliError("--since and --device choose what --rebuild recomputes; add --rebuild.")
    upgrade()
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
    check = db_sub.add_parser(
        "check",
        help="find readings, aggregates and dirty marks whose device no longer exists",
        description="Readings have no foreign key to their device; deleting a device or a user "
        "deletes its rows. This finds any rows left behind (exit status 1 if there are).",
    )
    check.add_argument("--delete-orphans", action="store_true", help="delete the rows found")
    check.set_defaults(func=cmd_db_check)

    demo = sub.add_parser("demo", help="the demo household")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True, metavar="COMMAND")
    seed = demo_sub.add_parser("seed", help="create the demo household if it does not exist")
    seed.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    seed.add_argument(
        "--now",
        type=instant,
        metavar="ISO",
        help="end the history at this instant (ISO 8601 with an offset, e.g. "
        "2026-11-30T18:00:00Z); default ENERGY_NOW, else the real time",
    )
    seed.set_defaults(func=cmd_demo_seed)

    users = sub.add_parser("users", help="manage users")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    users_add = users_sub.add_parser("add", help="create a user")
    users_add.add_argument("--email", required=True)
    users_add.add_argument("--password", required=True, help="at least 12 characters")
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
    keys_add.add_argument(
        "--emoncms",
        action="store_true",
        help="issue it as 32 lowercase hex characters, the only keys emonhub and IoTaWatt accept",
    )
    keys_add.add_argument(
        "--no-register-inputs",
        dest="register_inputs",
        action="store_false",
        help="unknown power inputs sent with this key (Emoncms, InfluxDB) do not become devices",
    )
    keys_add.set_defaults(func=cmd_keys_add)
