"""``energy-monitor alerts``: a household's alerts (docs/alerts.md), acknowledged or muted from
the terminal, its devices' alert settings, and an evaluation on demand."""

from __future__ import annotations

import argparse
import json

from energy_cli.console import (
    command_group,
    household_command,
    household_scope,
    instant,
    json_option,
)


def _now(args: argparse.Namespace):  # noqa: ANN202
    from energy_core.clock import now

    return getattr(args, "now", None) or now()


def cmd_list(args: argparse.Namespace) -> int:
    from energy_core.alerts import list_alerts

    with household_scope(args.user, read_only=True) as (session, user):
        shown = list_alerts(session, user_id=user.id, state=args.state, now=_now(args))
    if args.json:
        print(json.dumps({"items": shown}, indent=2, ensure_ascii=False))
        return 0
    if not shown:
        print(f"No {args.state} alerts for {args.user}." if args.state != "all" else "No alerts.")
        return 0
    for alert in shown:
        muted = ", muted" if alert["muted"] else ""
        print(f"#{alert['id']} [{alert['state']}{muted}] {alert['opened_at']}  {alert['title']}")
        print(f"    {alert['explanation']}")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    from energy_core.alerts import acknowledge

    with household_scope(args.user) as (session, user):
        alert = acknowledge(session, user_id=user.id, alert_id=args.id, now=_now(args))
        title = alert.title
    print(f"Acknowledged #{args.id}: {title}")
    return 0


def cmd_mute(args: argparse.Namespace) -> int:
    from energy_core.alerts import mute

    with household_scope(args.user) as (session, user):
        row = mute(session, user_id=user.id, alert_id=args.id, now=_now(args), duration=args.for_)
        until = (
            "until unmuted"
            if row.muted_until is None
            else f"until {row.muted_until:%Y-%m-%d %H:%M} UTC"
        )
        key = row.key
    print(f"Muted {key} {until}: no new alert opens for it meanwhile.")
    return 0


def cmd_unmute(args: argparse.Namespace) -> int:
    from energy_core.alerts import unmute

    with household_scope(args.user) as (session, user):
        found = unmute(session, user_id=user.id, key=args.key)
    print(f"Unmuted {args.key}." if found else f"{args.key} was not muted.")
    return 0 if found else 1


def cmd_device(args: argparse.Namespace) -> int:
    from energy_core.alerts import (
        DeviceAlertSettingsUpdate,
        device_alert_settings,
        set_device_alert_settings,
    )

    changes = DeviceAlertSettingsUpdate(
        sensitivity=args.sensitivity,
        unusual_use=None if args.unusual_use is None else args.unusual_use == "on",
    )
    if args.offline_minutes is not None:
        changes.offline_minutes = args.offline_minutes or None  # 0: back to the default

    with household_scope(args.user) as (session, user):
        set_device_alert_settings(
            session,
            user_id=user.id,
            device_id=args.device,
            changes=changes,
        )
        session.flush()
        [shown] = [
            d
            for d in device_alert_settings(session, user_id=user.id)
            if d["device_id"] == args.device
        ]
    print(json.dumps(shown, ensure_ascii=False))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from energy_core.alerts import evaluate_household

    with household_scope(args.user) as (session, user):
        done = evaluate_household(session, user_id=user.id, now=_now(args))
    print(f"{len(done.opened)} alerts opened, {len(done.resolved)} resolved.")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    asub = command_group(sub, "alerts", help="a household's alerts and alert settings")
    listing = household_command(asub, "list", cmd_list, help="open and recent alerts, newest first")
    listing.add_argument(
        "--state", choices=("open", "recent", "all"), default="recent", help="default: recent"
    )
    json_option(listing)
    listing.add_argument("--now", type=instant, help="pin now (ISO 8601 with offset)")
    ack = household_command(asub, "ack", cmd_ack, help="acknowledge an alert")
    ack.add_argument("id", type=int, help="the alert's number")
    muting = household_command(
        asub, "mute", cmd_mute, help="no new alert for an alert's condition for a while"
    )
    muting.add_argument("id", type=int, help="the alert's number")
    muting.add_argument(
        "--for", dest="for_", choices=("1d", "7d", "forever"), default="7d", help="default: 7d"
    )
    unmuting = household_command(
        asub, "unmute", cmd_unmute, help="alerts for a muted condition again"
    )
    unmuting.add_argument("key", help="the condition, e.g. offline:fridge (see list --json)")
    device = household_command(asub, "device", cmd_device, help="a device's alert settings")
    device.add_argument("--device", required=True, help="the device id")
    device.add_argument("--sensitivity", choices=("low", "normal", "high"))
    device.add_argument("--unusual-use", choices=("on", "off"), help="unusual-use alerts")
    device.add_argument(
        "--offline-minutes", type=int, help="offline after this many minutes (0: the default)"
    )
    check = household_command(asub, "check", cmd_check, help="evaluate the household's alerts now")
    check.add_argument("--now", type=instant, help="pin now (ISO 8601 with offset)")
