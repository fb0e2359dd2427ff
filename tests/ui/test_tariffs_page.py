"""The Tariffs page: yesterday previewed under a new time-of-use plan against the tariff as
stored, the plan saved, the bill of the billing period and its projection by hand; a bad plan
explained and nothing stored; a member sees only their own household, an admin may choose."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from energy_core.db import session_scope
from energy_core.models import Role, TariffPrice
from energy_core.rollup import rollup_dirty_hours
from energy_core.tariff_alternatives import list_alternatives, save_alternative
from energy_core.tariffs import list_plans
from tests.apptest import open_app, shown_text, sign_in
from tests.factories import PASSWORD, add_readings, make_device, make_user
from webapp import loaders
from webapp.units import format_money

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=LONDON)  # a Wednesday; yesterday was a Tuesday
PLAN = {
    "currency": "GBP",
    "valid_from": "2026-06-01",
    "standing_charge_per_day": 0.5,
    "tax_percent": 10,
    "import": {
        "default": 0.30,
        "periods": [{"days": "mon-fri", "from": "00:30", "to": "05:30", "price": 0.10}],
    },
}
# Yesterday: a heater at 1 kW all day, 24 kWh. As stored: 24 x 0.25. Under the plan: 5 kWh at
# 0.10 (00:30-05:30) and 19 kWh at 0.30, plus 0.5 standing charge, plus 10 % tax.
AS_STORED = 24 * 0.25
UNDER_PLAN = (5 * 0.10 + 19 * 0.30 + 0.5) * 1.10


@pytest.fixture
def home(app_env, engine, monkeypatch) -> tuple[int, str]:
    monkeypatch.setattr(loaders, "now_utc", lambda: NOW.astimezone(UTC))
    with session_scope() as s:
        user = make_user(
            s,
            email="tess@example.com",
            timezone="Europe/London",
            price_per_kwh=0.25,
            currency="GBP",
        )
        make_user(s, email="boss@example.com", role=Role.admin)
        heater = make_device(s, user=user, device_id="heater", max_gap_s=1200)
        start = datetime(2026, 6, 8, 23, tzinfo=UTC)  # 9 June 00:00 BST
        add_readings(
            s,
            user=user,
            device=heater,
            points=[
                (start + timedelta(minutes=10 * i), 1000.0 if i < 6 * 24 else 0.0)
                for i in range(6 * 24 + 1)
            ],
        )
        user_id = user.id
    rollup_dirty_hours(engine)
    return user_id, "tess@example.com"


def tariffs_page(email: str):
    return sign_in(open_app(), email, PASSWORD).switch_page("pages/tariffs.py").run()


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_yesterday_is_previewed_then_the_plan_saved_and_billed(home):
    user_id, email = home
    at = tariffs_page(email)
    assert not at.exception and "Tariffs" in [t.value for t in at.title]
    assert "No tariff yet" in shown_text(at)
    assert not any(box.label == "Household" for box in at.selectbox)  # a member: own only

    at.text_area[0].input(json.dumps(PLAN))
    at = button(at, "Preview yesterday").click().run()
    assert not at.exception and not at.error
    shown = metrics(at)
    assert shown["Yesterday, as stored (9 Jun)"] == format_money(AS_STORED, "GBP")
    assert shown["Yesterday under the new tariff"] == format_money(UNDER_PLAN, "GBP")
    with session_scope(read_only=True) as s:
        assert list_plans(s, user_id=user_id) == []  # a preview stores nothing

    at = button(at, "Save tariff").click().run()
    assert not at.exception and not at.error
    assert "Saved the tariff valid from 2026-06-01." in shown_text(at)
    with session_scope(read_only=True) as s:
        assert [p["valid_from"] for p in list_plans(s, user_id=user_id)] == ["2026-06-01"]
    # The billing period is June: 10 days begun (standing charge each), yesterday's energy.
    energy = 5 * 0.10 + 19 * 0.30
    shown = metrics(at)
    assert shown["This period so far"] == format_money((energy + 10 * 0.5) * 1.1, "GBP")
    # Projection: 9 whole days so far cost `energy`; 30 days at that rate, 30 standing charges.
    projected = (energy / 9 * 30 + 30 * 0.5) * 1.1
    assert shown["Projected for the period"] == format_money(projected, "GBP")
    # May and June 2025 have no readings: no data, never a zero bill.
    assert shown["Last period"] == "No data"
    assert shown["Same days last year"] == "No data"
    assert "£0.10/kWh mon-fri 00:30-05:30" in shown_text(at)
    # The plans table writes the period's price as money too, not a bare 0.1.
    assert list(at.dataframe[0].value["Import periods"]) == ["£0.10/kWh mon-fri 00:30-05:30"]


def test_a_tiered_plan_is_previewed_by_hand_and_listed_with_its_tiers(home):
    user_id, email = home
    tiered = {
        **PLAN,
        "import": {
            "default": 0.30,
            "tiers": {"per": "day", "bands": [{"up_to_kwh": 10, "price": 0.10}]},
        },
    }
    at = tariffs_page(email)
    at.text_area[0].input(json.dumps(tiered))
    at = button(at, "Preview yesterday").click().run()
    assert not at.exception and not at.error
    # Yesterday's 24 kWh: the day's first 10 at 0.10, the other 14 at 0.30, standing charge, tax.
    assert metrics(at)["Yesterday under the new tariff"] == format_money(
        (10 * 0.10 + 14 * 0.30 + 0.5) * 1.10, "GBP"
    )
    at = button(at, "Save tariff").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["Import tiers"]) == ["£0.10/kWh up to 10 kWh a day, then £0.30/kWh"]
    assert "£0.10/kWh from 0 to 10 kWh, then £0.30/kWh, counted per day" in shown_text(at)


def assert_alternatives(at, user_id: int, said: str, kept: list[str]) -> None:
    """The page ran, said ``said``, and lists exactly ``kept`` (and so does the database)."""
    assert not at.exception and not at.error
    assert said in shown_text(at)
    assert f"Alternatives kept to compare with: {', '.join(kept)}." in shown_text(at)
    with session_scope(read_only=True) as s:
        assert [a.name for a in list_alternatives(s, user_id=user_id)] == kept


def test_the_edited_tariff_is_kept_as_an_alternative_without_pricing_anything(home):
    user_id, email = home
    at = tariffs_page(email)
    at.text_area[0].input(json.dumps(PLAN))
    at.text_input[0].input("Night saver")
    at = button(at, "Keep as alternative").click().run()
    assert_alternatives(at, user_id, "Kept the alternative tariff Night saver.", ["Night saver"])
    with session_scope(read_only=True) as s:
        assert list_plans(s, user_id=user_id) == []
    at.text_input[0].input("")
    at = button(at, "Keep as alternative").click().run()
    assert "needs a name" in " ".join(e.value for e in at.error)


def test_a_kept_alternative_is_deleted_after_confirmation(home):
    user_id, email = home
    with session_scope() as s:
        for name in ("Night saver", "Flat rate"):
            save_alternative(s, user_id=user_id, name=name, document=PLAN)
    at = tariffs_page(email)
    assert "Alternatives kept to compare with: Flat rate, Night saver." in shown_text(at)
    delete = button(at, "Delete alternative")
    assert delete.disabled  # not before the deletion is confirmed
    next(b for b in at.selectbox if b.label == "Alternative to delete").select("Night saver")
    at = at.run()
    next(c for c in at.checkbox if c.label == "Yes, delete the alternative Night saver").check()
    at = at.run()
    at = button(at, "Delete alternative").click().run()
    assert_alternatives(at, user_id, "Deleted the alternative tariff Night saver.", ["Flat rate"])


def test_a_bad_plan_is_explained_and_nothing_is_stored(home):
    user_id, email = home
    at = tariffs_page(email)
    at.text_area[0].input(json.dumps({**PLAN, "tax_percent": 150, "colour": "red"}))
    at = button(at, "Save tariff").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "tax_percent: must be between 0 and 100" in errors and "colour" in errors
    with session_scope(read_only=True) as s:
        assert list_plans(s, user_id=user_id) == []


def test_an_admin_may_edit_another_household(home):
    user_id, email = home
    at = tariffs_page("boss@example.com")
    household = next(box for box in at.selectbox if box.label == "Household")
    at = household.select(email).run()
    assert f"Costs of {email}" in shown_text(at)
    at.text_area[0].input(json.dumps(PLAN))
    at = button(at, "Save tariff").click().run()
    assert not at.exception and not at.error
    with session_scope(read_only=True) as s:
        assert len(list_plans(s, user_id=user_id)) == 1


def test_a_budget_is_set_and_its_progress_shown(home):
    user_id, email = home
    at = tariffs_page(email)
    at.number_input[0].set_value(20.0)
    at = next(b for b in at.button if b.label == "Save budget").click().run()
    assert not at.exception and not at.error
    text = shown_text(at)
    assert "Budget saved." in text
    # June so far at the flat 0.25: yesterday's 24 kWh, 6.00 of 20.00.
    assert "Budget £20.00 per billing period: 30% used" in text


def test_the_edited_tariff_is_compared_over_the_last_3_months(home):
    _, email = home
    at = tariffs_page(email)
    at.text_area[0].input(json.dumps(PLAN))
    at = button(at, "Compare the last 3 months").click().run()
    assert not at.exception and not at.error
    shown = metrics(at)
    # 10 March to 9 June (92 days): only 9 June has readings. As stored: the flat 0.25. The
    # edited plan as if it had held all along: that day's energy, 92 standing charges, tax.
    assert shown["10 Mar to 9 Jun, as stored"] == format_money(AS_STORED, "GBP")
    edited = (5 * 0.10 + 19 * 0.30 + 92 * 0.5) * 1.1
    assert shown["Under the edited tariff"] == format_money(edited, "GBP")
    saving = format_money(edited - AS_STORED, "GBP")
    assert f"The edited tariff would have cost {saving} more" in shown_text(at)


def test_dynamic_prices_are_uploaded(home):
    user_id, email = home
    at = tariffs_page(email)
    csv = b"valid_from,valid_to,value_inc_vat\n2026-06-09T00:00:00Z,2026-06-09T00:30:00Z,0.11\n"
    at.file_uploader[0].set_value(("agile.csv", csv, "text/csv")).run()
    at = button(at, "Store prices").click().run()
    assert not at.exception and not at.error
    assert "Stored 1 import prices." in shown_text(at)
    with session_scope(read_only=True, household=user_id) as s:
        stored = s.exec(select(TariffPrice.price).where(TariffPrice.user_id == user_id)).all()
    assert stored == [0.11]
