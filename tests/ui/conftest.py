"""Fixtures of the page tests: two households on one database, the app's clock pinned.

The admin is the demo household (seven devices, 15 days of five-minute readings, rolled up); the
member, Mia, has two devices of her own, one with the same device id as one of the admin's and
one with a two-hour hole in its readings. Readings end two hours before the pinned "now", so
every figure is fixed while a test runs. The pinned "now" is the latest 12:05 UTC, so "today" holds
ten hours of readings in both households' timezones whatever the hour the suite runs at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import delete
from streamlit.testing.v1 import AppTest

from energy_core.app_settings import AppSetting
from energy_core.db import session_scope
from energy_core.demo import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DemoDevice,
    iter_demo_readings,
    seed_demo_household,
)
from energy_core.ingest import record_readings
from energy_core.rollup import rollup_dirty_hours
from tests.apptest import open_app, sign_in
from tests.factories import PASSWORD, make_device, make_user
from webapp import loaders

SEED_DAYS = 15
MEMBER_EMAIL = "mia@example.com"
MEMBER_DEVICES = (
    # Same device id as the admin's fridge: ids are unique per household, not globally.
    DemoDevice("fridge-kitchen", "Mia cellar fridge", "fridge", "Cellar"),
    DemoDevice("mia-heatpump", "Mia heat pump", "heat_pump", "Garage"),
)
# Mia's heat pump sends nothing for two hours, five days before the end of the seed.
HOLE_HOURS = (5 * 24 + 2, 5 * 24)


def pinned_now(real_now: datetime) -> datetime:
    """The latest 12:05 UTC at or before `real_now`: mid-day in London and Berlin alike."""
    noon = real_now.replace(hour=12, minute=5, second=0, microsecond=0)
    return noon if noon <= real_now else noon - timedelta(days=1)


@dataclass(frozen=True)
class Households:
    admin_id: int
    member_id: int
    admin_email: str
    admin_password: str
    member_email: str
    member_password: str
    seed_end: datetime
    now: datetime
    hole: tuple[datetime, datetime]


@pytest.fixture
def app_env(app_env, engine):
    """As the shared fixture, and without admin settings left from another test (the PostgreSQL
    test database is reused between tests)."""
    with session_scope() as session:
        session.exec(delete(AppSetting))
    return app_env


@pytest.fixture
def households(app_env, engine, monkeypatch) -> Households:
    now = pinned_now(datetime.now(UTC))
    seed_end = now - timedelta(hours=2)
    hole = (seed_end - timedelta(hours=HOLE_HOURS[0]), seed_end - timedelta(hours=HOLE_HOURS[1]))
    with session_scope() as session:
        demo = seed_demo_household(session, now=seed_end, days=SEED_DAYS, step_s=300)
        mia = make_user(
            session,
            email=MEMBER_EMAIL,
            full_name="Mia Member",
            timezone="Europe/Berlin",
            price_per_kwh=0.40,
            currency="EUR",
        )
        for spec in MEMBER_DEVICES:
            make_device(
                session,
                user=mia,
                device_id=spec.device_id,
                name=spec.name,
                type=spec.type,
                location=spec.location,
            )
        readings = [
            r
            for r in iter_demo_readings(
                end_at=seed_end, days=SEED_DAYS, step_s=300, devices=MEMBER_DEVICES
            )
            if not (r.device_id == "mia-heatpump" and hole[0] <= r.ts < hole[1])
        ]
        record_readings(
            session, user_id=mia.id, readings=readings, now=seed_end, enforce_window=False
        )
        member_id = mia.id
    rollup_dirty_hours(engine)
    monkeypatch.setattr(loaders, "now_utc", lambda: now)
    return Households(
        admin_id=demo.user_id,
        member_id=member_id,
        admin_email=DEMO_EMAIL,
        admin_password=DEMO_PASSWORD,
        member_email=MEMBER_EMAIL,
        member_password=PASSWORD,
        seed_end=seed_end,
        now=now,
        hole=hole,
    )


# --- driving the pages -------------------------------------------------------------------------


def as_admin(h: Households) -> AppTest:
    return sign_in(open_app(), h.admin_email, h.admin_password)


def as_member(h: Households) -> AppTest:
    return sign_in(open_app(), h.member_email, h.member_password)


def show(at: AppTest, path: str, **query: str) -> AppTest:
    """Open ``path`` with ``query`` in the page address."""
    for name, value in query.items():
        at.query_params[name] = value
    return at.switch_page(path).run()


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}
