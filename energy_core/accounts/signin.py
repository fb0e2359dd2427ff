"""Signing in: failed attempts and lockout, and the sessions a password change or sign-out ends."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from energy_core.accounts.users import get_user_by_email, require_user_id
from energy_core.models import User
from energy_core.types import utcnow

# The app's login form checks passwords; these rules around it live in the users table, so that a
# new browser session or another app process sees the same lock and the same session cut-off.

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


def login_locked_until(
    session: Session, *, email: str, now: datetime | None = None
) -> datetime | None:
    """Until when password sign-ins of ``email`` are refused, or None when they are allowed."""
    user = get_user_by_email(session, email=email)
    now = now or utcnow()
    if user is None or user.locked_until is None or user.locked_until <= now:
        return None
    return user.locked_until


def record_failed_login(
    session: Session, *, email: str, now: datetime | None = None
) -> datetime | None:
    """Count a wrong password for ``email``. The ``MAX_FAILED_LOGINS``-th in a row refuses password
    sign-ins for ``LOCKOUT`` and starts the count again; returns the end of that lock, else None.

    Unknown emails are not counted: there is no row, and making one would let anyone fill the
    table. Attempts while locked are refused before this is called, so they do not extend it.
    """
    now = now or utcnow()
    email = email.strip().lower()
    # Incremented in SQL: two wrong passwords at the same moment in two processes both count.
    # "fetch" keeps a User already loaded in this session in step with the row.
    failures = session.execute(
        update(User)
        .where(col(User.email) == email)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    if failures is None or failures < MAX_FAILED_LOGINS:
        return None
    until = now + LOCKOUT
    session.execute(
        update(User)
        .where(col(User.email) == email)
        .values(failed_logins=0, locked_until=until)
        .execution_options(synchronize_session="fetch")
    )
    return until


def record_successful_login(session: Session, *, user_id: int) -> None:
    session.execute(
        update(User)
        .where(
            col(User.id) == user_id,
            (User.failed_logins != 0) | (col(User.locked_until).is_not(None)),
        )
        .values(failed_logins=0, locked_until=None)
        .execution_options(synchronize_session="fetch")
    )


def unlock_user(session: Session, *, user_id: int) -> None:
    user = require_user_id(session, user_id=user_id)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)


def sign_in_is_current(user: User, *, signed_in_at: datetime) -> bool:
    """Whether a sign-in made at ``signed_in_at`` (a cookie's issue time) is still honoured."""
    return user.sessions_valid_after is None or signed_in_at >= user.sessions_valid_after
