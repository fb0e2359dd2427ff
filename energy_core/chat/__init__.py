"""The chat analyst (DESIGN.md section 7): questions in plain language answered from the user's
own data through a fixed set of read-only tools, by an LLM when one is configured or by the
built-in offline analyst, with the evidence behind every number."""

from importlib import import_module

# Names exported here, by the submodule that defines them. They are imported on first use: a
# module that needs only a small part of the package (the weekly summary's wording, say) does not
# load the tools, the engines and the OpenAI client behind them (the Live page imports that
# wording while a person waits for the first chart).
_EXPORTS = {
    "LLM": "answers",
    "OFFLINE": "answers",
    "ChatAnswer": "answers",
    "DEFAULT_CONVERSATION": "history",
    "HistoryMessage": "history",
    "clear_history": "history",
    "load_all_history": "history",
    "load_history": "history",
    "record_exchange": "history",
    "escape_markdown": "render",
    "sanitize_markdown": "render",
    "AnswerStream": "service",
    "answer_question": "service",
    "selected_engine": "service",
    "stream_answer": "service",
    "suggested_questions": "suggestions",
    "TOOLS": "tools",
    "ToolCall": "tools",
    "ToolContext": "tools",
    "run_tool": "tools",
    "tool_schemas": "tools",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):  # noqa: ANN202 - whatever the submodule defines
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
