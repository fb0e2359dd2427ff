"""Questions that follow on from the one before ("and the week before?", "what about the
fridge?"): the earlier question's reading, with what the new words name in place of its devices,
its period or its days. Only the user's own earlier question is read (the history the page keeps);
a question that stands on its own is read on its own."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from energy_core.chat.question import Question
from energy_core.chat.render import escape_markdown
from energy_core.chat.tools import ToolContext
from energy_core.chat.understand import PREVIOUS_REF, understand
from energy_core.chat.understand_text import rx

# The words that make a question lean on the one before it.
FOLLOW_UP = rx(
    r"^\s*(?:(?:and|but|also|ok(?:ay)?|so|then)\b[\s,]*)?(?:(?:what|how) about|same for|"
    r"same again for|and for|and in|and on|for|in|on|and)\b[\s,]*"
)
# Short questions about the answer before: its cost, or whether it was usual.
THAT_COST = rx(
    r"^\s*(?:and\s+)?(?:how much did (?:that|it|this) cost(?: me)?|what did (?:that|it|this) "
    r"cost(?: me)?|(?:what about |and )?the cost|in (?:money|pounds|euros?|dollars))\s*\??\s*$"
)
THAT_USUAL = rx(
    r"^\s*(?:and\s+)?(?:(?:is|was|are|were) (?:that|it|this) (?:normal|usual|typical|a lot|"
    r"high|too much|much|ok|okay|more than usual)|compared? (?:to|with) (?:normal|usual|"
    r"average|typical|my average)(?: \w+)?|(?:is|was) (?:that|it|this) more than usual)\s*\??\s*$"
)
# The bill of the question before, without a device: "and without the EV charger?"
WITHOUT = rx(r"^\s*(?:and |but |what about )?(?:without|excluding|minus)\b")
# Earlier answers that were not an answer: nothing to follow on from.
UNANSWERED = {"clarify", "unknown_name", "out_of_scope", "future", "period_error", "help"}
ASKED_BACK = {"clarify", "unknown_name", "period_error"}
MAX_CHAIN = 6  # earlier questions read to resolve a chain of follow-ups


def _earlier(ctx: ToolContext, history: Sequence[dict[str, str]]) -> Question | None:
    """The reading of the last question in ``history``, itself read as a follow-up of the ones
    before it (the last few)."""
    asked = [m["content"].strip() for m in history if m.get("role") == "user"]
    reading: Question | None = None
    for text in asked[-MAX_CHAIN:]:
        if not text:
            continue
        reading = (reading and _following(ctx, text, reading)) or understand(ctx, text)
    return reading


def follow_up(
    ctx: ToolContext, question: str, history: Sequence[dict[str, str]]
) -> Question | None:
    """The reading of ``question`` as a follow-up of the last question in ``history``, or None
    when it stands on its own (or there is nothing to follow)."""
    about_it = THAT_COST.match(question) or THAT_USUAL.match(question)
    if (FOLLOW_UP.match(question) is None and not about_it) or not history:
        return None
    before = _earlier(ctx, history)
    if before is None or before.kind in UNANSWERED:
        return None
    if about_it:
        return _about_the_answer(question, before)
    if WITHOUT.match(question) and "cost" in before.metrics and before.target.everything:
        new = understand(ctx, question.strip(" ?.!") + " from my bill")
        if new.kind == "bill_without":
            return _said(replace(new, text=before.text, notes=[]))
    return _following(ctx, question, before)


def _about_the_answer(question: str, earlier: Question) -> Question | None:
    """ "How much did that cost?" (the same question in money) and "is that normal?" (the same
    devices and period against their typical days)."""
    q = replace(earlier, periods=list(earlier.periods), notes=[], sides=list(earlier.sides))
    if THAT_COST.match(question):
        if q.kind not in ("total", "comparison", "ranking", "extreme_period"):
            return None
        q.metrics = ["cost"]
        return _said(q)
    if q.kind not in ("total", "comparison") or len(q.periods) > 1 or len(q.sides) > 1:
        return None
    q.kind, q.metrics = "explain", ["energy"]
    return _said(q)


def _following(ctx: ToolContext, question: str, earlier: Question) -> Question | None:
    lead = FOLLOW_UP.match(question)
    if lead is None or len(question.split()) > 8 or earlier.kind in UNANSWERED:
        return None
    fragment = question[lead.end() :].strip(" ?.!")
    if not fragment:
        return None
    before = replace(earlier, periods=list(earlier.periods), notes=[], sides=list(earlier.sides))
    if PREVIOUS_REF.search(fragment) and not re.search(r"\d", fragment):
        # "and the week before?": each period of the question before, one step back
        if not before.periods:
            return None
        before.periods = [p.previous() for p in before.periods]
        return _said(before)
    new = understand(ctx, fragment)
    if new.kind in ASKED_BACK or (new.kind == "out_of_scope" and new.problem):
        return new  # a name to ask back about, something out of reach, a period in error
    changed = False
    if not new.target.everything:
        before.target, before.sides, changed = new.target, list(new.sides), True
        if len(new.sides) < 2 and before.comparison == "selections":
            return None
    if new.periods:
        before.periods, changed = list(new.periods), True
    if new.time_of_day:
        before.time_of_day, changed = new.time_of_day, True
    if new.days:
        before.days, changed = new.days, True
    return _said(before) if changed else None


def _said(q: Question) -> Question:
    q.notes.insert(0, f"(Read with your question '{escape_markdown(q.text[:80])}'.)")
    return q


__all__ = ["follow_up"]
