"""The chat API: a read key asks the household's analyst, reads and deletes its history and gets
suggestions; ingest keys are refused, bad input gets the JSON error shape and stores nothing, and
a key of one household never sees another's history, devices or figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import func, select

from energy_core.db import session_scope
from energy_core.models import ChatMessage, Device, User
from energy_core.settings import get_settings
from energy_core.types import utcnow
from tests.api.support import assert_error, auth, json_headers
from tests.chat.fake_openai import FakeOpenAI, call, text
from tests.factories import add_readings
from tests.oracle import Oracle

QUERY = "/api/v1/chat/query"
HISTORY = "/api/v1/chat/history"
SUGGESTIONS = "/api/v1/chat/suggestions"
FRIDGE_QUESTION = "How much did the fridge use in the last 7 days?"
# A power no device of user A ever draws: if it shows up in A's answers, B's data leaked.
B_POWER_W = 4321.0
# The last reading of a run holds for the default max gap (10 minutes) after it.
HOLD_MIN = 10


def run_wh(power_w: float, minutes: int) -> float:
    """The energy of readings every minute for ``minutes`` minutes at ``power_w``."""
    return power_w * (minutes + HOLD_MIN) / 60


def _readings(engine, user_id: int, device_id: str, start: datetime, minutes: int, power_w: float):
    with session_scope(engine) as session:
        device = session.exec(
            select(Device).where(Device.user_id == user_id, Device.device_id == device_id)
        ).one()
        add_readings(
            session,
            user=session.get(User, user_id),
            device=device,
            points=[(start + timedelta(minutes=m), power_w) for m in range(minutes + 1)],
        )


@pytest.fixture
def with_data(engine, household):
    """A's fridge ran at 150 W and B's own devices at 4321 W for the last five hours."""
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    _readings(engine, household.user_id, "fridge", start, 240, 150.0)
    _readings(engine, household.other_user_id, "theirs", start, 240, B_POWER_W)
    with session_scope(engine) as session:
        device = session.exec(select(Device).where(Device.device_id == "theirs")).one()
        device.name = "Zebra freezer"
        session.add(device)
    return start


def stored_messages(engine) -> int:
    with session_scope(engine, read_only=True) as session:
        return session.exec(select(func.count()).select_from(ChatMessage)).one()


def ask(client, key: str, question: str, conversation_id: str | None = None):
    body = {"question": question}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    return client.post(QUERY, json=body, headers=auth(key))


def test_a_read_key_gets_the_answer_its_evidence_tool_calls_and_figures(
    client, engine, household, with_data
):
    r = ask(client, household.read_key, FRIDGE_QUESTION, "kitchen")

    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {
        "conversation_id",
        "answer",
        "engine",
        "model",
        "notice",
        "understood",
        "evidence",
        "tool_calls",
        "suggestions",
    }
    assert body["conversation_id"] == "kitchen" and body["engine"] == "offline"
    assert body["understood"] is True
    (made,) = body["tool_calls"]
    assert made["error"] is None and made["evidence"] == body["evidence"][0]
    assert [d["device_id"] for d in made["evidence"]["devices"]] == ["fridge"]
    span = made["evidence"]["range"]
    with session_scope(engine, read_only=True) as session:
        expected = Oracle(session, household.user_id).device(
            "fridge", datetime.fromisoformat(span["start"]), datetime.fromisoformat(span["end"])
        )
    assert expected.consumed == pytest.approx(run_wh(150.0, 240))
    assert made["result"]["consumption_wh"] == round(expected.consumed, 3)
    assert f"{expected.consumed / 1000:.2f} kWh" in body["answer"]


def test_the_exchange_is_stored_in_its_conversation_and_listed_most_recent_first(
    client, engine, household, with_data
):
    assert ask(client, household.read_key, FRIDGE_QUESTION, "kitchen").status_code == 200
    assert ask(client, household.read_key, "What can I ask?").status_code == 200

    everything = client.get(HISTORY, headers=auth(household.read_key))
    kitchen = client.get(
        HISTORY, params={"conversation_id": "kitchen"}, headers=auth(household.read_key)
    )

    assert everything.status_code == 200 and kitchen.status_code == 200
    conversations = everything.json()["conversations"]
    assert [c["conversation_id"] for c in conversations] == ["main", "kitchen"]
    (only,) = kitchen.json()["conversations"]
    question, answer = only["messages"]
    assert (question["role"], question["content"]) == ("user", FRIDGE_QUESTION)
    assert answer["role"] == "assistant" and answer["engine"] == "offline"
    assert answer["tool_calls"][0]["evidence"]["devices"][0]["device_id"] == "fridge"
    assert datetime.fromisoformat(answer["created_at"]) <= utcnow()
    limited = client.get(HISTORY, params={"limit": 1}, headers=auth(household.read_key))
    assert [len(c["messages"]) for c in limited.json()["conversations"]] == [1, 1]


def test_history_is_deleted_per_conversation_or_all(client, engine, household, with_data):
    for conversation_id in ("kitchen", "garage", "garage"):
        r = ask(client, household.read_key, "What can I ask?", conversation_id)
        assert r.status_code == 200

    r = client.delete(
        HISTORY, params={"conversation_id": "garage"}, headers=auth(household.read_key)
    )

    assert r.status_code == 200 and r.json() == {"deleted": 4}
    listed = client.get(HISTORY, headers=auth(household.read_key)).json()["conversations"]
    assert [c["conversation_id"] for c in listed] == ["kitchen"]
    r = client.delete(HISTORY, headers=auth(household.read_key))
    assert r.json() == {"deleted": 2}
    assert client.get(HISTORY, headers=auth(household.read_key)).json() == {"conversations": []}
    assert stored_messages(engine) == 0


def test_suggestions_come_from_the_households_own_devices(client, household, with_data):
    r = client.get(SUGGESTIONS, params={"limit": 3}, headers=auth(household.read_key))

    assert r.status_code == 200
    suggestions = r.json()["suggestions"]
    assert len(suggestions) == 3
    assert suggestions[0] == "How much did the Fridge use last week?"
    assert not any("Zebra" in s for s in suggestions)


def test_b_never_sees_as_history_devices_or_figures(client, engine, household, with_data):
    assert ask(client, household.read_key, FRIDGE_QUESTION, "kitchen").status_code == 200
    a_history = client.get(HISTORY, headers=auth(household.read_key)).json()

    # B asks about A's device by A's words, in A's conversation.
    r = ask(client, household.other_read_key, FRIDGE_QUESTION, "kitchen")

    assert r.status_code == 200
    text = r.text
    for word in ("Fridge", '"fridge"', "Heater", "Solar", "0.62 kWh"):
        assert word not in text
    for made in r.json()["tool_calls"]:
        for device in (made["evidence"] or {}).get("devices", []):
            assert device["device_id"] in {"theirs", "their-meter"}
    # Each sees only its own conversation under the same id.
    b_history = client.get(
        HISTORY, params={"conversation_id": "kitchen"}, headers=auth(household.other_read_key)
    ).json()
    (b_kitchen,) = b_history["conversations"]
    assert [m["content"] for m in b_kitchen["messages"]][0] == FRIDGE_QUESTION
    assert "Fridge" not in str(b_kitchen)
    assert client.get(HISTORY, headers=auth(household.read_key)).json() == a_history
    # B's suggestions are made from B's devices; A's are never offered.
    b_suggestions = client.get(SUGGESTIONS, headers=auth(household.other_read_key)).json()
    assert "How much did the Zebra freezer use last week?" in b_suggestions["suggestions"]
    assert not any("Fridge" in s for s in b_suggestions["suggestions"])
    # B deleting everything (or A's conversation id) deletes only B's messages.
    assert client.delete(HISTORY, headers=auth(household.other_read_key)).json() == {"deleted": 2}
    assert client.get(HISTORY, headers=auth(household.read_key)).json() == a_history
    r = client.delete(
        HISTORY, params={"conversation_id": "kitchen"}, headers=auth(household.other_read_key)
    )
    assert r.json() == {"deleted": 0}
    assert client.get(HISTORY, headers=auth(household.read_key)).json() == a_history


def test_b_asking_for_as_figures_gets_none_of_them(client, household, with_data):
    r = ask(client, household.other_read_key, "How much energy did I use in the last 7 days?")

    assert r.status_code == 200
    (made,) = r.json()["tool_calls"]
    assert {d["device_id"] for d in made["evidence"]["devices"]} <= {"theirs", "their-meter"}
    # B's own 4321 W for four hours, nothing of A's 150 W fridge.
    assert made["result"]["consumption_wh"] == pytest.approx(run_wh(B_POWER_W, 240))


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", QUERY), ("get", HISTORY), ("delete", HISTORY), ("get", SUGGESTIONS)],
)
def test_ingest_keys_are_refused_and_a_missing_key_is_unauthorized(
    client, engine, household, method, path
):
    kwargs = {"json": {"question": "What can I ask?"}} if method == "post" else {}
    for key in (household.household_key, household.fridge_key):
        r = client.request(method.upper(), path, headers=auth(key), **kwargs)
        assert_error(r, 403, "wrong_scope")
    assert_error(client.request(method.upper(), path, **kwargs), 401, "unauthorized")
    assert_error(
        client.request(method.upper(), path, headers=auth("not-a-key"), **kwargs),
        401,
        "unauthorized",
    )
    assert stored_messages(engine) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": ""}, "question"),
        ({"question": "   \n\t"}, "question"),
        ({"question": "x" * 2001}, "question"),
        ({"question": 42}, "question"),
        ({"question": "How much did I use\x00 yesterday?"}, "question"),
        ({"question": "How much did I use \x1b[2J yesterday?"}, "question"),
        ({}, "question"),
        ({"question": "What can I ask?", "conversation_id": "no spaces"}, "conversation_id"),
        ({"question": "What can I ask?", "conversation_id": "x" * 65}, "conversation_id"),
        ({"question": "What can I ask?", "user_id": 1}, "user_id"),
        (["What can I ask?"], "body"),
    ],
)
def test_a_bad_question_is_a_422_naming_the_field_and_nothing_is_stored(
    client, engine, household, body, field
):
    r = client.post(QUERY, json=body, headers=auth(household.read_key))

    error = assert_error(r, 422, "validation_error")
    assert field in [d["field"] for d in error["details"]]
    assert stored_messages(engine) == 0


def test_a_question_of_the_longest_allowed_length_is_answered(client, household):
    r = ask(client, household.read_key, "What can I ask? " + "x" * (2000 - 16))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"{", "application/json", 400, "invalid_json"),
        (b"", "application/json", 400, "empty_body"),
        (b"\xff\xfe", "application/json", 400, "invalid_json"),
        (b'{"question": "What can I ask?"}', "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_a_body_that_is_not_json_is_refused_in_the_error_shape(
    client, engine, household, content, content_type, status, code
):
    headers = {**json_headers(household.read_key), "Content-Type": content_type}

    assert_error(client.post(QUERY, content=content, headers=headers), status, code)
    assert stored_messages(engine) == 0


def test_a_body_over_the_limit_is_413(make_app, engine, household):
    app = make_app(get_settings().model_copy(update={"max_body_bytes": 1_024}))
    with TestClient(app) as client:
        r = client.post(QUERY, json={"question": "x" * 1_500}, headers=auth(household.read_key))
    assert_error(r, 413, "payload_too_large")
    assert stored_messages(engine) == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (HISTORY, {"conversation_id": "a b"}),
        (HISTORY, {"limit": 0}),
        (HISTORY, {"limit": 201}),
        (SUGGESTIONS, {"limit": 21}),
    ],
)
def test_bad_parameters_are_422(client, household, path, params):
    error = assert_error(
        client.get(path, params=params, headers=auth(household.read_key)), 422, "validation_error"
    )
    assert error["details"][0]["field"] == next(iter(params))


def test_chat_requests_count_against_the_keys_rate_limit(make_app, engine, household):
    app = make_app(get_settings().model_copy(update={"rate_limit_requests": 2}))
    with TestClient(app) as client:
        assert ask(client, household.read_key, "What can I ask?").status_code == 200
        assert client.get(SUGGESTIONS, headers=auth(household.read_key)).status_code == 200
        r = ask(client, household.read_key, "What can I ask?")
        assert_error(r, 429, "rate_limited")
        assert int(r.headers["Retry-After"]) > 0
        assert_error(client.get(HISTORY, headers=auth(household.read_key)), 429)
    assert stored_messages(engine) == 2


def test_a_pinned_clock_pins_the_apis_answers(make_app, engine, household):
    # The fridge ran on Tuesday 10 March 2026 only; "yesterday" is that day at the pinned now.
    yesterday = datetime(2026, 3, 10, tzinfo=UTC)
    _readings(engine, household.user_id, "fridge", yesterday + timedelta(hours=6), 120, 200.0)
    pinned = datetime(2026, 3, 11, 9, 30, tzinfo=UTC)
    app = make_app(get_settings().model_copy(update={"now": pinned}))
    with TestClient(app) as client:
        r = ask(client, household.read_key, "How much did the fridge use yesterday?")
        history = client.get(HISTORY, headers=auth(household.read_key)).json()

    (made,) = r.json()["tool_calls"]
    assert datetime.fromisoformat(made["evidence"]["range"]["start"]) == yesterday
    assert made["result"]["consumption_wh"] == pytest.approx(run_wh(200.0, 120))
    stamps = {m["created_at"] for m in history["conversations"][0]["messages"]}
    assert {datetime.fromisoformat(s) for s in stamps} == {pinned}


def test_with_a_model_configured_the_model_answers_through_the_households_tools(
    make_app, engine, household, with_data
):
    script = [call("list_devices", {}), text("You have a fridge, solar and a heater."), text("Ok.")]
    with FakeOpenAI(script) as server:
        settings = get_settings().model_copy(
            update={
                "openai_api_key": SecretStr("sk-test-secret-key"),
                "openai_base_url": server.base_url,
                "openai_max_retries": 0,
                "openai_timeout_s": 5.0,
            }
        )
        with TestClient(make_app(settings)) as client:
            first = ask(client, household.read_key, "What devices do I have?", "llm")
            ask(client, household.read_key, "And which is the biggest?", "llm")

    assert first.status_code == 200, first.text
    body = first.json()
    assert body["engine"] == "llm" and body["model"] == settings.openai_model
    assert body["answer"] == "You have a fridge, solar and a heater."
    (listed,) = body["tool_calls"]
    assert listed["tool"] == "list_devices" and listed["error"] is None
    assert "Zebra" not in str(listed) and "theirs" not in str(listed)
    # The conversation's earlier exchange reaches the model with the next question.
    later = [(m["role"], m["content"]) for m in server.requests[-1]["messages"][1:]]
    assert later == [
        ("user", "What devices do I have?"),
        ("assistant", "You have a fridge, solar and a heater."),
        ("user", "And which is the biggest?"),
    ]
