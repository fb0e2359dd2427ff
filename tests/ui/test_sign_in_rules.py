"""The rules around signing in, through AppTest on both backends: lockout after wrong passwords,
login cookies and open sessions that end with a sign-out or a password change, no password hints,
and self-registration as the admins allow it.

A browser's cookie reaches the app as ``st.context.cookies``; AppTest has no browser, so the tests
hand the app a cookie there, signed the way streamlit-authenticator signs its own (the end-to-end
test in tests/e2e/test_browser.py does the same with Chromium's real cookie).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import bcrypt
import extra_streamlit_components as stx
import jwt
import pytest
from sqlmodel import select
from streamlit.runtime.context import ContextProxy
from streamlit.testing.v1 import AppTest

from energy_core.accounts import (
    MAX_FAILED_LOGINS,
    end_sessions,
    get_user_by_email,
    reset_password,
)
from energy_core.app_settings import set_registration_policy
from energy_core.db import session_scope
from energy_core.models import Role, User
from energy_core.security import HASH_MARK
from energy_core.settings import get_settings
from energy_core.types import utcnow
from tests.apptest import COOKIE_KEY, open_app, shown_text, sign_in
from tests.factories import PASSWORD, make_user
from webapp import auth

EMAIL = "lena@example.com"
NEW_PASSWORD = "a-brand-new-passphrase"


@pytest.fixture
def lena(app_env) -> int:
    with session_scope() as session:
        return make_user(session, email=EMAIL, full_name="Lena").id


@pytest.fixture
def browser_cookie(monkeypatch):
    """``set(token)`` makes the next AppTest runs arrive with that login cookie."""
    jar: dict[str, str] = {}
    monkeypatch.setattr(ContextProxy, "cookies", property(lambda self: dict(jar)))

    def set_cookie(token: str | None) -> None:
        jar.clear()
        if token is not None:
            jar[get_settings().cookie_name] = token

    return set_cookie


def cookie_issued_at(issued_at: datetime, email: str = EMAIL) -> str:
    """A login cookie as streamlit-authenticator writes it: the username and its expiry."""
    expires = issued_at + timedelta(days=get_settings().cookie_expiry_days)
    return jwt.encode(
        {"username": email, "exp_date": expires.timestamp()}, COOKIE_KEY, algorithm="HS256"
    )


def is_signed_in(at: AppTest) -> bool:
    return auth.SESSION_KEY in at.session_state


def notices(at: AppTest) -> list[str]:
    return [n.value for n in at.info]


def try_password(at: AppTest, password: str, email: str = EMAIL) -> AppTest:
    return sign_in(at, email, password)


def stored(email: str = EMAIL) -> User:
    with session_scope(read_only=True) as session:
        return session.exec(select(User).where(User.email == email)).one()


# --- lockout -----------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_password_sign_ins_for_fifteen_minutes(lena):
    at = open_app()
    for attempt in range(1, MAX_FAILED_LOGINS):
        try_password(at, f"wrong-{attempt}")
        assert [e.value for e in at.error] == [auth.WRONG_CREDENTIALS]
        assert stored().failed_logins == attempt

    try_password(at, "wrong-again")

    assert not at.exception
    (error,) = at.error
    assert "Too many wrong passwords" in error.value
    locked_until = stored().locked_until
    assert locked_until - utcnow() == pytest.approx(
        timedelta(minutes=15), abs=timedelta(seconds=30)
    )


def test_a_locked_account_refuses_even_the_right_password_in_a_new_session(lena):
    with session_scope() as session:
        user = session.get(User, lena)
        user.locked_until = utcnow() + timedelta(minutes=10)
        session.add(user)

    at = try_password(open_app(), PASSWORD)  # a fresh session: the lock is in the database

    assert not is_signed_in(at)
    assert "Too many wrong passwords" in at.error[0].value


def test_the_right_password_works_again_once_the_lock_has_passed_and_clears_the_count(lena):
    with session_scope() as session:
        user = session.get(User, lena)
        user.locked_until = utcnow() - timedelta(seconds=1)
        user.failed_logins = 3
        session.add(user)

    at = try_password(open_app(), PASSWORD)

    assert is_signed_in(at)
    assert stored().failed_logins == 0
    assert stored().locked_until is None


def test_wrong_passwords_for_unknown_emails_are_refused_without_a_trace(app_env):
    at = try_password(open_app(), "whatever-it-is", email="nobody@example.com")

    assert [e.value for e in at.error] == [auth.WRONG_CREDENTIALS]
    with session_scope(read_only=True) as session:
        assert get_user_by_email(session, email="nobody@example.com") is None


def test_the_sign_in_form_never_shows_a_password_hint(lena):
    at = open_app()
    for attempt in range(2):
        try_password(at, f"wrong-{attempt}")

    password = next(box for box in at.text_input if box.label == "Password")
    assert not password.help
    assert "hint" not in shown_text(at).lower()


# --- cookies and open sessions -----------------------------------------------------------------


def test_a_login_cookie_signs_in_without_a_password(lena, browser_cookie):
    browser_cookie(cookie_issued_at(utcnow()))

    at = open_app()

    assert not at.exception
    assert is_signed_in(at)
    assert "Live" in [t.value for t in at.title]


def test_a_cookie_issued_before_signing_out_no_longer_signs_in(lena, browser_cookie):
    captured = cookie_issued_at(utcnow() - timedelta(seconds=5))
    at = try_password(open_app(), PASSWORD)
    at.button(key="energy_sign_out").click().run()
    assert stored().sessions_valid_after is not None

    browser_cookie(captured)
    at = open_app()

    assert not at.exception
    assert not is_signed_in(at)
    assert auth.SESSION_ENDED in notices(at)
    assert [box.label for box in at.text_input] == ["Email", "Password"]


def test_signing_out_ends_other_open_sessions_of_the_account(lena):
    here = try_password(open_app(), PASSWORD)
    elsewhere = try_password(open_app(), PASSWORD)

    here.button(key="energy_sign_out").click().run()
    elsewhere.run()

    assert not is_signed_in(elsewhere)
    assert auth.SESSION_ENDED in notices(elsewhere)


def test_a_password_change_keeps_this_session_and_ends_the_others(lena, browser_cookie):
    old_cookie = cookie_issued_at(utcnow() - timedelta(seconds=5))
    here = try_password(open_app(), PASSWORD)
    elsewhere = try_password(open_app(), PASSWORD)

    here.switch_page("pages/account.py").run()
    form = {box.label: box for box in here.text_input}
    form["Current password"].input(PASSWORD)
    form["New password"].input(NEW_PASSWORD)
    form["New password again"].input(NEW_PASSWORD)
    next(b for b in here.button if b.label == "Change password").click().run()

    assert not here.exception
    assert any("Password changed" in s.value for s in here.success)
    assert is_signed_in(here.run())
    assert not is_signed_in(elsewhere.run())
    browser_cookie(old_cookie)
    assert not is_signed_in(open_app())
    browser_cookie(cookie_issued_at(utcnow()))
    assert is_signed_in(open_app())
    browser_cookie(None)
    assert is_signed_in(try_password(open_app(), NEW_PASSWORD))


def test_a_wrong_current_password_changes_nothing(lena):
    at = try_password(open_app(), PASSWORD)
    at.switch_page("pages/account.py").run()
    form = {box.label: box for box in at.text_input}
    form["Current password"].input("not-my-password")
    form["New password"].input(NEW_PASSWORD)
    form["New password again"].input(NEW_PASSWORD)
    next(b for b in at.button if b.label == "Change password").click().run()

    assert [e.value for e in at.error] == ["The current password is not right."]
    assert stored().sessions_valid_after is None
    assert is_signed_in(try_password(open_app(), PASSWORD))


def test_sign_out_everywhere_ends_this_session_too(lena):
    at = try_password(open_app(), PASSWORD)
    at.switch_page("pages/account.py").run()

    at.button(key="sign_out_everywhere").click().run()

    assert not at.exception
    assert not is_signed_in(at.run())
    assert stored().sessions_valid_after is not None


def test_a_session_signed_in_before_an_admin_reset_is_signed_out(lena):
    at = try_password(open_app(), PASSWORD)
    with session_scope() as session:
        end_sessions(session, user_id=lena)

    at.run()

    assert not is_signed_in(at)
    assert auth.SESSION_ENDED in notices(at)


# --- self-registration -------------------------------------------------------------------------


def register(at: AppTest, email: str, password: str = NEW_PASSWORD) -> AppTest:
    at.text_input(key="energy_register_email").input(email)
    at.text_input(key="energy_register_name").input("New Person")
    at.text_input(key="energy_register_password").input(password)
    at.text_input(key="energy_register_repeat").input(password)
    next(b for b in at.button if b.label == "Create account").click()
    return at.run()


def test_self_registration_is_off_by_default(app_env):
    at = open_app()

    assert "Create account" not in [b.label for b in at.button]
    assert "Create an account" not in shown_text(at)


def test_self_registration_limited_to_a_domain_creates_members_of_that_domain_only(app_env):
    with session_scope() as session:
        set_registration_policy(session, enabled=True, domains=["example.org"])

    refused = register(open_app(), "someone@elsewhere.net")
    assert "example.org" in refused.error[0].value
    welcomed = register(open_app(), "someone@example.org")

    assert not welcomed.exception
    assert any("Account created" in s.value for s in welcomed.success)
    assert stored("someone@example.org").role == Role.member
    assert is_signed_in(try_password(open_app(), NEW_PASSWORD, email="someone@example.org"))


# --- password hashes ---------------------------------------------------------------------------


def test_an_account_with_a_hash_of_the_older_scheme_signs_in_and_is_upgraded(lena):
    with session_scope() as session:
        user = session.get(User, lena)
        user.password_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        session.add(user)
    at = try_password(open_app(), PASSWORD)
    assert is_signed_in(at)
    assert stored().password_hash.startswith(HASH_MARK)
    assert is_signed_in(try_password(open_app(), PASSWORD))


def test_a_long_unicode_password_signs_in_whole(lena):
    password = "Ünïcödé wörds, ελληνικά λόγια και 日本語の言葉 — " * 2
    with session_scope() as session:
        reset_password(session, user_id=lena, new_password=password.strip())
    assert is_signed_in(try_password(open_app(), password.strip()))
    # bcrypt alone would have compared only the first 72 bytes.
    assert not is_signed_in(try_password(open_app(), password.strip()[:-1] + "?"))


# --- the login cookie in the browser -----------------------------------------------------------


@pytest.fixture
def cookie_calls(monkeypatch):
    """What the app asks the cookie component to do: ("read", None) for a cookie-reading
    component, ("set", options) for each cookie written."""
    calls: list[tuple[str, dict | None]] = []
    original_init, original_set = stx.CookieManager.__init__, stx.CookieManager.set

    def reading(self, *args, **kwargs):  # noqa: ANN001
        calls.append(("read", None))
        original_init(self, *args, **kwargs)

    def writing(self, cookie, val, *args, **kwargs):  # noqa: ANN001
        calls.append(("set", kwargs))
        return original_set(self, cookie, val, *args, **kwargs)

    monkeypatch.setattr(stx.CookieManager, "__init__", reading)
    monkeypatch.setattr(stx.CookieManager, "set", writing)
    return calls


def test_no_cookie_reading_component_can_rerun_the_app_during_a_sign_in(lena, cookie_calls):
    # Its report, when it lands while the run of a pressed "Sign in" is under way, interrupts
    # that run and the press is lost (the first sign-in after a start came back as the form).
    at = open_app()
    at = try_password(at, PASSWORD)
    assert is_signed_in(at)
    assert [kind for kind, _ in cookie_calls] == ["set"]


@pytest.mark.parametrize(
    ("url", "secure"), [("https://energy.example.org/", True), ("http://127.0.0.1:8501/", None)]
)
def test_the_login_cookie_is_secure_when_the_app_is_served_over_https(
    lena, cookie_calls, monkeypatch, url, secure
):
    monkeypatch.setattr(ContextProxy, "url", property(lambda self: url))
    assert is_signed_in(try_password(open_app(), PASSWORD))
    ((kind, options),) = cookie_calls
    assert kind == "set"
    assert options.get("secure") is secure
