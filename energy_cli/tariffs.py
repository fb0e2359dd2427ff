"""``energy-monitor tariffs``: a household's effective-dated tariffs (docs/tariffs.md), the
imported prices of a dynamic tariff, and bills."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from energy_cli.console import CliError, upgrade


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} is not UTF-8 text") from exc


def cmd_set(args: argparse.Namespace) -> int:
    from energy_core.accounts import require_user
    from energy_core.db import session_scope
    from energy_core.tariffs import parse_tariff_text, set_tariff

    document = parse_tariff_text(_read(args.file))
    upgrade()
    with session_scope() as session:
        user = require_user(session, email=args.user)
        spec = set_tariff(session, user_id=user.id, document=document)
    print(
        f"Tariff valid from {spec['valid_from']} stored for {args.user}: hours from that local "
        "midnight until the next tariff are priced with it."
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from energy_core.accounts import require_user
    from energy_core.db import session_scope
    from energy_core.tariffs import list_plans, tariff_for

    upgrade()
    with session_scope(read_only=True) as session:
        user = require_user(session, email=args.user)
        plans = list_plans(session, user_id=user.id)
        tariff = tariff_for(session, user)
        legacy = {"currency": user.currency, "price_per_kwh": user.price_per_kwh}
    if args.json:
        print(json.dumps({"tariffs": plans, "legacy": legacy}, indent=2, ensure_ascii=False))
        return 0
    if not plans:
        print(
            f"No tariff: a flat {legacy['price_per_kwh']:g} {legacy['currency']}/kWh "
            "(price per kWh on the Account page), export not credited."
        )
        return 0
    print(f"Now: {tariff.describe()}.")
    print(
        f"Before {plans[0]['valid_from']}: {legacy['price_per_kwh']:g} "
        f"{legacy['currency']}/kWh (the flat price on the Account page)."
    )
    for plan in plans:
        print(json.dumps(plan, sort_keys=True))
    return 0


def cmd_prices(args: argparse.Namespace) -> int:
    from energy_core.accounts import require_user
    from energy_core.db import session_scope
    from energy_core.tariffs import import_prices

    text = _read(args.file)
    upgrade()
    with session_scope() as session:
        user = require_user(session, email=args.user)
        count = import_prices(session, user_id=user.id, text=text, direction=args.direction)
    print(
        f"{count} {args.direction} prices stored; tariffs whose {args.direction} says "
        '"series": true use them.'
    )
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    tariffs = sub.add_parser("tariffs", help="a household's tariffs, prices and bills")
    tsub = tariffs.add_subparsers(dest="tariffs_command", required=True, metavar="COMMAND")
    setting = tsub.add_parser("set", help="store a tariff from a JSON file (docs/tariffs.md)")
    setting.add_argument("--user", required=True, help="owner's email")
    setting.add_argument("--file", required=True, help="the tariff JSON")
    setting.set_defaults(func=cmd_set)
    show = tsub.add_parser("show", help="show a household's tariffs")
    show.add_argument("--user", required=True, help="owner's email")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=cmd_show)
    prices = tsub.add_parser("prices", help="import a dynamic tariff's prices from CSV")
    prices.add_argument("--user", required=True, help="owner's email")
    prices.add_argument("--file", required=True, help="CSV: start[,end],price")
    prices.add_argument(
        "--direction", choices=("import", "export"), default="import", help="default: import"
    )
    prices.set_defaults(func=cmd_prices)
