"""Reading the money questions beyond the cost of a range: the bill of the billing period and
the budget, the standing charge, the cheapest hours, and "what would that tariff have saved me".

``money_question`` runs in ``understand.understand`` before names are checked (a tariff's name
or an appliance run at the cheapest hour is not a device the question is about). A tariff the
household has not saved, or a range other than whole months back, is said back, never replaced
by another (``Question.problem``)."""

from __future__ import annotations

import re
from datetime import datetime

from energy_core.chat.devices import STOPWORDS, fold
from energy_core.chat.question import Question
from energy_core.chat.tools import ToolContext
from energy_core.chat.understand_text import rx
from energy_core.tariff_alternatives import list_alternatives

TARIFF = rx(
    r"\b(tariff|price per kwh|unit (price|rate)|what (do|does) (i|we) pay per|kwh price|"
    r"price of (electricity|a kwh|energy)|rate per kwh|how much (is|does) a kwh)\b"
)
WHAT_IF = rx(
    r"\b(would|could|might)\b.{0,80}\b(saved?|saving|savings|cost|cheaper|dearer|paid|pay|"
    r"spent|better off)\b|\bwhich tariff\b.{0,40}\b(cheaper|cheapest|better|best)\b|"
    r"\bwhat if\b.{0,60}\b(tariff|plan)\b|\b(switch(ed|ing)?|moved?|changed?) (to|tariffs?)\b|"
    r"\bbetter off (on|with)\b|\bcompare (my )?tariffs?\b"
)
BILL = rx(
    r"\bbills?\b.{0,20}\bso far\b|\bcurrent bill\b|\bbilling period\b|\b(tax|taxes|vat)\b|"
    r"\bthis month'?s bill\b|\bbill (for|of) this month\b"
)
# The bill as it would have been without a device named beside it ("my bill without the heat
# pump", "what would I pay if I didn't have the EV charger").
BILL_WITHOUT = rx(
    r"\b(bills?|pay|paying|paid|spend|spent)\b.{0,60}\b(without|excluding|minus|not counting|"
    r"if (i|we) (did ?n'?t?|did not|had ?n'?t?|had not|got rid of|removed?|sold|never had))\b|"
    r"\b(without|excluding|if (i|we) (did ?n'?t?|did not|had ?n'?t?|had not|got rid of|removed?|"
    r"sold|never had))\b.{0,60}\b(bills?|would (i|we) pay)\b"
)
# The bill of a usual month: the average of the past whole billing periods.
AVERAGE_BILL = rx(
    r"\b(average|typical|usual|normal|mean)( monthly| month'?s?)? (bill|electricity bill|"
    r"spend|cost)s?\b|\b(bills?|pay|spend)\b.{0,30}\b(on average|usually|typically|normally)\b|"
    r"\b(on average|usually|typically|normally)\b.{0,30}\b(bills?|pay|spend)\b.{0,20}"
    r"\b(a|per|each|every) month\b|\bmonthly bills?\b.{0,20}\baverage\b"
)
# "Would have saved me", without the word tariff: what a tariff of another name would have done.
SAVED = rx(r"\b(would|could|might)\b.{0,60}\bhave saved\b")
TARIFF_WORD = rx(r"\b(tariffs?|plans?|rates?)\b")
BUDGET = rx(r"\bbudget")
STANDING = rx(r"\bstanding[- ](charges?|fees?|rates?)\b|\bdaily (standing )?charge\b")
CHEAPEST_TIME = rx(
    r"\b(cheapest|cheaper|best|cheap) (time|times|hours|moment)\b|"
    r"\b(cheapest|cheaper|best|cheap) (hour|slot)s? to (run|use|charge|start|put on|switch on|"
    r"turn on|do)\b|"
    r"\bwhen (is|are|'s) (electricity|power|energy|it|the price|my price) (cheap|cheapest|lowest)|"
    r"\bwhen should (i|we) (run|use|charge|start|put on|switch on|turn on)\b|"
    r"\b(which|what) (hours?|times?)( of (the )?day)? (is|are) (the )?(cheapest|cheaper|cheap)\b"
)
MONTHS_BACK = rx(
    r"\b(?:last|past|previous)\s+(\d{1,2}|two|three|four|five|six|nine|twelve)\s+months?\b"
)
MONTH_BACK = rx(r"\b(?:last|past|previous) month\b")
YEAR_BACK = rx(r"\b(?:last|past|previous) (?:year|12 months)\b")
NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "nine": 9, "twelve": 12}
# Words a what-if question is made of; a word outside these (and the analyst's vocabulary) is
# taken for the name of a tariff.
WHAT_IF_WORDS = frozenset(
    """
    tariff tariffs plan plans rate rates would could might have has had saved save saving
    savings cost costs costed cheaper dearer pay paid spent spend better off switch switched
    switching move moved moving change changed changing instead what which if time use tou
    dynamic fixed flat variable other another alternative different new cheapest best been
    since over months month year years back the my our us we me kept stayed stay on with been
    compare compared comparison versus against current present existing saved one of
    """.split()
)


# The price of a day or an hour: "tomorrow's tariff", "the price at 7pm tomorrow", "what is a
# kWh now". Not what was paid (a cost) nor a bill.
PRICE = rx(
    r"\b(prices?|tariffs?|unit (price|rate)s?|rates?|per kwh|kwh price|pence a kwh|"
    r"(cost|price) of (a |one )?kwh|(a|one) kwh cost|how much is (electricity|a kwh|power)|"
    r"electricity (cost|price)s?)\b"
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PRICE_WHEN = rx(r"\b(tomorrow|tonight|today|right now|now|currently|at the moment)\b")
PAID = rx(
    r"\b(did|have|has|had|used|use|spent|spend|paid|pay|bill|budget|standing|cheapest|cheaper|"
    r"would|could|saved?|so far)\b"
)
AT_HOUR = rx(r"\b(?:at|around|from) (\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b|\b(\d{1,2})\s*(am|pm)\b")


def _hour(text: str) -> int | None:
    found = AT_HOUR.search(text)
    if found is None:
        return None
    hour = int(found.group(1) or found.group(4))
    meridiem = found.group(3) or found.group(5)
    if hour > 23 or (meridiem and not 1 <= hour <= 12):
        return None
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    return hour


def price_question(q: Question, text: str, *, now: datetime) -> bool:
    """Make ``q`` a question about the tariff's price of a day or an hour (today's or
    tomorrow's; ``now`` is the household's local time) when ``text`` asks one; True if it does."""
    when = PRICE_WHEN.search(text)
    hour = _hour(text)
    if hour is None and re.search(r"\b(now|currently|at the moment)\b", text):
        hour = now.hour
    today = now.date()
    named = [i for i, d in enumerate(WEEKDAYS) if re.search(rf"\b{d}\b", text)]
    if not PRICE.search(text) or PAID.search(text) or (when is None and hour is None and not named):
        return False
    tomorrow = bool(re.search(r"\btomorrow\b", text))
    if named:
        # A day by its name: today's or tomorrow's only (the tool knows those two days).
        if len(named) > 1 or named[0] not in (today.weekday(), (today.weekday() + 1) % 7):
            q.kind, q.metrics = "tariff", ["cost"]
            q.notes.append(
                "I give the prices hour by hour for today and tomorrow only; here is the tariff "
                "in force, with its time-of-use periods."
            )
            return True
        tomorrow = named[0] != today.weekday()
    q.kind, q.metrics = "tariff", ["cost"]
    q.price_day = "tomorrow" if tomorrow else "today"
    q.price_hour = hour
    return True


def _months(text: str) -> int | None:
    found = MONTHS_BACK.search(text)
    if found:
        word = found.group(1)
        months = int(word) if word.isdigit() else NUMBER_WORDS[word]
        return months if 1 <= months <= 24 else None
    if YEAR_BACK.search(text):
        return 12
    if MONTH_BACK.search(text):
        return 1
    return None


def _saved_names(ctx: ToolContext, q: Question) -> list[str]:
    """The household's saved alternatives named in the question (as typed: a name is never
    corrected towards the analyst's words)."""
    folded = fold(q.text)
    return [
        a.name
        for a in list_alternatives(ctx.session, user_id=ctx.user_id)
        if re.search(rf"\b{re.escape(fold(a.name))}\b", folded)
    ]


def _what_if(q: Question, text: str, named: list[str], *, vocabulary: frozenset[str]) -> None:
    q.kind, q.metrics = "what_if", ["cost"]
    folded = fold(q.text)
    if named:
        q.tariff_name = named[0]
    else:
        leftovers = [
            w
            for w in re.findall(r"[a-z]+", folded)
            if len(w) > 2 and w not in WHAT_IF_WORDS and w not in STOPWORDS and w not in vocabulary
        ]
        if leftovers:
            q.problem = "unknown_tariff"
            q.unknown_names = [" ".join(leftovers)]
            return
    months = _months(text)
    if months is None and q.periods:
        q.problem = "what_if_period"
        return
    q.months = months or 3


def money_question(
    ctx: ToolContext,
    q: Question,
    text: str,
    *,
    named: bool,
    devices: bool,
    vocabulary: frozenset[str],
) -> bool:
    """Fill in ``q`` when ``text`` asks one of this module's questions (True), else leave it.
    ``named``: the question names a period or a device; ``devices``: a device."""
    if STANDING.search(text):
        q.kind, q.metrics = "standing_charge", ["cost"]
    elif CHEAPEST_TIME.search(text):
        q.kind, q.metrics = "cheapest_time", ["cost"]
    elif BUDGET.search(text):
        q.kind, q.metrics = "budget", ["cost"]
    elif AVERAGE_BILL.search(text) and not named:
        q.kind, q.metrics = "average_bill", ["cost"]
    elif BILL.search(text):
        q.kind, q.metrics = "bill", ["cost"]
    elif WHAT_IF.search(text) and (
        TARIFF_WORD.search(text) or _saved_names(ctx, q) or (SAVED.search(text) and not devices)
    ):
        _what_if(q, text, _saved_names(ctx, q), vocabulary=vocabulary)
    elif TARIFF.search(text) and not named:
        q.kind, q.metrics = "tariff", ["cost"]
    else:
        return False
    return True


__all__ = ["BILL_WITHOUT", "money_question", "price_question"]
