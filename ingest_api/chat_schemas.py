"""The public shapes of the chat API: a question in, an answer with its evidence out, the stored
history and the suggested questions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from energy_core.chat import DEFAULT_CONVERSATION, ChatAnswer, HistoryMessage
from energy_core.chat.service import MAX_QUESTION_CHARS, question_problem
from ingest_api.schemas import with_example

CONVERSATION_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
CONVERSATION_DESCRIPTION = (
    "Which conversation of the household: 1-64 letters, digits, '_', '.', ':' or '-'. "
    f"'{DEFAULT_CONVERSATION}' is the one the app's Chat page and `energy-monitor ask` use."
)


def _askable(question: str) -> str:
    problem = question_problem(question)
    if problem is not None:
        raise ValueError(problem)
    return question


Question = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS),
    AfterValidator(_askable),
]
ConversationId = Annotated[str, StringConstraints(pattern=CONVERSATION_PATTERN)]

QUERY_EXAMPLE = {"question": "How much did the fridge use yesterday?", "conversation_id": "kitchen"}

EVIDENCE_EXAMPLE = {
    "tool": "energy_usage",
    "devices": [
        {"device_id": "fridge", "name": "Kitchen fridge", "location": "Kitchen", "type": "fridge"}
    ],
    "whole_household": False,
    "range": {
        "label": "yesterday",
        "start": "2026-11-29T00:00:00+00:00",
        "end": "2026-11-30T00:00:00+00:00",
        "timezone": "Europe/London",
        "description": "yesterday (Sun 29 Nov 2026)",
    },
    "coverage": 1.0,
}
TOOL_CALL_EXAMPLE = {
    "tool": "energy_usage",
    "arguments": {"devices": ["fridge"], "label": "yesterday"},
    "result": {"consumption_wh": 838.386, "cost": 0.2347, "coverage": 1.0},
    "evidence": EVIDENCE_EXAMPLE,
    "error": None,
}


class ChatQueryIn(BaseModel):
    """A question for the household's chat analyst."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [QUERY_EXAMPLE]})
    question: Question = Field(
        description=f"The question in plain language (1-{MAX_QUESTION_CHARS:,} characters)."
    )
    conversation_id: ConversationId = Field(
        DEFAULT_CONVERSATION, description=CONVERSATION_DESCRIPTION
    )


class ToolCallOut(BaseModel):
    tool: str = Field(description="The read-only tool that was called.")
    arguments: dict[str, Any] = Field(description="Its arguments, as the engine gave them.")
    result: dict[str, Any] | None = Field(
        description="What it returned (energy in Wh, power in W; null = no data, never zero)."
    )
    evidence: dict[str, Any] | None = Field(
        description="What the figures rest on: the devices, the range with its timezone, the "
        "coverage of the readings."
    )
    error: str | None = Field(description="Why the call was refused, if it was.")


class ChatAnswerOut(BaseModel):
    """An answer: its text (Markdown) and every tool call behind its numbers."""

    model_config = with_example(
        {
            "conversation_id": "kitchen",
            "answer": "The Kitchen fridge used **0.84 kWh** yesterday (Sun 29 Nov 2026).",
            "engine": "offline",
            "model": None,
            "notice": None,
            "understood": True,
            "evidence": [EVIDENCE_EXAMPLE],
            "tool_calls": [TOOL_CALL_EXAMPLE],
            "suggestions": [],
        }
    )
    conversation_id: str
    answer: str = Field(description="The answer, in Markdown.")
    engine: str = Field(description="'offline' (the built-in analyst) or 'llm' (the model).")
    model: str | None = Field(description="The model that answered, when one did.")
    notice: str | None = Field(description="Why the offline analyst answered instead, if so.")
    understood: bool = Field(description="False when the question was not understood.")
    evidence: list[dict[str, Any]] = Field(description="The evidence of each successful call.")
    tool_calls: list[ToolCallOut] = Field(description="Every call made, refused ones included.")
    suggestions: list[str] = Field(description="Questions to ask instead or next, if any.")

    @classmethod
    def of_answer(cls, answer: ChatAnswer, *, conversation_id: str) -> ChatAnswerOut:
        return cls(conversation_id=conversation_id, evidence=answer.evidence, **answer.to_dict())


class ChatMessageOut(BaseModel):
    id: int | None
    role: str = Field(description="'user' (a question) or 'assistant' (an answer).")
    content: str
    created_at: datetime = Field(description="UTC.")
    engine: str | None
    model: str | None
    notice: str | None
    tool_calls: list[dict[str, Any]] = Field(description="An answer's tool calls, as above.")

    @classmethod
    def of_message(cls, message: HistoryMessage) -> ChatMessageOut:
        return cls.model_validate(message, from_attributes=True)


class ConversationOut(BaseModel):
    conversation_id: str
    messages: list[ChatMessageOut] = Field(description="Oldest first.")


class ChatHistoryOut(BaseModel):
    """The household's stored conversations, the most recently used first."""

    model_config = with_example(
        {
            "conversations": [
                {
                    "conversation_id": "kitchen",
                    "messages": [
                        {
                            "id": 1,
                            "role": "user",
                            "content": "How much did the fridge use yesterday?",
                            "created_at": "2026-11-30T18:00:00Z",
                            "engine": None,
                            "model": None,
                            "notice": None,
                            "tool_calls": [],
                        },
                        {
                            "id": 2,
                            "role": "assistant",
                            "content": "The Kitchen fridge used **0.84 kWh** yesterday.",
                            "created_at": "2026-11-30T18:00:00Z",
                            "engine": "offline",
                            "model": None,
                            "notice": None,
                            "tool_calls": [TOOL_CALL_EXAMPLE],
                        },
                    ],
                }
            ]
        }
    )
    conversations: list[ConversationOut]


class ChatHistoryDeleted(BaseModel):
    model_config = with_example({"deleted": 12})
    deleted: int = Field(description="How many messages were deleted.")


class ChatSuggestionsOut(BaseModel):
    """Questions worth asking about this household, made from its own devices and data."""

    model_config = with_example(
        {
            "suggestions": [
                "How much did the Heat pump use last week?",
                "Which device uses the most power at night?",
            ]
        }
    )
    suggestions: list[str]
