"""``users``, ``devices`` and ``keys`` from the command line: the password asked without echo,
lists as tables or JSON (never a key's secret), and every change said out loud."""

from __future__ import annotations

import io
import json

import pytest
from sqlmodel import select

from energy_cli import accounts as accounts_cli
from energy_cli.main import main
from energy_core.accounts import authenticate_user, get_user_by_email, verify_api_key
from energy_core.db import session_scope
from energy_core.models import Device, KeyScope
from tests.factories import make_device, make_key, make_user

PASSPHRASE = "kettle-lamp-garden-orbit"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def household(engine):
    with session_scope(engine) as s:
        user = make_user(s, email="ada@example.com")
        fridge = make_device(s, user=user, device_id="fridge", name="Fridge", location="Kitchen")
        make_device(s, user=user, device_id="heater", name="Heater")
        other = make_user(s, email="bo@example.com")
        make_device(s, user=other, device_id="theirs", name="Theirs")
        keys = {
            "fridge": make_key(s, user=user, device=fridge),
            "read": make_key(s, user=user, scope=KeyScope.read),
            "other": make_key(s, user=other),
        }
    return keys


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def can_sign_in(engine, email: str, password: str) -> bool:
    with session_scope(engine, read_only=True) as s:
        return authenticate_user(s, email=email, password=password) is not None


# --- users add ---------------------------------------------------------------------------------


def test_users_add_asks_for_the_password_twice_without_echo(engine, capsys, monkeypatch):
    asked: list[str] = []

    def no_echo(prompt: str) -> str:
        asked.append(prompt)
        return PASSPHRASE

    monkeypatch.setattr(accounts_cli.sys, "stdin", Terminal())
    monkeypatch.setattr(accounts_cli.getpass, "getpass", no_echo)
    code, out, _ = run(capsys, "users", "add", "--email", "cy@example.com")
    assert code == 0
    assert len(asked) == 2 and PASSPHRASE not in out
    assert out.startswith("Created member cy@example.com (id ")
    assert can_sign_in(engine, "cy@example.com", PASSPHRASE)


def test_users_add_creates_nothing_when_the_two_passwords_differ(engine, capsys, monkeypatch):
    answers = iter([PASSPHRASE, PASSPHRASE + "!"])
    monkeypatch.setattr(accounts_cli.sys, "stdin", Terminal())
    monkeypatch.setattr(accounts_cli.getpass, "getpass", lambda prompt: next(answers))
    code, _, err = run(capsys, "users", "add", "--email", "cy@example.com")
    assert code == 2 and "differ" in err
    with session_scope(engine, read_only=True) as s:
        assert get_user_by_email(s, email="cy@example.com") is None


def test_users_add_reads_one_line_of_standard_input_in_a_script(engine, capsys, monkeypatch):
    monkeypatch.setattr(accounts_cli.sys, "stdin", io.StringIO(PASSPHRASE + "\n"))
    code, out, _ = run(capsys, "users", "add", "--email", "cy@example.com", "--admin")
    assert code == 0 and out.startswith("Created admin cy@example.com")
    assert can_sign_in(engine, "cy@example.com", PASSPHRASE)


def test_users_add_refuses_a_common_password_and_says_why(engine, capsys):
    code, _, err = run(
        capsys, "users", "add", "--email", "cy@example.com", "--password", "password1234"
    )
    assert code == 2 and "common" in err
    with session_scope(engine, read_only=True) as s:
        assert get_user_by_email(s, email="cy@example.com") is None


# --- devices -----------------------------------------------------------------------------------


def test_devices_list_shows_the_households_devices_as_a_table(household, capsys):
    code, out, _ = run(capsys, "devices", "list", "--user", "ada@example.com")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["DEVICE", "NAME", "TYPE", "LOCATION", "ACTIVE", "LAST", "READING"]
    assert [line.split()[0] for line in lines[1:]] == ["fridge", "heater"]
    assert "theirs" not in out


def test_devices_deactivate_says_what_changed_and_list_json_shows_it(household, engine, capsys):
    code, out, _ = run(
        capsys, "devices", "deactivate", "--user", "ada@example.com", "--device-id", "heater"
    )
    assert code == 0 and out.startswith("Deactivated device 'heater' of ada@example.com")
    code, out, _ = run(
        capsys, "devices", "deactivate", "--user", "ada@example.com", "--device-id", "heater"
    )
    assert code == 0 and "inactive already; no change" in out

    code, out, _ = run(capsys, "devices", "list", "--user", "ada@example.com", "--json")
    assert [d["device_id"] for d in json.loads(out)] == ["fridge"]
    code, out, _ = run(capsys, "devices", "list", "--user", "ada@example.com", "--all", "--json")
    rows = {d["device_id"]: d for d in json.loads(out)}
    assert rows["heater"]["active"] is False and rows["fridge"]["location"] == "Kitchen"
    assert set(rows["fridge"]) >= {"name", "type", "bidirectional", "last_seen_at", "created_at"}


def test_devices_deactivate_of_another_households_device_is_not_found(household, engine, capsys):
    code, _, err = run(
        capsys, "devices", "deactivate", "--user", "ada@example.com", "--device-id", "theirs"
    )
    assert code == 2 and "No device 'theirs'" in err
    with session_scope(engine, read_only=True) as s:
        assert all(s.exec(select(Device.is_active)).all())


# --- keys --------------------------------------------------------------------------------------


def test_keys_list_json_never_shows_a_secret(household, capsys):
    code, out, _ = run(capsys, "keys", "list", "--user", "ada@example.com", "--json")
    assert code == 0
    rows = json.loads(out)
    assert sorted(r["scope"] for r in rows) == ["ingest", "read"]
    assert {r["prefix"] for r in rows} == {household["fridge"].prefix, household["read"].prefix}
    for key in household.values():
        secret = key.key.split("_", 2)[2]  # the secret itself may hold an underscore
        assert key.key not in out and secret not in out


def test_keys_revoke_by_id_or_prefix_says_what_it_revoked(household, engine, capsys):
    fridge, read = household["fridge"], household["read"]
    code, out, _ = run(capsys, "keys", "revoke", "--user", "ada@example.com", str(fridge.id))
    assert code == 0
    assert out.startswith(f"Revoked ingest key {fridge.id} ({fridge.prefix}")
    assert "device 'fridge'" in out
    code, out, _ = run(capsys, "keys", "revoke", "--user", "ada@example.com", read.prefix)
    assert code == 0 and out.startswith(f"Revoked read key {read.id} ({read.prefix}")
    code, out, _ = run(capsys, "keys", "revoke", "--user", "ada@example.com", read.prefix)
    assert code == 0 and "revoked already" in out
    with session_scope(engine, read_only=True) as s:
        assert verify_api_key(s, key=fridge.key) is None
        assert verify_api_key(s, key=read.key) is None

    code, out, _ = run(capsys, "keys", "list", "--user", "ada@example.com")
    assert out.strip() == "ada@example.com has no live API keys."
    code, out, _ = run(capsys, "keys", "list", "--user", "ada@example.com", "--all")
    assert out.splitlines()[0].split()[:4] == ["ID", "PREFIX", "SCOPE", "DEVICE"]
    assert len(out.splitlines()) == 3


def test_keys_revoke_cannot_touch_another_households_key(household, engine, capsys):
    other = household["other"]
    code, _, err = run(capsys, "keys", "revoke", "--user", "ada@example.com", str(other.id))
    assert code == 2 and "has no API key" in err
    with session_scope(engine, read_only=True) as s:
        assert verify_api_key(s, key=other.key) is not None


def test_keys_add_says_which_key_it_issued(household, capsys):
    code, out, _ = run(capsys, "keys", "add", "--user", "ada@example.com", "--scope", "read")
    assert code == 0
    first, key = out.strip().splitlines()
    assert first.startswith("Issued read key ") and "for ada@example.com (all devices)" in first
    assert key.startswith("emk_")
