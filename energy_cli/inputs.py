"""``energy-monitor inputs``: the values hubs send by name (Emoncms, InfluxDB, MQTT) and which of
them are watts, the only ones stored as readings."""

from __future__ import annotations

import argparse

from energy_cli.console import (
    command_group,
    household_command,
    household_scope,
    json_option,
    print_listing,
)


def cmd_inputs_list(args: argparse.Namespace) -> int:
    from energy_core.inputs import list_inputs

    with household_scope(args.user, read_only=True) as (session, user):
        rows = [
            {
                "input": i.input_id,
                "watts": i.is_watts,
                "last_value": i.last_value,
                "last_at": i.last_at,
            }
            for i in list_inputs(session, user_id=user.id, prefix=args.prefix or "")
        ]
    return print_listing(
        rows,
        [("input", "INPUT"), ("watts", "WATTS"), ("last_value", "LAST VALUE"), ("last_at", "AT")],
        empty="No inputs yet: no Emoncms, InfluxDB or MQTT client has sent a value.",
        as_json=args.json,
    )


def cmd_inputs_set(args: argparse.Namespace) -> int:
    from energy_core.inputs import set_input_kind

    with household_scope(args.user) as (session, user):
        set_input_kind(session, user_id=user.id, input_id=args.input, is_watts=args.watts)
    what = (
        "watts: stored as readings of the device of that name"
        if args.watts
        else ("not watts: kept only as its latest value, out of every energy figure")
    )
    print(f"Input {args.input!r} is {what} from now on.")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    inputs_sub = command_group(
        sub, "inputs", help="hub inputs (Emoncms, InfluxDB, MQTT) and their kind"
    )
    listing = household_command(
        inputs_sub, "list", cmd_inputs_list, help="list a household's inputs and latest values"
    )
    listing.add_argument("--prefix", help="only inputs whose names start so (e.g. emontx1:)")
    json_option(listing)
    kind = household_command(
        inputs_sub, "set", cmd_inputs_set, help="say whether an input is watts"
    )
    kind.add_argument("input", help="the input, e.g. emontx1:vrms")
    group = kind.add_mutually_exclusive_group(required=True)
    group.add_argument("--watts", dest="watts", action="store_true", help="it holds watts")
    group.add_argument("--not-watts", dest="watts", action="store_false", help="it does not")
