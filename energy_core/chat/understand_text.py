"""The words of a question made ready to read: tidied, abbreviations spelt out, and typos
corrected against the analyst's own vocabulary (``difflib``)."""

from __future__ import annotations

import re
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
    payback
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


def tidy(question: str) -> str:
    text = question.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\bvs\.", "vs", text)
    for short, word in ABBREVIATIONS.items():
        text = re.sub(rf"\b{short}\b", word, text)
    return " ".join(text.split())
