"""The alerts through the read API and the CLI, on SQLite and PostgreSQL: the same alerts as the
library lists, each user only their own household's, bad input a clear error."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from energy_cli.main import main
from energy_core.alerts import evaluate_alerts
from energy_core.db import session_scope
from energy_core.models import KeyScope, User
from ingest_api.app import create_app
from tests.alerts.household import NOW, alerts
from tests.alerts.test_lifecycle import fridge_household
from tests.api.support import assert_error, auth
from tests.factories import make_key

PINNED = ["--now", NOW.isoformat()]


@pytest.fixture
def two_households(engine) -> tuple[int, int]:
    mine = fridge_household(engine, email="mine@example.com")
    theirs = fridge_household(engine, email="theirs@example.com")
    evaluate_alerts(engine, now=NOW)
    return mine, theirs


def read_key(engine, user_id: int, scope: KeyScope = KeyScope.read) -> str:
    with session_scope(engine) as s:
        return make_key(s, user=s.get(User, user_id), scope=scope).key


def test_the_api_lists_only_the_keys_households_alerts(engine, two_households, monkeypatch):
    monkeypatch.setenv("ENERGY_NOW", NOW.isoformat())
    from energy_core.settings import get_settings

    get_settings.cache_clear()
    mine, theirs = two_households
    with TestClient(create_app()) as client:
        r = client.get("/api/v1/alerts", headers=auth(read_key(engine, mine)))
        assert r.status_code == 200, r.text
        assert r.json() == {"items": alerts(engine, mine, state="recent")}
        [alert] = r.json()["items"]
        assert (alert["kind"], alert["state"]) == ("offline", "open")
        other = client.get("/api/v1/alerts?state=open", headers=auth(read_key(engine, theirs)))
        assert [a["id"] for a in other.json()["items"]] == [alerts(engine, theirs)[0]["id"]]
        assert alert["id"] != other.json()["items"][0]["id"]
        assert_error(
            client.get("/api/v1/alerts?state=closed", headers=auth(read_key(engine, mine))), 422
        )
        assert_error(client.get("/api/v1/alerts"), 401)
        ingest = read_key(engine, mine, KeyScope.ingest)
        assert_error(client.get("/api/v1/alerts", headers=auth(ingest)), 403)


def test_the_cli_lists_acknowledges_and_mutes_ones_own_alerts(engine, two_households, capsys):
    mine, theirs = two_households
    assert main(["alerts", "list", "--user", "mine@example.com", "--json", *PINNED]) == 0
    listed = json.loads(capsys.readouterr().out)["items"]
    assert listed == alerts(engine, mine, state="recent")
    [their_alert] = alerts(engine, theirs)
    # Another household's alert is not found, exactly as one that does not exist.
    assert main(["alerts", "ack", "--user", "mine@example.com", str(their_alert["id"])]) == 2
    assert f"No alert {their_alert['id']}." in capsys.readouterr().err
    assert main(["alerts", "ack", "--user", "mine@example.com", str(listed[0]["id"])]) == 0
    assert (
        capsys.readouterr().out == f"Acknowledged #{listed[0]['id']}: Kitchen Fridge is offline\n"
    )
    args = ["alerts", "mute", "--user", "mine@example.com", str(listed[0]["id"]), "--for", "1d"]
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("Muted offline:kitchen-fridge until ")
    assert main(["alerts", "list", "--user", "mine@example.com", *PINNED]) == 0
    text = capsys.readouterr().out
    assert f"#{listed[0]['id']} [acknowledged, muted]" in text
    assert alerts(engine, theirs)[0]["state"] == "open"
    assert main(["alerts", "unmute", "--user", "mine@example.com", "offline:kitchen-fridge"]) == 0


def test_the_cli_changes_a_devices_settings_and_refuses_bad_ones(engine, two_households, capsys):
    base = ["alerts", "device", "--user", "mine@example.com", "--device", "kitchen-fridge"]
    assert main([*base, "--sensitivity", "high", "--unusual-use", "off"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "device_id": "kitchen-fridge",
        "name": "Kitchen Fridge",
        "sensitivity": "high",
        "unusual_use": False,
        "offline_minutes": None,
    }
    assert main([*base, "--offline-minutes", "99999"]) == 2
    assert "between 1 and 10080" in capsys.readouterr().err
    wrong = ["alerts", "device", "--user", "theirs@example.com", "--device", "nope"]
    assert main(wrong) == 2
    assert "No device 'nope'." in capsys.readouterr().err
