"""Chat history per user in the database, cached through the shared cache (memory or Redis)."""

from __future__ import annotations

from energy_core.cache import MemoryCache, make_cache
from energy_core.chat import (
    ChatAnswer,
    ToolCall,
    clear_history,
    load_history,
    record_exchange,
)
from energy_core.db import session_scope
from tests.factories import make_user


def an_answer(text: str = "You used 1.00 kWh yesterday.") -> ChatAnswer:
    made = ToolCall(
        "energy_usage",
        {"period": "yesterday"},
        result={"energy_wh": 1000.0},
        evidence={"tool": "energy_usage", "devices": [], "range": None, "coverage": 1.0},
    )
    return ChatAnswer(text=text, engine="offline", tool_calls=[made], notice="a notice")


def test_an_exchange_is_stored_with_its_tool_calls_and_read_back_in_order(engine):
    cache = MemoryCache()
    with session_scope(engine) as session:
        user = make_user(session)
        record_exchange(
            session, user_id=user.id, question="first?", answer=an_answer("one"), cache=cache
        )
        record_exchange(
            session, user_id=user.id, question="second?", answer=an_answer("two"), cache=cache
        )

    with session_scope(engine, read_only=True) as session:
        messages = load_history(session, user_id=user.id, cache=cache)

    assert [(m.role, m.content) for m in messages] == [
        ("user", "first?"),
        ("assistant", "one"),
        ("user", "second?"),
        ("assistant", "two"),
    ]
    reply = messages[1]
    assert reply.engine == "offline" and reply.notice == "a notice"
    assert reply.tool_calls[0]["tool"] == "energy_usage"
    assert reply.tool_calls[0]["result"] == {"energy_wh": 1000.0}
    assert reply.created_at.tzinfo is not None


def test_history_is_served_from_redis_and_a_new_exchange_replaces_the_cached_copy(
    engine, redis_url
):
    cache = make_cache(redis_url)
    with session_scope(engine) as session:
        user = make_user(session)
        record_exchange(session, user_id=user.id, question="q1", answer=an_answer(), cache=cache)
    with session_scope(engine, read_only=True) as session:
        assert len(load_history(session, user_id=user.id, cache=cache)) == 2
    key = f"energy:chat:history:{user.id}:main"
    assert cache.client.exists(key)

    # Served from Redis: a row written behind the cache's back is not seen until it is dropped.
    with session_scope(engine) as session:
        from energy_core.models import ChatMessage

        session.add(ChatMessage(user_id=user.id, conversation_id="main", role="user", content="x"))
    with session_scope(engine, read_only=True) as session:
        assert len(load_history(session, user_id=user.id, cache=cache)) == 2

    with session_scope(engine) as session:
        record_exchange(session, user_id=user.id, question="q2", answer=an_answer(), cache=cache)
    assert not cache.client.exists(key)
    with session_scope(engine, read_only=True) as session:
        assert [m.content for m in load_history(session, user_id=user.id, cache=cache)][-2:] == [
            "q2",
            an_answer().text,
        ]


def test_clearing_history_deletes_only_that_users_messages(engine):
    cache = MemoryCache()
    with session_scope(engine) as session:
        mine, theirs = make_user(session), make_user(session)
        for user in (mine, theirs):
            record_exchange(session, user_id=user.id, question="q", answer=an_answer(), cache=cache)
    with session_scope(engine, read_only=True) as session:
        load_history(session, user_id=mine.id, cache=cache)  # cached now

    with session_scope(engine) as session:
        assert clear_history(session, user_id=mine.id, cache=cache) == 2

    with session_scope(engine, read_only=True) as session:
        assert load_history(session, user_id=mine.id, cache=cache) == []
        assert len(load_history(session, user_id=theirs.id, cache=cache)) == 2
