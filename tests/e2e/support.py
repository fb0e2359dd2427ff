"""What the end-to-end tests share: free ports, and driving the app in Debian's Chromium."""

from __future__ import annotations

import os
import socket
import time

import pytest

from energy_core.settings import get_settings

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 960}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settle(page) -> None:  # noqa: ANN001 - a Playwright Page
    """Wait until Streamlit has finished the run and the charts are drawn."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText"
        ".includes('Running')",
        timeout=60_000,
    )
    page.wait_for_timeout(1500)


def sign_in(page, url: str, email: str, password: str) -> None:  # noqa: ANN001
    page.goto(url)
    page.get_by_role("textbox", name="Email").fill(email)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # One press is enough, also as the first sign-in after a start (webapp/login_cookie.py).
    page.get_by_role("heading", name="Live").wait_for(timeout=60_000)
    # The cookie component stores the login cookie a moment after the page shows: a test that
    # opens an address next (a reload) must not outrun it, or it finds itself signed out.
    login_cookie(page.context)


def login_cookie(context) -> dict:  # noqa: ANN001 - a BrowserContext
    """The login cookie the sign-in stored in ``context``; fails after 30 s without one."""
    name = get_settings().cookie_name
    for _ in range(120):
        found = [c for c in context.cookies() if c["name"] == name]
        if found:
            return found[0]
        time.sleep(0.25)
    pytest.fail(f"no {name} cookie after signing in")
