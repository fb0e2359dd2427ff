"""The login cookie in the browser: written and deleted by streamlit-authenticator through
extra-streamlit-components' cookie component, read by the library from ``st.context.cookies``.

Two changes to how the library drives that component:

- **No cookie-reading component.** ``CookieManager()``, which the library builds with every
  authenticator (every run), at once renders the component's "getAll" call. The library never
  reads its value, but once the component has loaded in a new page it reports the browser's
  cookies, and that report reruns the app. When it arrives while the run of a pressed "Sign in"
  is under way (typically the first page after a start, while the component's files are still
  cold), Streamlit stops that run at its next element and starts one in which the button was not
  pressed: a button's press is not carried into a rerun that interrupts its run. The sign-in is
  lost and the form comes back. ``CookieWriter`` renders the component only to set or delete.
- **Secure over HTTPS.** The component sets the cookie from the page (``document.cookie``), so
  it cannot be HttpOnly; over HTTPS it is at least marked Secure, so the browser never sends it
  over plain HTTP.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import extra_streamlit_components as stx
import streamlit as st
from streamlit_authenticator.models import cookie_model


def served_over_https() -> bool:
    """Whether the browser shows this app at an ``https://`` address (directly or through a
    proxy that terminates TLS)."""
    return (st.context.url or "").lower().startswith("https://")


class CookieWriter(stx.CookieManager):
    """``stx.CookieManager`` without its cookie-reading component (see the module docstring)."""

    def __init__(self, key: str = "init"):  # noqa: ARG002 - the library's signature
        # The component function CookieManager.__init__ takes from its own module; the parent's
        # __init__ is not called because rendering "getAll" is all it does besides.
        self.cookie_manager = sys.modules[stx.CookieManager.__module__]._component_func
        self.cookies = dict(st.context.cookies)

    def set(self, cookie, val, *args, **kwargs):  # noqa: ANN001, ANN201 - the library's signature
        if served_over_https():
            kwargs.setdefault("secure", True)
        return super().set(cookie, val, *args, **kwargs)


def use_cookie_writer() -> None:
    """Make streamlit-authenticator build ``CookieWriter``s (its cookie model looks the class up
    as ``stx.CookieManager`` in its own module)."""
    cookie_model.stx = SimpleNamespace(CookieManager=CookieWriter)
