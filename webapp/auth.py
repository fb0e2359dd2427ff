"""Sign-in for the analyst app: streamlit-authenticator's form and cookie, fed from the users table.

The library checks the password (or its signed cookie); the database says who may use the app.
Every run re-reads the account, so a deleted or deactivated user is signed out at their next click,
and the role the pages see is the one stored now, never the one remembered by the cookie.

The rules around the library live in ``energy_core.accounts`` and are applied here:
- five wrong passwords in a row refuse password sign-ins of that account for 15 minutes, counted in
  the users table (a new browser session does not reset them);
- signing out, "sign out everywhere" and a password change set the account's
  ``sessions_valid_after``: login cookies issued before it no longer sign in, and open sessions
  signed in before it are signed out at their next click;
- no password hints (the library shows one only when the credentials carry it; ours never do);
- self-registration only as far as the admins' policy allows.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st
import streamlit_authenticator as stauth
from streamlit.navigation.page import StreamlitPage
from streamlit_authenticator.utilities import LoginError

from energy_core.accounts import (
    ConflictError,
    RegistrationClosedError,
    end_sessions,
    get_user_by_email,
    list_users,
    login_locked_until,
    record_failed_login,
    record_successful_login,
    register_user,
    sign_in_is_current,
    upgrade_password_hash,
)
from energy_core.app_settings import RegistrationPolicy, get_registration_policy
from energy_core.models import Role, User
from energy_core.records import record_of
from energy_core.security import bcrypt_pair, bcrypt_part
from energy_core.settings import DEMO_COOKIE_KEY, Settings, get_settings
from energy_core.types import utcnow
from webapp.loaders import read_session, write_session
from webapp.login_cookie import use_cookie_writer
from webapp.warm_up import warm_up_live_page

log = logging.getLogger(__name__)

MAIN_SCRIPT = "streamlit_app.py"
SESSION_KEY = "energy_signed_in_user"
# When this session signed in (for a sign-in by cookie: when the cookie was issued), aware UTC.
SIGNED_IN_AT_KEY = "energy_signed_in_at"
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
LOCKED_OUT = (
    "Too many wrong passwords: signing in to this account is paused until {until} UTC "
    "(about {minutes} min). Ask an administrator to unlock it sooner."
)
ACCOUNT_GONE = (
    "Your account is no longer active, so you have been signed out. "
    "Ask an administrator if this is a mistake."
)
SESSION_ENDED = (
    "You have been signed out because this account's password was changed or it was signed out "
    "everywhere. Sign in again."
)
SIGNED_OUT = "You have signed out."
REGISTERED = "Account created for {email}. Sign in above with your email and password."

# True while the frame runs the selected page, i.e. after this run's sign-in check.
_IN_FRAME: ContextVar[bool] = ContextVar("energy_in_frame", default=False)
# The authenticator of this run, for the pages that renew or delete the login cookie.
_AUTHENTICATOR: ContextVar[stauth.Authenticate | None] = ContextVar(
    "energy_authenticator", default=None
)


@dataclass(frozen=True)
class SignedInUser:
    """The account of this session, as the database says it is now."""

    id: int
    email: str
    full_name: str
    role: str
    timezone: str
    price_per_kwh: float
    currency: str

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
    """The library's authenticator over the active accounts. Build one per run: the accounts must
    be read fresh. Its cookie component only writes (``webapp.login_cookie``)."""
    use_cookie_writer()
    return stauth.Authenticate(
        _credentials(),
        cookie_name=settings.cookie_name,
        cookie_key=settings.cookie_key.get_secret_value(),
        cookie_expiry_days=settings.cookie_expiry_days,
        # The library checks plain bcrypt hashes ($2b$...) as they are; the password it is given
        # is turned into what bcrypt compares for the account (the pre-hash) by the guard below.
        auto_hash=False,
        # The library pauses every signed-out run for this long, a leftover from reading cookies
        # through its component; it reads st.context.cookies now, and lockout limits guessing.
        login_sleep_time=0,
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
                "password": bcrypt_part(user.password_hash),
                "roles": [str(user.role)],
            }
            for user in users
        }
    }


def _signed_in_user(user: User) -> SignedInUser:
    return record_of(SignedInUser, user, role=str(user.role))


def check_account(
    email: str | None, *, signed_in_at: datetime | None
) -> tuple[SignedInUser | None, str]:
    """The account behind a sign-in made at ``signed_in_at``, as it is now; or None and the notice
    saying why it may not use the app."""
    if not email:
        return None, ACCOUNT_GONE
    with read_session() as session:
        user = get_user_by_email(session, email=email)
        if user is None or not user.is_active:
            return None, ACCOUNT_GONE
        if user.sessions_valid_after is not None and (
            signed_in_at is None or not sign_in_is_current(user, signed_in_at=signed_in_at)
        ):
            return None, SESSION_ENDED
        return _signed_in_user(user), ""


def load_account(email: str | None) -> SignedInUser | None:
    """The account of this session's sign-in as it is now, or None when it may not use the app."""
    return check_account(email, signed_in_at=_signed_in_at())[0]


def _signed_in_at() -> datetime | None:
    return st.session_state.get(SIGNED_IN_AT_KEY)


def sign_in(authenticator: stauth.Authenticate) -> SignedInUser | None:
    """The user of this session: from an earlier run, the login cookie or the form just sent.

    When there is none, the sign-in form is on the page and the result is None.
    """
    st.session_state.pop(SESSION_KEY, None)
    if st.session_state.get(_STATUS):
        user, notice = check_account(st.session_state.get(_USERNAME), signed_in_at=_signed_in_at())
        if user is not None:
            st.session_state[SESSION_KEY] = user
            return user
        log.info("signed out a session that may no longer use the app")
        _forget_session(authenticator, notice=notice)
    return _sign_in_form(authenticator)


def _sign_in_form(authenticator: stauth.Authenticate) -> SignedInUser | None:
    # Drawn in a slot so that a sign-in by cookie, which needs no form, leaves no trace. After a
    # sign-in by form the slot must stay: the library's cookie component is in it, and that
    # component reruns the app once the browser has stored the cookie.
    slot = st.empty()
    by_form: list[bool] = []
    locked: list[datetime] = []
    _guard_password_sign_ins(authenticator, locked=locked)
    user: SignedInUser | None = None
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
                _refuse_cookie(authenticator, notice=ACCOUNT_GONE, on_form=by_form.append)
            if st.session_state.get(_STATUS):
                signed_in_at = utcnow() if by_form else _cookie_issued_at(authenticator)
                user, notice = check_account(
                    st.session_state.get(_USERNAME), signed_in_at=signed_in_at
                )
                if user is None and not by_form:
                    # A cookie issued before a sign-out or a password change.
                    log.info("refused a login cookie issued before the account's cut-off")
                    _refuse_cookie(authenticator, notice=notice, on_form=by_form.append)
                elif user is None:  # deactivated between reading the credentials and now
                    _forget_session(authenticator, notice=notice)
                else:
                    st.session_state[SIGNED_IN_AT_KEY] = signed_in_at
            if st.session_state.get(_STATUS) is False:
                if locked:
                    st.error(_locked_message(locked[-1]), icon=":material/lock_clock:")
                else:
                    st.error(WRONG_CREDENTIALS)
            if user is None:
                _registration()
                warm_up_live_page()
    if user is None:
        return None
    if not by_form:
        slot.empty()
    st.session_state.pop(NOTICE_KEY, None)
    st.session_state[SESSION_KEY] = user
    log.info("user %s signed in%s", user.id, " with a password" if by_form else " by cookie")
    return user


def _login(authenticator: stauth.Authenticate, *, on_form) -> None:  # noqa: ANN001 - callback
    authenticator.login(location="main", fields=LOGIN_FIELDS, key="energy_login", callback=on_form)


def _refuse_cookie(authenticator: stauth.Authenticate, *, notice: str, on_form) -> None:  # noqa: ANN001
    """Delete a login cookie that may not sign in, say why, and show the form instead."""
    authenticator.cookie_controller.delete_cookie()
    st.session_state["logout"] = True  # the library's "ignore the cookie" flag
    for key in ("name", _USERNAME, _STATUS, "email", "roles"):
        st.session_state[key] = None
    st.session_state[NOTICE_KEY] = notice
    st.info(notice)
    _login(authenticator, on_form=on_form)


def _cookie_issued_at(authenticator: stauth.Authenticate) -> datetime | None:
    """When the login cookie of this sign-in was issued. The library signs only its expiry into
    the cookie, which it sets ``cookie_expiry_days`` after issuing it; a later change of that
    setting shifts the computed time by the difference."""
    token = authenticator.cookie_controller.cookie_model.token
    expires = token.get("exp_date") if isinstance(token, dict) else None
    if expires is None:
        return None
    lifetime = timedelta(days=get_settings().cookie_expiry_days)
    return datetime.fromtimestamp(float(expires), UTC) - lifetime


def _guard_password_sign_ins(authenticator: stauth.Authenticate, *, locked: list) -> None:
    """Put the lockout rules around the library's password check: a locked account is refused
    before its password is looked at, and every result is counted in the users table. The
    library compares with plain bcrypt, so it is handed what bcrypt must see for the stored
    hash (the password's pre-hash); a hash of an older scheme is upgraded after a sign-in."""
    controller = authenticator.authentication_controller
    check_password = controller.login

    def login(username: str | None = None, password: str | None = None, *args, **kwargs):  # noqa: ANN202
        if not username:  # a sign-in by cookie, or a form sent without an email
            return check_password(username, password, *args, **kwargs)
        email = username.strip().lower()
        with write_session() as session:
            until = login_locked_until(session, email=email)
            account = get_user_by_email(session, email=email)
            stored = account.password_hash if account is not None else None
        if until is not None:
            locked.append(until)
            st.session_state[_STATUS] = False
            log.warning("refused a password sign-in to a locked account")
            return False
        secret = bcrypt_pair(password, stored)[0] if stored and password else password
        signed_in = check_password(username, secret, *args, **kwargs)
        with write_session() as session:
            if signed_in:
                account = get_user_by_email(session, email=email)
                if account is not None:
                    record_successful_login(session, user_id=account.id)
                    upgrade_password_hash(session, user_id=account.id, password=password)
            elif signed_in is False:
                until = record_failed_login(session, email=email)
                if until is not None:
                    locked.append(until)
                    log.warning("locked password sign-ins of an account after wrong passwords")
        return signed_in

    controller.login = login


def _locked_message(until: datetime) -> str:
    minutes = max(1, round((until - utcnow()).total_seconds() / 60))
    return LOCKED_OUT.format(until=f"{until.astimezone(UTC):%H:%M}", minutes=minutes)


def _registration() -> None:
    """The self-registration form, when an admin has opened it."""
    with read_session() as session:
        policy: RegistrationPolicy = get_registration_policy(session)
    if not policy.enabled:
        return
    with st.expander("New here? Create an account", icon=":material/person_add:"):
        if policy.domains:
            st.caption("Open to email addresses at " + ", ".join(policy.domains) + ".")
        with st.form("energy_register", border=False):
            email = st.text_input("Email", key="energy_register_email")
            full_name = st.text_input("Your name", key="energy_register_name")
            password = st.text_input("Password", type="password", key="energy_register_password")
            repeat = st.text_input("Password again", type="password", key="energy_register_repeat")
            sent = st.form_submit_button("Create account", type="primary")
        if not sent:
            return
        if password != repeat:
            st.error("The two passwords differ.")
            return
        try:
            with write_session() as session:
                created = register_user(
                    session,
                    email=email,
                    password=password,
                    full_name=full_name,
                    timezone=get_settings().default_timezone,
                )
        except (ValueError, ConflictError, RegistrationClosedError) as exc:
            message = str(exc)
            if isinstance(exc, ConflictError):
                message = "An account with this email exists already; sign in instead."
            st.error(message)
            return
        log.info("user %s registered themselves", created.id)
        st.success(REGISTERED.format(email=created.email), icon=":material/check_circle:")


def _forget_session(authenticator: stauth.Authenticate, *, notice: str) -> None:
    """Sign the session out and delete the login cookie (the library does both)."""
    authenticator.logout(location="unrendered")
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(SIGNED_IN_AT_KEY, None)
    st.session_state[NOTICE_KEY] = notice


def sign_out(authenticator: stauth.Authenticate, user: SignedInUser) -> None:
    """Sign this session out, delete its login cookie, and make every login cookie of the account
    issued until now invalid (a copy of this one included). Call it in the main area: the
    library's cookie component does the deleting there and then reruns the app."""
    with write_session() as session:
        end_sessions(session, user_id=user.id)
    log.info("user %s signed out", user.id)
    _forget_session(authenticator, notice=SIGNED_OUT)


def sign_out_everywhere(user: SignedInUser) -> None:
    """For a page: end every session of the account, this one included, then rerun the app."""
    authenticator = _AUTHENTICATOR.get()
    with write_session() as session:
        end_sessions(session, user_id=user.id)
    log.info("user %s signed out everywhere", user.id)
    if authenticator is not None:
        _forget_session(authenticator, notice=SESSION_ENDED)


def keep_signed_in_after(cut_off: datetime) -> None:
    """After this session's own password change (whose cut-off is ``cut_off``): stay signed in
    here, with a fresh login cookie, while every other session and older cookie ends."""
    st.session_state[SIGNED_IN_AT_KEY] = cut_off
    authenticator = _AUTHENTICATOR.get()
    if authenticator is not None:
        authenticator.cookie_controller.set_cookie()


def run_page(page: StreamlitPage, authenticator: stauth.Authenticate) -> None:
    """Run the page the navigation selected, as part of the frame's run."""
    in_frame = _IN_FRAME.set(True)
    current = _AUTHENTICATOR.set(authenticator)
    try:
        page.run()
    finally:
        _AUTHENTICATOR.reset(current)
        _IN_FRAME.reset(in_frame)


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


def require_admin() -> SignedInUser:
    """The signed-in admin, for the top of an admin page."""
    user = current_user()
    if not user.is_admin:  # not registered for members; this guards a role changed meanwhile
        st.error("This page is for administrators.", icon=":material/block:")
        st.stop()
    return user


def recheck(user: SignedInUser) -> None:
    """For fragments, which rerun without the frame: if the account changed or may no longer use
    the app, rerun the whole app so that the frame decides again."""
    if not _IN_FRAME.get() and load_account(user.email) != user:
        st.rerun(scope="app")
