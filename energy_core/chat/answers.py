"""What an engine hands back: the answer text, who answered, and the evidence behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from energy_core.chat.tools import ToolCall

OFFLINE = "offline"
LLM = "llm"


@dataclass
class ChatAnswer:
    """One answer. ``tool_calls`` are every call made for it, refused ones included; every
    number in ``text`` comes from one of their results."""

    text: str
    engine: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    notice: str | None = None  # e.g. why the offline analyst answered instead of the model
    understood: bool = True
    suggestions: list[str] = field(default_factory=list)
    model: str | None = None

    @property
    def evidence(self) -> list[dict[str, Any]]:
        return [c.evidence for c in self.tool_calls if c.ok and c.evidence]

    def figures(self) -> list[dict[str, Any]]:
        """The numeric results of each successful call (for ``ask --json`` and tests)."""
        return [{"tool": c.name, "result": c.result} for c in self.tool_calls if c.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "engine": self.engine,
            "model": self.model,
            "notice": self.notice,
            "understood": self.understood,
            "suggestions": self.suggestions,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
        }


__all__ = ["LLM", "OFFLINE", "ChatAnswer"]
