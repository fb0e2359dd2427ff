"""Reading questions about runs and levels into the question model: "how many hours was the heat
pump above 2 kW", "when did power exceed 5 kW", "what does one wash cost", "what time does the
washing machine usually go on". Answered by the ``power_runs`` tool (``offline_runs``)."""

from __future__ import annotations

import re

from energy_core.chat.question import Question, Target
from energy_core.stats import DeviceRef

# What the whole household used while one device ran: "how much did the house use while the car
# was charging", "what did everything else use during the washes".
HOUSEHOLD_DURING = re.compile(
    r"\b(house|home|household|we|everything( else)?|rest of (the )?(house|home)|whole house|"
    r"other devices|total|in total|altogether)\b.{0,40}\b(while|whilst|when|during|whenever)\b"
    r".{0,40}\b(charg\w*|running|ran|runs?|on|washing|wash(es)?|heating|cycles?|working)\b",
    re.IGNORECASE,
)

# A number as written in English or in much of Europe: "1,046.5", "1.046,5", "1,5", "1.000".
NUMBER = r"\d{1,3}(?:[.,]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"


def amount(written: str) -> float:
    """The value of a NUMBER: with both separators the last is the decimal point; one separator
    used more than once, or once before exactly three digits, groups thousands ("1,046",
    "1.000"); otherwise it is the decimal point ("1,5", "2.25")."""
    marks = [i for i, ch in enumerate(written) if ch in ".,"]
    if not marks:
        return float(written)
    last = marks[-1]
    kinds = {written[i] for i in marks}
    grouping = len(kinds) == 1 and (len(marks) > 1 or len(written) - last - 1 == 3)
    if grouping:
        return float(re.sub(r"[.,]", "", written))
    return float(re.sub(r"[.,]", "", written[:last]) + "." + written[last + 1 :])


# Whether a device runs all the time: its time above standby over the days.
ALWAYS_ON = re.compile(
    r"\b(always|constantly|permanently) (on|running|drawing)\b|\bon all the time\b|"
    r"\bnever (turns?|switch(es)?|goes) off\b|\bruns? (all the time|24/7|non-?stop)\b|\b24/7\b",
    re.IGNORECASE,
)

# A level of power: a number with a unit of power (never of energy: "more than 10 kWh" is not
# a level), after a word that says on which side of it.
LEVEL = re.compile(
    r"\b(above|over|exceed(?:s|ed|ing)?|more than|greater than|higher than|beyond|"
    r"top(?:s|ped)?|go(?:es)? over|went over|passed|surpass(?:es|ed)?|at least|"
    r"below|under|less than|lower than|beneath)\s+(?:about\s+|around\s+)?"
    rf"({NUMBER})\s*(kw|kilowatts?|w|watts?)(?![a-z])",
    re.IGNORECASE,
)
# An amount of energy to check a total against: "did I use more than 50 kWh yesterday".
ENERGY_LEVEL = re.compile(
    r"\b(above|over|exceed(?:s|ed)?|more than|greater than|higher than|at least|"
    r"below|under|less than|lower than|fewer than)\s+(?:about\s+|around\s+)?"
    rf"({NUMBER})\s*(kwh|kilowatt[- ]hours?|wh|watt[- ]hours?)\b",
    re.IGNORECASE,
)
BELOW_WORDS = {"below", "under", "less than", "lower than", "beneath"}
# One run of an appliance: "per wash", "one cycle", "each charge", "a wash".
RUN_NOUN = r"(wash(?:es)?|cycles?|loads?|runs?|charges?|charging sessions?|uses?)"
PER_RUN = re.compile(
    rf"\b(per|each|every|one|a single|single)(?:\s+[a-z-]+){{0,2}}\s+{RUN_NOUN}\b|"
    r"\b(an?|the average|average|a typical|typical)\s+(wash|cycle|charge|charging session)\b|"
    r"\b(a|one|each|per|every) load of (washing|laundry)\b",
    re.IGNORECASE,
)
HOW_MANY_RUNS = re.compile(
    r"\bhow many (?:[a-z-]+ ){0,2}(wash(es)?|cycles|loads|runs|charges|charging sessions|"
    r"times)\b|\bhow often\b|"
    # "what does it cost to charge the car": one charge
    r"\bcost (me )?to (fully )?charge\b|"
    r"\bcost (me )?to (do|run|put on) (a|one) (wash|load|cycle)\b",
    re.IGNORECASE,
)
# How long an appliance ran: its time above standby, over its runs.
HOW_LONG = re.compile(
    r"\bhow (long|many hours|many minutes)\b.{0,40}\b(run|runs|ran|running|on|charg\w*|"
    r"wash\w*|take|takes|took|last|lasts|lasted|work(s|ed|ing)?|heat(s|ed|ing)?)\b",
    re.IGNORECASE,
)
# The clock time something comes on, across days.
GOES_ON = (
    r"(go(?:es)? on|goes? off|went off|come[s]? on|start(?:s|ed)?|switch(?:es|ed)? (?:on|off)|"
    r"turn(?:s|ed)? off|finish(?:es|ed)?|end(?:s|ed)?|stop(?:s|ped)?|"
    r"turn(?:s|ed)? on|kick(?:s|ed)? in|get[s]? (?:used|switched on|turned on)|"
    r"begins?|put (?:it |the \w+ )?on)"
)
START_TIME = re.compile(
    rf"\b(what time|when|at what time|which hours?|what hours?)\b.{{0,50}}\b{GOES_ON}\b|"
    rf"\b(start(ing)? times?|switch[- ]on times?)\b",
    re.IGNORECASE,
)


def level_w(text: str) -> tuple[float, bool] | None:
    """(watts, below) of the level named in ``text``, or None."""
    match = LEVEL.search(text)
    if match is None:
        return None
    value = amount(match.group(2))
    if match.group(3).lower().startswith("k"):
        value *= 1000
    return value, match.group(1).lower() in BELOW_WORDS


# The appliance a run's noun implies when no device is named: "what does a wash cost".
NOUN_TYPES = (
    (re.compile(r"\b(wash(es)?|laundry)\b"), "washing_machine", "washing machine"),
    (re.compile(r"\b(charges?|charging sessions?)\b"), "ev_charger", "EV charger"),
)


def _implied_device(text: str, q: Question, devices: list[DeviceRef]) -> bool:
    """Target the one device of the type a run's noun implies; when the household has none,
    make ``q`` a question about a name it does not have. False when nothing is implied."""
    for pattern, kind, words in NOUN_TYPES:
        if pattern.search(text):
            chosen = [d for d in devices if d.type == kind]
            if len(chosen) == 1:
                q.target = Target(devices=(chosen[0],))
                return True
            if not chosen:
                q.kind, q.unknown_names = "unknown_name", [words]
                return True
            return False
    return False


# An amount of money to check a cost against: "was my bill over £50 last week".
MONEY_LEVEL = re.compile(
    r"\b(above|over|exceed(?:s|ed)?|more than|greater than|higher than|at least|below|under|"
    rf"less than|lower than)\s+(?:about\s+|around\s+)?(?:[£€$]\s*({NUMBER})|"
    rf"({NUMBER})\s*(?:pounds|quid|euros?|dollars?|gbp|eur|usd)\b)",
    re.IGNORECASE,
)


def money_level(text: str) -> tuple[float, bool] | None:
    """(amount, below) of an amount of money a cost is checked against, or None."""
    match = MONEY_LEVEL.search(text)
    if match is None:
        return None
    value = amount(match.group(2) or match.group(3))
    return value, match.group(1).lower() in BELOW_WORDS


def energy_level_wh(text: str) -> tuple[float, bool] | None:
    """(watt-hours, below) of an amount of energy a total is checked against, or None."""
    match = ENERGY_LEVEL.search(text)
    if match is None:
        return None
    value = amount(match.group(2))
    if match.group(3).lower().startswith("k"):
        value *= 1000
    return value, match.group(1).lower() in BELOW_WORDS | {"fewer than"}


def asks_runs(text: str) -> bool:
    """Whether ``text`` asks about a level or an appliance's runs (before any other reading)."""
    return bool(
        level_w(text)
        or LAST_RUN.search(text)
        or START_TIME.search(text)
        or PER_RUN.search(text)
        or HOW_MANY_RUNS.search(text)
        or HOW_LONG.search(text)
    )


# The latest run: "when did the washing machine last run", "when was the last wash".
LAST_RUN = re.compile(
    r"\bwhen (did|was|were)\b.{0,40}\blast (run|ran|used|on|go on|went on|wash\w*|charg\w*|"
    r"cycle|switched on|turned on)\b|\bwhen (was|is) (the|my) (last|latest|most recent) "
    r"(wash|charge|charging session|run|cycle|load)\b",
    re.IGNORECASE,
)


def runs_question(text: str, q: Question, devices: list[DeviceRef]) -> bool:
    """Make ``q`` a question about runs or a level when ``text`` asks one; True if it does."""
    level = level_w(text)
    if level is not None:
        q.kind = "threshold"
        q.threshold_w, q.below = level
        return True
    asks_runs = (
        LAST_RUN.search(text)
        or START_TIME.search(text)
        or PER_RUN.search(text)
        or HOW_MANY_RUNS.search(text)
        or HOW_LONG.search(text)
    )
    if asks_runs and not q.target.devices and q.target.everything:
        if not _implied_device(text, q, devices) or q.kind == "unknown_name":
            return q.kind == "unknown_name"
    if not q.target.devices:
        return False  # the runs of an appliance: a household does not "go on"
    if LAST_RUN.search(text):
        q.kind, q.run_view = "runs", "last"
        return True
    started = START_TIME.search(text)
    if started:
        ends = re.search(r"\b(off|finish\w*|end(s|ed)?|stop\w*)\b", started.group(0))
        q.kind, q.run_view = "runs", "end" if ends else "start"
        return True
    if HOW_LONG.search(text) and not PER_RUN.search(text):
        # "how many hours did the heat pump run", "how long does the car take to charge"
        q.kind, q.run_view = "runs", "time"
        return True
    if PER_RUN.search(text) or HOW_MANY_RUNS.search(text):
        q.kind = "runs"
        q.run_view = "cost" if re.search(r"\bcost|\bprice|[£€$]|\bspend", text) else "count"
        if q.run_view == "count" and re.search(r"\b(use|used|uses|energy|kwh)\b", text):
            q.run_view = "cost"  # what one uses: the same answer, with its cost
        return True
    return False


__all__ = ["asks_runs", "energy_level_wh", "level_w", "money_level", "runs_question"]
