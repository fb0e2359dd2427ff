"""What a question asks, from word families rather than fixed phrases (so that word order and
synonyms do not matter): its kind, then its measures, order, grouping and limit."""

from __future__ import annotations

import re
from datetime import timedelta

from energy_core.chat.question import Question
from energy_core.chat.understand_text import rx

NEXT = rx(r"\b(tomorrow|next (week|month|year|\w+day|winter|summer|spring|autumn))\b")
FORECAST = rx(
    r"\b(will|going to|projected?|projection|forecast|predict(ed|ion)?|expect(ed)?|estimated?|"
    r"on track|end of (the )?month|by the end)\b"
)
MONEY_OR_USE = rx(r"\b(bill|cost|spend|pay|use|usage|consum\w*|total)\b|[£€$]")
INVENTORY = rx(
    r"\b(what|which) (devices|appliances|rooms|meters|things) (do|have) (i|we)\b|"
    r"\blist (all |of )?(my |the |our )?(devices|appliances|rooms)\b|"
    r"\bhow many (devices|appliances|rooms|meters)\b|"
    r"\bshow (me )?(all |my |the )*(devices|appliances|rooms)\b\s*\??$|"
    r"\bwhat rooms\b|\bwhich rooms (do|are there|have)\b|"
    r"\bwhat (do i|can you) (have|see|monitor)\b|"
    r"\b(what|which) devices (are there|exist)\b|^\s*(my )?devices\s*\??$|"
    r"\b(what|which) (devices|appliances|things|meters)( do (i|we) have)? (are )?in\b|"
    r"^\s*what('s| is) in (the |my |our )"
)
STATUS = rx(
    r"\b(online|offline|status|last seen|last (report|reading|heard)|reporting|connected|"
    r"disconnected|live)\b|"
    r"\b(is|are) (the |my |our )?.{0,40}\b(on|working|running|switched on|alive|charging|"
    r"generating|producing)\s*(right now|now|at the moment)?\s*\??$|"
    r"\bsending (data|readings)\b|\bstopped (sending|reporting)\b|"
    r"\blast (sen[dt]|report(ed)?|post(ed)?|upload(ed)?) (data|readings?|anything|in)\b|"
    r"\bwhen did .{0,40}\blast (sen[dt]|report|post|upload|check in)\b"
)
# Whether a device behaves as it usually does: its runs against its own usual pattern.
HEALTH = rx(
    r"\bworking (properly|correctly|right|ok|okay|normally|fine|as (it )?should)\b|\bbroken\b|"
    r"\bfaulty\b|\bsomething wrong\b|\banything wrong\b|\bwrong with\b|\bhealthy\b|"
    r"\bfailing\b|\bon the blink\b|\bplaying up\b|\bacting (up|strange\w*|odd\w*|weird\w*)\b|"
    r"\bbehav\w+ (normally|strange\w*|odd\w*|weird\w*|properly|as usual)\b|"
    r"\b(is|are|was|were) (the |my |our )?[a-z ]{0,30}\b(ok|okay|alright|all right|fine)\b|"
    r"\b(is|are|was|were) (the |my |our )?[a-z ]{0,30}\b(?<!than )normal\s*\??$|"
    r"\bcycl(e|es|ing) (normally|properly|right|too (much|often))\b"
)
# A device offline in the past ("when was the fridge offline last week"): its gaps.
OFFLINE_PAST = rx(
    r"\b(was|were|went|go|gone|been|did|has|have|had)\b.{0,40}\b(offline|disconnected|"
    r"drop(ped)? (out|off)|stop(ped)? (sending|reporting|working)|los[et] (connection|signal)|"
    r"without (data|readings)|go(ne)? quiet|went quiet)\b|\bwhen\b.{0,40}\b(offline|"
    r"disconnected)\b|\b(outages?|dropouts?|drop-outs?|downtime)\b"
)
NOW_WORDS = rx(
    r"\b(right now|at the moment|currently|at present|now)\b|\bwhat(?: is|'s) .{0,40} doing\b"
)
SUMMARY = rx(
    r"\bsumm?ar(y|ies|i[sz]e[ds]?|i[sz]ing)\b|\boverview\b|\brecap\b|\bround[- ]?up\b|"
    r"\bweek in review\b|\bhighlights\b|\b(weekly|week'?s|week) (report|review|digest)\b|"
    r"\bhow (was|were|did) (my|our|the|this|last) week\b|\bhow (am i|are we) doing\b|"
    r"\bhow did (i|we) do\b|\bwhat happened (this|last) week\b"
)
# An ISO week named by its number: "week 47", "wk 47", "2026-W47".
WEEK_NUMBER = rx(r"\b(?:(\d{4})-?)?(?:week|wk|w)\s*(\d{1,2})\b")
BASELOAD = rx(
    r"always[- ]?on|\bbase[- ]?load|\bstandby\b|\bidle (load|power|consumption|usage)|"
    r"\bphantom\b|\bvampire\b|\bbackground (load|power|consumption|usage)|"
    r"\bminimum (load|consumption)|\bnever (switch|turn)s? off"
)
COVERAGE = rx(
    r"\bcoverage\b|\bmissing (data|readings)|\bgaps?\b|\bdata quality\b|\bcomplete(ness)?\b|"
    r"\bhow (reliable|complete)\b|\bdata (is )?missing\b|\bhow many readings\b"
)
EXPLAIN = rx(
    r"\bwhy\b|\bwhat (caused|made|happened|drove|explains)\b|\bexplain\b|\breason\b|"
    r"\bwhat was (different|unusual)\b|\bunusual\b|\bspiked?\b|"
    r"\bwhat('s| is| was)? (different|odd|strange|wrong)\b|\banything (odd|strange|different)\b|"
    r"\b(more|less|higher|lower) than (usual|normal|typical|average|a typical day)\b|"
    r"\b(above|below) (normal|average|usual)\b|"
    r"\b(compared? (to|with)|against|vs\.?|versus) (my |an? |the )?(average|typical|usual|normal)"
    r"( day| week| month)?\b"
)
SOLAR_SPLIT = rx(
    r"\bself[- ]?(consum\w*|used|use|sufficien\w*)\b|\b(use|used|using|consume[d]?) (it )?"
    r"(myself|ourselves|in the house|at home|directly)\b|\bexport(ed|ing|s)?\b|"
    r"\bsent (back )?to the grid\b|\bfeed[- ]?in\b|\bown (solar|generation)\b|"
    r"\b(came|comes|come|coming) from (my |the )?(solar|panels|pv|sun)\b|"
    r"\bcover(ed|s)? (all )?(my |our |the )?(usage|use|consumption|needs|demand)\b"
)
SOLAR_WORDS = rx(r"\b(solar|pv|panels?|generat\w*|produc\w*|inverter|sun)\b")
# What the generation was worth: the consumption it spared buying (and the export it earned).
SOLAR_SAVING = rx(
    r"\bma(de|ke|kes|king)\b.{0,20}\bmoney\b|\bmoney\b.{0,40}\bma(de|ke|kes|king)\b|"
    r"\b(sav(e|ed|es|ing|ings)|worth|earn(ed|s|ing)?|pa(y|id|ys) (for )?(itself|off|back)|"
    r"payback|knock(ed)? off|reduc\w+ (my|the|our) bill|off (my|the|our) bill)\b"
)
PEAK = rx(
    r"\bpeak (power|draw|demand|load|reading|wattage|output)\b|"
    r"\bmax(imum)? (power|draw|load|demand|wattage|reading|output)\b|"
    r"\bmax(imum)?\b.{0,20}\bwatts?\b|"
    r"\b(highest|biggest|largest|top) (power|draw|demand|load|reading|wattage|spike|output)\b|"
    r"\bmost power at once\b|\bmaximum\b|\bpeaked\b|\bpeak\b(?! (usage )?(hour|time|period))|"
    r"\bwhen did (i|we|the house|the household|my house)\b.{0,30}"
    r"\bmost (power|electricity|energy)\b|"
    r"\bmost power\b.{0,40}\b(drawn|drew|draws|pulled|pulls|taken|took)\b"
)
# The lowest power at one instant ("lowest power overnight", "what was my minimum draw").
LOWEST_POWER = rx(
    r"\b(lowest|minimum|min|smallest|least)\s+(power|draw|demand|wattage|reading|load)\b(?! "
    r"hours?)|\b(power|draw|demand|usage)\b.{0,15}\b(at its )?(lowest|minimum)\b(?! (hour|"
    r"day|week|month))|\b(dropped|dipped|fell|go|went|get|got) (to its )?(lowest|down to)\b|"
    r"\bthe (lowest|minimum)\b.{0,40}\b(went|go|goes|got|gets|dropped|dips|dipped|fell|falls)\b"
)
AVG_POWER = rx(
    r"\baverage (power|draw|load|watts|wattage)\b|\bmean power\b|\bhow many watts\b|"
    r"\bpower draw\b|\bdraws?\b|\bdrawing\b|\bin watts\b|\bwattage\b|"
    # energy per hour is average power: 1 kWh an hour is 1 kW
    r"\b(per|an|each|every|a) hour\b(?! ago)|\bhourly average\b"
)
PROFILE = rx(
    r"\busually\b|\btypical(ly)?\b|\bnormally\b|\bgenerally\b|\btend to\b|\bon a normal\b|"
    r"\bpeak (usage )?(hours?|times?)\b|\bbusiest (time|hours)\b|\bwhat times?\b|"
    r"\bwhich hours\b|\bwhat hours\b|\bwhen (do|does|is|are)\b|\btime of (the )?day\b|"
    r"\bhour of (the )?day\b|\b(daily|usage) (profile|pattern)\b|\bpattern\b|\bprofile\b"
)
HOURS_OF_DAY = rx(r"\bhours of (the )?day\b|\b(rank|order|sort)\w* (the |my )?hours\b")
WHEN_TYPICALLY = rx(
    r"\b(what times? (do|does|is|are)|when (do|does|is|are)|which hours?|what hours?|"
    r"time of (the )?day|usually|typically|normally|on weekends|at weekends|on weekdays)\b"
)
HABITUAL = rx(
    r"\b(of the day|typical(ly)?|usually|normally|generally|on average|tend to|on a normal)\b"
)
# One side of the week only ("on weekdays", "at weekends", "working days"): a filter of the days
# that count, when the other side is not named too.
ONLY_DAYS = rx(
    r"\b(?:(?:on|at|over|during|for) (?:the |my |our )?)?(?:(week ?days|week ?day(?= only)|"
    r"working days|work ?days|"
    r"business days|mon(?:day)? to fri(?:day)?)|(weekends|weekend days|sat(?:urday)?s? and "
    r"sun(?:day)?s|weekend(?= only)))(?: only)?\b"
)
DAYS_COMPARED = rx(r"\b(more|less|than|versus|vs|compar\w*|differ\w*|against|busier|quieter)\b")


# One day of every week: "on Mondays", "Wednesday afternoons", "every Friday".
EACH_DAY = rx(
    r"\b(?:(?:on|at|over|during|for|every|each) (?:the )?)?(monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday)(?:s\b|(?= (?:mornings|afternoons|evenings|nights)\b))"
)


def only_days(text: str) -> tuple[str, tuple[int, int]] | None:
    """("weekdays", "weekends" or a day such as "mondays", where it is said) when the question
    keeps those days of the week only; None when it names none or both sides of the week (a
    comparison of the two)."""
    found = list(ONLY_DAYS.finditer(text))
    sides = {"weekdays" if m.group(1) else "weekends" for m in found}
    if len(sides) == 1 and not DAYS_COMPARED.search(text):
        return sides.pop(), found[0].span()
    each = list(EACH_DAY.finditer(text))
    if not sides and len(each) == 1 and not DAYS_COMPARED.search(text):
        return f"{each[0].group(1)}s", each[0].span()
    return None


WEEKDAY_WEEKEND = rx(
    r"\bweekdays?\b.*\bweekends?\b|\bweekends?\b.*\bweekdays?\b|\bweekends\b|"
    r"\b(weekday|weekend) (usage |use |consumption )?(pattern|profile|routine)s?\b"
)
# "Was the heat pump busier on the weekend?": weekend days against weekdays, not one weekend.
BUSIER_AT_WEEKENDS = rx(
    r"\b(busier|quieter|more|less|higher|lower)\b.{0,30}\b(on|at|over) (the )?weekends?\b"
    r"(?!.*\b(than|versus|vs|compared)\b)"
)
EXTREME_PERIOD = rx(
    r"\b(which|what) (day|week|month|hour)\b|"
    r"\b(most|least) expensive (day|week|month|hour)\b|"
    r"\b(highest|lowest|biggest|smallest|busiest|quietest|worst|best|heaviest|lightest|"
    r"cheapest|costliest|most expensive|top|sunniest|brightest|dullest|gloomiest) "
    r"(usage |consumption |energy |cost |solar |"
    r"generation |export |sunniest )?(day|week|month|hour)\b"
)
# The night of the most (or least) use: each night on its own, 22:00 to 06:00.
WHICH_NIGHT = rx(
    r"\b(which|what) night\b|\b(highest|lowest|biggest|busiest|quietest|worst|best|heaviest|"
    r"lightest|cheapest|costliest|most expensive|least expensive) night\b"
)
# The day of most (or least) sun: the day the generation was highest (lowest).
SUNNY_DAY = rx(r"\b(sunniest|brightest|dullest|gloomiest)\b")
RANK = rx(
    r"\b(which|what) (devices?|appliances?|ones?|things?|rooms?|circuits?|loads?)\b|"
    r"\btop( \d+| (three|five|ten))?\b|\bbiggest\b|\blargest\b|\bhungriest\b|\branking\b|"
    r"\brank(ed)?\b|\border(ed)?\b|\bsort(ed)?\b|\bwhat (uses|used|consumes|consumed|draws) "
    r"the (most|least)\b|\bwhere does (my|the|all|our) (energy|electricity|power) go\b|"
    r"\bbreak ?down by (device|room)|\b(by|per|each) (device|appliance|room)\b|"
    r"\b(most|least) (energy|power|electricity)[- ]hungry\b|\bconsumers\b|\bguzzl|"
    r"\beat(ing|s)? (up )?(my|the|our|all)\b|\bhogs?\b|"
    r"\b(share|percentage|proportion|fraction|percent) of\b|"
    r"\b(most|least) (expensive|costly|economical) (devices?|appliances?|rooms?|things?)\b|"
    r"\b(most|least)[- ](used|hungry|consuming|costly) (devices?|appliances?|rooms?|things?)\b"
)
RANK_STRONG = rx(
    r"\b(rank\w*|top|most|least|biggest|largest|order\w*|sort\w*|consum\w*|use|used|uses|"
    r"usage|cost\w*|energy|power)\b"
)
SHARE = rx(
    r"\b(share|percentage|proportion|fraction|percent) of\b|"
    r"\bhow much of (my|our|the) (usage|use|consumption|energy|electricity|bill)\b"
)
# "Is my usage normal for this time of year": against the typical days before (not last year).
TIME_OF_YEAR = rx(
    r"\b(normal|usual|typical|average|expected)\b.{0,30}\bfor (this|the) (time of (the )?year|"
    r"season|month)\b"
)
COMPARE = rx(
    r"\bcompar|\bvs\.?\b|\bversus\b|\bthan\b|\bdifference between\b|\bagainst\b|"
    r"\b(go(ne|es)?|went|gone) (up|down)\b|\b(increase|decrease|rise|drop)[sd]?\b|\brose\b|"
    r"\bfell\b|"
    r"\b(more|less) or (more|less)\b|\bchanged?\b|\bup or down\b|\bbetter or worse\b"
)
# Which way use is heading: the period against the one before (the last 7 days by default).
TREND = rx(
    r"\b(going|gone|go|goes|went|trending|creeping|moving|heading) (up|down)\b|\bup or down\b|"
    r"\btrend(s|ing)?\b|\b(increasing|decreasing|rising|falling|climbing|dropping)\b|"
    r"\b(more|less)\b.{0,20}\b(lately|recently|these days|than before)\b"
)
WHICH_MORE = rx(
    r"\b(which|who|what)\b.{0,30}\b(more|less|most|least|bigger|smaller|hungrier|higher|"
    r"greater|larger|costlier|cheaper)\b"
)
COST = rx(
    r"\bcost|\bspen[dt]\b|\bspending\b|\bexpensive\b|\bcheap|\bbills?\b|\bprice\b|\bmoney\b|"
    r"\bpa(y|id)\b|[£€$]|\bpounds\b|\beuros?\b|\bdollars?\b|\bpence\b|\bcharged\b"
)
GENERATION = rx(r"\b(generat\w*|produc\w*|yield)\b")
IMPORT = rx(r"\b(import(ed)?|bought|from the grid)\b")
ENERGY = rx(
    r"\bhow much\b|\b(use|used|uses|using|usage)\b|\bconsum|\bkwh\b|\benergy\b|\belectric|"
    r"\bpower\b|\bgenerat|\bproduc|\bexport|\bwatts?\b|\bcharg(e|ed|ing)\b|\bran\b|\brun\b"
)
LEAST = rx(r"\b(least|lowest|smallest|cheapest|quietest|lightest|fewest|less|minimum)\b")
BY_ROOM = rx(
    r"\b(which|what) rooms?\b|\b(by|per|each|every) room\b|\brooms?\b.{0,20}\brank|"
    r"\b(rank|sort|order|list)\w* (the |my |all |our )*rooms\b"
)
GROUPINGS = [
    ("hour", rx(r"\b(per|each|every|by( the)?) hour\b|\bhourly\b|\bhour by hour\b")),
    (
        "day",
        rx(
            r"\b(each|every|by) day\b|\bdaily (breakdown|usage|consumption|figures|"
            r"totals|values|table)\b|\bday by day\b|\bper day (breakdown|table)\b"
        ),
    ),
    ("week", rx(r"\b(per|each|every|by) week\b|\bweekly\b|\bweek by week\b")),
    ("month", rx(r"\b(per|each|every|by) month\b|\bmonthly\b|\bmonth by month\b")),
]
PER_DAY = rx(
    r"\b(per|a|each) day\b(?! ago)|\bdaily average\b|\baverage daily\b|\bon average\b|"
    r"\baverage (day|per day)\b"
)
SAVE_BY_STOPPING = rx(
    r"\b(save|saving|savings)\b.{0,60}\b(turn(ing|ed)?|switch(ing|ed)?|unplug\w*|off|not using|"
    r"stop(ping)?|didn'?t|did not|don'?t|do not|no longer|never)\b"
)
PER_YEAR = rx(
    r"\b(a|per|each|every|in a|for a|over a|over the) (whole |full )?year\b(?! ago)|"
    r"\bannual(ly)?\b|\byearly\b|\byear[- ]round\b"
)
TOP_N = rx(r"\btop (\d+|three|five|ten|two|four)\b|\b(\d+) (biggest|largest|top)\b")
ALL_OF_THEM = rx(
    r"\brank(ing|ed)?\b|\ball\b|\beach\b|\bevery\b|\border(ed)?\b|\bsort(ed)?\b|"
    r"\bbreak ?down\b|\bper (device|appliance|room)\b"
)
WORD_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "ten": 10}


def question_kind(text: str, rest: str, q: Question, same_day: bool, previous: bool) -> str:
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
    if HEALTH.search(text) and len(q.sides) <= 1:
        return "health" if q.target.devices else "status"
    if OFFLINE_PAST.search(text) and not re.search(r"\b(now|currently|right now)\b", text):
        return "coverage"
    habit = WHEN_TYPICALLY.search(text) and not NOW_WORDS.search(text)
    if (STATUS.search(text) or NOW_WORDS.search(text)) and not q.periods and not habit:
        return "status"
    if HOURS_OF_DAY.search(rest):
        return "profile"  # "rank the hours of the day by usage": the typical day, hour by hour
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
    if len(q.sides) >= 2 and (COMPARE.search(rest) or WHICH_MORE.search(rest)):
        return "comparison"  # "which used more, X or Y, and why": both figures, then why
    if TIME_OF_YEAR.search(text):
        q.notes.append(
            "I compare with your typical days just before (28 days), not with the same time "
            "last year."
        )
        return "explain"
    if EXPLAIN.search(text):
        return "explain"
    if SUNNY_DAY.search(text) and EXTREME_PERIOD.search(rest):
        return "extreme_period"  # "my export on the sunniest day": that day's figures
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
    if LOWEST_POWER.search(rest) and not RANK.search(rest) and not WHEN_TYPICALLY.search(rest):
        return "peak"  # its lowest, with the order "least"
    if (PROFILE.search(rest) or (WEEKDAY_WEEKEND.search(rest) and not q.days)) and (
        not EXTREME_PERIOD.search(rest) or HABITUAL.search(rest)
    ):
        return "profile"
    if EXTREME_PERIOD.search(rest):
        return "extreme_period"
    if WHICH_NIGHT.search(text) and len(q.periods) <= 1 and not q.target.rooms:
        q.grouping, q.time_of_day = "night", None
        return "extreme_period"
    if len(q.times_of_day) >= 2:
        return "comparison"
    if len(q.periods) >= 2 and not RANK.search(rest):
        return "comparison"  # two periods named apart are two sides ("this week or last")
    if same_day or previous or (COMPARE.search(rest) and (q.periods or len(q.sides) >= 2)):
        return "comparison"
    if TREND.search(rest) and len(q.sides) <= 1 and len(q.periods) <= 1:
        return "comparison"
    if (
        (RANK.search(rest) or SHARE.search(rest))
        and len(q.sides) <= 1
        and not (q.target.devices and not BY_ROOM.search(rest) and not SHARE.search(rest))
    ):
        return "ranking"
    if AVG_POWER.search(rest):
        return "total"
    if ENERGY.search(text) or COST.search(text) or named:
        return "total"
    return "out_of_scope"


def fill_details(text: str, rest: str, q: Question) -> None:
    generators = bool(q.target.devices) and all(d.is_generator for d in q.target.devices)
    metrics: list[str] = []
    if COST.search(text):
        metrics.append("cost")
    if q.kind == "total" and AVG_POWER.search(rest):
        metrics.append("power")
    if (
        generators
        or ((GENERATION.search(text) and SOLAR_WORDS.search(text)) or SUNNY_DAY.search(text))
        and not q.target.devices
    ):
        metrics.append("generation")
    if IMPORT.search(text):
        metrics.append("import")
    q.metrics = metrics or ["energy"]
    if q.kind == "solar" and SOLAR_SAVING.search(text):
        q.metrics = ["cost"]
    q.order = "least" if LEAST.search(rest) else "most"
    if "generation" in q.metrics and re.search(r"\b(worst|poorest|dullest|gloomiest)\b", text):
        q.order = "least"  # the worst solar day generated least
    for name, pattern in GROUPINGS:
        if pattern.search(rest):
            q.grouping = name
            break
    if (
        q.grouping in ("hour", None)
        and re.search(r"\b(per|an|a|for an|for one) hour\b(?! ago)", rest)
        and re.search(r"\b(does|do|would|will|typically|usually|on average)\b", text)
    ):
        # "what does the heat pump cost per hour": its average hour, not an hourly table
        q.grouping, q.per_hour = None, True
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
    if q.kind not in ("total", "ranking", "extreme_period", "out_of_scope"):
        q.days = None  # "out_of_scope" keeps it for a follow-up ("and on weekends?")
