"""Under a time-of-use tariff with export and a standing charge, a known day (the clocks go
forward in London) costs the same by hand, on the History page and in its CSV, from the read
API's /summary and in the chat's cost tool; each device's cost too. SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from energy_core.accounts import require_device
from energy_core.chat.offline import OfflineAnalyst
from energy_core.chat.tools import ToolContext, run_tool
from energy_core.db import session_scope
from energy_core.models import KeyScope, User
from energy_core.rollup import rollup_dirty_hours
from energy_core.tariffs import set_tariff
from ingest_api.app import create_app
from tests.apptest import keep_downloads, open_app, sign_in
from tests.factories import PASSWORD, add_readings, make_key
from tests.tariffs.household import DST_DAY, NOW, TOU, seed
from webapp import loaders
from webapp.units import format_money

# 21 kWh bought (4.5 of them in Saturday night's cheap period, which runs to 05:30 BST on
# Sunday), 2 kWh exported at 0.15; the heater alone buys 23 kWh, solar alone exports 4 kWh.
HOUSEHOLD = 4.5 * 0.10 + 16.5 * 0.30 - 2 * 0.15
HEATER = 4.5 * 0.10 + 18.5 * 0.30
SOLAR = -4 * 0.15


@pytest.fixture
def household(app_env, engine, monkeypatch):
    """The household with its tariff, rolled up, then one late reading leaving an hour dirty (a
    zero that changes nothing, so the hand figures stand) as in life."""
    user_id, email = seed(engine)
    with session_scope() as s:
        set_tariff(s, user_id=user_id, document=TOU)
        key = make_key(s, user=s.get(User, user_id), scope=KeyScope.read).key
    rollup_dirty_hours(engine)
    with session_scope() as s:
        solar = require_device(s, user_id=user_id, device_id="solar")
        late = [(datetime(2026, 3, 29, 6, 5, tzinfo=UTC), 0.0)]
        add_readings(s, user=s.get(User, user_id), device=solar, points=late)
    monkeypatch.setattr(loaders, "now_utc", lambda: NOW.astimezone(UTC))
    return user_id, email, key


def test_the_page_its_csv_the_api_and_the_chat_cost_the_day_alike(household):
    user_id, email, key = household
    start = datetime(2026, 3, 29, tzinfo=NOW.tzinfo)
    end = start + timedelta(days=1)

    with TestClient(create_app()) as client:
        summary = client.get(
            "/api/v1/telemetry/summary",
            params={"start": start.isoformat(), "end": end.isoformat()},
            headers={"Authorization": f"Bearer {key}"},
        ).json()
    assert summary["cost"] == pytest.approx(HOUSEHOLD, abs=1e-9)
    rows = {row["device_id"]: row["cost"] for row in summary["devices"]}
    assert rows["heater"] == pytest.approx(HEATER) and rows["solar"] == pytest.approx(SOLAR)
    assert "£0.10/kWh sat 23:30-05:30" in summary["cost_rule"]
    assert "standing charge £0.60/day" in summary["cost_rule"]

    with session_scope(read_only=True) as s:
        ctx = ToolContext.load(s, user_id=user_id, now=NOW)
        sunday = {"start": "2026-03-29", "end": "2026-03-30"}
        for arguments in ({"period": "Sunday 29 March 2026"}, sunday):
            call = run_tool(ctx, "cost", arguments)
            assert call.error is None, call.error
            assert call.result["cost"] == pytest.approx(HOUSEHOLD, abs=1e-9), arguments
        devices = run_tool(ctx, "cost", {**sunday, "devices": ["heater"]})
        assert devices.result["cost"] == pytest.approx(HEATER)
        said = OfflineAnalyst().answer(ctx, "How much did Sunday 29 March 2026 cost?").text
        assert format_money(HOUSEHOLD, "GBP") in said, said
        said = OfflineAnalyst().answer(ctx, "What is my tariff?").text
        assert "£0.10/kWh sat 23:30-05:30" in said and "standing charge £0.60/day" in said, said

    with pytest.MonkeyPatch.context() as patch:
        downloads = keep_downloads(patch)
        at = sign_in(open_app(), email, PASSWORD)
        day = DST_DAY.isoformat()
        for name, value in {"range": "custom", "from": day, "to": day}.items():
            at.query_params[name] = value
        at = at.switch_page("pages/history.py").run()
    assert not at.exception, at.exception
    shown = {metric.label: metric.value for metric in at.metric}
    assert shown["Cost"] == format_money(HOUSEHOLD, "GBP")
    csv = pd.read_csv(io.BytesIO(downloads["h_x"]))
    together = csv[csv["device_id"].isna()].set_index("metric")["value"]
    assert together["cost"] == pytest.approx(HOUSEHOLD, abs=1e-9)
