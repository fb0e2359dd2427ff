"""``energy-monitor inputs``: see what hubs send and say which inputs are watts."""

from __future__ import annotations

import json

from sqlmodel import select

from energy_cli.main import main
from energy_core.accounts import delete_user
from energy_core.db import session_scope
from energy_core.inputs import InputValue, record_inputs
from energy_core.models import Input, Reading
from energy_core.types import to_epoch_us, utcnow
from tests.factories import make_user


def test_an_input_kept_out_of_readings_can_be_made_watts(engine, capsys):
    with session_scope(engine) as s:
        user = make_user(s)
        email, user_id = user.email, user.id
    now_us = to_epoch_us(utcnow())

    def send(value: float, at_us: int) -> None:
        with session_scope(engine) as s:
            record_inputs(
                s, user_id=user_id, values=[InputValue("emontx1:vrms", at_us, value)], register=True
            )

    send(240.1, now_us - 2_000_000)
    assert main(["inputs", "list", "--user", email, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["input"] == "emontx1:vrms" and listed[0]["watts"] is False
    assert listed[0]["last_value"] == 240.1

    assert main(["inputs", "set", "emontx1:vrms", "--user", email, "--watts"]) == 0
    send(241.0, now_us - 1_000_000)
    with session_scope(engine, read_only=True) as s:
        powers = s.exec(select(Reading.power_w).where(Reading.user_id == user_id)).all()
    assert powers == [241.0]  # only what came after it was said to be watts


def test_listing_a_household_without_inputs_says_so(engine, capsys):
    with session_scope(engine) as s:
        email = make_user(s).email
    assert main(["inputs", "list", "--user", email]) == 0
    assert "No inputs yet" in capsys.readouterr().out


def test_deleting_a_household_deletes_its_inputs(engine):
    with session_scope(engine) as s:
        user_id = make_user(s).id
        record_inputs(
            s,
            user_id=user_id,
            values=[InputValue("emontx1:vrms", to_epoch_us(utcnow()), 240.0)],
            register=True,
        )
    with session_scope(engine) as s:
        delete_user(s, user_id=user_id)
    with session_scope(engine, read_only=True) as s:
        assert s.exec(select(Input).where(Input.user_id == user_id)).all() == []
