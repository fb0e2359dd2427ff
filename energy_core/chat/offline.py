"""The offline analyst: common questions turned into the same tool calls an LLM would make, and
answered in short sentences built only from the tools' results. No network, no model.

Reading a question: the periods in it (``periods.find_periods``), a part of the day, the devices
and rooms it names (``devices.find_devices_in_text``), then what is asked (a ranking, a
comparison, a cost, the always-on load, ...) from its wording. When nothing fits, it says so and
suggests questions it can answer; it never produces a number no tool returned.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from energy_core.chat.answers import OFFLINE, ChatAnswer
from energy_core.chat.devices import find_devices_in_text
from energy_core.chat.periods import (
    Period,
    PeriodError,
    describe_range,
    find_periods,
    find_time_of_day,
)
from energy_core.chat.render import escape_markdown
from energy_core.chat.suggestions import suggested_questions
from energy_core.chat.tools import ToolCall, ToolContext, run_tool
from energy_core.stats import DeviceRef

log = logging.getLogger(__name__)

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥", "INR": "₹", "CHF": "CHF "}
LOW_COVERAGE = 0.95


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


HELP = _rx(
    r"\bwhat (else )?can (i|you) (ask|do|answer)|^\s*(help|hi|hello|hey)\b|\bhelp me\b|"
    r"\bwhat (kind of |sort of )?questions\b|\bexamples?\b|\bhow do(es)? (this|it) work"
)
FUTURE = _rx(r"\b(tomorrow|next (week|month|year|\w+day)|forecast|predict|will i|going to use)\b")
LIST_DEVICES = _rx(
    r"\b(what|which) (devices|appliances|rooms|meters|things) (do|have) (i|we)\b|"
    r"\blist (all |my |the )?(devices|appliances|rooms)\b|\bmy devices\b|"
    r"\bhow many (devices|appliances|rooms)\b|\bshow (me )?(all |my )?(devices|appliances)\b|"
    r"\bwhat rooms\b|\bwhich rooms (do|are)\b"
)
BASELOAD = _rx(
    r"always[- ]?on|\bbase[- ]?load|\bstandby\b|\bidle (load|power|consumption|usage)|"
    r"\bphantom\b|\bvampire\b|\bbackground (load|power|consumption|usage)|"
    r"\bminimum (load|power|consumption)|\bnever (switch|turn)s? off"
)
COVERAGE = _rx(
    r"\bcoverage\b|\bmissing (data|readings)|\bgaps?\b|\bdata quality\b|\bcomplete(ness)?\b|"
    r"\bhow (reliable|complete)\b|\bdata (is )?missing\b"
)
STATUS = _rx(
    r"\b(online|offline|status|last seen|last (report|reading)|reporting|connected|"
    r"right now|at the moment|currently|at present)\b|\bis (the |my )?.{0,40}\b(on|working|"
    r"running|switched on)\s*\??$|\bwhat is .{0,40} doing\b"
)
PROFILE = _rx(
    r"\bpeak (usage )?hours?\b|\bbusiest (time|hours)\b|\bwhat times?( of (the )?day)?\b|"
    r"\bwhich hours\b|\bwhat hours\b|\bwhen (do|does|did|is|are)\b|\btime of (the )?day\b|"
    r"\bhour of (the )?day\b|\bdaily (profile|pattern)\b|\busage pattern\b"
)
EXTREME_PERIOD = _rx(
    r"\b(which|what) (day|week|month|hour)\b|"
    r"\b(most|least) expensive (day|week|month|hour)\b|"
    r"\b(highest|lowest|biggest|smallest|busiest|quietest|worst|best|peak|heaviest|lightest|"
    r"cheapest|costliest|most expensive|top) (usage |consumption |energy )?(day|week|month|hour)\b"
)
RANK = _rx(
    r"\b(which|what) (devices?|appliances?|ones?|things?|rooms?|circuits?)\b|"
    r"\btop( \d+| (three|five|ten))?\b|\bbiggest\b|\blargest\b|\bhungriest\b|\branking\b|\brank\b|"
    r"\bwhat (uses|used|consumes|consumed|draws) the (most|least)\b|"
    r"\bwhere does (my|the|all) (energy|electricity|power) go\b|\bbreak ?down by (device|room)"
)
COMPARE = _rx(
    r"\bcompar|\bvs\.?\b|\bversus\b|\bthan\b|\bdifference between\b|\bagainst\b|"
    r"\b(more|less) or (more|less)\b|\bchanged?\b"
)
POWER = _rx(
    r"\bpeak power\b|\bmax(imum)? (power|draw|load|demand)\b|\bhighest (power|draw|demand|"
    r"load|reading)\b|\baverage (power|draw|load|watts)\b|\bmean power\b|\bhow many watts\b|"
    r"\bpower draw\b|\bdraw(s|ing)?\b|\bin watts\b|\bpeak demand\b|\bwattage\b"
)
COST = _rx(
    r"\bcost|\bspen[dt]\b|\bspending\b|\bexpensive\b|\bcheap|\bbill\b|\bprice\b|\bmoney\b|"
    r"\bpa(y|id)\b|[£€$]|\bpounds\b|\beuros?\b|\bdollars?\b"
)
ENERGY = _rx(
    r"\bhow much\b|\b(use|used|uses|using|usage)\b|\bconsum|\bkwh\b|\benergy\b|\belectricity\b|"
    r"\bpower\b|\bgenerat|\bproduc|\bexport"
)
LEAST = _rx(r"\b(least|lowest|smallest|cheapest|quietest|lightest|best|fewest)\b")
BY_ROOM = _rx(r"\b(which|what) rooms?\b|\bby room\b|\bper room\b|\beach room\b")
BREAKDOWN = _rx(
    r"\b(per|each|every|by) (hour|day|week|month)\b|\b(daily|weekly|monthly|hourly) "
    r"(breakdown|usage|consumption|figures|totals)\b|\bbreak ?down\b"
)
PER_DAY = _rx(r"\b(per|a|each) day\b|\bdaily average\b|\baverage daily\b|\bon average\b")
TOP_N = _rx(r"\btop (\d+|three|five|ten)\b|\b(\d+) (biggest|largest|top)\b")
WORD_NUMBERS = {"three": 3, "five": 5, "ten": 10}


@dataclass
class Understanding:
    intent: str
    periods: list[Period] = field(default_factory=list)
    time_of_day: str | None = None
    devices: list[DeviceRef] = field(default_factory=list)
    rooms: list[str] = field(default_factory=list)
    groups: list[tuple[DeviceRef, ...]] = field(default_factory=list)
    problem: str | None = None
    rest: str = ""  # the question without the periods it names


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for lo, hi in spans:
        for i in range(lo, min(hi, len(chars))):
            chars[i] = " "
    return "".join(chars)


def understand(ctx: ToolContext, question: str) -> Understanding:
    """What the question asks, about which devices and periods."""
    text = " ".join(question.lower().split())
    try:
        mentions = find_periods(text, now=ctx.now, timezone=ctx.timezone)
    except PeriodError as exc:
        return Understanding(intent="period_error", problem=str(exc))
    time_of_day, tod_span = find_time_of_day(text)
    spans = [m.span for m in mentions] + ([tod_span] if tod_span else [])
    rest = _blank(text, spans)
    matches = find_devices_in_text(rest, ctx.devices)
    u = Understanding(intent="unknown", periods=[m.period for m in mentions], rest=rest)
    u.time_of_day = time_of_day
    for match in matches:
        if match.room and match.room not in u.rooms:
            u.rooms.append(match.room)
        else:
            u.devices.extend(d for d in match.devices if d not in u.devices)
        u.groups.append(match.devices)
    u.intent = _intent(text, u)
    return u


def _intent(text: str, u: Understanding) -> str:
    named = bool(u.devices or u.rooms or u.periods or u.time_of_day)
    if HELP.search(text) and not (u.devices or u.periods):
        return "help"
    if FUTURE.search(text):
        return "future"
    if LIST_DEVICES.search(text):
        return "list_devices"
    if BASELOAD.search(text):
        return "baseload"
    if COVERAGE.search(text):
        return "coverage"
    if STATUS.search(text) and not u.periods:
        return "status"
    if EXTREME_PERIOD.search(text):
        return "extreme_period"
    if PROFILE.search(text) and not RANK.search(text):
        return "profile"
    if COMPARE.search(text) and (len(u.periods) >= 1 or len(u.groups) >= 2):
        return "compare"
    if RANK.search(text) and not (u.devices and not BY_ROOM.search(text)):
        return "rank"
    if POWER.search(text):
        return "power"
    if COST.search(text):
        return "cost"
    if ENERGY.search(text) or named:
        return "energy"
    return "unknown"


# --- formatting --------------------------------------------------------------------------------


def kwh(wh: float) -> str:
    value = wh / 1000.0
    return f"{value:,.2f} kWh" if abs(value) < 100 else f"{value:,.1f} kWh"


def watts(w: float) -> str:
    return f"{w:,.0f} W" if abs(w) >= 10 else f"{w:,.1f} W"


def money(amount: float, currency: str) -> str:
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency}"


def percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def _names(devices: list[dict[str, Any]] | list[DeviceRef]) -> str:
    names = [escape_markdown(d["name"] if isinstance(d, dict) else d.name) for d in devices]
    if len(names) <= 1:
        return names[0] if names else "no device"
    return ", ".join(names[:-1]) + " and " + names[-1]


def _scope(u: Understanding, ctx: ToolContext) -> str:
    if u.rooms and not u.devices:
        return "the " + " and the ".join(escape_markdown(r) for r in u.rooms)
    if u.devices:
        return "the " + _names(u.devices)
    return "your household"


_NO_PREPOSITION = re.compile(r"^(today|yesterday|the day before yesterday|last |this |since )")
_DAY_LABEL = re.compile(r"^(monday|tuesday|wednesday|thursday|friday|saturday|sunday) ")


def _when(evidence: dict[str, Any] | None, key: str = "range") -> str:
    """The range of a call as a phrase that fits after a verb: "last week (Mon 30 Mar - ...)",
    "in March 2026 (...)", "on Thursday 5 March 2026"."""
    if not evidence or not evidence.get(key):
        return ""
    span = evidence[key]
    label = span["label"].lower()
    description = span["description"]
    if _NO_PREPOSITION.match(label):
        return description
    if _DAY_LABEL.match(label):
        return "on " + description
    return "in " + description


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _coverage_note(coverage: float | None) -> str:
    if coverage is None or coverage >= LOW_COVERAGE:
        return ""
    return (
        f" Readings cover only {percent(coverage)} of that time; gaps count as unknown, not "
        "zero, so the real figure is probably higher."
    )


def _kwh_or_none(wh: float | None) -> str:
    return "no data" if wh is None else kwh(wh)


def _percent_or_none(share: float | None) -> str:
    return "no data" if share is None else percent(share)


def _used(side: dict[str, Any]) -> str:
    """A comparison side's consumption and its daily average, or that it has no data."""
    if side["consumption_wh"] is None:
        return "no data"
    return f"**{kwh(side['consumption_wh'])}** ({kwh(side['per_day_wh'])} a day)"


def _no_data(scope: str, call: ToolCall) -> str:
    return (
        f"I have no readings for {scope} {_when(call.evidence)}, so I cannot give a figure. "
        "Try a period with data, e.g. 'yesterday' or 'last week'."
    )


def _local_time(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def _period_name(row: dict[str, Any], granularity: str) -> str:
    start, end = _local_time(row["start"]), _local_time(row["end"])
    if granularity == "hour":
        return f"{start:%a %-d %b} {start:%H:%M}-{end:%H:%M}"
    if granularity == "day":
        return f"{start:%A %-d %B %Y}"
    if granularity == "week":
        return f"the week {describe_range(start, end)}"
    return f"{start:%B %Y}"


# --- the analyst -------------------------------------------------------------------------------


class OfflineAnalyst:
    """Answers in a few sentences from tool results; see the module docstring."""

    engine = OFFLINE

    def answer(self, ctx: ToolContext, question: str) -> ChatAnswer:
        u = understand(ctx, question)
        calls: list[ToolCall] = []

        def call(name: str, **arguments: Any) -> ToolCall:
            made = run_tool(ctx, name, arguments)
            calls.append(made)
            return made

        handler = getattr(self, f"_answer_{u.intent}")
        text = handler(ctx, u, question.lower(), call)
        answer = ChatAnswer(text=text, engine=OFFLINE, tool_calls=calls)
        if u.intent in {"unknown", "future", "period_error"}:
            answer.understood = u.intent == "period_error"
            answer.suggestions = suggested_questions(
                ctx.session, user_id=ctx.user_id, now=ctx.now, settings=ctx.settings
            )
            if u.intent != "period_error":
                answer.text += "\n\n" + "\n".join(f"- {q}" for q in answer.suggestions)
        failed = [c for c in calls if not c.ok]
        if failed and not any(c.ok for c in calls):
            answer.text = "I could not answer that: " + failed[0].error
        return answer

    # Each handler returns the answer text; every number in it comes from a call's result.

    @staticmethod
    def _range_args(u: Understanding, index: int = 0) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if len(u.periods) > index:
            period = u.periods[index]
            args["start"] = period.start.isoformat()
            args["end"] = period.full_end.isoformat()
            args["label"] = period.label
        if u.time_of_day:
            args["time_of_day"] = u.time_of_day
        return args

    @staticmethod
    def _target_args(u: Understanding) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if u.devices:
            args["devices"] = [d.device_id for d in u.devices]
        if u.rooms:
            args["rooms"] = list(u.rooms)
        return args

    def _answer_help(self, ctx, u, text, call) -> str:  # noqa: ANN001
        suggestions = suggested_questions(
            ctx.session, user_id=ctx.user_id, now=ctx.now, settings=ctx.settings
        )
        lines = "\n".join(f"- {q}" for q in suggestions)
        return (
            "I answer questions about your own meters from the stored readings, and show how I "
            "got each number. I understand:\n"
            "- **energy and cost** of the household, a device or a room, for periods like "
            "today, yesterday, last week, this month, October, the last 3 days, a date or a "
            "weekday, also at night or in the evening;\n"
            "- **rankings** (which device uses the most), **comparisons** (this month vs last "
            "month), **peak hours**, **average and peak power**, the **always-on load**;\n"
            "- **device status** (online, last reading) and **data coverage**.\n\n"
            f"For example:\n{lines}"
        )

    def _answer_unknown(self, ctx, u, text, call) -> str:  # noqa: ANN001
        return (
            "Sorry, I did not understand that question, so I have no figures for it. I answer "
            "questions about your energy use, costs, devices, rooms, rankings, comparisons, peak "
            "hours, the always-on load and device status. You could ask:"
        )

    def _answer_future(self, ctx, u, text, call) -> str:  # noqa: ANN001
        return (
            "I only report what your meters have measured, so I cannot say what will happen "
            "next. I can tell you about past periods instead, for example:"
        )

    def _answer_period_error(self, ctx, u, text, call) -> str:  # noqa: ANN001
        return u.problem or "I could not read the period in that question."

    def _answer_list_devices(self, ctx, u, text, call) -> str:  # noqa: ANN001
        made = call("list_devices")
        devices = made.result["devices"]
        if not devices:
            return "You have no devices yet. Add one on the Devices page or with the CLI."
        rows = "\n".join(
            f"| {escape_markdown(d['name'])} | {escape_markdown(d['device_id'])} | "
            f"{escape_markdown(d['type'])} | {escape_markdown(d['location'] or '-')} |"
            for d in devices
        )
        rooms = made.result["rooms"]
        return (
            f"You have {len(devices)} devices in {len(rooms)} rooms or places.\n\n"
            f"| Device | Id | Type | Room |\n|---|---|---|---|\n{rows}"
        )

    def _answer_baseload(self, ctx, u, text, call) -> str:  # noqa: ANN001
        made = call("baseload")
        r = made.result
        if r["baseload_w"] is None:
            return _no_data("your household", made)
        return (
            f"Your always-on load is about **{watts(r['baseload_w'])}**: the "
            f"{r['percentile']}th percentile of hourly household consumption "
            f"{_when(made.evidence)} ({r['hours_used']} well-covered hours). Left running all "
            f"year that is {kwh(r['annual_kwh'] * 1000)}, about "
            f"{money(r['annual_cost'], r['currency'])}." + _coverage_note(r["coverage"])
        )

    def _answer_coverage(self, ctx, u, text, call) -> str:  # noqa: ANN001
        args = self._range_args(u)
        if u.devices:
            args["devices"] = [d.device_id for d in u.devices]
        made = call("data_coverage", **args)
        if not made.ok:
            return made.error
        rows = [r for r in made.result["per_device"] if r["coverage"] is not None]
        if made.result["coverage"] is None:
            return _no_data("the devices asked about", made)
        worst = min(rows, key=lambda r: r["coverage"], default=None)
        text_out = (
            f"Readings cover {percent(made.result['coverage'])} of the time "
            f"{_when(made.evidence)} "
            "across the devices asked about (each from its first reading on)."
        )
        starts = [r["first_reading_at"] for r in rows if r["first_reading_at"]]
        if starts and min(starts) > made.evidence["range"]["start"]:
            text_out += (
                f" The first readings are from {_local_time(min(starts)):%a %-d %b %Y %H:%M}; "
                "there is no data before that."
            )
        if worst is not None and worst["coverage"] < 0.999:
            text_out += (
                f" The least complete is {escape_markdown(worst['name'])} at "
                f"{percent(worst['coverage'])} ({worst['missing_hours']:.1f} hours missing)."
            )
        return text_out

    def _answer_status(self, ctx, u, text, call) -> str:  # noqa: ANN001
        args = {"devices": [d.device_id for d in u.devices]} if u.devices else {}
        made = call("device_status", **args)
        rows = made.result["devices"]
        if not rows:
            return "You have no devices yet."
        lines = []
        for r in rows:
            name = escape_markdown(r["name"])
            seen = (
                f"last reading {_local_time(r['last_reading_at']):%a %-d %b %H:%M}"
                if r["last_reading_at"]
                else "no readings yet"
            )
            if r["online"]:
                lines.append(f"- {name}: online, {watts(r['power_w'])} now ({seen})")
            else:
                lines.append(f"- {name}: offline ({seen})")
        online = made.result["online"]
        head = f"{online} of {len(rows)} devices are online."
        if len(rows) == 1:
            r = rows[0]
            head = f"The {escape_markdown(r['name'])} is {'online' if r['online'] else 'offline'}."
        drawing = [r for r in rows if r["online"] and r["power_w"] is not None]
        consumers = [
            r
            for r in drawing
            if not any(d.is_generator for d in ctx.devices if d.device_id == r["device_id"])
        ]
        if len(rows) > 1 and consumers:
            total = sum(r["power_w"] for r in consumers)
            head += f" Consuming devices draw {watts(total)} in total right now."
        return head + "\n\n" + "\n".join(lines)

    def _answer_profile(self, ctx, u, text, call) -> str:  # noqa: ANN001
        args = self._target_args(u)
        if u.periods:
            args["start"] = u.periods[0].start.isoformat()
            args["end"] = u.periods[0].full_end.isoformat()
            args["label"] = u.periods[0].label
        made = call("hourly_profile", **args)
        if not made.ok:
            return made.error
        r = made.result
        if not r["profile"]:
            return _no_data(_scope(u, ctx), made)
        peaks = ", ".join(f"{p['hour']:02d}:00 ({watts(p['avg_w'])})" for p in r["peak_hours"])
        quiet = r["quietest_hours"][0]
        return (
            f"{_cap(_when(made.evidence))}, {_scope(u, ctx)} uses the most power at "
            f"{peaks} on average, and the least at {quiet['hour']:02d}:00 "
            f"({watts(quiet['avg_w'])})." + _coverage_note(r["coverage"])
        )

    @staticmethod
    def _granularity(u: Understanding, default: str = "day") -> str:
        """The unit of a breakdown or an extreme ("daily", "which week"), read from the question
        without its periods (so "last week" does not make a daily breakdown weekly)."""
        match = re.search(r"\b(hour|day|week|month)(?:s|ly)?\b|\b(daily)\b", u.rest)
        if match is None:
            return default
        return "day" if match.group(2) else match.group(1)

    def _answer_extreme_period(self, ctx, u, text, call) -> str:  # noqa: ANN001
        granularity = self._granularity(u)
        tool = "cost" if COST.search(text) else "energy_usage"
        made = call(tool, granularity=granularity, **self._range_args(u), **self._target_args(u))
        if not made.ok:
            return made.error
        r = made.result
        least = bool(LEAST.search(text))
        pick = r["lowest"] if least else r["highest"]
        if pick is None:
            return _no_data(_scope(u, ctx), made)
        word = {"cost": ("cheapest", "most expensive")}.get(tool, ("lowest", "highest"))
        adjective = word[0] if least else word[1]
        figure = kwh(pick["consumption_wh"])
        if tool == "cost":
            figure = f"{money(pick['cost'], r['currency'])} ({kwh(pick['consumption_wh'])} used)"
        out = (
            f"The {adjective} {granularity} for {_scope(u, ctx)} {_when(made.evidence)} was "
            f"**{_period_name(pick, granularity)}**: {figure}."
        )
        if pick["coverage"] < LOW_COVERAGE:
            out += f" (Readings cover {percent(pick['coverage'])} of it.)"
        return out

    def _answer_rank(self, ctx, u, text, call) -> str:  # noqa: ANN001
        args = self._range_args(u)
        if u.rooms:
            args["rooms"] = list(u.rooms)
        limit = 5
        top = TOP_N.search(text)
        if top:
            raw = top.group(1) or top.group(2)
            limit = int(raw) if raw.isdigit() else WORD_NUMBERS[raw]
        by_room = bool(BY_ROOM.search(text))
        order = "least" if LEAST.search(text) else "most"
        made = call(
            "top_devices",
            limit=max(1, min(limit, 20)),
            order=order,
            group_by="room" if by_room else "device",
            **args,
        )
        if not made.ok:
            return made.error
        r = made.result
        ranking = [row for row in r["ranking"] if row["coverage"] and row["coverage"] > 0]
        if not ranking:
            return _no_data(_scope(u, ctx), made)
        first = ranking[0]
        label = escape_markdown(first["room"] if by_room else first["name"])
        verb = "used the most" if order == "most" else "used the least"
        share = f", {percent(first['share'])} of the total" if first["share"] else ""
        used = kwh(first["consumption_wh"])
        out = f"{_cap(_when(made.evidence))}, **{label}** {verb}: {used}{share}."
        if len(ranking) > 1:
            lines = "\n".join(
                f"{row['rank']}. {escape_markdown(row['room'] if by_room else row['name'])}: "
                f"{kwh(row['consumption_wh'])}"
                + (f" ({percent(row['share'])})" if row["share"] else "")
                for row in ranking
            )
            out += "\n\n" + lines
        return out + _coverage_note(r["coverage"])

    def _answer_compare(self, ctx, u, text, call) -> str:  # noqa: ANN001
        if len(u.groups) >= 2 and len(u.periods) <= 1:
            return self._compare_devices(ctx, u, call)
        args: dict[str, Any] = self._target_args(u)
        first = u.periods[0]
        # With one period named, compare it with the one of the same kind before it (this
        # month with last month), which only the parsed period knows how to find.
        second = u.periods[1] if len(u.periods) > 1 else first.previous()
        for prefix, period in (("first", first), ("second", second)):
            args[f"{prefix}_start"] = period.start.isoformat()
            args[f"{prefix}_end"] = period.full_end.isoformat()
            args[f"{prefix}_label"] = period.label
        if u.time_of_day:
            args["time_of_day"] = u.time_of_day
        made = call("compare_periods", **args)
        if not made.ok:
            return made.error
        r = made.result
        a, b = r["first"], r["second"]
        if not a["coverage"] and not b["coverage"]:
            return _no_data(_scope(u, ctx), made)
        a_when = _when(made.evidence)
        b_when = _when(made.evidence, "second_range")
        out = f"{_cap(_scope(u, ctx))} used {_used(a)} {a_when} and {_used(b)} {b_when}."
        partial = a["partial"] or b["partial"]
        change = r["per_day_change_pct"] if partial else r["change_pct"]
        if not r["comparable"]:
            out += (
                f" I do not give a change in percent: {r['not_comparable_because']}, so the "
                "two are not comparable."
            )
        elif change is not None:
            direction = "more" if change > 0 else "less"
            basis = "a day " if partial else ""
            out += f" That is {abs(change):.0f}% {direction} {basis}{a['label']} than {b['label']}."
            if partial:
                out += " (I compare daily averages because one period is not over yet.)"
        coverages = [c for c in (a["coverage"], b["coverage"]) if c is not None]
        return out + _coverage_note(min(coverages) if coverages else None)

    def _compare_devices(self, ctx, u, call) -> str:  # noqa: ANN001
        made = call("energy_usage", **self._range_args(u), **self._target_args(u))
        if not made.ok:
            return made.error
        rows = made.result["per_device"]
        if not any(row["coverage"] for row in rows):
            return _no_data(_scope(u, ctx), made)
        ordered = sorted(rows, key=lambda row: -(row["consumption_wh"] or 0))
        lines = "\n".join(
            f"- {escape_markdown(row['name'])}: {kwh(row['consumption_wh'] or 0)}"
            for row in ordered
        )
        top = ordered[0]
        return (
            f"{_cap(_when(made.evidence))}, **{escape_markdown(top['name'])}** used the most:\n\n"
            f"{lines}" + _coverage_note(made.result["coverage"])
        )

    def _answer_power(self, ctx, u, text, call) -> str:  # noqa: ANN001
        made = call("power_stats", **self._range_args(u), **self._target_args(u))
        if not made.ok:
            return made.error
        r = made.result
        if not r["coverage"]:
            return _no_data(_scope(u, ctx), made)
        when = _when(made.evidence)
        if u.devices and len(r["per_device"]) <= 3:
            lines = []
            for row in r["per_device"]:
                if row["avg_w"] is None:
                    lines.append(f"The {escape_markdown(row['name'])} has no readings {when}.")
                    continue
                lines.append(
                    f"The {escape_markdown(row['name'])} averaged **{watts(row['avg_w'])}** "
                    f"{when}; its highest reading was **{watts(row['max_w'])}** and its lowest "
                    f"{watts(row['min_w'])}."
                )
            return " ".join(lines) + _coverage_note(r["coverage"])
        out = f"{_cap(when)}, {_scope(u, ctx)} averaged **{watts(r['household_avg_w'])}**."
        if r["peak_hour_avg_w"] is not None:
            peak_at = _local_time(r["peak_hour_start"])
            out += (
                f" The busiest hour was {peak_at:%a %-d %b %H:00} at "
                f"**{watts(r['peak_hour_avg_w'])}** on average."
            )
        return out + _coverage_note(r["coverage"])

    def _energy_sentence(self, u: Understanding, ctx: ToolContext, made: ToolCall) -> str:
        r = made.result
        when = _when(made.evidence)
        scope = _scope(u, ctx)
        generators_only = bool(u.devices) and all(d.is_generator for d in u.devices)
        if not r["coverage"]:
            return _no_data(scope, made)
        if generators_only:
            return f"{_cap(scope)} generated **{kwh(r['generation_wh'])}** {when}."
        subject = "You" if scope == "your household" else _cap(scope)
        out = f"{subject} used **{kwh(r['consumption_wh'])}** {when}."
        if r["generation_wh"] and abs(r["generation_wh"]) >= 1:
            out += (
                f" Solar and other generation produced {kwh(r['generation_wh'])}, so the net "
                f"was {kwh(r['net_wh'])}."
            )
        return out

    def _answer_energy(self, ctx, u, text, call) -> str:  # noqa: ANN001
        breakdown = BREAKDOWN.search(text)
        granularity = self._granularity(u) if breakdown else "total"
        made = call(
            "energy_usage",
            granularity=granularity,
            **self._range_args(u),
            **self._target_args(u),
        )
        if not made.ok:
            return made.error
        out = self._energy_sentence(u, ctx, made)
        r = made.result
        if not r["coverage"]:
            return out
        if PER_DAY.search(text) and r["per_day_wh"] is not None:
            out += f" That is {kwh(r['per_day_wh'])} a day on average."
        if granularity != "total":
            rows = "\n".join(
                f"| {_period_name(row, granularity)} | {_kwh_or_none(row['consumption_wh'])} | "
                f"{_percent_or_none(row['coverage'])} |"
                for row in r["series"]
            )
            out += f"\n\n| {_cap(granularity)} | Energy | Coverage |\n|---|---|---|\n{rows}"
        return out + _coverage_note(r["coverage"])

    def _answer_cost(self, ctx, u, text, call) -> str:  # noqa: ANN001
        made = call("cost", **self._range_args(u), **self._target_args(u))
        if not made.ok:
            return made.error
        r = made.result
        scope = _scope(u, ctx)
        if not r["coverage"]:
            return _no_data(scope, made)
        subject = "You spent" if scope == "your household" else f"{_cap(scope)} cost"
        out = (
            f"{subject} **{money(r['cost'], r['currency'])}** {_when(made.evidence)}: "
            f"{kwh(r['import_wh'])} bought from the grid at "
            f"{money(r['price_per_kwh'], r['currency'])}/kWh."
        )
        if r["generation_wh"] and r["generation_wh"] >= 1:
            out += (
                f" Your generation ({kwh(r['generation_wh'])}) covered the rest of the "
                f"{kwh(r['consumption_wh'])} used"
                + (
                    f"; the {kwh(r['export_wh'])} sent to the grid is not credited"
                    if r["export_wh"] and not r["export_price_per_kwh"]
                    else ""
                )
                + "."
            )
        return out + _coverage_note(r["coverage"])


__all__ = ["OfflineAnalyst", "Understanding", "understand"]
