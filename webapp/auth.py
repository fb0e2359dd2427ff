"""Sign-in for the analyst app: streamlit-authenticator's form and cookie, fed from the users table.

The library checks the password (or its signed cookie); the database says who may use the app.
Every run re-reads the account, so a deleted or deactivated user is signed out at their next click,
and the role the pages see is the one stored now, never the one remembered by the cookie.
Rules about who may use the app (active now; later: lockout, cookies issued before a password
change) belong in ``load_account``.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import streamlit as st
import streamlit_authenticator as stauth
from streamlit.navigation.page import StreamlitPage
from streamlit_authenticator.utilities import LoginError

from energy_core.accounts import get_user_by_email, list_users
from energy_core.models import Role, User
from energy_core.settings import DEMO_COOKIE_KEY, Settings
from webapp.loaders import read_session

log = logging.getLogger(__name__)

MAIN_SCRIPT = "streamlit_app.py"
SESSION_KEY = "energy_signed_in_user"
NOTICE_KEY = "energy_sign_in_notice"
# The library keeps its own state in these session keys.
_STATUS = "authentication_status"
_USERNAME = "username"

LOGIN_FIELDS = {
    "Form name": "Sign in",
    "Username": "Email",
    "Password": "Password",
    "Login": "Sign in",
}
WRONG_CREDENTIALS = "That email and password do not match an active account."
ACCOUNT_GONE = (
    "Your account is no longer active, so you have been signed out. "
    "Ask an administrator if this is a mistake."
)
SIGNED_OUT = "You have signed out."

# True while the frame runs the selected page, i.e. after this run's sign-in check.
_IN_FRAME: ContextVar[bool] = ContextVar("energy_in_frame", default=False)


@dataclass(frozen=True)
class SignedInUser:
    """The account of this session, as the database says it is now."""

    id: int
    email: str
    full_name: str
    role: str
    timezone: str

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin


def cookie_key_problem(settings: Settings) -> str | None:
    """Why the app must not start with this cookie key, or None."""
    if settings.cookie_key.get_secret_value() == DEMO_COOKIE_KEY and not settings.demo_mode:
        return (
            "Sign-in is disabled: login cookies would be signed with the public demo key, so "
            "anyone could forge one. Set `ENERGY_COOKIE_KEY` to a long random secret (for example "
            'the output of `python -c "import secrets; print(secrets.token_urlsafe(32))"`) and '
            "restart the app."
        )
    return None


def make_authenticator(settings: Settings) -> stauth.Authenticate:
    """The library's authenticator over the active accounts. Build one per run: it renders the
    cookie component, and the accounts must be read fresh."""
    return stauth.Authenticate(
        _credentials(),
        cookie_name=settings.cookie_name,
        cookie_key=settings.cookie_key.get_secret_value(),
        cookie_expiry_days=settings.cookie_expiry_days,
        # The table holds bcrypt hashes ($2b$...), which the library checks as they are.
        auto_hash=False,
        # No api_key, ever: with one the library sends mail through a third-party server.
    )


def _credentials() -> dict[str, Any]:
    with read_session() as session:
        users = [user for user in list_users(session) if user.is_active]
    return {
        "usernames": {
            user.email: {
                "email": user.email,
                "name": user.full_name or user.email,
                "password": user.password_hash,
                "roles": [str(user.role)],
            }
            for user in users
        }
    }


def _signed_in_user(user: User) -> SignedInUser:
    return SignedInUser(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=str(user.role),
        timezone=user.timezone,
    )


def load_account(email: str | None) -> SignedInUser | None:
    """The account behind a sign-in as it is now, or None when it may not use the app."""
    if not email:
        return None
    with read_session() as session:
        user = get_user_by_email(session, email=email)
        if user is None or not user.is_active:
            return None
        return _signed_in_user(user)


def sign_in(authenticator: stauth.Authenticate) -> SignedInUser | None:
    """The user of this session: from an earlier run, the login cookie or the form just sent.

    When there is none, the sign-in form is on the page and the result is None.
    """
    st.session_state.pop(SESSION_KEY, None)
    if st.session_state.get(_STATUS):
        user = load_account(st.session_state.get(_USERNAME))
        if user is not None:
            st.session_state[SESSION_KEY] = user
            return user
        log.info("signed out a session whose account is gone or inactive")
        _forget_session(authenticator, notice=ACCOUNT_GONE)
    return _sign_in_form(authenticator)


def _sign_in_form(authenticator: stauth.Authenticate) -> SignedInUser | None:
    # Drawn in a slot so that a sign-in by cookie, which needs no form, leaves no trace. After a
    # sign-in by form the slot must stay: the library's cookie component is in it, and that
    # component reruns the app once the browser has stored the cookie.
    slot = st.empty()
    by_form: list[bool] = []
    with slot.container():
        _, middle, _ = st.columns([1, 1.2, 1])
        with middle:
            st.title(":material/bolt: Energy monitor", anchor=False)
            notice = st.session_state.get(NOTICE_KEY)
            if notice:
                st.info(notice)
            try:
                _login(authenticator, on_form=by_form.append)
            except LoginError:
                # A valid cookie for an account the library does not know (deleted or
                # deactivated): forget it and ask for a password instead.
                authenticator.cookie_controller.delete_cookie()
                st.session_state["logout"] = True  # the library's "ignore the cookie" flag
                st.session_state[NOTICE_KEY] = ACCOUNT_GONE
                st.info(ACCOUNT_GONE)
                _login(authenticator, on_form=by_form.append)
            if st.session_state.get(_STATUS) is False:
                st.error(WRONG_CREDENTIALS)
    if not st.session_state.get(_STATUS):
        return None
    user = load_account(st.session_state.get(_USERNAME))
    if user is None:  # deactivated between reading the credentials and now
        _forget_session(authenticator, notice=ACCOUNT_GONE)
        return None
    if not by_form:
        slot.empty()
    st.session_state.pop(NOTICE_KEY, None)
    st.session_state[SESSION_KEY] = user
    log.info("user %s signed in%s", user.id, " with a password" if by_form else " by cookie")
    return user


def _login(authenticator: stauth.Authenticate, *, on_form) -> None:  # noqa: ANN001 - callback
    authenticator.login(location="main", fields=LOGIN_FIELDS, key="energy_login", callback=on_form)


def _forget_session(authenticator: stauth.Authenticate, *, notice: str) -> None:
    """Sign the session out and delete the login cookie (the library does both)."""
    authenticator.logout(location="unrendered")
    st.session_state.pop(SESSION_KEY, None)
    st.session_state[NOTICE_KEY] = notice


def sign_out(authenticator: stauth.Authenticate) -> None:
    """Sign this session out and delete the login cookie. Call it in the main area: the library's
    cookie component does the deleting there and then reruns the app."""
    _forget_session(authenticator, notice=SIGNED_OUT)


def run_page(page: StreamlitPage) -> None:
    """Run the page the navigation selected, as part of the frame's run."""
    token = _IN_FRAME.set(True)
    try:
        page.run()
    finally:
        _IN_FRAME.reset(token)


def current_user() -> SignedInUser:
    """The signed-in user, for the top of a page.

    Streamlit has a legacy mode in which it runs a file of ``pages/`` by itself, without the frame
    (the first request after a restart may be served that way). Such a run is sent to the frame,
    so no page is ever drawn without this run's sign-in check.
    """
    user = st.session_state.get(SESSION_KEY)
    if user is None or not _IN_FRAME.get():
        st.switch_page(MAIN_SCRIPT)
    return user


def recheck(user: SignedInUser) -> None:
    """For fragments, which rerun without the frame: if the account changed or may no longer use
    the app, rerun the whole app so that the frame decides again."""
    if not _IN_FRAME.get() and load_account(user.email) != user:
        st.rerun(scope="app")
