"""The Devices page lists the household's hub inputs, and only its own."""

from __future__ import annotations

from energy_core.db import session_scope
from energy_core.inputs import InputValue, record_inputs
from energy_core.types import to_epoch_us, utcnow
from tests.apptest import open_app, shown_text, sign_in
from tests.factories import PASSWORD, make_user


def test_devices_page_lists_hub_inputs_of_this_household_only(app_env, engine):
    now_us = to_epoch_us(utcnow())
    with session_scope() as s:
        mine = make_user(s, email="hub@example.com").id
        theirs = make_user(s, email="other-hub@example.com").id
        record_inputs(
            s,
            user_id=mine,
            values=[
                InputValue("emontx1:power1", now_us, 230.0),
                InputValue("emontx1:vrms", now_us, 240.1),
            ],
            register=True,
        )
        record_inputs(
            s, user_id=theirs, values=[InputValue("secret:vrms", now_us, 1.0)], register=True
        )
    at = sign_in(open_app(), "hub@example.com", PASSWORD).switch_page("pages/devices.py").run()
    assert not at.exception
    text = shown_text(at)
    assert "Inputs from hubs · 2" in text
    assert "emontx1:vrms" in text and "240.1" in text
    assert "secret:vrms" not in text
    (editor,) = [frame for frame in at.dataframe if "Watts" in frame.value.columns]
    assert dict(zip(editor.value["Input"], editor.value["Watts"], strict=True)) == {
        "emontx1:power1": True,
        "emontx1:vrms": False,
    }
