"""The Tariffs page in a real browser, on a desktop and a phone: the demo household under a
time-of-use tariff with export and a standing charge, its bill and budget, and yesterday
previewed under another plan. Screenshots go to ``test-artifacts/screenshots/``; with
``UPDATE_README_SCREENSHOTS=1`` the SQLite run also writes ``docs/screenshots/tariffs*.png``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from energy_core.accounts import get_user_by_email
from energy_core.db import session_scope
from energy_core.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo_household
from energy_core.rollup import rollup_dirty_hours
from energy_core.tariffs import set_budget, set_tariff
from tests.e2e.support import VIEWPORT, new_context, screenshot, served_app, settle, sign_in
from tests.factories import time_of_use

PHONE = {"width": 390, "height": 844}
# The time-of-use tariff the page is shown with, with a standing charge and tax.
PLAN = {
    **time_of_use(
        valid_from="2020-01-01", default=0.28, cheap=("all", "00:30", "05:30", 0.09), export=0.15
    ),
    "standing_charge_per_day": 0.6,
    "tax_percent": 5,
}

pytestmark = pytest.mark.e2e


@pytest.fixture
def tariff_app(engine, app_settings, tmp_path) -> Iterator[str]:
    """Ten days of the demo household under a time-of-use tariff, served by Streamlit."""
    with session_scope() as session:
        seed_demo_household(session, now=datetime.now(UTC), days=10, step_s=300)
        user = get_user_by_email(session, email=DEMO_EMAIL)
        set_tariff(session, user_id=user.id, document=PLAN)
        set_budget(session, user_id=user.id, amount=60.0)
    rollup_dirty_hours(engine)
    url = engine.url.render_as_string(hide_password=False)
    with served_app(url, tmp_path / "app.log") as address:
        yield address


def test_the_tariffs_page_bills_and_previews_in_a_browser(tariff_app, browser, database_url):
    """On a laptop's screen and a phone's, in a fresh browser each, from the one server (seeding
    and serving the household cost more than the page's visits)."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    for name, viewport in (("tariffs", VIEWPORT), ("tariffs-phone", PHONE)):
        context = new_context(browser, viewport=viewport, timezone_id="UTC")
        page = context.new_page()
        sign_in(page, tariff_app, DEMO_EMAIL, DEMO_PASSWORD)
        page.goto(f"{tariff_app}/tariffs")
        page.get_by_role("heading", name="Tariffs", exact=True).first.wait_for(timeout=60_000)
        page.get_by_text("This period so far").first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Preview yesterday").click()
        page.get_by_text("Yesterday under the new tariff").first.wait_for(timeout=60_000)
        settle(page)
        assert not page.locator('[data-testid="stException"]').count(), name
        assert page.get_by_text("£0.09/kWh every day 00:30-05:30").count(), name
        screenshot(page, name, backend, viewport)
        context.close()
