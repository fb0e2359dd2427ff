"""Reading a question into the question model (``question.Question``).

In order: the words are tidied and their typos corrected against the analyst's own vocabulary
(``difflib``; a near miss of a device name is never corrected, it is offered back); then the
periods (``periods.find_periods``: an explicit date beats a weekday word), the part of the day,
the devices and rooms (``devices.find_devices_in_text``) and the names that match nothing of the
household's (``names.unknown_names``); last, what is asked, from word families rather than fixed
phrases, so that word order and synonyms do not matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from difflib import SequenceMatcher, get_close_matches
from zoneinfo import ZoneInfo

from energy_core.chat.devices import STOPWORDS, Match, find_devices_in_text, fold
from energy_core.chat.names import APPLIANCES, close_devices, unknown_names
from energy_core.chat.period_words import MONTHS, SEASONS, WEEKDAYS
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
from energy_core.chat.understand_money import money_question
from energy_core.chat.understand_runs import (
    asks_runs,
    energy_level_wh,
    money_level,
    runs_question,
)
from energy_core.chat.wording import listing, scope
from energy_core.stats import TIMES_OF_DAY, DeviceRef
from energy_core.stats.period import local_midnight


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# --- word families -----------------------------------------------------------------------------

INJECTION = _rx(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules|prompts?|previous|above|"
    r"guidelines)\b|\bsystem prompt\b|\b(admin|developer|debug|god|root|sudo)\s+mode\b|"
    r"\bjailbreak|\byou are now\b|\bpretend (to be|you)\b|\bact as\b|\breveal\b|"
    r"\b(user|account|household|customer)\s*(id\s*|number\s*|no\.?\s*)?#?\d+\b|"
    r"\b(other|all|every|another|any)\s+(users?|households?|customers?|accounts?|people)\b|"
    r"\beveryone'?s\b|\bsomeone else'?s\b|\bneighbou?rs?'?s?\b|\b(sql|select \*|drop table)\b|"
    r"\bdatabase\b|\bpasswords?\b|\bapi[ _-]?keys?\b|\bcredentials?\b|\bsecrets?\b|"
    r"\bexecute\b|\bshell command\b"
)
OFF_TOPIC = _rx(
    r"\b(weather|temperatures?|humidity|rain(fall)?|sunny|cloudy|snow(ing)?|windy|joke|"
    r"capital of|recipe|news|stock|"
    r"football|movie|film|song|poem|translate|"
    r"president|prime minister|meaning of life|who (are|made) you|your name|horoscope|lottery|"
    r"sports?|score)\b"
)
OTHER_UTILITY = _rx(r"\b(gas|water|oil|petrol|diesel|lpg|propane|wood|pellets?)\b")
# Figures the meters cannot give: emissions need the grid's carbon intensity, which is not kept.
CARBON = _rx(r"\b(co2|co₂|carbon|emissions?|emit(s|ted)?|greenhouse)\b")
# The whole of the history: from the first reading of the devices asked about.
ALL_TIME = _rx(
    r"\bsince (it|they|we|i)( was| were| got| have been| has been)? (installed|set up|added|"
    r"connected|fitted|started|began)\b|\ball[- ]time\b|\bever\b|\bsince (the )?(start|"
    r"beginning)\b|\bsince (monitoring|records|the readings) (began|started)\b|"
    r"\bsince (installation|install|it was put in|setup|set-up|day one|we got it|i got it)\b"
)
# A heat pump's efficiency needs the heat it gives, which no meter here reads.
# (An efficiency only of a heat pump: "the efficiency of my solar panels" is not this question.)
HEAT_OUTPUT = _rx(
    r"\b(s?cop|coefficient of performance|heat output)\b|"
    r"\bheat ?pump\b.{0,40}\befficien|\befficien\w*\b.{0,40}\bheat ?pump"
)
HELP = _rx(
    r"\bwhat (else )?can (i|you) (ask|do|answer)|^\s*(help|hi|hello|hey)\b|\bhelp me\b|"
    r"\bwhat (kind of |sort of )?questions\b|\bexamples?\b|\bhow do(es)? (this|it|you) work"
)
NEXT = _rx(r"\b(tomorrow|next (week|month|year|\w+day|winter|summer|spring|autumn))\b")
FORECAST = _rx(
    r"\b(will|going to|projected?|projection|forecast|predict(ed|ion)?|expect(ed)?|estimated?|"
    r"on track|end of (the )?month|by the end)\b"
)
MONEY_OR_USE = _rx(r"\b(bill|cost|spend|pay|use|usage|consum\w*|total)\b|[£€$]")
INVENTORY = _rx(
    r"\b(what|which) (devices|appliances|rooms|meters|things) (do|have) (i|we)\b|"
    r"\blist (all |of )?(my |the |our )?(devices|appliances|rooms)\b|"
    r"\bhow many (devices|appliances|rooms|meters)\b|"
    r"\bshow (me )?(all |my |the )*(devices|appliances|rooms)\b\s*\??$|"
    r"\bwhat rooms\b|\bwhich rooms (do|are there|have)\b|"
    r"\bwhat (do i|can you) (have|see|monitor)\b|"
    r"\b(what|which) devices (are there|exist)\b|^\s*(my )?devices\s*\??$"
)
STATUS = _rx(
    r"\b(online|offline|status|last seen|last (report|reading|heard)|reporting|connected|"
    r"disconnected|live)\b|"
    r"\b(is|are) (the |my |our )?.{0,40}\b(on|working|running|switched on|alive|charging|"
    r"generating|producing)\s*(right now|now|at the moment)?\s*\??$|"
    r"\bsending (data|readings)\b|\bstopped (sending|reporting)\b"
)
NOW_WORDS = _rx(
    r"\b(right now|at the moment|currently|at present|now)\b|\bwhat(?: is|'s) .{0,40} doing\b"
)
SUMMARY = _rx(
    r"\bsumm?ar(y|ies|i[sz]e[ds]?|i[sz]ing)\b|\boverview\b|\brecap\b|\bround[- ]?up\b|"
    r"\bweek in review\b|\bhighlights\b|\b(weekly|week'?s|week) (report|review|digest)\b|"
    r"\bhow (was|were|did) (my|our|the|this|last) week\b|\bhow (am i|are we) doing\b|"
    r"\bhow did (i|we) do\b|\bwhat happened (this|last) week\b"
)
# An ISO week named by its number: "week 47", "wk 47", "2026-W47".
WEEK_NUMBER = _rx(r"\b(?:(\d{4})-?)?(?:week|wk|w)\s*(\d{1,2})\b")
BASELOAD = _rx(
    r"always[- ]?on|\bbase[- ]?load|\bstandby\b|\bidle (load|power|consumption|usage)|"
    r"\bphantom\b|\bvampire\b|\bbackground (load|power|consumption|usage)|"
    r"\bminimum (load|consumption)|\bnever (switch|turn)s? off"
)
COVERAGE = _rx(
    r"\bcoverage\b|\bmissing (data|readings)|\bgaps?\b|\bdata quality\b|\bcomplete(ness)?\b|"
    r"\bhow (reliable|complete)\b|\bdata (is )?missing\b"
)
EXPLAIN = _rx(
    r"\bwhy\b|\bwhat (caused|made|happened|drove|explains)\b|\bexplain\b|\breason\b|"
    r"\bwhat was (different|unusual)\b|\bunusual\b|\bspiked?\b|"
    r"\bwhat('s| is| was)? (different|odd|strange|wrong)\b|\banything (odd|strange|different)\b|"
    r"\b(more|less|higher|lower) than (usual|normal|typical|average|a typical day)\b|"
    r"\b(above|below) (normal|average|usual)\b"
)
CLOCK = _rx(
    r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\s*(?:to|-|and|until|till)\s*"
    r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b|"
    r"\b(\d{1,2}):(\d{2})()\s*(?:to|-|and|until|till)\s*(\d{1,2}):(\d{2})()(?![\d:])|"
    r"\b\d{1,2}(:\d{2})?\s*(am|pm)\b|\b\d{1,2}:\d{2}\b"
)
# Asking the analyst to act rather than to read: it changes nothing.
CONTROL = _rx(
    r"^\s*(please\s+)?((can|could|would|will) you\s+(please\s+)?|i want you to\s+)?"
    r"((turn|switch|shut|power)\b.{0,40}\b(on|off|down|up)\b|"
    r"(set|change|adjust|update|raise|lower|reset|increase|decrease)\b.{0,30}"
    r"\b(budget|tariff|price|rate|alert|limit|name|timezone|thermostat|temperature|schedule)\b)"
)
# Other households, or an average one: no figures of theirs are within reach.
BENCHMARK = _rx(
    r"\b(average|typical|normal|similar|other|uk|us|national|comparable)\s+"
    r"(household|home|house|family|homes|households|families|users?)\b|\bnational average\b|"
    r"\bpeople like (me|us)\b|\bhouses? like (mine|ours)\b"
)
# Periods only the household knows the dates of: asked back, never guessed.
VAGUE_PERIOD = _rx(
    r"\b(the |that |last )?(cold snap|cold spell|heat ?wave|freeze|storm|power cut|blackout|"
    r"outage|half[- ]term|school holidays?)\b|"
    r"\b(while|when) (i|we) (was|were|went) (away|on holiday|on vacation|abroad|out)\b|"
    r"\b(i|we) (was|were) (away|on holiday|on vacation)\b|"
    r"\bduring (my|our|the) (holiday|vacation|trip|absence)\b|"
    r"\bon (the )?(sunny|cloudy|rainy|cold|warm|hot|windy|grey|gray) days\b|"
    r"\bwhile (the |my |our )?[a-z]+ (was|were) (at|away|out|in|on)\b"
)


# "between 5 and 7 in the mornings": hours without am or pm, which the part of the day gives.
BARE_HOURS = _rx(
    r"\b(between|from)\s+(\d{1,2})\s*(and|to|-|until|till)\s*(\d{1,2})\s+"
    r"(?:in\s+the\s+|during\s+the\s+|on\s+)?(mornings?|afternoons?|evenings?)\b"
)


# "between 9 and 5": working hours, the first in the morning and the second after noon.
WORKING_HOURS = _rx(
    r"\b(between|from)\s+(\d{1,2})\s*(and|to|-|until|till)\s*(\d{1,2})\b"
    r"(?!\s*(?:am|pm|:|\d|kw|w\b|wh|%|days?|weeks?|hours?|months?|st|nd|rd|th|of)\b)"
    r"(?!\s*(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))"
)


def _working_hours(match: re.Match[str]) -> str:
    """ "between 9 and 5" is 9am to 5pm; "between 14 and 16" is on the 24-hour clock; "between
    2 and 4" is left as it is (morning or afternoon: asked back)."""
    first, last = int(match.group(2)), int(match.group(4))
    if 1 <= last < first <= 12:
        return f"{match.group(1)} {first}am {match.group(3)} {last}pm"
    if max(first, last) > 12 and max(first, last) <= 24:
        return f"{match.group(1)} {first:02d}:00 {match.group(3)} {last:02d}:00"
    return match.group(0)


def _with_meridiem(match: re.Match[str]) -> str:
    meridiem = "am" if match.group(5).startswith("morning") else "pm"
    word, first, joint, last = match.group(1, 2, 3, 4)
    return f"{word} {first}{meridiem} {joint} {last}{meridiem}"


# Midnight and noon as the ends of a range of clock times ("between midnight and 6am").
CLOCK_WORDS = _rx(
    r"\b(midnight|noon|midday)(?=\s*(?:to|-|and|until|till)\s*\d)|"
    r"(?<=\d)(\s*(?:am|pm)?\s*(?:to|-|and|until|till)\s*)(midnight|noon|midday)\b"
)
SOLAR_SPLIT = _rx(
    r"\bself[- ]?(consum\w*|used|use|sufficien\w*)\b|\b(use|used|using|consume[d]?) (it )?"
    r"(myself|ourselves|in the house|at home|directly)\b|\bexport(ed|ing|s)?\b|"
    r"\bsent (back )?to the grid\b|\bfeed[- ]?in\b|\bown (solar|generation)\b|"
    r"\b(came|comes|come|coming) from (my |the )?(solar|panels|pv|sun)\b"
)
SOLAR_WORDS = _rx(r"\b(solar|pv|panels?|generat\w*|produc\w*|inverter|sun)\b")
# What the generation was worth: the consumption it spared buying (and the export it earned).
SOLAR_SAVING = _rx(
    r"\bma(de|ke|kes|king)\b.{0,20}\bmoney\b|\bmoney\b.{0,40}\bma(de|ke|kes|king)\b|"
    r"\b(sav(e|ed|es|ing|ings)|worth|earn(ed|s|ing)?|pa(y|id|ys) (for )?(itself|off|back)|"
    r"payback|knock(ed)? off|reduc\w+ (my|the|our) bill|off (my|the|our) bill)\b"
)
PEAK = _rx(
    r"\bpeak (power|draw|demand|load|reading|wattage|output)\b|"
    r"\bmax(imum)? (power|draw|load|demand|wattage|reading|output)\b|"
    r"\bmax(imum)?\b.{0,20}\bwatts?\b|"
    r"\b(highest|biggest|largest|top) (power|draw|demand|load|reading|wattage|spike|output)\b|"
    r"\bmost power at once\b|\bmaximum\b|\bpeaked\b|\bpeak\b(?! (usage )?(hour|time|period))|"
    r"\bwhen did (i|we|the house|the household|my house)\b.{0,30}"
    r"\bmost (power|electricity|energy)\b"
)
AVG_POWER = _rx(
    r"\baverage (power|draw|load|watts|wattage)\b|\bmean power\b|\bhow many watts\b|"
    r"\bpower draw\b|\bdraws?\b|\bdrawing\b|\bin watts\b|\bwattage\b|"
    # energy per hour is average power: 1 kWh an hour is 1 kW
    r"\b(per|an|each|every|a) hour\b(?! ago)|\bhourly average\b"
)
PROFILE = _rx(
    r"\busually\b|\btypical(ly)?\b|\bnormally\b|\bgenerally\b|\btend to\b|\bon a normal\b|"
    r"\bpeak (usage )?(hours?|times?)\b|\bbusiest (time|hours)\b|\bwhat times?\b|"
    r"\bwhich hours\b|\bwhat hours\b|\bwhen (do|does|is|are)\b|\btime of (the )?day\b|"
    r"\bhour of (the )?day\b|\b(daily|usage) (profile|pattern)\b|\bpattern\b|\bprofile\b"
)
WHEN_TYPICALLY = _rx(
    r"\b(what times? (do|does|is|are)|when (do|does|is|are)|which hours?|what hours?|"
    r"time of (the )?day|usually|typically|normally|on weekends|at weekends|on weekdays)\b"
)
HABITUAL = _rx(
    r"\b(of the day|typical(ly)?|usually|normally|generally|on average|tend to|on a normal)\b"
)
WEEKDAY_WEEKEND = _rx(r"\bweekdays?\b.*\bweekends?\b|\bweekends?\b.*\bweekdays?\b|\bweekends\b")
# "Was the heat pump busier on the weekend?": weekend days against weekdays, not one weekend.
BUSIER_AT_WEEKENDS = _rx(
    r"\b(busier|quieter|more|less|higher|lower)\b.{0,30}\b(on|at|over) (the )?weekends?\b"
    r"(?!.*\b(than|versus|vs|compared)\b)"
)
EXTREME_PERIOD = _rx(
    r"\b(which|what) (day|week|month|hour)\b|"
    r"\b(most|least) expensive (day|week|month|hour)\b|"
    r"\b(highest|lowest|biggest|smallest|busiest|quietest|worst|best|heaviest|lightest|"
    r"cheapest|costliest|most expensive|top) (usage |consumption |energy |cost |solar |"
    r"generation |export |sunniest )?(day|week|month|hour)\b"
)
RANK = _rx(
    r"\b(which|what) (devices?|appliances?|ones?|things?|rooms?|circuits?|loads?)\b|"
    r"\btop( \d+| (three|five|ten))?\b|\bbiggest\b|\blargest\b|\bhungriest\b|\branking\b|"
    r"\brank(ed)?\b|\border(ed)?\b|\bsort(ed)?\b|\bwhat (uses|used|consumes|consumed|draws) "
    r"the (most|least)\b|\bwhere does (my|the|all|our) (energy|electricity|power) go\b|"
    r"\bbreak ?down by (device|room)|\b(by|per|each) (device|appliance|room)\b|"
    r"\b(most|least) (energy|power|electricity)[- ]hungry\b|\bconsumers\b|\bguzzl|"
    r"\beat(ing|s)? (up )?(my|the|our|all)\b|\bhogs?\b|"
    r"\b(share|percentage|proportion|fraction|percent) of\b|"
    r"\b(most|least) (expensive|costly|economical) (devices?|appliances?|rooms?|things?)\b"
)
RANK_STRONG = _rx(
    r"\b(rank\w*|top|most|least|biggest|largest|order\w*|sort\w*|consum\w*|use|used|uses|"
    r"usage|cost\w*|energy|power)\b"
)
SHARE = _rx(r"\b(share|percentage|proportion|fraction|percent) of\b")
COMPARE = _rx(
    r"\bcompar|\bvs\.?\b|\bversus\b|\bthan\b|\bdifference between\b|\bagainst\b|"
    r"\b(go(ne|es)?|went|gone) (up|down)\b|\b(increase|decrease|rise|drop)[sd]?\b|\brose\b|"
    r"\bfell\b|"
    r"\b(more|less) or (more|less)\b|\bchanged?\b|\bup or down\b|\bbetter or worse\b"
)
WHICH_MORE = _rx(
    r"\b(which|who|what)\b.{0,30}\b(more|less|most|least|bigger|smaller|hungrier|higher|"
    r"greater|larger|costlier|cheaper)\b"
)
SAME_DAY_LAST_WEEK = _rx(r"\b(the )?same day (last|a|the previous|of last) week\b")
LAST_YEAR_SAME = _rx(
    r"\b(the )?same (day|week|month|period|time|days) (last year|a year (ago|earlier|before)|"
    r"the previous year|the year before|of last year)\b|\b(this|that) time last year\b|"
    r"\ba year (ago|earlier)\b"
)
PREVIOUS_REF = _rx(
    r"\bthe (previous|prior|preceding) (one|day|week|month|year)\b|"
    r"\bthe (day|week|month|year) before\b(?! yesterday)|\bthe one before\b"
)
COST = _rx(
    r"\bcost|\bspen[dt]\b|\bspending\b|\bexpensive\b|\bcheap|\bbill\b|\bprice\b|\bmoney\b|"
    r"\bpa(y|id)\b|[£€$]|\bpounds\b|\beuros?\b|\bdollars?\b|\bpence\b|\bcharged\b"
)
GENERATION = _rx(r"\b(generat\w*|produc\w*|yield)\b")
IMPORT = _rx(r"\b(import(ed)?|bought|from the grid)\b")
ENERGY = _rx(
    r"\bhow much\b|\b(use|used|uses|using|usage)\b|\bconsum|\bkwh\b|\benergy\b|\belectric|"
    r"\bpower\b|\bgenerat|\bproduc|\bexport|\bwatts?\b|\bcharg(e|ed|ing)\b|\bran\b|\brun\b"
)
LEAST = _rx(r"\b(least|lowest|smallest|cheapest|quietest|lightest|fewest|less)\b")
BY_ROOM = _rx(
    r"\b(which|what) rooms?\b|\b(by|per|each|every) room\b|\brooms?\b.{0,20}\brank|"
    r"\b(rank|sort|order|list)\w* (the |my |all |our )*rooms\b"
)
GROUPINGS = [
    ("hour", _rx(r"\b(per|each|every|by( the)?) hour\b|\bhourly\b|\bhour by hour\b")),
    (
        "day",
        _rx(
            r"\b(each|every|by) day\b|\bdaily (breakdown|usage|consumption|figures|"
            r"totals|values|table)\b|\bday by day\b|\bper day (breakdown|table)\b"
        ),
    ),
    ("week", _rx(r"\b(per|each|every|by) week\b|\bweekly\b|\bweek by week\b")),
    ("month", _rx(r"\b(per|each|every|by) month\b|\bmonthly\b|\bmonth by month\b")),
]
PER_DAY = _rx(
    r"\b(per|a|each) day\b(?! ago)|\bdaily average\b|\baverage daily\b|\bon average\b|"
    r"\baverage (day|per day)\b"
)
SAVE_BY_STOPPING = _rx(
    r"\b(save|saving|savings)\b.{0,60}\b(turn(ing|ed)?|switch(ing|ed)?|unplug\w*|off|not using|"
    r"stop(ping)?)\b"
)
PER_YEAR = _rx(
    r"\b(a|per|each|every|in a|for a|over a|over the) (whole |full )?year\b(?! ago)|"
    r"\bannual(ly)?\b|\byearly\b|\byear[- ]round\b"
)
TOP_N = _rx(r"\btop (\d+|three|five|ten|two|four)\b|\b(\d+) (biggest|largest|top)\b")
ALL_OF_THEM = _rx(
    r"\brank(ing|ed)?\b|\ball\b|\beach\b|\bevery\b|\border(ed)?\b|\bsort(ed)?\b|"
    r"\bbreak ?down\b|\bper (device|appliance|room)\b"
)
WORD_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "ten": 10}

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


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
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


def _tidy(question: str) -> str:
    text = question.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\bvs\.", "vs", text)
    for short, word in ABBREVIATIONS.items():
        text = re.sub(rf"\b{short}\b", word, text)
    return " ".join(text.split())


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
    raw = _tidy(question)
    q = Question(text=question)
    if not raw:
        q.kind = "help"
        return q
    if INJECTION.search(raw):
        q.kind, q.problem = "out_of_scope", "instruction"
        return q
    text = BARE_HOURS.sub(_with_meridiem, correct_typos(raw, ctx.devices))
    text = WORKING_HOURS.sub(_working_hours, text)
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
    masked = _blank(text, [m.span() for m in (same_day, previous, year_ago) if m])
    try:
        mentions = find_periods(masked, now=ctx.now, timezone=ctx.timezone)
    except PeriodError as exc:
        q.kind, q.problem = "period_error", str(exc)
        return q
    if re.search(r"\bweekdays?\b|\bweek days?\b", masked):
        # "the weekend or weekdays last week": weekend days against weekdays, not the weekend
        # as a period of its own against the week.
        mentions = [m for m in mentions if m.kind != "weekend"]
    masked = CLOCK_WORDS.sub(_clock_word, masked)
    clock = CLOCK.search(masked)
    clock_hours = None
    if clock:
        part = _clock_range(clock)
        if part is None:
            try:
                narrowed = _within_the_day(clock, mentions, ctx)
            except PeriodError as exc:
                q.kind, q.problem = "period_error", str(exc)
                return q
            if narrowed is None:
                hours = _clock_hours(clock)
                if hours is None:
                    q.kind, q.problem = "out_of_scope", "clock"
                    return q
                # Whole clock hours across several days ("between 7am and 9am each day last
                # week"): those hours of every day, as a part of the day is.
                clock_hours = hours
            else:
                mentions = [replace(mentions[0], period=narrowed)]
            masked = _blank(masked, [clock.span()])
        else:
            masked = _blank(masked, [clock.span()]) + f" {part}"
    nights = [night_after(m, masked, now=ctx.now, timezone=ctx.timezone) for m in mentions]
    if len(mentions) == 1 and nights[0] is not None:
        # "Saturday night": that night as a period of its own, not Saturday's night hours.
        mentions = [replace(mentions[0], period=nights[0])]
        end = mentions[0].span[1]
        night = re.match(r"\s+night\b", masked[end:])
        masked = _blank(masked, [(end, end + night.end())])
    times = find_times_of_day(masked)
    if clock_hours is not None:
        times = [(clock_hours, clock.span())]
    time_of_day = times[0][0] if times else None
    spans = [m.span for m in mentions] + [span for _, span in times]
    rest = _blank(masked, spans)
    q.periods = [m.period for m in mentions]
    q.times_of_day = list(dict.fromkeys(name for name, _ in times))
    q.notes = [m.note for m in mentions if m.note]
    q.time_of_day = time_of_day
    matches = find_devices_in_text(rest, ctx.devices, ignore=VOCABULARY)
    exact = [m for m in matches if m.exact]
    modified = _unknown_modifier(rest, matches)

    if CONTROL.search(raw):
        q.kind, q.problem = "out_of_scope", "control"
        return q
    if BENCHMARK.search(raw):
        q.kind, q.problem = "out_of_scope", "benchmark"
        return q
    vague = VAGUE_PERIOD.search(raw)
    if vague and not mentions:
        said = f"when {vague.group(0).strip()} was"
        if re.search(r"days$", vague.group(0)):  # "on sunny days"
            said = f"which days were {vague.group(0).split()[-2]}"
        elif vague.group(2) is None:  # "while I was on holiday", "during our trip"
            said = "when you were away"
        q.kind, q.problem = "vague_period", said
        return q
    if OTHER_UTILITY.search(raw):
        q.kind, q.problem = "out_of_scope", "utility"
        return q
    if CARBON.search(raw):
        q.kind, q.problem = "out_of_scope", "carbon"
        return q
    if HEAT_OUTPUT.search(raw):
        q.kind, q.problem = "out_of_scope", "heat"
        return q
    named = bool(mentions or matches)
    solar_saving = SOLAR_SAVING.search(text) and SOLAR_WORDS.search(text)
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
    near = [m for m in matches if not m.exact]
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
        _details(text, rest, q)
        return q
    q.energy_level = energy_level_wh(text)
    q.money_level = money_level(raw)
    checked = q.energy_level is not None or q.money_level is not None
    if checked and len(q.periods) <= 1 and len(q.sides) <= 1:
        # "Did I use more than 50 kWh yesterday?", "was my bill over £50?": the total, checked
        # against the amount.
        q.kind = "total"
        _details(text, rest, q)
        if q.money_level is not None:
            q.metrics = ["cost"]
        return q
    q.kind = _kind(text, rest, q, same_day is not None, bool(previous or year_ago))
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
    if q.comparison == "previous":
        _than_the_last(masked, mentions, q, ctx)
    if not q.periods and ALL_TIME.search(masked):
        q.periods = _all_time(q, ctx)
    _details(text, rest, q)
    return q


# "more than last week?": the one period named is the side compared with; the other is the
# current period of the same kind (this week), not the one before it.
_CURRENT_OF = {"yesterday": "today", "last week": "this week", "last month": "this month"}
_CURRENT_OF |= {"last year": "this year", "previous week": "this week"}
_CURRENT_OF |= {"previous month": "this month", "previous year": "this year"}


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


def _hour(number: str, minutes: str | None, meridiem: str | None) -> int | None:
    hour = int(number)
    if minutes not in (None, "00") or hour > 24:
        return None
    if meridiem == "pm" and hour < 12:
        hour += 12
    if meridiem == "am" and hour == 12:
        hour = 0
    return hour % 24


def _clock_word(match: re.Match[str]) -> str:
    """ "midnight" as "12am", padded to the word's length: the periods' positions, found before,
    still point at the same words (a shorter text shifted them onto a device's name)."""
    word = {"midnight": "12am", "noon": "12pm", "midday": "12pm"}
    if match.group(1):
        clock = word[match.group(1).lower()]
    else:
        clock = match.group(2) + word[match.group(3).lower()]
    return clock.ljust(len(match.group(0)))


def _clock_ends(match: re.Match[str]) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The two ends of a range of clock times as (hour, minute), the first of a range such as
    "6 to 9pm" taking the second's am or pm (unless that puts it after the second); None for a
    single time or a time that is not one."""
    g = match.groups()
    if g[0] is not None and g[3] is not None:
        h1, m1, a1, h2, m2, a2 = g[:6]
    elif g[6] is not None:
        h1, m1, a1, h2, m2, a2 = g[6:12]
    else:
        # One time on the hour ("at 7pm", "at 19:00"): the hour it begins.
        single = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", match.group(0).strip())
        if single is None or single.group(2) not in (None, "00"):
            return None
        hour = int(single.group(1))
        if hour > 24 or (single.group(3) and not 1 <= hour <= 12):
            return None
        hour = {"pm": hour % 12 + 12, "am": hour % 12}.get(single.group(3) or "", hour) % 24
        return (hour, 0), (hour + 1, 0)
    h1, h2, m1, m2 = int(h1), int(h2), int(m1 or 0), int(m2 or 0)
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
        return None

    def hour(h: int, meridiem: str | None) -> int:
        if meridiem and h > 12:
            return -1
        if meridiem == "pm" and h < 12:
            return h + 12
        if meridiem == "am" and h == 12:
            return 0
        return h

    last = hour(h2, a2 or None)
    first = hour(h1, a1 or a2 or None)
    if not a1 and a2 == "pm" and first > last > 0:
        first = hour(h1, "am")  # "10 to 2pm" is 10am to 2pm
    if first < 0 or last < 0:
        return None
    return (first, m1), (last, m2)


def _clock_hours(match: re.Match[str]) -> str | None:
    """Clock times that are whole hours as a range of hours "HH-HH" ("7am to 9am" is "07-09"),
    or None (minutes, a single time, or not a time)."""
    ends = _clock_ends(match)
    if ends is None or ends[0][1] or ends[1][1]:
        return None
    first, last = ends[0][0] % 24, ends[1][0] % 24
    if first == last:
        return None
    return f"{first:02d}-{last if last else 24:02d}"


def _clock_range(match: re.Match[str]) -> str | None:
    """The part of the day that clock times name exactly ("6pm to 10pm" is the evening), or
    None: figures are kept per hour of the day only for those parts."""
    ends = _clock_ends(match)
    if ends is None or ends[0][1] or ends[1][1]:
        return None
    first, last = ends[0][0] % 24, ends[1][0] % 24
    for name, (lo, hi) in TIMES_OF_DAY.items():
        if (first, last) == (lo, hi):
            return {"night": "at night"}.get(name, f"in the {name}")
    return None


def _within_the_day(match: re.Match[str], mentions: list, ctx: ToolContext) -> Period | None:
    """Clock times on one named day ("between 6 and 9 pm yesterday") as the range they cut from
    it; None when there is not exactly one whole day to cut them from (across several days a
    figure can be narrowed only to the parts of the day)."""
    ends = _clock_ends(match)
    if ends is None or len(mentions) != 1:
        return None
    day = mentions[0].period
    tz = ZoneInfo(ctx.timezone)
    local = day.start.astimezone(tz)
    if day.kind != "day" or day.length != 1 or local.hour or local.minute:
        return None
    (h1, m1), (h2, m2) = ends
    start = local_midnight(local.date(), tz) + timedelta(hours=h1, minutes=m1)
    end = local_midnight(local.date(), tz) + timedelta(hours=h2, minutes=m2)
    start, end = start.astimezone(tz), end.astimezone(tz)
    if end <= start:
        end = (
            local_midnight(local.date(), tz) + timedelta(days=1, hours=h2, minutes=m2)
        ).astimezone(tz)
    label = f"{day.label}, {start:%H:%M}-{end:%H:%M}"
    if start >= ctx.now:
        raise PeriodError(
            f"{label[:1].upper()}{label[1:]} has not started yet, so there is no data for it."
        )
    return Period(
        start=start,
        end=min(end, ctx.now.astimezone(tz)),
        label=label,
        kind="rolling",
        full_end=end,
    )


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


def _kind(text: str, rest: str, q: Question, same_day: bool, previous: bool) -> str:
    named = bool(q.sides or q.periods or q.time_of_day)
    generators = bool(q.target.devices) and all(d.is_generator for d in q.target.devices)
    if NEXT.search(text):
        if COST.search(text) and re.search(r"\bbill\b", text):
            q.notes.append(
                "I can only project the current billing period, not a later one; here is "
                "its projection."
            )
            return "forecast"
        return "future"
    if (
        FORECAST.search(text)
        and MONEY_OR_USE.search(text)
        and re.search(
            r"\b(will|going to|project|forecast|predict|expect|estimat|on track|end of|by the end)",
            text,
        )
    ):
        return "forecast"
    if INVENTORY.search(text) and not RANK_STRONG.search(rest) and not STATUS.search(text):
        return "inventory"
    if (STATUS.search(text) or NOW_WORDS.search(text)) and not q.periods:
        return "status"
    if (
        SUMMARY.search(text)
        and not q.target.devices
        and not q.sides
        and (
            WEEK_NUMBER.search(text)
            or (
                len(q.periods) <= 1
                and all(p.full_end - p.start <= timedelta(days=8) for p in q.periods)
            )
        )
    ):
        return "summary"
    if BASELOAD.search(text):
        return "baseload"
    if COVERAGE.search(text) or (STATUS.search(text) and q.periods):
        return "coverage"
    if EXPLAIN.search(text):
        return "explain"
    if SOLAR_SAVING.search(text) and (SOLAR_WORDS.search(text) or generators):
        return "solar"
    if SOLAR_SPLIT.search(text) and (
        SOLAR_WORDS.search(text) or generators or re.search(r"export|self[- ]?suffic", text)
    ):
        return "solar"
    if len(q.sides) >= 2 and (COMPARE.search(rest) or WHICH_MORE.search(rest)):
        return "comparison"
    if PEAK.search(rest) and not WHEN_TYPICALLY.search(rest):
        return "peak"
    if (PROFILE.search(rest) or WEEKDAY_WEEKEND.search(rest)) and (
        not EXTREME_PERIOD.search(rest) or HABITUAL.search(rest)
    ):
        return "profile"
    if EXTREME_PERIOD.search(rest):
        return "extreme_period"
    if len(q.times_of_day) >= 2:
        return "comparison"
    if len(q.periods) >= 2 and not RANK.search(rest):
        return "comparison"  # two periods named apart are two sides ("this week or last")
    if same_day or previous or (COMPARE.search(rest) and (q.periods or len(q.sides) >= 2)):
        return "comparison"
    if (
        RANK.search(rest)
        and len(q.sides) <= 1
        and not (q.target.devices and not BY_ROOM.search(rest) and not SHARE.search(rest))
    ):
        return "ranking"
    if AVG_POWER.search(rest):
        return "total"
    if ENERGY.search(text) or COST.search(text) or named:
        return "total"
    return "out_of_scope"


def _details(text: str, rest: str, q: Question) -> None:
    generators = bool(q.target.devices) and all(d.is_generator for d in q.target.devices)
    metrics: list[str] = []
    if COST.search(text):
        metrics.append("cost")
    if q.kind == "total" and AVG_POWER.search(rest):
        metrics.append("power")
    if generators or (
        GENERATION.search(text) and not q.target.devices and SOLAR_WORDS.search(text)
    ):
        metrics.append("generation")
    if IMPORT.search(text):
        metrics.append("import")
    q.metrics = metrics or ["energy"]
    if q.kind == "solar" and SOLAR_SAVING.search(text):
        q.metrics = ["cost"]
    q.order = "least" if LEAST.search(rest) else "most"
    if "generation" in q.metrics and re.search(r"\b(worst|poorest|dullest|gloomiest)\b", rest):
        q.order = "least"  # the worst solar day generated least
    for name, pattern in GROUPINGS:
        if pattern.search(rest):
            q.grouping = name
            break
    if BY_ROOM.search(rest) or (
        q.kind == "ranking"
        and q.target.rooms
        and not q.target.devices
        and re.search(r"\brooms\b", rest)
    ):
        q.grouping = "room"
    if q.kind == "profile" and WEEKDAY_WEEKEND.search(rest):
        q.grouping = "weekday"
    top = TOP_N.search(rest)
    if top:
        word = top.group(1) or top.group(2)
        q.limit = int(word) if word.isdigit() else WORD_NUMBERS[word]
    elif q.kind == "ranking" and ALL_OF_THEM.search(rest):
        q.limit = 20
    q.per_day = bool(PER_DAY.search(text)) or "A typical night here" in " ".join(q.notes)
    q.per_year = bool(PER_YEAR.search(text)) and not any(p.kind == "year" for p in q.periods)
    if q.kind == "total" and SAVE_BY_STOPPING.search(text):
        # "How much would I save by turning the router off overnight": what it used then,
        # priced, and a year of it.
        q.metrics = ["cost"]
        q.per_year = True
    if q.kind == "total" and re.search(r"\b(on )?week(day|end)s\b", rest):
        q.notes.append(
            "I cannot leave out weekdays or weekends from a total yet, so this counts every day; "
            "ask 'weekdays versus weekends' for the typical day of each."
        )


__all__ = ["VOCABULARY", "correct_typos", "understand"]
