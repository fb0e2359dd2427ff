"""The offline analyst's answers about bills and tariffs: this billing period's bill so far and
projected (with the method), the budget, what a saved alternative tariff would have cost over the
last months, the standing charge and the cheapest hours. Every number comes from a tool result;
a bill is said as its energy cost plus the standing charge plus tax (docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from energy_core.chat.offline_figures import answer_tariff as answer_tariff_now
from energy_core.chat.offline_figures import target_args
from energy_core.chat.offline_insights import answer_forecast as answer_projected_use
from energy_core.chat.question import Question
from energy_core.chat.render import escape_markdown
from energy_core.chat.toolbase import ToolCall, ToolContext
from energy_core.chat.tools_money import BILL_RULE, HOW_TO_ADD
from energy_core.chat.wording import (
    cap,
    hour_ranges,
    kwh,
    local_time,
    money,
    no_data,
    percent,
    price,
    scope,
    when,
)

Call = Callable[..., ToolCall]
SET_BUDGET = (
    "Set one on the Tariffs page, or with `energy-monitor tariffs budget --user <your email> "
    "--amount 80`."
)


def _days(first: str, last: str) -> str:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return f"{a:%-d %B} to {b:%-d %B %Y}"


def _bill_words(bill: dict, currency: str) -> str:
    return (
        f"**{money(bill['total'], currency)}** = energy {money(bill['energy'], currency)} + "
        f"standing charge {money(bill['standing_charge'], currency)} + tax "
        f"{money(bill['tax'], currency)}"
    )


def _rule_line(ctx: ToolContext) -> str:
    return f"\n\n_{BILL_RULE} Here: {ctx.household.tariff.describe()}._"


Handler = Callable[[ToolContext, Question, Call], str]


def _from(make_call: Callable[[Question, Call], ToolCall]) -> Callable[..., Handler]:
    """A handler that makes one call and says its result (or why it was refused)."""

    def wrap(say: Callable[[ToolContext, dict], str]) -> Handler:
        def handler(ctx: ToolContext, q: Question, call: Call) -> str:
            made = make_call(q, call)
            return say(ctx, made.result) if made.ok else made.error

        return handler

    return wrap


def _tariff_day_call(q: Question, call: Call) -> ToolCall:
    day = q.price_day or ("tomorrow" if "tomorrow" in q.text.lower() else "today")
    return call("tariff_day", day=day)


from_bill = _from(lambda q, call: call("bill"))
from_tariff_day = _from(_tariff_day_call)


@from_bill
def answer_bill(ctx: ToolContext, r: dict) -> str:
    cur, now = r["currency"], r["current"]
    out = (
        f"Your bill for {_days(now['first_day'], now['last_day'])} so far "
        f"({now['days_so_far']} of {now['days']} days begun): {_bill_words(now, cur)}."
    )
    if r["projected_total"] is None:
        out += (
            "\n\nI cannot project it yet: the projection needs at least one whole day of this "
            "billing period."
        )
    else:
        out += (
            f"\n\n**Projection** (not a reading): about **{money(r['projected_total'], cur)}** "
            f"by {date.fromisoformat(now['last_day']):%-d %B}. Method: "
            f"{r['projection_method']}."
        )
    last = r["last"]
    out += f"\n\nLast period ({_days(last['first_day'], last['last_day'])}): " + money(
        last["total"], cur
    )
    out += "." + _budget_words(r)
    return out + _rule_line(ctx)


def answer_average_bill(ctx: ToolContext, q: Question, call: Call) -> str:
    made = call("bill", past_periods=12)
    if not made.ok:
        return made.error
    r = made.result
    cur, past = r["currency"], r["past"]
    whole = [b for b in past if b["whole"]]
    lines = "\n".join(
        f"- {_days(b['first_day'], b['last_day'])}: {money(b['total'], cur)}"
        + ("" if b["whole"] else " (readings began during it: left out of the average)")
        for b in past
    )
    if not whole:
        return (
            "I can't give an average bill yet: no billing period before this one was monitored "
            "from its first day. "
            + (f"The periods so far:\n{lines}" if past else "")
            + "\n\nThis period so far: "
            + _bill_words(r["current"], cur)
            + "."
            + _rule_line(ctx)
        )
    count = f"{len(whole)} whole billing period" + ("s" if len(whole) > 1 else "")
    return (
        f"Your average bill is **{money(r['average_total'], cur)}** a billing period, over the "
        f"{count} with readings from the first day:\n{lines}\n\nThis period so far "
        f"({r['current']['days_so_far']} of {r['current']['days']} days): "
        f"{money(r['current']['total'], cur)}." + _rule_line(ctx)
    )


def answer_bill_without(ctx: ToolContext, q: Question, call: Call) -> str:
    made = call("bill", without_devices=[d.device_id for d in q.target.devices])
    if not made.ok:
        return made.error
    r = made.result
    cur, without = r["currency"], r["without"]
    names = " and ".join(without["devices"])
    parts = []
    for key, label in (("current", "This billing period so far"), ("last", "Last period")):
        bill, less = r[key], without[key]
        line = (
            f"- {label} ({_days(bill['first_day'], bill['last_day'])}): "
            f"{money(bill['total'], cur)} as billed; without the {names} about "
            f"**{money(less['total'], cur)}** ({money(less['total_saving'], cur)} less: "
            f"{kwh(less['consumption_wh'])} used"
        )
        if less["surplus_wh"] > 0.5:
            line += f", of which {kwh(less['surplus_wh'])} came from your own generation"
        parts.append(line + ").")
    limits = "Tiered prices are taken as they held. " if without["current"]["tiered"] else ""
    return (
        f"Your bill without the {names}:\n" + "\n".join(parts) + f"\n\n_Method: "
        f"{without['method']} {limits}_" + _rule_line(ctx)
    )


def answer_forecast(ctx: ToolContext, q: Question, call: Call) -> str:
    """A bill (money) projected is the billing period's bill; use projected is the month's; a
    device's or a room's month is its own rate so far, carried to the month's end."""
    if not q.target.everything:
        return _month_at_this_rate(ctx, q, call)
    if "cost" in q.metrics:
        return answer_bill(ctx, q, call)
    return answer_projected_use(ctx, q, call)


def _month_at_this_rate(ctx: ToolContext, q: Question, call: Call) -> str:
    made = call("cost", period="this month", **target_args(q.target))
    if not made.ok:
        return made.error
    r, who = made.result, scope(q.target)
    if r["consumption_wh"] is None or not r["days"]:
        return no_data(who, made)
    span = made.evidence["range"]
    start = local_time(span["start"])
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    month_days = (following - start.date()).days
    share = month_days / r["days"]
    cur = r["currency"]
    return (
        f"{cap(who)} used {kwh(r['consumption_wh'])} ({money(r['cost'], cur)}) "
        f"{when(made.evidence)}. At that daily rate the whole month would be about "
        f"**{kwh(r['consumption_wh'] * share)}**, **{money(r['cost'] * share, cur)}** (a "
        f"projection: {r['days']:.1f} days so far, {month_days} in the month). The bill "
        "projection ('What will my bill be this month?') is of the whole household."
    )


def _budget_words(r: dict) -> str:
    if not r["budget"]:
        return ""
    cur = r["currency"]
    return (
        f"\n\nBudget {money(r['budget'], cur)} per billing period: "
        f"{percent(r['budget_used'])} used so far, **{r['budget_verdict']}**."
    )


@from_bill
def answer_budget(ctx: ToolContext, r: dict) -> str:
    cur, now = r["currency"], r["current"]
    if not r["budget"]:
        return "You have not set a budget, so there is nothing to be on track for. " + SET_BUDGET
    projected = (
        f"projected to about {money(r['projected_total'], cur)} by the period's end "
        f"({r['projection_method']})"
        if r["projected_total"] is not None
        else "not projected yet (no whole day of the period has passed)"
    )
    verdict = {
        "within budget": "Yes, you are on track",
        "on course to exceed the budget": "No: at this rate you will go over it",
        "over budget": "No: you are already over it",
    }[r["budget_verdict"]]
    return (
        f"{verdict}. Budget {money(r['budget'], cur)} per billing period; the bill for "
        f"{_days(now['first_day'], now['last_day'])} so far is {_bill_words(now, cur)} "
        f"({percent(r['budget_used'])} of the budget), {projected}: "
        f"**{r['budget_verdict']}**." + _budget_left(r) + _rule_line(ctx)
    )


def _budget_left(r: dict) -> str:
    """What is left of the budget, and what that allows a day over the days still to come
    (today's rest counted as one of them)."""
    cur, now = r["currency"], r["current"]
    left = r["budget"] - now["total"]
    days = now["days"] - now["days_so_far"] + 1
    if left <= 0:
        return f"\n\nNothing is left: the bill so far is {money(-left, cur)} over the budget."
    return (
        f"\n\n**{money(left, cur)} left** ({money(r['budget'], cur)} less "
        f"{money(now['total'], cur)} so far): about **{money(left / days, cur)} a day** over the "
        f"{days} days to {date.fromisoformat(now['last_day']):%-d %B}, today included, to stay "
        "within it (standing charge and tax of those days included)."
    )


def answer_what_if(ctx: ToolContext, q: Question, call: Call) -> str:
    if q.problem == "unknown_tariff":
        return (
            f"You have no saved tariff called '{escape_markdown(q.unknown_names[0])}', so I "
            f"cannot say what it would have cost. {HOW_TO_ADD}"
        )
    if q.problem == "what_if_period":
        return (
            "I compare tariffs over whole months back from yesterday (the last one to "
            "twenty-four months), not over other periods; ask e.g. 'what would the other tariff "
            "have saved me over the last three months?'"
        )
    arguments = {"months": q.months}
    if q.tariff_name:
        arguments["tariff"] = q.tariff_name
    made = call("compare_tariffs", **arguments)
    if not made.ok:
        return made.error
    r = made.result
    cur, mine, theirs = r["currency"], r["yours"], r["alternative"]
    name = escape_markdown(theirs["name"])
    saving = r["saving"]
    verdict = (
        f"'{name}' would have **saved you {money(saving, cur)}**"
        if saving > 0
        else f"'{name}' would have **cost you {money(-saving, cur)} more**"
        if saving < 0
        else f"'{name}' would have cost the same"
    )
    return (
        f"Over {_days(r['first_day'], r['last_day'])} (the last {r['months']} months), your "
        f"tariff comes to {_bill_words(mine, cur)}; '{name}' would have come to "
        f"{_bill_words(theirs, cur)}. {verdict}. (As if '{name}' had held all along, on the "
        "same readings.)" + _rule_line(ctx)
    )


@from_tariff_day
def answer_standing_charge(ctx: ToolContext, r: dict) -> str:
    cur = r["currency"]
    if not r["standing_charge_per_day"]:
        return (
            "Your tariff has no standing charge: your bills are the energy cost"
            + (f" plus {r['tax_percent']:g}% tax." if r["tax_percent"] else ".")
            + _rule_line(ctx)
        )
    tax = f", plus {r['tax_percent']:g}% tax on bills" if r["tax_percent"] else ""
    return (
        f"Your standing charge is **{money(r['standing_charge_per_day'], cur)} a day**{tax}, "
        "whatever you use." + _rule_line(ctx)
    )


@from_tariff_day
def answer_cheapest_time(ctx: ToolContext, r: dict) -> str:
    cur = r["currency"]
    when = f"{date.fromisoformat(r['day']):%A %-d %B}"
    cheapest = price(r["cheapest_price"], cur)
    if r["same_price_all_day"]:
        out = (
            f"Your import price is the same in every hour on {when} ({cheapest}), so no time is "
            "cheaper to run it; a time-of-use tariff would make some hours cheaper."
        )
    else:
        hours = [local_time(h).hour for h in r["cheapest_hours"]]
        out = (
            f"The cheapest hours on {when} are **{hour_ranges(hours)}**, at {cheapest} "
            "(the import price of those hours under your tariff)."
        )
    if r["tiers"]:
        out += " Your tariff has tiers: a kWh also costs less while the count of the day is low."
    return out + _rule_line(ctx)


def _price_ranges(hours: list[dict], key: str, cur: str) -> str:
    """Each price of the day with the hours it holds: "£0.10/kWh 00:00-07:00; £0.35/kWh ..."."""
    by_price: dict[float, list[int]] = {}
    for h in hours:
        by_price.setdefault(h[key], []).append(local_time(h["start"]).hour)
    if len(by_price) == 1:
        return f"**{price(next(iter(by_price)), cur)}** in every hour"
    return "; ".join(
        f"**{price(value, cur)}** {hour_ranges(at, across_midnight=False)}"
        for value, at in sorted(by_price.items())
    )


def answer_price(ctx: ToolContext, q: Question, call: Call) -> str:
    """The tariff's prices of today or tomorrow, and of the hour asked about."""
    made = _tariff_day_call(q, call)
    if not made.ok:
        return made.error
    r = made.result
    cur = r["currency"]
    day = f"{q.price_day} ({date.fromisoformat(r['day']):%A %-d %B})"
    out = f"Your import price {day}: {_price_ranges(r['hours'], 'import_price', cur)}."
    if q.price_hour is not None:
        hour = next(h for h in r["hours"] if local_time(h["start"]).hour == q.price_hour)
        out = (
            f"At {q.price_hour:02d}:00 {day} you pay **{price(hour['import_price'], cur)}** "
            f"for energy from the grid (the hour {q.price_hour:02d}:00-"
            f"{(q.price_hour + 1) % 24:02d}:00).\n\n" + out
        )
    if any(h["export_price"] for h in r["hours"]):
        out += f" Export earns {_price_ranges(r['hours'], 'export_price', cur)}."
    else:
        out += " Export earns nothing (no export price is set)."
    if r["standing_charge_per_day"]:
        out += f" Standing charge: {money(r['standing_charge_per_day'], cur)} a day."
    if r["tax_percent"]:
        out += f" Bills add {r['tax_percent']:g}% tax."
    return out + _rule_line(ctx)


def answer_tariff(ctx: ToolContext, q: Question, call: Call) -> str:
    if q.price_day is not None:
        return answer_price(ctx, q, call)
    return answer_tariff_now(ctx, q, call)


HANDLERS = {
    "tariff": answer_tariff,
    "average_bill": answer_average_bill,
    "bill_without": answer_bill_without,
    "bill": answer_bill,
    "budget": answer_budget,
    "what_if": answer_what_if,
    "standing_charge": answer_standing_charge,
    "cheapest_time": answer_cheapest_time,
}

__all__ = ["HANDLERS", "answer_forecast"]
