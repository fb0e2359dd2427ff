"""The commands that manage households: ``users add``, ``devices add|list|deactivate`` and
``keys add|list|revoke``. Every command that changes something says what it changed; the list
commands print a table, or JSON with ``--json`` for scripts."""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import asdict

from energy_cli.console import (
    CliError,
    command,
    command_group,
    household_command,
    household_scope,
    json_option,
    print_listing,
    upgrade,
)
from energy_core.settings import get_settings

# The columns (key, heading) of the tables that devices list and keys list print.
DEVICE_TABLE = [
    ("device_id", "DEVICE"),
    ("name", "NAME"),
    ("type", "TYPE"),
    ("location", "LOCATION"),
    ("active", "ACTIVE"),
    ("last_seen_at", "LAST READING"),
]
KEY_TABLE = [
    ("id", "ID"),
    ("prefix", "PREFIX"),
    ("scope", "SCOPE"),
    ("device_id", "DEVICE"),
    ("name", "NAME"),
    ("last_used_at", "LAST USED"),
    ("revoked_at", "REVOKED"),
]


def read_new_password() -> str:
    """The new user's password: asked twice without echo at a terminal, else one line of
    standard input (``printf '%s\\n' "$PASSWORD" | energy-monitor users add ...``), so that it
    never has to appear in the shell history or the process list."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("No password: give --password, or one line on standard input.")
        return password
    password = getpass.getpass("Password (at least 12 characters): ")
    if getpass.getpass("Password again: ") != password:
        raise CliError("The two passwords differ; nothing was created.")
    return password


# --- users -------------------------------------------------------------------------------------


def cmd_users_add(args: argparse.Namespace) -> int:
    from energy_core.accounts import create_user
    from energy_core.db import session_scope
    from energy_core.models import Role

    password = args.password if args.password is not None else read_new_password()
    upgrade()
    with session_scope() as session:
        user = create_user(
            session,
            email=args.email,
            password=password,
            full_name=args.name or "",
            role=Role.admin if args.admin else Role.member,
            timezone=args.timezone or get_settings().default_timezone,
        )
    print(f"Created {user.role} {user.email} (id {user.id}).")
    return 0


# --- devices -----------------------------------------------------------------------------------


def cmd_devices_add(args: argparse.Namespace) -> int:
    from energy_core.accounts import create_device, issue_api_key
    from energy_core.models import DeviceCreate, KeyScope

    with household_scope(args.user) as (session, user):
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


def cmd_devices_list(args: argparse.Namespace) -> int:
    from energy_core.accounts import list_devices

    with household_scope(args.user, read_only=True) as (session, user):
        devices = list_devices(session, user_id=user.id, active_only=not args.all)
        rows = [
            {
                "device_id": d.device_id,
                "name": d.name,
                "type": d.type,
                "location": d.location,
                "active": d.is_active,
                "bidirectional": d.bidirectional,
                "max_gap_s": d.max_gap_s,
                "last_seen_at": d.last_seen_at,
                "created_at": d.created_at,
            }
            for d in devices
        ]
    return print_listing(
        rows,
        DEVICE_TABLE,
        empty=f"{user.email} has no {'' if args.all else 'active '}devices.",
        as_json=args.json,
    )


def cmd_devices_deactivate(args: argparse.Namespace) -> int:
    from energy_core.accounts import require_device, update_device
    from energy_core.models import DeviceUpdate

    with household_scope(args.user) as (session, user):
        device = require_device(session, user_id=user.id, device_id=args.device_id)
        if not device.is_active:
            print(f"Device {device.device_id!r} of {user.email} was inactive already; no change.")
            return 0
        update_device(
            session,
            user_id=user.id,
            device_id=device.device_id,
            changes=DeviceUpdate(is_active=False),
        )
    print(
        f"Deactivated device {args.device_id!r} of {user.email}: new readings from it are "
        "refused; its history and keys are kept (reactivate it on the app's Devices page)."
    )
    return 0


# --- keys --------------------------------------------------------------------------------------


def cmd_keys_add(args: argparse.Namespace) -> int:
    from energy_core.accounts import issue_api_key
    from energy_core.models import KeyScope

    with household_scope(args.user) as (session, user):
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
    print(
        f"Issued {args.scope} key {issued.id} for {user.email} ({target}); shown once, store "
        "it now:"
    )
    print(issued.key)
    return 0


def _key_rows(session, user_id: int) -> list[dict]:  # noqa: ANN001 - a Session
    """The user's keys as the app lists them (``ApiKeyInfo``: never a secret), one dict each."""
    from energy_core.accounts import describe_api_keys

    return [asdict(k) for k in describe_api_keys(session, user_id=user_id)]


def cmd_keys_list(args: argparse.Namespace) -> int:
    with household_scope(args.user, read_only=True) as (session, user):
        rows = [row for row in _key_rows(session, user.id) if args.all or row["revoked_at"] is None]
    return print_listing(
        rows,
        KEY_TABLE,
        empty=f"{user.email} has no {'' if args.all else 'live '}API keys.",
        as_json=args.json,
    )


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from energy_core.accounts import revoke_api_key

    with household_scope(args.user) as (session, user):
        wanted = args.key.strip()
        matches = [
            row
            for row in _key_rows(session, user.id)
            if str(row["id"]) == wanted or row["prefix"] == wanted
        ]
        if not matches:
            raise CliError(
                f"{user.email} has no API key {wanted!r}; `energy-monitor keys list --user "
                f"{user.email} --all` shows the ids and prefixes."
            )
        key = matches[0]
        if key["revoked_at"] is not None:
            print(f"Key {key['id']} ({key['prefix']}) of {user.email} was revoked already.")
            return 0
        revoke_api_key(session, user_id=user.id, key_id=key["id"])
    device = f"device {key['device_id']!r}" if key["device_id"] else "all devices"
    print(
        f"Revoked {key['scope']} key {key['id']} ({key['prefix']}, {key['name'] or 'no name'}, "
        f"{device}) of {user.email}. Every API process refuses it within "
        f"{get_settings().key_cache_ttl_s:g} s."
    )
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    users_sub = command_group(sub, "users", help="manage users")
    users_add = command(
        users_sub,
        "add",
        cmd_users_add,
        help="create a user",
        description="Create a user. Without --password the password is asked for twice "
        "without echo (or read as one line from standard input when that is not a terminal).",
    )
    users_add.add_argument("--email", required=True)
    users_add.add_argument(
        "--password",
        help="at least 12 characters, not a common password; leave it out to be asked",
    )
    users_add.add_argument("--name", help="full name")
    users_add.add_argument("--timezone", help="IANA timezone, e.g. Europe/Berlin")
    users_add.add_argument("--admin", action="store_true", help="make the user an admin")

    devices_sub = command_group(sub, "devices", help="manage devices")
    devices_add = household_command(
        devices_sub, "add", cmd_devices_add, help="register a device and print its ingest key once"
    )
    devices_add.add_argument("--device-id", required=True, help="the id the device sends")
    devices_add.add_argument("--name", required=True)
    devices_add.add_argument("--type", default="other")
    devices_add.add_argument("--location", default="", help="room or place")
    devices_add.add_argument(
        "--bidirectional", action="store_true", help="may report negative watts (solar, battery)"
    )
    devices_list = household_command(
        devices_sub, "list", cmd_devices_list, help="list a user's devices"
    )
    devices_list.add_argument("--all", action="store_true", help="include inactive devices")
    json_option(devices_list, help="print JSON for scripts")
    deactivate = household_command(
        devices_sub,
        "deactivate",
        cmd_devices_deactivate,
        help="refuse a device's new readings, keeping its history",
        description="Mark a device inactive: its new readings are refused (422); its readings, "
        "aggregates and keys are kept (revoke its keys with `keys revoke`).",
    )
    deactivate.add_argument("--device-id", required=True)

    keys_sub = command_group(sub, "keys", help="manage API keys")
    keys_add = household_command(
        keys_sub, "add", cmd_keys_add, help="issue a household-wide key and print it once"
    )
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
    keys_list = household_command(
        keys_sub, "list", cmd_keys_list, help="list a user's API keys (never the secrets)"
    )
    keys_list.add_argument("--all", action="store_true", help="include revoked keys")
    json_option(keys_list, help="print JSON for scripts")
    revoke = household_command(
        keys_sub, "revoke", cmd_keys_revoke, help="revoke an API key at once"
    )
    revoke.add_argument("key", metavar="KEY", help="the key's id or prefix, from `keys list`")
