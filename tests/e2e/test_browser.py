"""End to end in a real browser: Debian's Chromium drives the real Streamlit server
(``python -m energy_cli app``) on a seeded database.

It signs in, opens every page, downloads a CSV and checks its rows against energy_core, checks that
a login cookie works in a fresh browser and stops working once its user signs out, and saves a
screenshot of every page to ``test-artifacts/screenshots/``. With ``UPDATE_README_SCREENSHOTS=1``
the SQLite run also rewrites the README's screenshots in ``docs/screenshots/``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import func, select

from energy_core import db as db_module
from energy_core.accounts import get_user_by_email, issue_api_key
from energy_core.db import session_scope
from energy_core.demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_TIMEZONE, seed_demo_household
from energy_core.models import KeyScope, Reading
from energy_core.rollup import rollup_dirty_hours
from energy_core.settings import get_settings
from energy_core.stats import instant_period, load_household, read_series
from tests.apptest import open_app as apptest_open
from tests.apptest import sign_in as apptest_sign_in
from tests.databases import (
    as_app_role,
    code_under_test_on,
    postgres_copy,
    scratch_postgres_database,
)
from tests.e2e.support import (
    ARTIFACTS,
    VIEWPORT,
    free_port,
    login_cookie,
    new_context,
    screenshot,
    served_app,
    serving,
    settle,
    sign_in,
)
from tests.factories import PASSWORD, make_device, make_user

# Page title in the navigation -> screenshot name; "overview" is the one the README shows first.
PAGES = {
    "Live": "overview",
    "History": "history",
    "Device": "device",
    "Devices": "devices",
    "Account": "account",
    "Users": "admin-users",
    "System status": "admin-status",
}
DEMO_DAYS = 30
# A chart drawn: Vega's marks (a canvas or an SVG) inside a Streamlit chart. The sign-in form's
# chart is out of sight (it only loads the chart code) and never counts: waits are for visible
# ones.
FIRST_CHART = '[data-testid="stVegaLiteChart"] .marks'
MEMBER_EMAIL = "mia@example.com"

pytestmark = pytest.mark.e2e


def seed_demo(url: str) -> None:
    """The demo household (30 days of minute readings up to now, rolled up) and a member."""
    with code_under_test_on(url):
        engine = db_module.get_engine()
        with session_scope(engine) as session:
            seed_demo_household(session, now=datetime.now(UTC), days=DEMO_DAYS, step_s=60)
            member = make_user(session, email=MEMBER_EMAIL, full_name="Mia Member")
            make_device(session, user=member, device_id="mia-lamp", name="Mia desk lamp")
        rollup_dirty_hours(engine)


# Seeding 30 days of minute readings takes far longer than copying a database: they are seeded
# once per module and backend, and each test that serves them gets a copy of its own.


@pytest.fixture(scope="module")
def seeded_sqlite(sqlite_template, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("seeded") / "demo.db"
    shutil.copy(sqlite_template, path)
    seed_demo(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="module")
def seeded_postgresql() -> Iterator[str]:
    with scratch_postgres_database("energy_e2e_seeded") as url:
        seed_demo(url)
        yield url


@pytest.fixture
def database_url(database_url, request) -> Iterator[str]:
    """As the shared fixture; for a test of the served demo household, a copy of it."""
    if "seeded_app" not in request.fixturenames:
        yield database_url
    elif database_url.startswith("sqlite"):
        shutil.copy(request.getfixturevalue("seeded_sqlite"), make_url(database_url).database)
        yield database_url
    else:
        with postgres_copy(request.getfixturevalue("seeded_postgresql"), "energy_e2e") as url:
            yield url


@pytest.fixture
def seeded_app(engine, app_settings, tmp_path) -> Iterator[str]:
    """The demo household (see ``seed_demo``) served by the real Streamlit server; yields its
    address. On PostgreSQL the server connects as the application's role, as in production, so
    row-level security holds every page."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        url = as_app_role(url)
    with served_app(url, tmp_path / "app.log", ENERGY_LOG_LEVEL="INFO") as address:
        yield address


def shown_page(page, title: str) -> None:  # noqa: ANN001
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=60_000)
    settle(page)


def opens_signed_in(browser, url: str, cookie: dict) -> bool:  # noqa: ANN001
    """Whether a fresh browser holding only ``cookie`` gets past the sign-in form."""
    context = new_context(browser, viewport=VIEWPORT)
    try:
        context.add_cookies([cookie])
        page = context.new_page()
        page.goto(url)
        live = page.get_by_role("heading", name="Live")
        form = page.get_by_role("button", name="Sign in")
        try:
            live.or_(form).first.wait_for(timeout=60_000)
        except Exception:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "cookie-check-failed.png"))
            raise
        settle(page)
        return live.is_visible()
    finally:
        context.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_analyst_signs_in_opens_every_page_downloads_csv_and_signs_out(
    seeded_app, browser, database_url, tmp_path, capsys, record_property
):
    """In the browser on SQLite (whose run makes the README's screenshots). On PostgreSQL, as
    the application's role, the same is proved without a browser: every page opens as the admin
    and as a member (tests/ui/test_pages.py), the "Energy by device" CSV holds the readings'
    figures (tests/consistency/test_page_agrees.py), a login cookie signs in until its user signs
    out (tests/ui/test_sign_in_rules.py); and the member and chat browser tests below run there."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    context = new_context(browser, viewport=VIEWPORT, accept_downloads=True, timezone_id="UTC")
    page = context.new_page()
    page.goto(seeded_app)
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    settle(page)
    screenshot(page, "sign-in", backend)
    # A fresh tab signs in; how long the Live page's first chart takes from the press of
    # "Sign in" is printed, not asserted (speed is a bench figure, not a test's).
    page.get_by_role("textbox", name="Email").fill(DEMO_EMAIL)
    page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
    pressed = time.perf_counter()
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Live").first.wait_for(timeout=60_000)
    page.locator(FIRST_CHART).first.wait_for(state="visible", timeout=60_000)
    first_chart_s = time.perf_counter() - pressed
    measured = (
        f"{first_chart_s:.2f} s on {backend}, the server's first sign-in; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    # In the run's summary (tests/conftest.py) and the JUnit report, and at once with -s.
    record_property("live_first_chart_s", measured)
    with capsys.disabled():
        print(f"\n[{backend}] Live page's first chart drawn {measured} (goal: within 2 s)")
    login_cookie(context)
    settle(page)
    # Its tile (a rerun may show a second copy for a moment).
    page.locator('a[href*="device=fridge-kitchen"]').first.wait_for(timeout=60_000)
    screenshot(page, PAGES["Live"], backend)

    # A tile's "Details" opens the Device page on that device.
    page.locator('a[href*="device=heat-pump"]').click()
    page.get_by_role("heading", name="Device", exact=True).first.wait_for(timeout=60_000)
    page.get_by_role("heading", name="Heat pump").first.wait_for(timeout=60_000)
    settle(page)
    screenshot(page, PAGES["Device"], backend)

    for title, name in list(PAGES.items())[1:]:
        if title != "Device":
            shown_page(page, title)
            if title == "Devices":
                page.get_by_role("tab", name="Send data").click()
                page.wait_for_timeout(500)
            screenshot(page, name, backend)
        assert not page.locator('[data-testid="stException"]').count(), f"{title} raised"

    # The CSV under "Energy by device" holds exactly the series energy_core computes.
    shown_page(page, "History")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="CSV").first.click()
    target = tmp_path / "energy.csv"
    download_info.value.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    # Compare whole past days only: today's figure grows while the test runs, and a run that
    # crosses midnight must not compare yesterday's download with today's range.
    today = f"{datetime.now(ZoneInfo(DEMO_TIMEZONE)):%Y-%m-%d}"
    days = sorted({row["period_start"][:10] for row in rows})
    past_days = [day for day in days[:-1] if day < today]
    assert len(rows) == 7 * len(days) and len(past_days) >= 5
    first = datetime.fromisoformat(rows[0]["period_start"]).replace(hour=0, minute=0)
    with session_scope(read_only=True) as session:
        household = load_household(session, user_id=get_user_by_email(session, email=DEMO_EMAIL).id)
        period = instant_period(first, datetime.now(UTC), timezone=household.timezone)
        expected = list(read_series(session, household.select(period, granularity="day")).rows())
    by_key = {
        (r["device_id"], r["period_start"][:10]): float(r["consumption_wh"] or 0) for r in rows
    }
    compared = 0
    for figure in expected:
        day = f"{figure.start:%Y-%m-%d}"
        if day in past_days:
            assert by_key[(figure.device_id, day)] == pytest.approx(
                figure.consumption_wh or 0.0, rel=1e-6
            )
            compared += 1
    assert compared == 7 * len(past_days)

    # A login cookie signs a fresh browser in, until its user signs out.
    cookie = login_cookie(context)
    assert opens_signed_in(browser, seeded_app, cookie)
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    assert not opens_signed_in(browser, seeded_app, cookie)
    context.close()


PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
# Texts that CSS cuts short with an ellipsis ("On…" for "Online"): scrolled wider than shown.
CUT_TEXTS = """() => [...document.querySelectorAll('[data-testid="stMain"] *')]
    .filter(e => getComputedStyle(e).textOverflow === 'ellipsis'
        && e.scrollWidth > e.clientWidth + 1)
    .map(e => e.textContent.trim()).filter(text => text)"""


def opened(page, url: str, heading: str) -> None:  # noqa: ANN001 - a Playwright Page
    """``url`` typed into the address bar (signed in by the login cookie), once drawn."""
    page.goto(url)
    page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=60_000)
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=60_000)
    settle(page)


def figures_a_line(page) -> list[int]:  # noqa: ANN001 - a Playwright Page
    """How many figures stand on each line of the page, top to bottom."""
    tops = [round(box["y"]) for box in boxes(page.locator('[data-testid="stMetric"]'))]
    return [tops.count(top) for top in sorted(set(tops))]


def boxes(locator) -> list[dict]:  # noqa: ANN001 - a Playwright Locator
    return [locator.nth(n).bounding_box() for n in range(locator.count())]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_a_phone_every_page_shows_its_first_figures_above_the_fold_and_nothing_is_cut(
    seeded_app, browser, database_url
):
    """On PostgreSQL: where figures and tiles stand is the browser's layout of the same pages,
    whatever the backend. On SQLite the same pages open without an error and show the read
    layer's figures (tests/ui/test_pages.py and, for Tariffs, tests/ui/test_tariffs_page.py), and
    the analyst's and the tariffs' browser tests open them in Chromium there."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    context = new_context(browser, viewport=PHONE, timezone_id="UTC")
    page = context.new_page()
    sign_in(page, seeded_app, DEMO_EMAIL, DEMO_PASSWORD)
    chart = page.locator(FIRST_CHART).first
    chart.wait_for(state="visible", timeout=60_000)
    page.locator('a[href*="device="]').first.wait_for(timeout=60_000)
    settle(page)
    # The figures wrap two a line: the chart starts on the first screen, most of it on it.
    box = chart.bounding_box()
    assert box["y"] < PHONE["height"] and box["y"] + box["height"] / 2 < PHONE["height"], box
    # Every device of the chart is named, and every name fits the screen's width.
    entries = page.locator('[aria-label="Devices in the chart"] [role="listitem"]')
    assert entries.count() >= 2
    for entry in boxes(entries):
        assert entry["x"] >= 0 and entry["x"] + entry["width"] <= PHONE["width"], entry
    # Device tiles two a line: the first two tiles' links side by side.
    first, second = boxes(page.locator('a[href*="device="]'))[:2]
    assert abs(first["y"] - second["y"]) < 4 and second["x"] > first["x"] + 100, (first, second)
    assert page.evaluate(CUT_TEXTS) == []
    screenshot(page, "overview-phone", backend, PHONE)

    # History's four filters take two lines (they took four), its figures make a compact grid
    # three a line, and the compared periods and the cost rule are said under the first chart:
    # the chart starts on the first screen (it started near 1,090 px, below all of them).
    opened(page, f"{seeded_app}/history", "History")
    labels = page.locator('[data-testid="stWidgetLabel"]')
    filters = [labels.filter(has_text=name).first for name in ("Range", "Granularity", "Rooms")]
    filters.append(labels.filter(has_text="Devices").first)
    assert len({round(f.bounding_box()["y"]) for f in filters}) == 2
    box = page.locator(FIRST_CHART).first.bounding_box()
    assert box["y"] < PHONE["height"], box
    for figure in boxes(page.locator('[data-testid="stMetric"]')):
        assert figure["y"] + figure["height"] <= PHONE["height"], figure
    assert figures_a_line(page)[:2] == [3, 2]
    assert page.evaluate(CUT_TEXTS) == []
    screenshot(page, "history-phone", backend, PHONE)

    # Every page's figures two a line: the Device page had three on one (duty cycle, coverage,
    # gaps), the bill and the system's status one a line.
    for url, heading in (
        (f"{seeded_app}/device?device=heat-pump", "Device"),
        (f"{seeded_app}/tariffs", "Tariffs"),
        (f"{seeded_app}/admin-status", "System status"),
    ):
        opened(page, url, heading)
        lines = figures_a_line(page)
        assert lines[0] == 2 and max(lines) == 2, (heading, lines)
        assert page.evaluate(CUT_TEXTS) == [], heading

    # On a laptop, four device tiles a line: each tile shows its status whole (it was cut to
    # "On…"), and the last line's tiles have the width of the first's.
    page.set_viewport_size(LAPTOP)
    opened(page, seeded_app, "Live")
    page.locator('a[href*="device="]').first.wait_for(timeout=60_000)
    assert page.evaluate(CUT_TEXTS) == []
    links = boxes(page.locator('a[href*="device="]'))
    tops = sorted({round(link["y"]) for link in links})
    assert len(tops) == 2, tops
    columns = [round(link["x"]) for link in links if round(link["y"]) == tops[0]]
    last = [round(link["x"]) for link in links if round(link["y"]) == tops[1]]
    assert len(columns) == 4 and 0 < len(last) <= 4, links
    assert all(abs(x - c) <= 2 for x, c in zip(last, columns[: len(last)], strict=True)), links
    # History on a laptop: the five figures on one line and the first chart whole on the first
    # screen (the compared periods and the cost rule are under it).
    opened(page, f"{seeded_app}/history", "History")
    assert figures_a_line(page) == [5]
    box = page.locator(FIRST_CHART).first.bounding_box()
    assert box["y"] + box["height"] <= LAPTOP["height"], box
    assert page.evaluate(CUT_TEXTS) == []
    context.close()


def test_a_member_reaches_no_admin_page_even_by_address(seeded_app, browser):
    context = new_context(browser, viewport=VIEWPORT)
    page = context.new_page()
    sign_in(page, seeded_app, MEMBER_EMAIL, PASSWORD)
    settle(page)
    assert page.get_by_text("Mia desk lamp").first.is_visible()
    nav = page.locator('[data-testid="stSidebarNav"]')
    assert not nav.get_by_role("link", name="Users", exact=True).count()

    page.goto(f"{seeded_app}/admin-users")
    # The default page instead.
    page.get_by_role("heading", name="Live").first.wait_for(timeout=60_000)
    settle(page)

    assert not page.get_by_role("heading", name="Users", exact=True).count()
    assert "demo@example.com" not in page.inner_text("body")
    context.close()


def test_the_send_data_snippets_post_readings_through_the_real_api(app_env, engine, tmp_path):
    """The curl and Python snippets of the Devices page, copied as they are (key pasted in),
    store a reading each through a running ingest API."""
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    os.environ["ENERGY_PUBLIC_API_URL"] = api
    get_settings.cache_clear()
    try:
        with session_scope() as session:
            user = make_user(session, email="sam@example.com")
            make_device(session, user=user, device_id="sam-plug", name="Sam plug")
            key = issue_api_key(
                session, user_id=user.id, scope=KeyScope.ingest, device_id="sam-plug"
            ).key
        at = apptest_sign_in(apptest_open(), "sam@example.com")
        at.switch_page("pages/devices.py").run()
        curl, python = (block.value for block in at.code)
    finally:
        del os.environ["ENERGY_PUBLIC_API_URL"]
        get_settings.cache_clear()
    env = {**os.environ, "ENERGY_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    log_path = tmp_path / "api.log"
    with serving("api", env, log_path, "/health", port=port):
        if shutil.which("curl"):
            out = subprocess.run(
                ["bash", "-c", curl.replace('"emk_..."', f'"{key}"')],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert json.loads(out.stdout) == {"accepted": 1, "duplicates": 0}, out.stderr
            time.sleep(1.1)  # the next reading gets its own second
        namespace: dict = {}
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(python.replace('"emk_..."', f'"{key}"'), namespace)  # noqa: S102 - our snippet
        assert "'accepted': 1" in printed.getvalue()
    with session_scope(read_only=True) as session:
        stored = session.exec(select(func.count()).select_from(Reading)).one()
    assert stored == (2 if shutil.which("curl") else 1)


def test_the_chat_page_answers_in_the_browser_with_its_evidence(seeded_app, browser, database_url):
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    context = new_context(browser, viewport=VIEWPORT, timezone_id="UTC")
    page = context.new_page()
    sign_in(page, seeded_app, DEMO_EMAIL, DEMO_PASSWORD)
    shown_page(page, "Chat")
    page.get_by_role("textbox").last.fill("How much did the heat pump use yesterday?")
    page.keyboard.press("Enter")
    answer = page.locator('[data-testid="stChatMessage"]').last
    answer.get_by_text("Answered by the offline analyst").wait_for(timeout=60_000)
    settle(page)
    assert "kWh" in answer.inner_text()
    answer.get_by_text("How I got this").click()
    answer.get_by_text("energy_usage").first.wait_for(timeout=10_000)
    assert not page.locator('[data-testid="stException"]').count()
    # The chat page keeps its input pinned to the bottom of the window: a window-sized shot.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{backend}-chat.png"))
    context.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_page_address_works_typed_bookmarked_and_before_signing_in(seeded_app, browser):
    """A bookmarked History view opened while signed out shows the sign-in form (no "Page not
    found"), then that view with its filters; /live, typed, is the Live page.

    On PostgreSQL: addresses are Streamlit's routing, the same on both backends. On SQLite a page
    opened by address without signing in shows the sign-in form (tests/ui/test_app.py), History
    opens on the filters of its address (tests/consistency/test_page_agrees.py) and a login
    cookie signs in (tests/ui/test_sign_in_rules.py)."""
    context = new_context(browser, viewport=VIEWPORT)
    page = context.new_page()
    # The first page a fresh server serves goes through Streamlit's legacy pages/ mode (see the
    # frame), which drops the address; this test is about every later visit.
    page.goto(seeded_app)
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    settle(page)
    page.goto(f"{seeded_app}/history?range=last_month")
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    settle(page)
    assert "Page not found" not in page.inner_text("body")
    assert page.url.endswith("/history?range=last_month")
    page.get_by_role("textbox", name="Email").fill(DEMO_EMAIL)
    page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # The login cookie's rerun may show a second copy of the page for a moment.
    page.get_by_role("heading", name="History", exact=True).first.wait_for(timeout=60_000)
    # The heading comes before the filters on a busy machine: wait for the range shown.
    page.get_by_text("Last month").first.wait_for()
    settle(page)
    assert "Last month" in page.inner_text("body")
    assert "range=last_month" in page.url

    # A typed address is a new page load, signed in by the login cookie: the page stores it just
    # after the sign-in, which on a busy machine can come after the History view is drawn.
    login_cookie(context)
    page.goto(f"{seeded_app}/live")
    page.get_by_role("heading", name="Live", exact=True).first.wait_for(timeout=60_000)
    settle(page)
    assert "Page not found" not in page.inner_text("body")

    # The login cookie was stored by that sign-in: a reload of the root stays signed in.
    page.goto(seeded_app)
    page.get_by_role("heading", name="Live", exact=True).first.wait_for(timeout=60_000)
    settle(page)
    nav = page.locator('[data-testid="stSidebarNav"]')
    assert nav.get_by_role("link", name="Live").count() == 1  # the /live alias is not listed
    context.close()
