"""``energy-monitor tariffs``: a household's effective-dated tariffs (docs/tariffs.md), the
imported prices of a dynamic tariff, and bills."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from energy_cli.console import (
    CliError,
    command_group,
    household_command,
    household_scope,
    instant,
    json_option,
)
from energy_core.units import format_money, format_price


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} is not UTF-8 text") from exc


def cmd_set(args: argparse.Namespace) -> int:
    from energy_core.tariffs import parse_tariff_text, set_tariff

    document = parse_tariff_text(_read(args.file))
    with household_scope(args.user) as (session, user):
        spec = set_tariff(session, user_id=user.id, document=document)
    print(
        f"Tariff valid from {spec['valid_from']} stored for {args.user}: hours from that local "
        "midnight until the next tariff are priced with it."
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from energy_core.tariff_alternatives import list_alternatives
    from energy_core.tariffs import list_plans, tariff_for

    with household_scope(args.user, read_only=True) as (session, user):
        plans = list_plans(session, user_id=user.id)
        tariff = tariff_for(session, user)
        legacy = {"currency": user.currency, "price_per_kwh": user.price_per_kwh}
        others = {a.name: a.spec for a in list_alternatives(session, user_id=user.id)}
    if args.json:
        shown = {"tariffs": plans, "legacy": legacy, "alternatives": others}
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return 0
    for name, spec in others.items():
        print(f"Alternative {name!r} (compared only): {json.dumps(spec, sort_keys=True)}")
    flat = format_price(legacy["price_per_kwh"], legacy["currency"])
    if not plans:
        print(f"No tariff: a flat {flat} (price per kWh on the Account page), export not credited.")
        return 0
    print(f"Now: {tariff.describe()}.")
    print(f"Before {plans[0]['valid_from']}: {flat} (the flat price on the Account page).")
    for plan in plans:
        print(json.dumps(plan, sort_keys=True))
    return 0


def cmd_alternative(args: argparse.Namespace) -> int:
    from energy_core.tariff_alternatives import delete_alternative, save_alternative
    from energy_core.tariffs import parse_tariff_text

    document = None if args.delete else parse_tariff_text(_read(args.file))
    with household_scope(args.user) as (session, user):
        if document is None:
            if not delete_alternative(session, user_id=user.id, name=args.name):
                raise CliError(f"{args.user} has no alternative tariff called {args.name!r}.")
            print(f"Deleted the alternative tariff {args.name!r}.")
            return 0
        saved = save_alternative(session, user_id=user.id, name=args.name, document=document)
    print(
        f"Alternative tariff {saved.name!r} kept for {args.user}: compared with the household's "
        "own in the chat ('what would it have saved me?') and by `tariffs compare`; it prices "
        "nothing of the household's."
    )
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from datetime import date

    from energy_core.tariffs import delete_tariff

    try:
        day = date.fromisoformat(args.valid_from)
    except ValueError as exc:
        raise CliError(f"--valid-from {args.valid_from!r} is not a date YYYY-MM-DD") from exc
    with household_scope(args.user) as (session, user):
        if not delete_tariff(session, user_id=user.id, valid_from=day):
            raise CliError(f"{args.user} has no tariff valid from {day}.")
    print(
        f"Deleted the tariff valid from {day}: its hours are priced by the plan before it "
        "(or the flat price of the Account page)."
    )
    return 0


def cmd_prices(args: argparse.Namespace) -> int:
    from energy_core.tariffs import import_prices

    text = _read(args.file)
    with household_scope(args.user) as (session, user):
        count = import_prices(session, user_id=user.id, text=text, direction=args.direction)
    print(
        f"{count} {args.direction} prices stored; tariffs whose {args.direction} says "
        '"series": true use them.'
    )
    return 0


def _now(args: argparse.Namespace):  # noqa: ANN202
    from energy_core.clock import now

    return args.now or now()


def _money(amount: float | None, currency: str) -> str:
    return "-" if amount is None else format_money(amount, currency)


def cmd_bill(args: argparse.Namespace) -> int:
    from energy_core.stats import load_household
    from energy_core.stats.bills import billing_summary

    with household_scope(args.user, read_only=True) as (session, user):
        household = load_household(session, user_id=user.id)
        summary = billing_summary(session, household, now=_now(args))
    cur = summary.current.currency
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
        return 0
    c, last = summary.current, summary.last
    print(
        f"This period ({c.first_day} to {c.last_day}, {c.days_so_far} of {c.days} days begun): "
        f"{_money(c.total, cur)} = energy {_money(c.energy, cur)} + standing charge "
        f"{_money(c.standing, cur)} + tax {_money(c.tax, cur)}"
    )
    print(f"Projected for the period: {_money(summary.projected_total, cur)} ({summary.method})")
    ly = summary.last_year
    for label, bill in (("Last period", last), ("Same days last year", ly)):
        total = _money(bill.total, cur) if bill.has_readings else "no data (no readings)"
        print(f"{label} ({bill.first_day} to {bill.last_day}): {total}")
    if summary.budget:
        print(
            f"Budget {_money(summary.budget, cur)}: {summary.budget_used:.0%} used, "
            f"{summary.budget_verdict}"
        )
    return 0


def cmd_budget(args: argparse.Namespace) -> int:
    from energy_core.tariffs import set_budget

    with household_scope(args.user) as (session, user):
        amount = set_budget(session, user_id=user.id, amount=None if args.clear else args.amount)
    print("No budget." if amount is None else f"Budget per billing period: {amount:g}.")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from energy_core.stats import load_household
    from energy_core.stats.bills import what_if
    from energy_core.stats.period import add_months, local_midnight
    from energy_core.tariffs import parse_tariff_text

    proposed = parse_tariff_text(_read(args.file))
    against = parse_tariff_text(_read(args.against)) if args.against else None
    now = _now(args)
    with household_scope(args.user, read_only=True) as (session, user):
        household = load_household(session, user_id=user.id)
        today = now.astimezone(household.tz).date()
        first = add_months(local_midnight(today, household.tz), -args.months).date()
        last = today - timedelta(days=1)
        base, other = what_if(session, household, [against, proposed], first, last, now=now)
    cur = household.currency
    base_name = args.against or "the stored tariff"
    saving = base.total - other.total
    verdict = (
        f"{args.file} would have saved {_money(saving, cur)}"
        if saving >= 0
        else f"{args.file} would have cost {_money(-saving, cur)} more"
    )
    if args.json:
        out = {
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
            "currency": cur,
            "base": {"tariff": base_name, "total": base.total, "energy": base.energy},
            "other": {"tariff": args.file, "total": other.total, "energy": other.energy},
            "saving": saving,
        }
        print(json.dumps(out, indent=2))
        return 0
    print(f"{first} to {last}, bills with standing charge and tax:")
    print(f"  {base_name}: {_money(base.total, cur)}")
    print(f"  {args.file}: {_money(other.total, cur)}")
    print(f"{verdict}.")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    tsub = command_group(sub, "tariffs", help="a household's tariffs, prices and bills")
    setting = household_command(
        tsub, "set", cmd_set, help="store a tariff from a JSON file (docs/tariffs.md)"
    )
    setting.add_argument("--file", required=True, help="the tariff JSON")
    json_option(household_command(tsub, "show", cmd_show, help="show a household's tariffs"))
    other = household_command(
        tsub,
        "alternative",
        cmd_alternative,
        help="keep (or delete) a named tariff to compare the household's with",
    )
    other.add_argument("--name", required=True, help="e.g. 'Night saver'")
    what = other.add_mutually_exclusive_group(required=True)
    what.add_argument("--file", help="the tariff JSON (docs/tariffs.md)")
    what.add_argument("--delete", action="store_true", help="delete it")
    remove = household_command(
        tsub, "delete", cmd_delete, help="delete the tariff valid from a date"
    )
    remove.add_argument("--valid-from", required=True, help="its valid_from, YYYY-MM-DD")
    prices = household_command(
        tsub, "prices", cmd_prices, help="import a dynamic tariff's prices from CSV"
    )
    prices.add_argument("--file", required=True, help="CSV: start[,end],price")
    prices.add_argument(
        "--direction", choices=("import", "export"), default="import", help="default: import"
    )
    bill = household_command(
        tsub, "bill", cmd_bill, help="this billing period so far, projected, and the last"
    )
    json_option(bill)
    bill.add_argument("--now", type=instant, help="pin now (ISO 8601 with offset)")
    budget = household_command(
        tsub, "budget", cmd_budget, help="set the household's budget per billing period"
    )
    group = budget.add_mutually_exclusive_group(required=True)
    group.add_argument("--amount", type=float, help="in the household's currency")
    group.add_argument("--clear", action="store_true", help="no budget")
    compare = household_command(
        tsub, "compare", cmd_compare, help="what the last months would have cost on a tariff"
    )
    compare.add_argument("--file", required=True, help="the tariff to try (JSON)")
    compare.add_argument("--against", help="another tariff JSON (default: the stored tariff)")
    compare.add_argument(
        "--months",
        type=int,
        default=3,
        choices=range(1, 25),
        metavar="N",
        help="how many months back (default 3)",
    )
    json_option(compare)
    compare.add_argument("--now", type=instant, help="pin now (ISO 8601 with offset)")
