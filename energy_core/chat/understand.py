"""Reading a question into the question model (``question.Question``).

In order: the words are tidied and their typos corrected against the analyst's own vocabulary
(``understand_text``; a near miss of a device name is never corrected, it is offered back); then
the periods (``periods.find_periods``: an explicit date beats a weekday word), clock times
(``understand_clock``), the part of the day, the devices and rooms
(``devices.find_devices_in_text``) and the names that match nothing of the household's
(``names.unknown_names``); what is out of reach is turned down (``understand_refusals``); last,
what is asked, from word families rather than fixed phrases (``understand_kind``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from zoneinfo import ZoneInfo

from energy_core.chat.devices import STOPWORDS, Match, find_devices_in_text, fold
from energy_core.chat.names import close_devices, unknown_names
from energy_core.chat.period_words import SEASONS as SEASON_NAMES
from energy_core.chat.periods import (
    Period,
    PeriodError,
    find_periods,
    find_times_of_day,
    night_after,
)
from energy_core.chat.question import Kind, Option, Question, Target
from energy_core.chat.render import plain_name
from energy_core.chat.tools import ToolContext
from energy_core.chat.understand_clock import (
    BARE_HOURS,
    CLOCK,
    CLOCK_WORDS,
    WORKING_HOURS,
    clock_range,
    clock_word,
    whole_clock_hours,
    with_meridiem,
    within_the_day,
    working_hours,
)
from energy_core.chat.understand_kind import (
    BUSIER_AT_WEEKENDS,
    ENERGY,
    NOW_WORDS,
    SOLAR_SAVING,
    SOLAR_WORDS,
    fill_details,
    only_days,
    question_kind,
)
from energy_core.chat.understand_money import BILL_WITHOUT, money_question, price_question
from energy_core.chat.understand_refusals import HELP, INJECTION, OFF_TOPIC, refused
from energy_core.chat.understand_runs import (
    ALWAYS_ON,
    HOUSEHOLD_DURING,
    asks_runs,
    energy_level_wh,
    money_level,
    runs_question,
)
from energy_core.chat.understand_since import since_device
from energy_core.chat.understand_text import (
    VOCABULARY,
    blank,
    correct_typos,
    days_before,
    quarters,
    rx,
    tidy,
)
from energy_core.chat.wording import listing, scope
from energy_core.stats import DeviceRef

# The whole of the history: from the first reading of the devices asked about.
ALL_TIME = rx(
    r"\bsince (it|they|we|i)( was| were| got| have been| has been)? (installed|set up|added|"
    r"connected|fitted|started|began)\b|\ball[- ]time\b|\bever\b|\bsince (the )?(start|"
    r"beginning)\b|\bsince (monitoring|records|the readings) (began|started)\b|"
    r"\bsince (installation|install|it was put in|setup|set-up|day one|we got it|i got it)\b"
)
SAME_DAY_LAST_WEEK = rx(
    r"\b(the )?same day (last|a|the previous|of last) week\b|\b(at )?this time last week\b"
)
LAST_YEAR_SAME = rx(
    r"\b(the )?same (day|week|month|period|time|days) (last year|a year (ago|earlier|before)|"
    r"the previous year|the year before|of last year)\b|\b(this|that) time last year\b|"
    r"\ba year (ago|earlier)\b"
)
PREVIOUS_REF = rx(
    r"\bthe (previous|prior|preceding) (one|day|week|month|year)\b|"
    r"\bthe (day|week|month|year) before\b(?! yesterday)|\bthe one before\b"
)


def _target(matches: list[Match]) -> Target:
    devices: list[DeviceRef] = []
    rooms: list[str] = []
    for match in matches:
        if match.room:
            rooms.append(match.room)
        else:
            devices.extend(d for d in match.devices if d not in devices)
    return Target(devices=tuple(devices), rooms=tuple(dict.fromkeys(rooms)))


def _option_question(original: str, phrase: str, replacement: str) -> str:
    """The question again with ``phrase`` (folded words) replaced by a device's name."""
    pattern = r"[\s\-_]+".join(re.escape(w) for w in phrase.split())
    out, n = re.subn(rf"(?i)\b{pattern}\b", replacement, original, count=1)
    return out if n else f"{original.rstrip('?. ')} ({replacement})?"


def _ask_back(q: Question, kind: Kind, names: list[str], devices: Iterable[DeviceRef]) -> Question:
    """``q`` as a question back about ``names[0]``: each of ``devices`` offered in its place."""
    q.kind = kind
    q.unknown_names = names
    q.options = [
        Option(d.name, _option_question(q.text, names[0], plain_name(d.name))) for d in devices
    ]
    return q


def understand(ctx: ToolContext, question: str) -> Question:
    """The question model of ``question`` for the user of ``ctx``."""
    raw = tidy(question)
    q = Question(text=question)
    if not raw:
        q.kind = "help"
        return q
    if INJECTION.search(raw):
        q.kind, q.problem = "out_of_scope", "instruction"
        return q
    local_now = ctx.now.astimezone(ZoneInfo(ctx.timezone))
    dated = days_before(quarters(raw, local_now.date()), local_now.date())
    text = BARE_HOURS.sub(with_meridiem, correct_typos(dated, ctx.devices))
    text, since_note = since_device(text, ctx.devices, timezone=local_now.tzinfo)
    if price_question(q, text, now=local_now):
        return q
    text = WORKING_HOURS.sub(working_hours, text)
    unclear = WORKING_HOURS.search(text)
    if unclear and max(int(unclear.group(2)), int(unclear.group(4))) <= 12:
        q.kind = "period_error"
        q.problem = (
            f"Between {unclear.group(2)} and {unclear.group(4)} in the morning or in the "
            "afternoon? Ask again with am or pm, or on the 24-hour clock."
        )
        return q
    same_day = SAME_DAY_LAST_WEEK.search(text)
    previous = PREVIOUS_REF.search(text)
    year_ago = LAST_YEAR_SAME.search(text)
    masked = blank(text, [m.span() for m in (same_day, previous, year_ago) if m])
    days = only_days(masked)
    if days:
        # "on weekdays last week": a filter of the days, not a period ("the weekend") of its own
        q.days = days[0]
        masked = blank(masked, [days[1]])
    try:
        mentions = find_periods(masked, now=ctx.now, timezone=ctx.timezone)
    except PeriodError as exc:
        q.kind, q.problem = "period_error", str(exc)
        return q
    if re.search(r"\bweekdays?\b|\bweek days?\b", masked):
        # "the weekend or weekdays last week": weekend days against weekdays, not the weekend
        # as a period of its own against the week.
        mentions = [m for m in mentions if m.kind != "weekend"]
    masked = CLOCK_WORDS.sub(clock_word, masked)
    clock = CLOCK.search(masked)
    clock_hours = None
    if clock:
        part = clock_range(clock)
        if part is None:
            try:
                narrowed = within_the_day(clock, mentions, ctx)
            except PeriodError as exc:
                q.kind, q.problem = "period_error", str(exc)
                return q
            if narrowed is None:
                hours = whole_clock_hours(clock)
                if hours is None:
                    q.kind, q.problem = "out_of_scope", "clock"
                    return q
                # Whole clock hours across several days ("between 7am and 9am each day last
                # week"): those hours of every day, as a part of the day is.
                clock_hours = hours
            else:
                mentions = [replace(mentions[0], period=narrowed)]
            masked = blank(masked, [clock.span()])
        else:
            masked = blank(masked, [clock.span()]) + f" {part}"
    nights = [night_after(m, masked, now=ctx.now, timezone=ctx.timezone) for m in mentions]
    if len(mentions) == 1 and nights[0] is not None:
        # "Saturday night": that night as a period of its own, not Saturday's night hours.
        mentions = [replace(mentions[0], period=nights[0])]
        end = mentions[0].span[1]
        night = re.match(r"\s+night\b", masked[end:])
        masked = blank(masked, [(end, end + night.end())])
    times = find_times_of_day(masked)
    if clock_hours is not None:
        times = [(clock_hours, clock.span())]
    time_of_day = times[0][0] if times else None
    spans = [m.span for m in mentions] + [span for _, span in times]
    rest = blank(masked, spans)
    q.periods = [m.period for m in mentions]
    q.times_of_day = list(dict.fromkeys(name for name, _ in times))
    q.notes = [m.note for m in mentions if m.note] + ([since_note] if since_note else [])
    q.time_of_day = time_of_day
    matches = find_devices_in_text(rest, ctx.devices, ignore=VOCABULARY)
    exact = [m for m in matches if m.exact]
    modified = _unknown_modifier(rest, matches)

    if refused(q, raw, bool(mentions)):
        return q
    named = bool(mentions or matches)
    solar_saving = SOLAR_SAVING.search(text) and SOLAR_WORDS.search(text)
    if len(exact) == 1 and ALWAYS_ON.search(text) and not NOW_WORDS.search(text):
        # "is the router always on": the share of the time it ran, not its status now
        q.kind, q.run_view, q.target = "runs", "time", _target(exact)
        return q
    if len(exact) == 1 and HOUSEHOLD_DURING.search(text):
        q.kind, q.run_view, q.target = "runs", "household", _target(exact)
        q.metrics = ["consumption"]
        return q
    if exact and BILL_WITHOUT.search(text):
        q.kind, q.metrics, q.target = "bill_without", ["cost"], _target(exact)
        return q
    if (
        not asks_runs(text)
        and not solar_saving
        and money_question(ctx, q, text, named=named, devices=bool(matches), vocabulary=VOCABULARY)
    ):
        return q
    # The words as asked, too: a typo fix may turn one into another ("weather" into "water").
    off_topic = OFF_TOPIC.search(raw) or OFF_TOPIC.search(text)
    if off_topic and not (matches and ENERGY.search(text)):
        q.kind = "out_of_scope"
        return q
    if HELP.search(text) and not (matches or mentions):
        q.kind = "help"
        return q

    # Names: several devices for one word, a near miss, or nothing at all of the user's.
    for match in matches:
        if match.ambiguous:
            return _ask_back(q, "clarify", [match.phrase], match.devices)
    if modified is not None:
        phrase, match = modified
        return _ask_back(q, "unknown_name", [phrase], match.devices)
    # A near miss that only repeats a device named exactly beside it ("the ev chrger": "ev" is
    # the EV charger) adds nothing to ask about.
    named_exactly = {d for m in exact for d in m.devices}
    near = [m for m in matches if not m.exact and not set(m.devices) <= named_exactly]
    if near:
        return _ask_back(q, "clarify", [near[0].phrase], near[0].devices)
    missing = unknown_names(rest, exact, ctx.devices, vocabulary=VOCABULARY)
    if missing:
        return _ask_back(q, "unknown_name", missing, close_devices(missing[0], ctx.devices))

    q.target = _target(exact)
    q.sides = _distinct_sides(exact, q)
    if BUSIER_AT_WEEKENDS.search(text) and all(m.kind == "weekend" for m in mentions):
        q.kind, q.periods, q.grouping = "profile", [], "weekday"
        return q
    if runs_question(text, q, ctx.devices):
        fill_details(text, rest, q)
        return q
    q.energy_level = energy_level_wh(text)
    q.money_level = money_level(raw)
    checked = q.energy_level is not None or q.money_level is not None
    if checked and len(q.periods) <= 1 and len(q.sides) <= 1:
        # "Did I use more than 50 kWh yesterday?", "was my bill over £50?": the total, checked
        # against the amount.
        q.kind = "total"
        fill_details(text, rest, q)
        if q.money_level is not None:
            q.metrics = ["cost"]
        return q
    q.kind = question_kind(text, rest, q, same_day is not None, bool(previous or year_ago))
    if q.kind == "profile" and q.time_of_day and re.search(r"\bhow much\b", text):
        # "How much do I use on a typical night": that part of the day's total, per day.
        q.kind = "total"
        q.notes.append("A typical night here is the average of the nights of the period.")
    if q.kind == "comparison":
        q.comparison = (
            "last_year"
            if year_ago and len(q.periods) <= 1
            else "times_of_day"
            if len(q.times_of_day) >= 2
            else "selections"
            if len(q.sides) >= 2 and len(q.periods) <= 1
            else "same_day_last_week"
            if same_day
            else "periods"
            if len(q.periods) >= 2
            else "previous"
        )
    if q.kind == "solar" and (previous or same_day) and len(q.periods) == 1:
        # "what solar saved last month against the month before": both periods, side by side
        q.periods.append(q.periods[0].previous())
    if q.comparison == "previous":
        _than_the_last(masked, mentions, q, ctx)
    if not q.periods and ALL_TIME.search(masked):
        q.periods = _all_time(q, ctx)
    fill_details(text, rest, q)
    return q


# "more than last week?": the one period named is the side compared with; the other is the
# current period of the same kind (this week), not the one before it.
_CURRENT_OF = {"yesterday": "today", "last week": "this week", "last month": "this month"}
_CURRENT_OF |= {"last year": "this year", "previous week": "this week"}
_CURRENT_OF |= {"previous month": "this month", "previous year": "this year"}
_CURRENT_OF |= {f"last {season}": f"this {season}" for season in SEASON_NAMES}


_THAN = re.compile(r"\b(than|compared (to|with)|against|versus|vs)\s*$")


def _all_time(q: Question, ctx: ToolContext) -> list[Period]:
    """From the first reading of the devices asked about (of the household's when none is)
    until now."""
    rooms = set(q.target.rooms)
    devices = list(q.target.devices) + [d for d in ctx.devices if d.location in rooms]
    starts = [d.first_at for d in devices or ctx.devices if d.first_at is not None]
    if not starts:
        return []
    tz = ZoneInfo(ctx.timezone)
    start = min(starts).astimezone(tz).replace(microsecond=0)
    now = ctx.now.astimezone(tz)
    if start >= now:
        return []
    label = "since its first reading" if len(devices) == 1 else "since the first reading"
    return [Period(start=start, end=now, label=label, kind="rolling", full_end=now)]


def _than_the_last(text: str, mentions: list, q: Question, ctx: ToolContext) -> None:
    if len(mentions) != 1 or not _THAN.search(text[: mentions[0].span[0]]):
        return
    current = _CURRENT_OF.get(mentions[0].period.label)
    if current is None:
        return
    (now,) = find_periods(current, now=ctx.now, timezone=ctx.timezone)
    q.periods = [now.period, mentions[0].period]
    q.comparison = "periods"


def _distinct_sides(exact: list[Match], q: Question) -> list[Target]:
    """One side per thing named, two names of the same device counted once ("the fridge and the
    freezer" in a house with one fridge freezer), which the answer then says."""
    sides: list[Target] = []
    phrases: list[list[str]] = []
    for match in exact:
        side = _target([match])
        if side in sides:
            phrases[sides.index(side)].append(match.phrase)
            continue
        sides.append(side)
        phrases.append([match.phrase])
    for side, said in zip(sides, phrases, strict=True):
        if len(said) > 1:
            q.notes.append(
                f"{listing([repr(p) for p in said], escape=False)} are the same device here, "
                f"{scope(side)}, so I counted it once."
            )
    return sides


QUANTIFIERS = frozenset("both either neither two three four several".split())


def _unknown_modifier(rest: str, matches: list[Match]) -> tuple[str, Match] | None:
    """ "the pool pump", "the garage fridge": a word before a device's name that makes it the
    name of something else. Returns the whole phrase and the match it would have been."""
    folded = fold(rest)
    for match in matches:
        if match.room is not None:
            continue
        before = re.search(r"([a-z]+)\s+$", folded[: match.span[0]])
        if before is None:
            continue
        word = before.group(1)
        if len(word) < 3 or word in STOPWORDS or word in VOCABULARY or word in QUANTIFIERS:
            continue
        if any(m.span[0] <= before.start(1) < m.span[1] for m in matches):
            continue
        return f"{word} {match.phrase}", match
    return None


__all__ = ["understand"]
