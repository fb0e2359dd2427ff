"""The words of a question made ready to read: tidied, abbreviations spelt out, and typos
corrected against the analyst's own vocabulary (``difflib``)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from difflib import SequenceMatcher, get_close_matches

from energy_core.chat.devices import STOPWORDS, fold
from energy_core.chat.names import APPLIANCES
from energy_core.chat.period_words import MONTHS, SEASONS, WEEKDAYS
from energy_core.stats import DeviceRef


def rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# The words the analyst itself knows: what typos are corrected towards.
VOCABULARY = frozenset(
    """
    today yesterday tomorrow week weeks weekend weekends weekday weekdays month months year
    morning evening afternoon night overnight since last this past previous hour hours day days
    energy electricity power usage used use using uses consumption consumed consume costs cost
    spend spent bill price money compare comparison versus against difference more less most
    least highest lowest biggest largest peak maximum minimum average typical typically usually
    normally when time which what devices device appliance appliances rooms room ranking rank
    online offline reporting status baseload standby always coverage missing gaps complete
    generate generated generation produced produce export exported import imported self
    projection forecast predict will why high higher explain spike charge charging charged
    running kwh watts draw daily hourly weekly monthly breakdown total household house home
    expensive cheapest cheaper much many how show list tell give between from until during
    about over each every compared usual pattern profile busiest quietest solar panels myself
    grid sent exactly order sorted ran run runs pay paid bill bills kwh top per all put set
    any can did does get got had has was were are not now new old one two via yes gas water
    oil tariff rate generating producing consuming exporting importing drawing spending
    costing reporting working heating cooling washing charges charged charger costing saving
    save saved savings use uses usage used highest lowest higher lower biggest smallest usual
    normal average averages daily weekly monthly hourly cheaper dearer earned earn paid
    summary summarise summarize overview recap report review highlights sun costly economical
    wash washes cycle cycles load loads runs session sessions laundry exceed exceeded above
    best worst eating hog hogs annual annually yearly different unusual odd stop stops
    stopped finish finishes finished end ends ended installation
    below under threshold stretch often times start starts started itself themselves worth
    payback send sends data readings reading trend rising falling increasing decreasing gone
    going goes went standing turning turn trending sending doing done didn doesn don won
    mondays tuesdays wednesdays thursdays fridays saturdays sundays mornings afternoons
    evenings nights tax taxes vat rid without excluding whenever whilst everything else
    waste wasted wasting wastes cover covered covers season seasons
    """.split()
    + list(MONTHS)
    + list(WEEKDAYS)
    + list(SEASONS)
)


TIME_WORDS = frozenset(
    "today yesterday week weeks weekend month months year last this past previous since day "
    "days hour hours night morning evening afternoon".split()
    + list(MONTHS)
    + list(WEEKDAYS)
)


def correct_typos(text: str, devices: list[DeviceRef]) -> str:
    """``text`` with each unknown word replaced by the closest word of the analyst's vocabulary
    ("yesterdy" -> "yesterday"), unless it is closer to one of the user's device words (those
    are offered back, not corrected)."""
    device_words = {w for d in devices for w in fold(f"{d.name} {d.location} {d.type}").split()}

    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        if (
            len(word) < 3
            or word in VOCABULARY
            or word in STOPWORDS
            or word in device_words
            or word in APPLIANCES
            or not word.isalpha()
        ):
            return word
        close = get_close_matches(word, VOCABULARY, n=4, cutoff=0.8)
        if not close:
            return word
        scored = [(SequenceMatcher(None, word, c).ratio(), c in TIME_WORDS, c) for c in close]
        score, _, best = max(scored)  # on a tie, a word of time ("lst" is "last", not "list")
        if any(SequenceMatcher(None, word, w).ratio() >= score for w in device_words):
            return word
        return best

    return re.sub(r"[a-z]+", fix, text)


def blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for lo, hi in spans:
        for i in range(lo, min(hi, len(chars))):
            chars[i] = " "
    return "".join(chars)


ABBREVIATIONS = {
    "yr": "year",
    "yrs": "years",
    "wk": "week",
    "wks": "weeks",
    "hr": "hour",
    "hrs": "hours",
    "mins": "minutes",
    "avg": "average",
    "approx": "about",
    "tmrw": "tomorrow",
    "yday": "yesterday",
    "w/e": "weekend",
}


QUARTER = re.compile(
    r"\b(?:in |during |for |over )?(?:the )?(?:q([1-4])|(first|second|third|fourth|last) quarter)"
    r"(?: of)?(?: (\d{4}))?\b"
)
QUARTER_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4}
QUARTER_MONTHS = ("january", "april", "july", "october")
QUARTER_ENDS = ("31 march", "30 june", "30 september", "31 december")


def quarters(text: str, today: date) -> str:
    """ "Q4", "the third quarter of 2025" as the days they hold: "since 1 october 2026" for the
    quarter running now, "from 1 july to 30 september 2026" for one that is over ("the last
    quarter" is the last whole one)."""

    def words(m: re.Match[str]) -> str:
        current = (today.month - 1) // 3 + 1
        if m.group(2) == "last":
            number, year = (current - 2) % 4 + 1, today.year - (current == 1)
        else:
            number = int(m.group(1) or QUARTER_WORDS[m.group(2)])
            year = int(m.group(3)) if m.group(3) else today.year - (number > current)
        first = QUARTER_MONTHS[number - 1]
        if (year, number) == (today.year, current):
            return f" since 1 {first} {year} "
        return f" from 1 {first} to {QUARTER_ENDS[number - 1]} {year} "

    return QUARTER.sub(words, text)


# "The 3 days before yesterday": the days just before a day named by its place.
DAYS_BEFORE = re.compile(
    r"\bthe (\d{1,2}|two|three|four|five|six|seven) days before (yesterday|today)\b"
)
SMALL_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def days_before(text: str, today: date) -> str:
    """ "the 3 days before yesterday" as the dates they hold ("from 28 november to 30 november
    2026"), so that the days are not read as yesterday itself."""

    def words(m: re.Match[str]) -> str:
        count = int(m.group(1)) if m.group(1).isdigit() else SMALL_NUMBERS[m.group(1)]
        last = today - timedelta(days=1 + (m.group(2) == "yesterday"))
        first = last - timedelta(days=count - 1)
        return (
            f"from {first.day} {first:%B} {first.year} to {last.day} {last:%B} {last.year}".lower()
        )

    return DAYS_BEFORE.sub(words, text)


# "The week before last": two weeks ago (not the week before a period named "last").
BEFORE_LAST = re.compile(r"\bthe (day|week|month) before last\b")


def tidy(question: str) -> str:
    text = question.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\bvs\.", "vs", text)
    text = re.sub(r"\b(teh|hte|th)\b", "the", text)
    text = BEFORE_LAST.sub(lambda m: f"2 {m.group(1)}s ago", text)
    text = re.sub(r"\b(bonfire|guy fawkes) night\b", "5 november", text)
    # "overnight on Monday", "Monday overnight": Monday night, the night that follows it
    days = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    text = re.sub(rf"\bovernight on ({days})\b", r"on \1 night", text)
    text = re.sub(rf"\b({days}) overnight\b", r"\1 night", text)
    for short, word in ABBREVIATIONS.items():
        text = re.sub(rf"\b{short}\b", word, text)
    return " ".join(text.split())
