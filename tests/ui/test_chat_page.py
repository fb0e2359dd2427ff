"""The Chat page through AppTest: ask, an answer with its evidence, a suggestion click, and clearing
the history. The offline analyst answers (no API key in the tests' settings).

Every test runs on SQLite and on PostgreSQL (the ``engine`` fixture under ``app_env``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from energy_core.chat import load_history
from energy_core.chat.offline import kwh
from energy_core.db import session_scope
from energy_core.types import utcnow
from tests.apptest import open_app, shown_text, sign_in
from tests.factories import add_readings, make_device, make_user

EMAIL = "chatty@example.com"
SNEAKY = "[win a prize](https://evil.example/x) ![p](https://evil.example/p.png)"


@pytest.fixture
def household(app_env):
    """A member with a heater (2 kW for the last five hours) and a device with a hostile name."""
    now = utcnow().replace(second=0, microsecond=0)
    with session_scope() as session:
        user = make_user(session, email=EMAIL, timezone="Europe/London")
        heater = make_device(session, user=user, device_id="heater", name="Garage heater")
        sneaky = make_device(session, user=user, device_id="sneaky", name=SNEAKY)
        for device, power_w in ((heater, 2000.0), (sneaky, 10.0)):
            add_readings(
                session,
                user=user,
                device=device,
                points=[(now - timedelta(minutes=m), power_w) for m in range(300, 0, -1)],
            )
    return user


def open_chat() -> AppTest:
    at = sign_in(open_app(), EMAIL)
    at.switch_page("pages/chat.py").run()
    assert not at.exception
    return at


def history_of(user_id: int) -> list:
    with session_scope(read_only=True) as session:
        return load_history(session, user_id=user_id)


def test_chat_page_is_in_the_navigation_and_offers_suggestions_from_the_users_devices(household):
    at = open_chat()

    assert [title.value for title in at.title][-1] == "Chat"
    labels = [button.label for button in at.button]
    assert "How much did the Garage heater use last week?" in labels
    # Nothing to clear yet: no button for it.
    assert "Clear history" not in labels
    assert "offline analyst" in at.caption[0].value


def test_asking_shows_the_answer_with_the_engine_and_the_evidence_and_stores_it(household):
    at = open_chat()

    at.chat_input[0].set_value("How much did the heater use in the last 7 days?").run()

    assert not at.exception
    (stored_question, stored_answer) = history_of(household.id)
    assert stored_question.content == "How much did the heater use in the last 7 days?"
    (made,) = stored_answer.tool_calls
    assert made["tool"] == "energy_usage"
    assert made["evidence"]["devices"][0]["device_id"] == "heater"
    figure = kwh(made["result"]["consumption_wh"])
    assert figure in stored_answer.content
    text = shown_text(at)
    assert figure in text
    assert "Answered by the offline analyst" in [c.value for c in at.caption]
    (evidence,) = [e for e in at.expander if e.label == "How I got this"]
    inside = "\n".join(m.value for m in evidence.markdown)
    assert "`energy_usage`" in inside and "Europe/London" in inside
    assert f"Coverage: {made['evidence']['coverage'] * 100:.0f}%" in inside
    assert "Devices: Garage heater" in [t.value for t in evidence.text]
    assert evidence.json[0].value  # the tool's numbers, as data


def test_a_suggestion_click_asks_that_question(household):
    at = open_chat()
    button = next(b for b in at.button if b.label == "Which device uses the most power at night?")

    button.click().run()

    assert not at.exception
    question, answer = history_of(household.id)
    assert question.content == "Which device uses the most power at night?"
    assert answer.tool_calls[0]["tool"] == "top_devices"
    assert "How I got this" in [e.label for e in at.expander]


def test_clear_history_removes_the_conversation(household):
    at = open_chat()
    at.chat_input[0].set_value("What is my always-on load?").run()
    assert len(history_of(household.id)) == 2
    at.run()  # the conversation is there: so is the button to clear it

    next(b for b in at.button if b.label == "Clear history").click().run()

    assert not at.exception
    assert history_of(household.id) == []
    assert not [e for e in at.expander if e.label == "How I got this"]


def test_hostile_device_names_are_shown_as_text_not_links_or_images(household):
    at = open_chat()

    at.chat_input[0].set_value("What devices do I have?").run()

    assert not at.exception
    for block in at.markdown:
        assert "](https://evil.example" not in block.value
    assert "evil.example/p.png" not in "".join(m.value for m in at.markdown)


def test_a_refusal_shows_its_suggested_questions_once_as_buttons_and_keeps_its_text_clean(
    household,
):
    at = open_chat()
    at.chat_input[0].set_value("What is my always-on load?").run()
    suggestions = [b.label for b in at.button if (b.key or "").startswith("chat_suggestion_")]
    assert "Which device uses the most power at night?" in suggestions

    at.chat_input[0].set_value("How much did the dishwasher use yesterday?").run()

    assert not at.exception
    answer = history_of(household.id)[-1]
    assert "dishwasher" in answer.content and "\n- " not in answer.content
    for shown in (at, at.run()):  # as answered, and after the next rerun
        labels = [button.label for button in shown.button]
        for question in suggestions:
            assert labels.count(question) == 1, (question, labels)
        text = "\n".join(m.value for m in shown.markdown)
        assert not any(question in text for question in suggestions)
