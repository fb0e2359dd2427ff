"""``energy-monitor keys add --emoncms``: a key emonhub and IoTaWatt accept, stored as a hash."""

from __future__ import annotations

import re

from sqlmodel import select

from energy_cli.main import main
from energy_core.accounts import verify_api_key
from energy_core.db import session_scope
from energy_core.models import ApiKey
from tests.factories import make_user


def test_keys_add_emoncms_prints_32_lowercase_hex_stored_only_as_a_hash(engine, capsys):
    with session_scope(engine) as s:
        user = make_user(s)
        email, user_id = user.email, user.id
    argv = ["keys", "add", "--user", email, "--scope", "ingest", "--emoncms"]
    assert main([*argv, "--no-register-inputs"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    with session_scope(engine, read_only=True) as s:
        row = s.exec(select(ApiKey).where(ApiKey.user_id == user_id)).one()
        assert key not in (row.prefix, row.key_hash) and key[4:] not in row.prefix
        principal = verify_api_key(s, key=key)
    assert principal is not None and principal.user_id == user_id
    assert principal.register_inputs is False
