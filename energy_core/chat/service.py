"""Asking a question: choose the engine (the LLM when a key is configured, else the offline
analyst), stream the answer, and hand back the whole answer with its evidence.

Answering only reads; storing the exchange is ``history.record_exchange`` in the caller's own
(short) write transaction, so a slow model never holds a write lock.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, ParamSpec

from sqlmodel import Session

from energy_core import clock
from energy_core.chat.answers import LLM, OFFLINE, ChatAnswer
from energy_core.chat.offline import OfflineAnalyst
from energy_core.chat.tools import ToolContext
from energy_core.household_scope import for_household
from energy_core.settings import Settings, get_settings

if TYPE_CHECKING:
    # The SDK takes about a second to import: only a configured model loads it (chat/llm.py).
    from openai import OpenAI

P = ParamSpec("P")

MAX_QUESTION_CHARS = 2_000
# Control characters other than tab and line breaks: PostgreSQL cannot store NUL in text, and
# none of them belongs in a question.
_CONTROL = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\r"} | {"\x7f"}


def question_problem(question: str) -> str | None:
    """Why ``question`` (stripped) cannot be asked, or None: the one rule of every shell."""
    if not question:
        return "Ask a question, e.g. 'How much energy did I use yesterday?'"
    if len(question) > MAX_QUESTION_CHARS:
        return f"Questions are limited to {MAX_QUESTION_CHARS:,} characters."
    if not _CONTROL.isdisjoint(question):
        return "Questions cannot contain control characters."
    return None


def selected_engine(settings: Settings | None = None) -> str:
    """``"llm"`` when an API key is configured, else ``"offline"``."""
    settings = settings or get_settings()
    return LLM if settings.openai_api_key is not None else OFFLINE


class AnswerStream:
    """Iterate for the answer's text as it is produced (``st.write_stream`` takes this); once it
    is exhausted, ``answer`` holds the whole ChatAnswer."""

    def __init__(self, generator: Generator[str, None, ChatAnswer]):
        self._generator = generator
        self.answer: ChatAnswer | None = None

    def __iter__(self) -> Iterator[str]:
        self.answer = yield from self._generator

    def result(self) -> ChatAnswer:
        """Run to the end (if not yet) and return the answer."""
        if self.answer is None:
            for _ in self:
                pass
        assert self.answer is not None
        return self.answer


def _offline(
    ctx: ToolContext, question: str, history: Sequence[dict[str, str]] = ()
) -> Generator[str, None, ChatAnswer]:
    answer = OfflineAnalyst().answer(ctx, question, history)
    yield answer.text
    return answer


@for_household
def stream_answer(
    session: Session,
    *,
    user_id: int,
    question: str,
    history: Sequence[dict[str, str]] = (),
    now: datetime | None = None,
    settings: Settings | None = None,
    client: OpenAI | None = None,
) -> AnswerStream:
    """Answer ``question`` for ``user_id`` from that user's data only. ``history`` (earlier
    ``{"role", "content"}`` messages) gives the model context; ``client`` overrides the SDK
    client built from settings. ``now`` defaults to the clock (``energy_core.clock``)."""
    settings = settings or get_settings()
    question = question.strip()
    problem = question_problem(question)
    if problem is not None:
        raise ValueError(problem)
    now = now or clock.now(settings)
    ctx = ToolContext.load(session, user_id=user_id, now=now, settings=settings)
    if selected_engine(settings) == LLM:
        from energy_core.chat.llm import LLMEngine

        engine = LLMEngine(settings, client=client)
        return AnswerStream(engine.stream(ctx, question, history=history))
    return AnswerStream(_offline(ctx, question, history))


def _run_to_end(stream: Callable[P, AnswerStream]) -> Callable[P, ChatAnswer]:
    def run(*args: P.args, **kwargs: P.kwargs) -> ChatAnswer:
        return stream(*args, **kwargs).result()

    run.__doc__ = f"``{stream.__name__}`` run to the end: the whole ``ChatAnswer``."
    return run


# The same call as ``stream_answer`` (same arguments, same checks), waited for.
answer_question = _run_to_end(stream_answer)


__all__ = [
    "MAX_QUESTION_CHARS",
    "AnswerStream",
    "answer_question",
    "question_problem",
    "selected_engine",
    "stream_answer",
]
