"""The offline analyst's answers about solar: generation split into what the house used and what
was exported, and what the generation saved (for one period, or two side by side). Every number
comes from a tool result."""

from __future__ import annotations

import re
from collections.abc import Callable

from energy_core.chat.offline_figures import range_args, since_first_reading
from energy_core.chat.question import Question
from energy_core.chat.toolbase import ToolCall, ToolContext
from energy_core.chat.wording import cap, coverage_note, kwh, listing, money, no_data, percent, when

Call = Callable[..., ToolCall]


def answer_solar(ctx: ToolContext, q: Question, call: Call) -> str:
    generators = [d for d in ctx.devices if d.is_generator]
    if not generators:
        return (
            "You have no solar panels or other generating device among your devices, so there "
            "is nothing self-consumed or exported to report."
        )
    if q.metric == "cost":
        return _solar_saving(ctx, generators, q, call)
    # The split is a household figure: export is what the whole house did not use.
    made = call("energy_usage", **range_args(q))
    if not made.ok:
        return made.error
    r = made.result
    span = when(made.evidence)
    if not r["generation_wh"] or r["export_wh"] is None:
        return no_data("your solar", made)
    gen = r["generation_wh"]
    own = r["self_consumption_wh"]
    out = (
        f"{cap(span)} your {listing([d.name for d in generators])} generated "
        f"**{kwh(gen)}**: **{kwh(own)}** ({percent(own / gen)}) was used in the house and "
        f"**{kwh(r['export_wh'])}** ({percent(r['export_wh'] / gen)}) was exported to the grid."
    )
    if r["import_wh"] is not None:
        out += f" You bought {kwh(r['import_wh'])} from the grid in the same time"
        if r["self_sufficiency"] is not None:
            out += (
                f": {percent(r['self_sufficiency'])} of the {kwh(r['consumption_wh'])} you used "
                "did not come from the grid (self-sufficiency)"
            )
        out += "."
    return out + coverage_note(r["coverage"])


def _savings_compared(ctx: ToolContext, generators: list, q: Question, call: Call) -> str:
    """What the generation saved in each of two periods, side by side."""
    made = [call("cost", **range_args(q, i)) for i in range(2)]
    refused = next((m for m in made if not m.ok), None)
    if refused is not None:
        return refused.error
    cur = made[0].result["currency"]
    lines, values = [], []
    for m in made:
        r = m.result
        if not r["generation_wh"] or r["generation_saving"] is None:
            lines.append(f"- {when(m.evidence)}: no readings of generation")
            values.append(None)
            continue
        values.append(r["generation_saving"])
        lines.append(
            f"- {when(m.evidence)}: **{money(r['generation_saving'], cur)}** "
            f"({kwh(r['self_consumption_wh'])} of the {kwh(r['generation_wh'])} generated used "
            f"in the house)." + since_first_reading(ctx, q, m)
        )
    out = f"What your {listing([d.name for d in generators])} saved you:\n" + "\n".join(lines)
    if None not in values:
        first, second = values
        side = "more" if first > second else "less"
        names = [m.evidence["range"]["label"] for m in made]
        out += (
            f"\n\nThat is {money(abs(first - second), cur)} {side} for {names[0]} than for "
            f"{names[1]}."
        )
    return out + (
        "\n\n_Saved: your consumption bought hour by hour at the import price, less what it "
        "cost; generation used in the house is not bought, export earns its export price._"
    )


def _solar_saving(ctx: ToolContext, generators: list, q: Question, call: Call) -> str:
    """What the generation saved: the household's consumption bought hour by hour at the import
    price, less what it cost (generation used in the house is not bought; export earns)."""
    if len(q.periods) >= 2:
        return _savings_compared(ctx, generators, q, call)
    made = call("cost", **range_args(q))
    if not made.ok:
        return made.error
    r, span = made.result, when(made.evidence)
    if not r["generation_wh"] or r["generation_saving"] is None:
        return no_data("your solar", made)
    cur = r["currency"]
    out = (
        f"{cap(span)} your {listing([d.name for d in generators])} saved you about "
        f"**{money(r['generation_saving'], cur)}**: your consumption would have cost "
        f"{money(r['cost_without_generation'], cur)} bought from the grid, and cost "
        f"{money(r['cost'], cur)}. Of the {kwh(r['generation_wh'])} generated, "
        f"{kwh(r['self_consumption_wh'])} was used in the house instead of bought"
    )
    if r["export_wh"]:
        out += f" and {kwh(r['export_wh'])} was exported"
        if not r["export_price_per_kwh"]:
            out += ", which earned nothing (no export price is set)"
    out += "." + coverage_note(r["coverage"])
    if q.per_year and r["days"]:
        out += (
            f" At that rate a year (365 days) is about "
            f"**{money(r['generation_saving'] / r['days'] * 365, cur)}** (the daily average of "
            f"those {r['days']:.1f} days, times 365; a projection: the sun varies by season)."
        )
    if re.search(r"\b(pa(y|id|ys) (for )?(itself|themselves|off|back)|payback)\b", q.text, re.I):
        out += (
            " Whether they have paid for themselves I cannot say: that needs what they cost to "
            "buy and fit, which I do not know."
        )
    return out


__all__ = ["answer_solar"]
