"""Chat history per user in ``chat_messages``, read through the shared cache (Redis when
configured) so that redrawing the chat page does not query the database on every run.

Writers drop the cached copy; a reader that races a writer can at worst serve the old list for
``HISTORY_CACHE_TTL_S``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, delete, func, select

from energy_core import clock
from energy_core.cache import Cache, get_cache
from energy_core.chat.answers import ChatAnswer
from energy_core.household_scope import for_household
from energy_core.models import ChatMessage
from energy_core.records import record_of

log = logging.getLogger(__name__)

DEFAULT_CONVERSATION = "main"
HISTORY_CACHE_TTL_S = 300.0
HISTORY_LIMIT = 200


@dataclass
class HistoryMessage:
    role: str  # "user" or "assistant"
    content: str
    created_at: datetime
    engine: str | None = None
    notice: str | None = None
    model: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HistoryMessage:
        data = dict(data)
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        return cls(**data)

    @classmethod
    def from_row(cls, row: ChatMessage) -> HistoryMessage:
        extra: dict[str, Any] = json.loads(row.tool_calls) if row.tool_calls else {}
        return record_of(
            cls,
            row,
            notice=extra.get("notice"),
            model=extra.get("model"),
            tool_calls=extra.get("calls", []),
        )


def _cache_key(user_id: int, conversation_id: str) -> str:
    return f"chat:history:{user_id}:{conversation_id}"


def _latest_messages(
    session: Session, *, user_id: int, conversation_id: str, limit: int
) -> list[HistoryMessage]:
    """The last ``limit`` stored messages of one conversation, oldest first."""
    rows = session.exec(
        select(ChatMessage)
        .where(ChatMessage.user_id == user_id, ChatMessage.conversation_id == conversation_id)
        .order_by(col(ChatMessage.id).desc())
        .limit(limit)
    ).all()
    return [HistoryMessage.from_row(row) for row in reversed(rows)]


@for_household
def load_history(
    session: Session,
    *,
    user_id: int,
    conversation_id: str = DEFAULT_CONVERSATION,
    limit: int = HISTORY_LIMIT,
    cache: Cache | None = None,
) -> list[HistoryMessage]:
    """The last ``limit`` messages of one conversation of the user, oldest first."""
    cache = cache or get_cache()
    key = _cache_key(user_id, conversation_id)
    cached = cache.get(key)
    if cached is not None:
        messages = [HistoryMessage.from_json(m) for m in json.loads(cached)]
        return messages[-limit:]
    messages = _latest_messages(
        session, user_id=user_id, conversation_id=conversation_id, limit=HISTORY_LIMIT
    )
    cache.set(
        key,
        json.dumps([m.to_json() for m in messages]).encode(),
        ttl_s=HISTORY_CACHE_TTL_S,
    )
    return messages[-limit:]


@for_household
def record_exchange(
    session: Session,
    *,
    user_id: int,
    question: str,
    answer: ChatAnswer,
    conversation_id: str = DEFAULT_CONVERSATION,
    at: datetime | None = None,
    cache: Cache | None = None,
) -> None:
    """Store a question and its answer (with the tool calls and their data) in the caller's
    transaction, stamped ``at`` (default: the clock's now, ``energy_core.clock``)."""
    now = at or clock.now()
    extra = {
        "calls": [c.to_dict() for c in answer.tool_calls],
        "notice": answer.notice,
        "model": answer.model,
    }
    session.add(
        ChatMessage(
            user_id=user_id,
            conversation_id=conversation_id,
            role="user",
            content=question,
            created_at=now,
        )
    )
    session.add(
        ChatMessage(
            user_id=user_id,
            conversation_id=conversation_id,
            role="assistant",
            content=answer.text,
            tool_calls=json.dumps(extra, default=str),
            engine=answer.engine,
            created_at=now,
        )
    )
    session.flush()
    (cache or get_cache()).delete(_cache_key(user_id, conversation_id))


@for_household
def load_all_history(
    session: Session, *, user_id: int, limit: int = HISTORY_LIMIT
) -> dict[str, list[HistoryMessage]]:
    """The last ``limit`` messages of each conversation of the user, oldest first, by
    conversation id (in order of each conversation's latest message, most recent first)."""
    conversations = session.exec(
        select(ChatMessage.conversation_id, func.max(ChatMessage.id))
        .where(ChatMessage.user_id == user_id)
        .group_by(ChatMessage.conversation_id)
        .order_by(func.max(ChatMessage.id).desc())
    ).all()
    found: dict[str, list[HistoryMessage]] = {}
    for conversation_id, _latest in conversations:
        found[conversation_id] = _latest_messages(
            session, user_id=user_id, conversation_id=conversation_id, limit=limit
        )
    return found


@for_household
def clear_history(
    session: Session,
    *,
    user_id: int,
    conversation_id: str | None = None,
    cache: Cache | None = None,
) -> int:
    """Delete the user's chat messages, of one conversation or (None) of all; returns how many
    there were."""
    cache = cache or get_cache()
    mine = ChatMessage.user_id == user_id
    if conversation_id is None:
        conversations = set(
            session.exec(select(ChatMessage.conversation_id).where(mine).distinct()).all()
        ) | {DEFAULT_CONVERSATION}
        result = session.exec(delete(ChatMessage).where(mine))
    else:
        conversations = {conversation_id}
        result = session.exec(
            delete(ChatMessage).where(mine, ChatMessage.conversation_id == conversation_id)
        )
    for each in conversations:
        cache.delete(_cache_key(user_id, each))
    log.info("cleared %d chat messages of user %s", result.rowcount, user_id)
    return result.rowcount


__all__ = [
    "DEFAULT_CONVERSATION",
    "HistoryMessage",
    "clear_history",
    "load_all_history",
    "load_history",
    "record_exchange",
]
