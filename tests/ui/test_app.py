"""The analyst app through AppTest: sign-in, the Live page, and who sees what.

Every test that touches data runs on SQLite and on PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest
from streamlit_authenticator.utilities import Hasher

from energy_core import db as db_module
from energy_core.db import session_scope
from energy_core.models import Role, User
from energy_core.security import bcrypt_part, hash_password
from energy_core.settings import get_settings
from energy_core.stats import household_now, load_household
from tests.apptest import APP, COOKIE_KEY, REPO, live_devices_table, open_app, shown_text, sign_in
from tests.factories import PASSWORD, add_readings, make_device, make_user
from tests.ui.conftest import pinned_now
from webapp import auth, loaders
from webapp.warm_up import CHART_WARM_UP_KEY


def assert_signed_out(at: AppTest) -> None:
    """The run went through and shows the sign-in form, nothing else, to no one."""
    assert not at.exception
    assert [box.label for box in at.text_input] == ["Email", "Password"]
    assert not at.dataframe
    assert not at.metric
    assert auth.SESSION_KEY not in at.session_state


def assert_refused(at: AppTest) -> None:
    """Signed out, told only that the email or password is wrong (never which, or why)."""
    assert_signed_out(at)
    assert [error.value for error in at.error] == [auth.WRONG_CREDENTIALS]


def set_user(email: str, **changes) -> None:
    with session_scope() as session:
        user = session.exec(select(User).where(User.email == email)).one()
        for name, value in changes.items():
            setattr(user, name, value)
        session.add(user)


def test_the_sign_in_form_loads_the_chart_code_with_an_invisible_chart_of_no_data(app_env):
    with session_scope() as session:
        make_user(session, email="nina@example.com")
    at = open_app()
    assert_signed_out(at)
    # One chart of a constant point, out of sight: no figure of anyone before a sign-in.
    (warm_up,) = at.get("vega_lite_chart")
    shown = pa.ipc.open_stream(warm_up.proto.data.data).read_all().to_pandas()
    assert shown.to_dict("list") == {"x": [0.0]}
    css = "\n".join(html.proto.body for html in at.get("html"))
    assert f".st-key-{CHART_WARM_UP_KEY} " in css and "visibility: hidden" in css
    # Signed in (a household without devices draws no chart of its own), it is gone.
    at = sign_in(at, "nina@example.com")
    assert not at.exception and [title.value for title in at.title][-1] == "Live"
    assert not at.get("vega_lite_chart")


def test_anonymous_visitor_sees_only_the_sign_in_form(app_env):
    at = open_app()

    assert_signed_out(at)
    assert [button.label for button in at.button] == ["Sign in"]
    assert not at.sidebar.children


def test_member_signs_in_and_sees_their_devices_as_the_read_layer_computes_them(
    app_env, monkeypatch
):
    # The page and the check below read "today" at one instant, mid-day: a run that crosses
    # midnight must not compare one day's figure with the next's.
    now = pinned_now(datetime.now(UTC))
    monkeypatch.setattr(loaders, "now_utc", lambda: now)
    with session_scope() as session:
        user = make_user(session, email="mia@example.com", full_name="Mia Member")
        freezer = make_device(session, user=user, name="Garage freezer", location="Garage")
        add_readings(
            session,
            user=user,
            device=freezer,
            points=[(now - timedelta(minutes=m), 750.0) for m in range(6, 0, -1)],
        )

    at = sign_in(open_app(), "mia@example.com")

    assert not at.exception
    assert [title.value for title in at.title][-1] == "Live"
    with session_scope(read_only=True) as session:
        household = load_household(session, user_id=user.id)
        (status,) = household_now(session, household, now=now).devices
    row = live_devices_table(at).loc["Garage freezer"]
    assert status.online and status.power_w == 750.0
    assert row["Power now"] == "750 W"
    assert row["Room"] == "Garage"
    assert row["Status"] == "Online"
    # Six readings a minute apart, the last one held until now: six minutes at 750 W.
    assert status.today.consumption_wh == pytest.approx(750.0 * 6 / 60)
    assert row["Consumption today (kWh)"] == pytest.approx(status.today.consumption_wh / 1000)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Household now"] == "750 W"
    sidebar = shown_text(at)
    assert "Mia Member" in sidebar and "mia@example.com" in sidebar and "Member" in sidebar


def test_session_stays_signed_in_on_the_next_run(app_env):
    with session_scope() as session:
        user = make_user(session, email="sam@example.com")
        make_device(session, user=user, name="Study lamp")

    at = sign_in(open_app(), "sam@example.com").run()

    assert not at.exception
    assert not at.text_input
    assert "Study lamp" in live_devices_table(at).index


def test_wrong_password_does_not_sign_in(app_env):
    with session_scope() as session:
        make_user(session, email="wes@example.com")

    at = sign_in(open_app(), "wes@example.com", "not-the-password")

    assert_refused(at)


def test_deactivated_user_cannot_sign_in(app_env):
    with session_scope() as session:
        make_user(session, email="dee@example.com")
    set_user("dee@example.com", is_active=False)

    at = sign_in(open_app(), "dee@example.com")

    assert_refused(at)


def test_user_deactivated_while_signed_in_is_signed_out_at_the_next_run(app_env):
    with session_scope() as session:
        make_user(session, email="ada@example.com")
    at = sign_in(open_app(), "ada@example.com")
    assert auth.SESSION_KEY in at.session_state

    set_user("ada@example.com", is_active=False)
    at.run()

    assert_signed_out(at)
    assert auth.ACCOUNT_GONE in [notice.value for notice in at.info]


def test_role_comes_from_the_database_on_every_run(app_env):
    with session_scope() as session:
        make_user(session, email="rob@example.com")
    at = sign_in(open_app(), "rob@example.com")
    assert at.session_state[auth.SESSION_KEY].role == Role.member

    set_user("rob@example.com", role=Role.admin)
    at.run()

    assert not at.exception
    assert at.session_state[auth.SESSION_KEY].role == Role.admin
    assert "Admin" in shown_text(at)


def test_users_never_see_each_others_devices(app_env):
    with session_scope() as session:
        alice = make_user(session, email="alice@example.com")
        bob = make_user(session, email="bob@example.com")
        make_device(session, user=alice, device_id="freezer", name="Alice attic freezer")
        make_device(session, user=bob, device_id="freezer", name="Bob boiler pump")

    as_alice = sign_in(open_app(), "alice@example.com")
    as_bob = sign_in(open_app(), "bob@example.com")  # same process, same data caches

    assert not as_alice.exception and not as_bob.exception
    assert list(live_devices_table(as_alice).index) == ["Alice attic freezer"]
    assert list(live_devices_table(as_bob).index) == ["Bob boiler pump"]
    assert "Alice attic freezer" not in shown_text(as_bob)
    assert "Bob boiler pump" not in shown_text(as_alice.run())


def test_user_without_devices_is_told_how_to_register_one(app_env):
    with session_scope() as session:
        make_user(session, email="nia@example.com")

    at = sign_in(open_app(), "nia@example.com")

    assert not at.exception
    assert not at.dataframe
    (notice,) = at.info
    assert "No devices yet" in notice.value
    assert "Register a device" in shown_text(at)


def test_sign_out_ends_the_session(app_env):
    with session_scope() as session:
        make_user(session, email="otto@example.com")
    at = sign_in(open_app(), "otto@example.com")

    at.button(key="energy_sign_out").click().run()

    assert not at.exception
    assert not at.metric
    assert auth.SESSION_KEY not in at.session_state
    at.run()
    assert_signed_out(at)
    assert auth.SIGNED_OUT in [notice.value for notice in at.info]


def test_a_page_opened_by_address_without_signing_in_shows_the_sign_in_form(app_settings):
    """Streamlit's legacy ``pages/`` mode (AppTest's default here) runs a page file by itself;
    the page must still ask for a sign-in and show no data."""
    with session_scope() as session:
        user = make_user(session, email="eve@example.com")
        make_device(session, user=user, name="Eve private heater")
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.switch_page("pages/live.py").run()

    assert_signed_out(at)
    assert "Eve private heater" not in shown_text(at)


def test_demo_cookie_key_outside_demo_mode_stops_the_app(monkeypatch):
    monkeypatch.delenv("ENERGY_COOKIE_KEY", raising=False)
    monkeypatch.setenv("ENERGY_DEMO_MODE", "false")
    monkeypatch.chdir(REPO)
    get_settings.cache_clear()
    try:
        at = open_app()
    finally:
        get_settings.cache_clear()

    assert not at.exception
    assert not at.text_input
    (error,) = at.error
    assert "ENERGY_COOKIE_KEY" in error.value


def test_unreachable_database_is_explained_not_raised(monkeypatch, server_mode):
    monkeypatch.setenv("ENERGY_DATABASE_URL", "postgresql://energy@127.0.0.1:1/energy")
    monkeypatch.setenv("ENERGY_COOKIE_KEY", COOKIE_KEY)
    monkeypatch.chdir(REPO)
    get_settings.cache_clear()
    db_module.get_engine.cache_clear()
    try:
        at = open_app()
    finally:
        db_module.get_engine().dispose()
        db_module.get_engine.cache_clear()
        get_settings.cache_clear()

    assert not at.exception
    assert not at.text_input
    (error,) = at.error
    assert "ENERGY_DATABASE_URL" in error.value


def test_stored_password_hashes_reach_the_authenticator_as_bcrypt_hashes():
    # The authenticator must see our bcrypt hashes as hashes, never as passwords to hash again.
    assert Hasher.is_hash(bcrypt_part(hash_password(PASSWORD)))
