"""The offline analyst's answers about the highest or lowest power: a device's peak (a generator's
peak output), and the household's devices added up at one instant, with its busiest hour and the
highest single readings. Every number comes from the ``power_stats`` tool."""

from __future__ import annotations

from typing import Any

from energy_core.chat.offline_figures import Call, power_stats_call
from energy_core.chat.question import Question
from energy_core.chat.render import escape_markdown
from energy_core.chat.toolbase import ToolContext
from energy_core.chat.wording import cap, clock, coverage_note, no_data, scope, watts, when


def answer_peak(ctx: ToolContext, q: Question, call: Call) -> str:
    made = power_stats_call(q, call)
    if isinstance(made, str):
        return made
    r, span = made.result, when(made.evidence)
    rows = [row for row in r["per_device"] if row["max_w"] is not None]
    if q.target.devices:
        generators = {d.device_id for d in q.target.devices if d.is_generator}
        lines = [
            _peak_generation(row, span)
            if row["device_id"] in generators
            else f"The {escape_markdown(row['name'])}'s lowest reading was "
            f"**{watts(row['min_w'])}** "
            + (f"({clock(row['min_at'])})" if row["min_at"] else "(time not known)")
            + f" {span} (it averaged {watts(row['avg_w'])})."
            if q.order == "least" and len(rows) == 1
            else f"The {escape_markdown(row['name'])} peaked at **{watts(row['max_w'])}** "
            + (f"({clock(row['max_at'])})" if row["max_at"] else "(time not known)")
            + f" {span} (it averaged {watts(row['avg_w'])})."
            for row in rows
            if row["avg_w"] is not None
        ]
        return (" ".join(lines) or no_data(scope(q.target), made)) + coverage_note(r["coverage"])
    out = _together(r, span, q.order == "least")
    if q.order == "least" and out:
        return out.strip() + coverage_note(r["coverage"])
    if r["peak_hour_avg_w"] is not None:
        out += (
            (f"{cap(scope(q.target))}'s" if out else f"{cap(span)}, {scope(q.target)}'s")
            + " busiest hour was "
            f"**{clock(r['peak_hour_start'])[:-3]}:00**, at **{watts(r['peak_hour_avg_w'])}** on "
            "average."
        )
    top = sorted(rows, key=lambda row: -row["max_w"])[:3]
    if top:
        out += (
            " The highest single readings: "
            + "; ".join(
                f"{escape_markdown(row['name'])} {watts(row['max_w'])}"
                + (f" ({clock(row['max_at'])})" if row["max_at"] else "")
                for row in top
            )
            + "."
        )
    return out.strip() + coverage_note(r["coverage"])


def _together(r: dict[str, Any], span: str, lowest: bool) -> str:
    """The devices' power added up at one instant: its highest (or lowest) and when."""
    key = "together_min" if lowest else "together_max"
    if r.get(f"{key}_w") is None:
        return ""
    word = "lowest" if lowest else "highest"
    return (
        f"{cap(span)}, your devices together drew **{watts(r[f'{key}_w'])}** at their {word} "
        f"({clock(r[f'{key}_at'])}), adding up the readings of every consumer at each instant "
        "(solar not deducted). "
    )


def _peak_generation(row: dict[str, Any], span: str) -> str:
    """A generator's peak is its most negative reading, said as a positive output (its highest
    reading is its standby draw, or 0 W, at night)."""
    name = escape_markdown(row["name"])
    if row["min_w"] is None or row["min_w"] >= 0:
        return f"The {name} generated nothing {span}: none of its readings was negative."
    out = (
        f"The {name}'s peak generation was **{watts(-row['min_w'])}** "
        + (f"({clock(row['min_at'])})" if row["min_at"] else "(time not known)")
        + f" {span}"
    )
    if row["avg_generation_w"] is not None:
        out += f" (it averaged {watts(row['avg_generation_w'])} of generation)"
    return out + "."


__all__ = ["answer_peak"]
