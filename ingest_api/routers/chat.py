"""The chat analyst over HTTP, for a voice assistant or a home automation system:
``POST /api/v1/chat/query``, ``GET`` and ``DELETE /api/v1/chat/history`` and
``GET /api/v1/chat/suggestions``. Read keys only; everything is the key's household's own."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request
from pydantic import ValidationError

from energy_core import clock
from energy_core.chat import (
    answer_question,
    clear_history,
    load_all_history,
    load_history,
    record_exchange,
    suggested_questions,
)
from energy_core.chat.history import HISTORY_LIMIT
from energy_core.db import session_scope
from energy_core.errors import ErrorKind
from energy_core.ingest import decode_json_body
from ingest_api.chat_schemas import (
    CONVERSATION_DESCRIPTION,
    CONVERSATION_PATTERN,
    QUERY_EXAMPLE,
    ChatAnswerOut,
    ChatHistoryDeleted,
    ChatHistoryOut,
    ChatMessageOut,
    ChatQueryIn,
    ChatSuggestionsOut,
    ConversationOut,
)
from ingest_api.deps import Api, ApiDep, HouseholdDep, ReaderDep
from ingest_api.errors import JSON, ApiError, documented
from ingest_api.routers.telemetry_ingest import read_body

router = APIRouter(tags=["chat"], responses=documented(401, 403, 422, 429, 503))

# Earlier messages of the conversation that a model sees as context.
CONTEXT_MESSAGES = 20

ConversationQuery = Annotated[
    str | None,
    Query(pattern=CONVERSATION_PATTERN, description=CONVERSATION_DESCRIPTION + " Omit: all."),
]


def _query_of(body: bytes) -> ChatQueryIn:
    """The question of a request body, or a 422 naming each problem."""
    value = decode_json_body(body)
    try:
        return ChatQueryIn.model_validate(value)
    except ValidationError as exc:
        details = [
            {
                "index": None,
                "field": ".".join(str(p) for p in e["loc"]) or "body",
                "message": e["msg"],
            }
            for e in exc.errors()[:100]
        ]
        raise ApiError(
            ErrorKind.invalid,
            "validation_error",
            f"{len(details)} problem(s) in the question; nothing was asked.",
            details,
        ) from None


def _ask(api: Api, user_id: int, query: ChatQueryIn) -> ChatAnswerOut:
    """Answer in a read-only transaction, then store the exchange in a short write. Blocking."""
    now = clock.now(api.settings)
    with session_scope(api.engine, read_only=True, household=user_id) as session:
        earlier = load_history(
            session, user_id=user_id, conversation_id=query.conversation_id, limit=CONTEXT_MESSAGES
        )
        answer = answer_question(
            session,
            user_id=user_id,
            question=query.question,
            history=[{"role": m.role, "content": m.content} for m in earlier],
            now=now,
            settings=api.settings,
        )
    with session_scope(api.engine, household=user_id) as session:
        record_exchange(
            session,
            user_id=user_id,
            question=query.question,
            answer=answer,
            conversation_id=query.conversation_id,
            at=now,
        )
    return ChatAnswerOut.of_answer(answer, conversation_id=query.conversation_id)


@router.post(
    "/api/v1/chat/query",
    summary="Ask the chat analyst",
    description="Answers a question about the key's household from its own data (the offline "
    "analyst, or the configured model), with every tool call and the evidence behind each "
    "number, and stores the exchange in the conversation's history. A question it does not "
    "understand is answered with understood=false and suggestions.",
    response_model=ChatAnswerOut,
    responses=documented(400, 413, 415),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                JSON: {
                    "schema": {
                        **ChatQueryIn.model_json_schema(),
                        "type": "object",
                    },
                    "examples": {"question": {"value": QUERY_EXAMPLE}},
                }
            },
        }
    },
)
async def post_query(request: Request, principal: ReaderDep, api: ApiDep) -> ChatAnswerOut:
    query = _query_of(await read_body(api, request))
    return await anyio.to_thread.run_sync(
        partial(_ask, api, principal.user_id, query), limiter=api.writers
    )


@router.get(
    "/api/v1/chat/history",
    summary="Chat history",
    description="The household's stored questions and answers (with their tool calls), of one "
    "conversation or of all, the most recently used conversation first, each oldest first.",
    response_model=ChatHistoryOut,
)
def get_history(
    household: HouseholdDep,
    conversation_id: ConversationQuery = None,
    limit: Annotated[
        int, Query(ge=1, le=HISTORY_LIMIT, description="The last messages of each conversation.")
    ] = 50,
) -> ChatHistoryOut:
    if conversation_id is not None:
        messages = load_history(
            household.session,
            user_id=household.user_id,
            conversation_id=conversation_id,
            limit=limit,
        )
        found = {conversation_id: messages} if messages else {}
    else:
        found = load_all_history(household.session, user_id=household.user_id, limit=limit)
    return ChatHistoryOut(
        conversations=[
            ConversationOut(
                conversation_id=name, messages=[ChatMessageOut.of_message(m) for m in messages]
            )
            for name, messages in found.items()
        ]
    )


@router.delete(
    "/api/v1/chat/history",
    summary="Delete chat history",
    description="Deletes the household's stored questions and answers of one conversation, or "
    "of all when conversation_id is omitted.",
    response_model=ChatHistoryDeleted,
)
def delete_history(
    principal: ReaderDep, api: ApiDep, conversation_id: ConversationQuery = None
) -> ChatHistoryDeleted:
    with session_scope(api.engine, household=principal.user_id) as session:
        deleted = clear_history(session, user_id=principal.user_id, conversation_id=conversation_id)
    return ChatHistoryDeleted(deleted=deleted)


@router.get(
    "/api/v1/chat/suggestions",
    summary="Suggested questions",
    description="Questions worth asking about the key's household, made from its own devices, "
    "rooms and recent data, best first; the analyst understands each.",
    response_model=ChatSuggestionsOut,
)
def get_suggestions(
    household: HouseholdDep,
    limit: Annotated[int, Query(ge=1, le=20, description="How many at most.")] = 6,
) -> ChatSuggestionsOut:
    return ChatSuggestionsOut(suggestions=household.read(suggested_questions, limit=limit))
