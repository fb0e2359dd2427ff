"""The questions the analyst turns down or asks back about before reading them: instructions
hidden in a question, other subjects, figures no meter here gives, and periods only the household
knows the dates of."""

from __future__ import annotations

import re

from energy_core.chat.question import Question
from energy_core.chat.understand_text import rx

INJECTION = rx(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules|prompts?|previous|above|"
    r"guidelines)\b|\bsystem prompt\b|\b(admin|developer|debug|god|root|sudo)\s+mode\b|"
    r"\bjailbreak|\byou are now\b|\bpretend (to be|you)\b|\bact as\b|\breveal\b|"
    r"\b(user|account|household|customer)\s*(id\s*|number\s*|no\.?\s*)?#?\d+\b|"
    r"\b(other|all|every|another|any)\s+(users?|households?|customers?|accounts?|people)\b|"
    r"\beveryone'?s\b|\bsomeone else'?s\b|\bneighbou?rs?'?s?\b|\b(sql|select \*|drop table)\b|"
    r"\bdatabase\b|\bpasswords?\b|\bapi[ _-]?keys?\b|\bcredentials?\b|\bsecrets?\b|"
    r"\bexecute\b|\bshell command\b"
)
OFF_TOPIC = rx(
    r"\b(weather|temperatures?|humidity|rain(fall)?|sunny|cloudy|snow(ing)?|windy|joke|"
    r"capital of|recipe|news|stock|"
    r"football|movie|film|song|poem|translate|"
    r"president|prime minister|meaning of life|who (are|made) you|your name|horoscope|lottery|"
    r"sports?|score)\b"
)
OTHER_UTILITY = rx(r"\b(gas|water|oil|petrol|diesel|lpg|propane|wood|pellets?)\b")
# Figures the meters cannot give: emissions need the grid's carbon intensity, which is not kept.
CARBON = rx(r"\b(co2|co₂|carbon|emissions?|emit(s|ted)?|greenhouse)\b")
# Electrical quantities other than power: the meters send watts only.
ELECTRICAL = rx(
    r"\b(voltage|volts?|amps?|amperage|amperes?|current draw|power factor|reactive power|"
    r"apparent power|kva|frequency|hertz|hz|harmonics?|phase angle)\b"
)
# A heat pump's efficiency needs the heat it gives, which no meter here reads.
# (An efficiency only of a heat pump: "the efficiency of my solar panels" is not this question.)
HEAT_OUTPUT = rx(
    r"\b(s?cop|coefficient of performance|heat output)\b|"
    r"\bheat ?pump\b.{0,40}\befficien|\befficien\w*\b.{0,40}\bheat ?pump"
)
# Energy per degree (heating against the weather) needs outdoor temperatures, which are not kept.
PER_DEGREE = rx(r"\bper (degree|°)|\bdegree[- ]days?\b|\b(outside|outdoor) temperature")
HELP = rx(
    r"\bwhat (else )?can (i|you) (ask|do|answer)|^\s*(help|hi|hello|hey)\b|\bhelp me\b|"
    r"\bwhat (kind of |sort of )?questions\b|\bexamples?\b|\bhow do(es)? (this|it|you) work"
)
# Asking the analyst to act rather than to read: it changes nothing.
CONTROL = rx(
    r"^\s*(please\s+)?((can|could|would|will) you\s+(please\s+)?|i want you to\s+)?"
    r"((turn|switch|shut|power)\b.{0,40}\b(on|off|down|up)\b|"
    r"(set|change|adjust|update|raise|lower|reset|increase|decrease)\b.{0,30}"
    r"\b(budget|tariff|price|rate|alert|limit|name|timezone|thermostat|temperature|schedule)\b)"
)
# Other households, or an average one: no figures of theirs are within reach.
BENCHMARK = rx(
    r"\b(average|typical|normal|similar|other|uk|us|national|comparable)\s+"
    r"(household|home|house|family|homes|households|families|users?)\b|\bnational average\b|"
    r"\bpeople like (me|us)\b|\bhouses? like (mine|ours)\b"
)
# Periods only the household knows the dates of: asked back, never guessed.
VAGUE_PERIOD = rx(
    r"\b(the |that |last )?(cold snap|cold spell|heat ?wave|freeze|storm|power cut|blackout|"
    r"half[- ]term|school holidays?)\b|"
    r"\b(while|when) (i|we) (was|were|went) (away|on holiday|on vacation|abroad|out)\b|"
    r"\b(i|we) (was|were) (away|on holiday|on vacation)\b|"
    r"\bduring (my|our|the) (holiday|vacation|trip|absence)\b|"
    r"\bon (the )?(sunny|cloudy|rainy|cold|warm|hot|windy|grey|gray) days\b|"
    r"\bwhile (the |my |our )?[a-z]+ (was|were) (at|away|out|in|on)\b"
)


def _out_of_reach(q: Question, raw: str, *checks: tuple[str, re.Pattern[str]]) -> bool:
    """Whether ``raw`` matches one of ``checks`` (problem, pattern), the first of which ``q``
    then gives as the reason it is out of scope."""
    for problem, pattern in checks:
        if pattern.search(raw):
            q.kind, q.problem = "out_of_scope", problem
            return True
    return False


def refused(q: Question, raw: str, periods_named: bool) -> bool:
    """Whether ``raw`` asks for something out of reach (to act, other households' figures, other
    fuels, emissions, a heat pump's heat) or names a period by an event rather than by its dates;
    when it does, ``q`` says so."""
    if _out_of_reach(q, raw, ("control", CONTROL), ("benchmark", BENCHMARK)):
        return True
    vague = VAGUE_PERIOD.search(raw)
    if vague and not periods_named:
        said = f"when {vague.group(0).strip()} was"
        if re.search(r"days$", vague.group(0)):  # "on sunny days"
            said = f"which days were {vague.group(0).split()[-2]}"
        elif vague.group(2) is None:  # "while I was on holiday", "during our trip"
            said = "when you were away"
        q.kind, q.problem = "vague_period", said
        return True
    return _out_of_reach(
        q,
        raw,
        ("utility", OTHER_UTILITY),
        ("carbon", CARBON),
        ("heat", HEAT_OUTPUT),
        ("temperature", PER_DEGREE),
        ("electrical", ELECTRICAL),
    )
