"""The password rule (NIST SP 800-63B: length, no composition rules, a list of common passwords,
any Unicode, no truncation) and the hashes: pre-hashed bcrypt for new passwords, while hashes of
the older scheme keep signing in and are upgraded."""

from __future__ import annotations

import re
from pathlib import Path

import bcrypt
import pytest
from pydantic import ValidationError
from sqlmodel import select

from energy_core.accounts import (
    authenticate_user,
    change_password,
    create_user,
    upgrade_password_hash,
)
from energy_core.db import session_scope
from energy_core.demo import DEMO_PASSWORD
from energy_core.models import User
from energy_core.security import (
    HASH_MARK,
    MIN_PASSWORD_LENGTH,
    WeakPasswordError,
    bcrypt_pair,
    check_password_strength,
    common_passwords,
    hash_password,
    needs_rehash,
    verify_password,
)
from energy_core.settings import Settings, get_settings
from tests.factories import PASSWORD

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def bcrypt_cost(monkeypatch):
    """Set ``ENERGY_BCRYPT_ROUNDS`` for one test (the suite runs at the lowest cost, 4)."""

    def set_cost(rounds: int) -> None:
        monkeypatch.setenv("ENERGY_BCRYPT_ROUNDS", str(rounds))
        get_settings.cache_clear()

    yield set_cost
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_bcrypt_cost_is_12_unless_set_and_never_below_4(monkeypatch):
    monkeypatch.delenv("ENERGY_BCRYPT_ROUNDS", raising=False)
    assert Settings().bcrypt_rounds == 12
    monkeypatch.setenv("ENERGY_BCRYPT_ROUNDS", "3")
    with pytest.raises(ValidationError, match="bcrypt_rounds"):
        Settings()
    assert "`ENERGY_BCRYPT_ROUNDS` | `12`" in README.read_text()


def test_new_hashes_take_the_set_cost_and_a_higher_cost_upgrades_them(bcrypt_cost):
    bcrypt_cost(5)
    password_hash = hash_password(PASSWORD)
    assert password_hash.startswith(HASH_MARK + "$2b$05$")
    assert verify_password(PASSWORD, password_hash)
    assert not needs_rehash(password_hash)
    bcrypt_cost(6)
    assert needs_rehash(password_hash)
    assert verify_password(PASSWORD, password_hash)


# More than bcrypt's 72 bytes, in three scripts.
LONG_UNICODE = "Ünïcödé wörds, ελληνικά λόγια και 日本語の言葉 — " * 2


@pytest.mark.parametrize(
    "password",
    ["password", "12345678", "short-pass1", "x" * (MIN_PASSWORD_LENGTH - 1)],
)
def test_fewer_than_twelve_characters_are_refused(password):
    with pytest.raises(WeakPasswordError, match="at least 12"):
        check_password_strength(password)


@pytest.mark.parametrize(
    "password",
    [
        "password1234",  # a listed password with digits added
        "Sunshine2026!",
        "iloveyou1234",
        "qwertyuiop12",
        "WinnieThePooh",  # listed as it is, whatever the case
        "aaaaaaaaaaaa",
        "abcabcabcabc",
        "123456789012",
        "abcdefghijklm",
        "9876543210987",
        "é" * 37,
    ],
)
def test_common_passwords_and_simple_patterns_are_refused(password):
    with pytest.raises(WeakPasswordError, match="common"):
        check_password_strength(password)


@pytest.mark.parametrize(
    "password", ["lena.sommer@example.com", "Lena.Sommer!!", "lenasommer2026", "energy-monitor"]
)
def test_the_email_and_the_service_name_are_refused(password):
    with pytest.raises(WeakPasswordError, match="email address or the name"):
        check_password_strength(password, email="lena.sommer@example.com")


@pytest.mark.parametrize(
    "password",
    [
        "alllowercaseletters",  # no composition rules
        "correct horse battery staple",
        "пароль-из-четырех-слов",
        "家族のエネルギー監視システム",  # fourteen characters
        LONG_UNICODE,
        DEMO_PASSWORD,
        PASSWORD,
    ],
)
def test_any_long_enough_uncommon_password_is_accepted(password):
    check_password_strength(password, email="lena@example.com")


def test_the_readme_and_the_demo_passwords_fit_the_rule():
    examples = re.findall(r"--password '([^'.]+)'", README.read_text(encoding="utf-8"))
    assert examples
    for password in [*examples, DEMO_PASSWORD]:
        check_password_strength(password)


def test_the_common_password_list_ships_with_the_package():
    listed = common_passwords()
    assert 3000 < len(listed) < 10_000
    assert {"password", "123456", "qwerty", "iloveyou"} <= listed


def test_passwords_longer_than_72_bytes_are_hashed_whole():
    assert len(LONG_UNICODE.encode()) > 72
    stored = hash_password(LONG_UNICODE)
    assert stored.startswith(HASH_MARK)
    assert verify_password(LONG_UNICODE, stored)
    # No truncation: a change after byte 72 is a different password.
    assert not verify_password(LONG_UNICODE[:-1] + "!", stored)
    assert not verify_password(LONG_UNICODE[:40], stored)


def test_unicode_is_compared_after_normalisation():
    composed, decomposed = "café-au-lait-énergie", "cafe\u0301-au-lait-e\u0301nergie"
    assert composed != decomposed
    assert verify_password(decomposed, hash_password(composed))


def test_a_plain_bcrypt_check_of_the_pair_agrees():
    # What the app's sign-in library does with what the sign-in guard hands it.
    stored = hash_password(PASSWORD)
    secret, plain = bcrypt_pair(PASSWORD, stored)
    assert plain.startswith("$2b$") and secret != PASSWORD
    assert bcrypt.checkpw(secret.encode(), plain.encode())
    wrong, _ = bcrypt_pair("not-the-password", stored)
    assert not bcrypt.checkpw(wrong.encode(), plain.encode())


def old_scheme_hash(password: str) -> str:
    """A hash as the monitor stored them before pre-hashing: bcrypt over the password."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def test_users_with_an_old_hash_still_sign_in_and_get_the_new_scheme(engine):
    with session_scope() as session:
        user = create_user(session, email="old@example.com", password=PASSWORD)
        user.password_hash = old_scheme_hash(PASSWORD)
        session.add(user)
    with session_scope() as session:
        assert authenticate_user(session, email="old@example.com", password=PASSWORD)
        assert authenticate_user(session, email="old@example.com", password="wrong-one!") is None
        assert not upgrade_password_hash(session, user_id=user.id, password="wrong-password")
        assert upgrade_password_hash(session, user_id=user.id, password=PASSWORD)
    with session_scope() as session:
        stored = session.get(User, user.id).password_hash
        assert stored.startswith(HASH_MARK) and not needs_rehash(stored)
        assert authenticate_user(session, email="old@example.com", password=PASSWORD)
        assert not upgrade_password_hash(session, user_id=user.id, password=PASSWORD)


def test_a_password_change_checks_the_rule_with_the_accounts_email(engine):
    with session_scope() as session:
        user = create_user(session, email="mira@example.com", password=PASSWORD)
        with pytest.raises(WeakPasswordError, match="common"):
            change_password(
                session, user_id=user.id, current_password=PASSWORD, new_password="password1234"
            )
        with pytest.raises(WeakPasswordError, match="email"):
            change_password(
                session,
                user_id=user.id,
                current_password=PASSWORD,
                new_password="mira@example.com",
            )


def test_creating_a_user_with_a_weak_password_stores_nothing(engine):
    with session_scope() as session:
        with pytest.raises(WeakPasswordError):
            create_user(session, email="weak@example.com", password="12345678")
    with session_scope(read_only=True) as session:
        assert session.exec(select(User).where(User.email == "weak@example.com")).first() is None
