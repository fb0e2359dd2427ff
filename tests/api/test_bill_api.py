"""``GET /api/v1/bill`` with a read key: the billing period so far, its projection, the last
period and the budget, worked out by hand for the time-of-use household of tests/tariffs (the
same figures as ``energy-monitor tariffs bill``), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from energy_core.db import session_scope
from energy_core.models import KeyScope, User
from energy_core.settings import get_settings
from energy_core.tariffs import set_budget, set_tariff
from tests.api.support import assert_error, auth
from tests.factories import make_key, make_user
from tests.tariffs.household import NOW, TOU, seed


@pytest.fixture
def keys(engine, monkeypatch) -> dict[str, str]:
    user_id, _ = seed(engine)
    with session_scope(engine) as s:
        set_tariff(s, user_id=user_id, document=TOU)
        set_budget(s, user_id=user_id, amount=10.0)
        user = s.get(User, user_id)
        other = make_user(s, currency="EUR", price_per_kwh=0.3)
        keys = {
            "read": make_key(s, user=user, scope=KeyScope.read).key,
            "ingest": make_key(s, user=user).key,
            "other": make_key(s, user=other, scope=KeyScope.read).key,
        }
    monkeypatch.setenv("ENERGY_NOW", NOW.isoformat())
    get_settings.cache_clear()
    yield keys
    get_settings.cache_clear()


def test_the_bill_so_far_its_projection_and_the_budget_by_hand(make_app, keys):
    with TestClient(make_app()) as client:
        r = client.get("/api/v1/bill", headers=auth(keys["read"]))
    assert r.status_code == 200, r.text
    bill = r.json()
    assert bill["currency"] == "GBP"
    # 2 April, noon: April so far has no readings, two standing charges and 5 % tax on them.
    assert bill["current"] == {
        "first_day": "2026-04-01",
        "last_day": "2026-04-30",
        "days": 30,
        "days_so_far": 2,
        "energy": 0.0,
        "standing_charge": pytest.approx(1.2),
        "tax": pytest.approx(0.06),
        "total": pytest.approx(1.26),
        "has_readings": False,
    }
    # One whole day so far cost only its standing charge: 30 of them, plus tax.
    assert bill["projected_total"] == pytest.approx(30 * 0.6 * 1.05)
    assert bill["projection_method"].startswith("the average energy cost per day")
    # March: 25 kWh before the tariff at the flat 0.25; 29 March by hand (4.5 kWh at 0.10,
    # 16.5 at 0.30, 2 exported at 0.15); 20 minutes of heating into 30 March at 0.30; three
    # standing charges; 5 % tax from 29 March on.
    assert bill["last"]["first_day"] == "2026-03-01"
    assert bill["last"]["total"] == pytest.approx(25 * 0.25 + (5.10 + 0.1 + 3 * 0.6) * 1.05)
    assert bill["same_days_last_year"]["first_day"] == "2025-04-01"
    assert bill["same_days_last_year"]["total"] == 0
    assert bill["budget"] == 10
    assert bill["budget_used"] == pytest.approx(1.26 / 10)
    assert bill["budget_verdict"] == "on course to exceed the budget"


def test_each_household_sees_its_own_bill_and_an_ingest_key_none(make_app, keys):
    with TestClient(make_app()) as client:
        theirs = client.get("/api/v1/bill", headers=auth(keys["other"]))
        refused = client.get("/api/v1/bill", headers=auth(keys["ingest"]))
        anonymous = client.get("/api/v1/bill")
    assert theirs.status_code == 200, theirs.text
    other = theirs.json()
    assert other["currency"] == "EUR" and other["current"]["total"] == 0
    assert other["budget"] is None and other["budget_verdict"] is None
    assert_error(refused, 403)
    assert_error(anonymous, 401)
