"""What the end-to-end tests share: the real processes on free ports, and driving the app in
Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from energy_core.settings import get_settings
from tests.apptest import COOKIE_KEY

ROOT = Path(__file__).resolve().parents[2]

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
# How long a browser action waits for its element or page: Playwright's 30 s default is too short
# for a Streamlit server's first page while the suite runs on several processes at once.
BROWSER_WAIT_MS = 90_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(env: dict[str, str], *args: str) -> str:
    """The output of ``energy-monitor ARGS`` run in ``env``; fails the test when it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "energy_cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def user_with_a_device(env: dict[str, str], email: str, password: str, *device: str) -> str:
    """A user and a device (``device``: the options of ``devices add``) made through the CLI
    in ``env``: the device's ingest key."""
    cli(env, "users", "add", "--email", email, "--password", password)
    out = cli(env, "devices", "add", "--user", email, *device)
    return out.strip().splitlines()[-1]


@contextmanager
def running(args: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """A process started from the checkout with its output in ``log_path``, stopped afterwards."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_until(
    check: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    logs: list[Path],
    procs: tuple[subprocess.Popen, ...] = (),
) -> None:
    """Wait for ``check`` to hold (an HTTP error counts as not yet); fails with the logs' tails
    after ``timeout_s``, or as soon as one of ``procs`` has ended."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and all(proc.poll() is None for proc in procs):
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    ended = [proc.args[:4] for proc in procs if proc.poll() is not None]
    why = f"a process ended: {ended}" if ended else f"not within {timeout_s} s"
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)
    pytest.fail(f"{what} did not happen ({why})\n{tails}")


@contextmanager
def serving(
    command: str, env: dict[str, str], log_path: Path, health: str, port: int | None = None
) -> Iterator[str]:
    """``energy-monitor COMMAND`` on ``port`` (a free one by default) in ``env``: its address,
    once ``health`` (a path) answers 200."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "energy_cli", command, "--port", str(port)]
    with running(argv, env, log_path) as proc:
        wait_until(
            lambda: httpx.get(f"{url}{health}", timeout=2).status_code == 200,
            timeout_s=90,
            what=f"{command} answering {health}",
            logs=[log_path],
            procs=(proc,),
        )
        yield url


@contextmanager
def served_app(database_url: str, log_path: Path, **settings: str) -> Iterator[str]:
    """The app's real Streamlit server on ``database_url``, with the tests' cookie key and
    ``settings`` (``ENERGY_...`` variables): its address, once it answers."""
    env = {
        **os.environ,
        "ENERGY_DATABASE_URL": database_url,
        "ENERGY_COOKIE_KEY": COOKIE_KEY,
        **settings,
    }
    with serving("app", env, log_path, "/_stcore/health") as url:
        yield url


def new_context(browser, **options):  # noqa: ANN001, ANN201 - Playwright's Browser, BrowserContext
    """A fresh browser context (``options`` as Playwright's ``new_context``) whose actions and
    page loads wait up to ``BROWSER_WAIT_MS``."""
    context = browser.new_context(**options)
    context.set_default_timeout(BROWSER_WAIT_MS)
    context.set_default_navigation_timeout(BROWSER_WAIT_MS)
    return context


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


ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
README_SHOTS = ROOT / "docs" / "screenshots"


def screenshot(page, name: str, backend: str, viewport: dict = VIEWPORT) -> None:  # noqa: ANN001
    """The whole page at ``viewport``'s width into test-artifacts/screenshots/; with
    ``UPDATE_README_SCREENSHOTS=1`` the SQLite run also writes docs/screenshots/``name``.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{backend}-{name}.png"
    page.mouse.move(5, 5)  # no chart toolbar or tooltip left open by the pointer
    # Streamlit scrolls inside its main area, not the document: grow the window to the page.
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": max(height, viewport["height"])})
    settle(page)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(viewport)
    if backend == "sqlite" and os.environ.get("UPDATE_README_SCREENSHOTS") == "1":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, README_SHOTS / f"{name}.png")


def sign_in(page, url: str, email: str, password: str) -> None:  # noqa: ANN001
    page.goto(url)
    page.get_by_role("textbox", name="Email").fill(email)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # One press is enough, also as the first sign-in after a start (webapp/login_cookie.py).
    page.get_by_role("heading", name="Live").first.wait_for(timeout=60_000)
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
