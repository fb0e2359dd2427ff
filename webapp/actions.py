"""Form submits: run one energy_core change in one transaction, turn the errors a user can act on
into messages, and carry a result (a new key, shown once) across the rerun that follows."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import streamlit as st
from pydantic import ValidationError
from sqlmodel import Session

from energy_core.accounts import (
    ConflictError,
    LastAdminError,
    NotFoundError,
    RegistrationClosedError,
    WrongPasswordError,
    revoke_api_key,
)
from webapp.loaders import DatabaseUnavailable, clear_figure_caches, write_session

log = logging.getLogger(__name__)

T = TypeVar("T")
FAILED: Any = object()
_FLASH = "energy_flash"
# Errors whose message is meant for the user (energy_core words them so).
USER_ERRORS = (
    ConflictError,
    LastAdminError,
    NotFoundError,
    RegistrationClosedError,
    WrongPasswordError,
    ValueError,
    PermissionError,
)


def _explain(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "value"
    return f"{where.replace('_', ' ').capitalize()}: {first.get('msg', 'is not valid')}."


def submit(change: Callable[[Session], T]) -> T:
    """Run ``change`` in one transaction. On a problem the user can fix (or an unreachable
    database) show it and return ``FAILED``; nothing of the change is stored then."""
    try:
        with write_session() as session:
            result = change(session)
    except DatabaseUnavailable as exc:
        st.error(str(exc), icon=":material/cloud_off:")
        return FAILED
    except ValidationError as exc:
        st.error(_explain(exc), icon=":material/error:")
        return FAILED
    except USER_ERRORS as exc:
        st.error(str(exc), icon=":material/error:")
        return FAILED
    clear_figure_caches()
    return result


@dataclass(frozen=True)
class Flash:
    """A message for the next run of a page, and optionally a secret to show that once."""

    page: str
    message: str
    secret: str | None = None
    secret_label: str = ""


def flash(page: str, message: str, *, secret: str | None = None, secret_label: str = "") -> None:
    st.session_state[_FLASH] = Flash(page, message, secret, secret_label)


def show_flash(page: str) -> None:
    """Show (and forget) the message left for ``page``: a secret is on screen for this run only."""
    pending = st.session_state.get(_FLASH)
    if pending is None or pending.page != page:
        return
    del st.session_state[_FLASH]
    with st.container(border=True):
        st.success(pending.message, icon=":material/check_circle:")
        if pending.secret:
            st.markdown(f"**{pending.secret_label or 'Your new key'}** — copy it now:")
            st.code(pending.secret, language=None, wrap_lines=True)
            st.caption(
                "Only a hash of it is stored: it cannot be shown again. Lost keys are rotated "
                "or revoked, never recovered."
            )


def revoke_key(page: str, *, user_id: int, key_id: int, label: str) -> None:
    """Revoke one of the user's API keys and say so on the page's next run; ``label`` is the key
    as ``live_key_labels`` shows it."""
    done = submit(lambda session: revoke_api_key(session, user_id=user_id, key_id=key_id))
    if done is not FAILED:
        flash(page, f"Revoked {label.split(' · ')[0]}; it no longer works.")
        st.rerun()
