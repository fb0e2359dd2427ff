"""The chat analyst (DESIGN.md section 7): questions in plain language answered from the user's
own data through a fixed set of read-only tools, by an LLM when one is configured or by the
built-in offline analyst, with the evidence behind every number."""

from energy_core.chat.answers import LLM, OFFLINE, ChatAnswer
from energy_core.chat.history import (
    DEFAULT_CONVERSATION,
    HistoryMessage,
    clear_history,
    load_all_history,
    load_history,
    record_exchange,
)
from energy_core.chat.render import escape_markdown, sanitize_markdown
from energy_core.chat.service import (
    AnswerStream,
    answer_question,
    selected_engine,
    stream_answer,
)
from energy_core.chat.suggestions import suggested_questions
from energy_core.chat.tools import TOOLS, ToolCall, ToolContext, run_tool, tool_schemas

__all__ = [
    "DEFAULT_CONVERSATION",
    "LLM",
    "OFFLINE",
    "TOOLS",
    "AnswerStream",
    "ChatAnswer",
    "HistoryMessage",
    "ToolCall",
    "ToolContext",
    "answer_question",
    "clear_history",
    "escape_markdown",
    "load_all_history",
    "load_history",
    "record_exchange",
    "run_tool",
    "sanitize_markdown",
    "selected_engine",
    "stream_answer",
    "suggested_questions",
    "tool_schemas",
]
