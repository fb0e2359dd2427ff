"""The words of periods: the names of months, weekdays, seasons, holidays and numbers, and the
patterns that find a period (or a time of day) in a sentence, each with the kind of period it
names (see ``periods``, which turns a match into a range)."""

from __future__ import annotations

import re

MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
}
MONTH_ABBREVIATIONS = {name[:3]: number for name, number in MONTHS.items()} | {"sept": 9}
HOLIDAYS = {
    "christmas day": (12, 25),
    "christmas": (12, 25),
    "xmas": (12, 25),
    "christmas eve": (12, 24),
    "boxing day": (12, 26),
    "new years day": (1, 1),
    "new years eve": (12, 31),
    "new year": (1, 1),
    "new years": (1, 1),
    "hogmanay": (12, 31),
    "halloween": (10, 31),
    "valentines day": (2, 14),
}
SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "thirty": 30,
    "few": 3,
    "couple of": 2,
}


_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_MONTH_ANY = "|".join(sorted(list(MONTHS) + list(MONTH_ABBREVIATIONS), key=len, reverse=True))
WEEKDAY_NAMES = "|".join(WEEKDAYS)
_NUMBER = r"\d+|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th)?"
ORDINAL_WORDS = {
    word: i + 1
    for i, word in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
        "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth "
        "twenty-first twenty-second twenty-third twenty-fourth twenty-fifth twenty-sixth "
        "twenty-seventh twenty-eighth twenty-ninth thirtieth thirty-first".split()
    )
}
_ORDINAL_WORDS = "|".join(sorted(ORDINAL_WORDS, key=len, reverse=True))

# Each kind of period and its pattern. Order matters: longer and more specific patterns first; a
# later pattern never matches text an earlier one has claimed.
_PERIOD_WORDS: dict[str, str] = {
    "iso_date": r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b",
    # 30/11, 11/28, 3/12/2026; not "24/7" (all the time), a price or ratio ("0.30/0.15",
    # "30/15p") or a fraction of something ("1/3 of my electricity").
    "numeric_date": (
        r"(?<![\d/.,£$€])(?!24/7\b)(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?"
        r"(?![\d/%£$€\w]|[.,]\d|\s+of\b)|"
        # 1.11.2026, as much of Europe writes it: with its year, never a decimal number
        r"(?<![\d/.,£$€])(\d{1,2})\.(\d{1,2})\.(\d{4})(?![\d.,]\d|\w)"
    ),
    "ago": rf"\b({_NUMBER}|a|an)\s+(day|week|month)s?\s+ago\b",
    # "from 20 to 27 November": the month said once, after the second day.
    "days_of_month": (
        r"\b(?:from|between)\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s*(?:to|-|until|till|and)\s*"
        rf"(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+({_MONTH_ANY})\b\.?"
        r"(?:,?\s+(\d{4})\b)?"
    ),
    "day_month": (
        rf"\b(\d{{1,2}}|{_ORDINAL_WORDS}){_ORDINAL}(?:\s+of)?\s+({_MONTH_ANY})\b\.?"
        r"(?:,?\s+(\d{4})\b)?"
    ),
    "month_day": rf"\b({_MONTH_ANY})\.?\s+(\d{{1,2}}){_ORDINAL}\b(?:,?\s+(\d{{4}})\b)?",
    "nth": r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b(?!\s+(?:hour|day|week|month)s?\b)",
    "season": (
        r"\b(?:(this|last|past|previous|in|during|over)\s+(?:the\s+)?)?"
        r"(winter|spring|summer|autumn|fall)\b(?:\s+(\d{4})\b)?"
    ),
    "holiday": (
        r"\b(christmas day|christmas eve|christmas|xmas|boxing day|new year'?s day|"
        r"new year'?s eve|hogmanay|new year'?s?|halloween|"
        r"valentine'?s day)\b(?:\s+(\d{4})\b)?"
    ),
    # "the first week of November", "the last week of October 2026": days 1-7 (8-14...) of the
    # month, or its last seven days.
    "week_of_month": (
        r"\b(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|last|final)\s+week\s+"
        rf"(?:of|in)\s+({_MONTH_NAMES})\b(?:\s+(\d{{4}})\b)?"
    ),
    # An ISO week by its number: "week 47", "wk 47", "2026-W47" (not "the week 2 days ago").
    "week_number": (
        r"\b(?:(\d{4})-?w(\d{1,2})|(?:iso\s+)?(?:week|wk|w(?=\d))\s*(?:no\.?\s*|number\s+)?"
        r"(\d{1,2}))\b(?!\s*(?:days?|weeks?|hours?|months?|ago|%))"
    ),
    "day_before_yesterday": r"\bthe day before yesterday\b",
    "this_part": r"\b(?:this\s+(morning|afternoon|evening)|(tonight))\b",
    "last_night": r"\blast night\b|\bovernight last night\b",
    "last_unit": r"\b(?:in\s+|over\s+|for\s+)?(?:the\s+)?(?:last|past)\s+(hour|day)\b",
    "today": r"\b(today|so far today|this day)\b",
    "yesterday": r"\byesterday\b",
    "last_n": (
        rf"\b(?:in\s+|over\s+|for\s+|during\s+)?(?:the\s+)?(?:last|past|previous)\s+({_NUMBER})"
        r"\s+(hour|day|week|month|year)s?\b|"
        # short: "ev cost 2 weeks" (not "in 2 weeks", "every 2 weeks", "2 weeks ago")
        r"(?<!\bin )(?<!every )(?<!\w)(?:over\s+|for\s+)?(\d{1,3})\s+(day|week|month)s\s*\??\s*$"
    ),
    "fortnight": r"\b(?:in\s+|over\s+|for\s+)?(?:the\s+)?(?:last|past)\s+fortnight\b",
    "rolling_24h": r"\b(?:the\s+)?(?:last|past)\s+(24|twenty[- ]four)\s+hours\b",
    "weekend": r"\b(this|last|past|the)\s+weekend\b",
    "relative": r"\b(this|current|last|previous|past)\s+(week|month|year)(?:'s)?\b",
    "weekday": rf"\b(?:(last|this|past|previous|on)\s+)?({WEEKDAY_NAMES})\b",
    "month_name": (
        rf"\b(?:(in|during|for|of|since|last|this)\s+)?({_MONTH_ANY})\b\.?(?:\s+(\d{{4}})\b)?"
    ),
    "year": r"\b(?:in|during|for|of)\s+(\d{4})\b",
    "ytd": r"\byear to date\b",
}
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (kind, re.compile(pattern)) for kind, pattern in _PERIOD_WORDS.items()
]
_TIME_OF_DAY_WORDS: dict[str, str] = {
    "night": r"\b(?:at\s+night|overnight|during\s+the\s+night|nights?|nighttime)\b",
    "evening": r"\b(?:in\s+the\s+evenings?|evenings?)\b",
    "morning": r"\b(?:in\s+the\s+mornings?|mornings?)\b",
    "afternoon": r"\b(?:in\s+the\s+afternoons?|afternoons?)\b",
    "daytime": r"\b(?:during\s+the\s+day|in\s+the\s+day(?:time)?|daytime|by\s+day)\b",
}
TIME_OF_DAY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (kind, re.compile(pattern)) for kind, pattern in _TIME_OF_DAY_WORDS.items()
]


def number_of(text: str) -> int:
    text = text.strip()
    if text.isdigit():
        return int(text)
    return NUMBER_WORDS[text]


def month_number(name: str) -> int:
    return MONTHS.get(name) or MONTH_ABBREVIATIONS[name[:4] if name == "sept" else name[:3]]
