"""What the Devices, Account and Users pages change, through AppTest on both backends: the rows
that end up in the database, keys shown once that really work, and the guards."""

from __future__ import annotations

import pytest
from sqlmodel import func, select
from streamlit.testing.v1 import AppTest

from energy_core.accounts import (
    describe_api_keys,
    get_device,
    get_user_by_email,
    issue_api_key,
    verify_api_key,
)
from energy_core.app_settings import get_registration_policy
from energy_core.db import session_scope
from energy_core.models import DirtyHour, HourlyAggregate, KeyScope, Reading, Role
from energy_core.settings import get_settings
from tests.apptest import open_app, sign_in
from tests.ui.conftest import MEMBER_DEVICES, Households
from tests.ui.test_pages import as_admin, as_member, show
from webapp.units import format_duration


def secrets_shown(at: AppTest) -> list[str]:
    """Keys and passwords on screen (the send-data snippets are code blocks too)."""
    return [block.value for block in at.code if not any(c.isspace() for c in block.value)]


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return at.run()


# --- devices -----------------------------------------------------------------------------------


def test_registering_a_device_shows_its_key_once_and_the_key_works(households):
    at = show(as_member(households), "pages/devices.py")
    at.text_input(key="new_device_id").input("garage-freezer")
    at.text_input(key="new_device_name").input("Garage freezer")
    at.text_input(key="new_device_room").input("Garage")
    at = click(at, "Register")

    assert not at.exception and not at.error
    (key,) = secrets_shown(at)
    with session_scope() as session:
        device = get_device(session, user_id=households.member_id, device_id="garage-freezer")
        principal = verify_api_key(session, key=key)
    assert device.name == "Garage freezer" and device.location == "Garage"
    assert principal.user_id == households.member_id and principal.device_pk == device.id
    assert secrets_shown(at.run()) == []  # shown once: gone at the next run


def test_a_device_id_taken_in_this_household_is_refused_with_a_message(households):
    at = show(as_member(households), "pages/devices.py")
    at.text_input(key="new_device_id").input("fridge-kitchen")
    at = click(at, "Register")

    assert not at.exception
    assert "already exists" in at.error[0].value


def test_editing_max_gap_saves_it_and_marks_the_devices_hours_for_the_rollup(households):
    at = show(as_member(households), "pages/devices.py")
    at.number_input(key="gap_fridge-kitchen").set_value(900)
    at = click(at, "Save changes")

    assert not at.exception and not at.error
    with session_scope(read_only=True) as session:
        device = get_device(session, user_id=households.member_id, device_id="fridge-kitchen")
        marked = session.exec(
            select(func.count()).select_from(DirtyHour).where(DirtyHour.device_pk == device.id)
        ).one()
    assert device.max_gap_s == 900
    assert marked > 0


def test_the_max_gap_fields_say_what_their_0_means(households):
    at = show(as_member(households), "pages/devices.py")

    default = format_duration(get_settings().max_gap_s)
    for key in ("new_device_gap", "gap_fridge-kitchen"):
        # A bare "Max gap (s)" at 0 beside a table that says "10 min (default)".
        assert f"0: the default, {default}" in at.number_input(key=key).label


def test_deactivating_and_reactivating_a_device(households):
    at = show(as_member(households), "pages/devices.py")
    at = click(at, "Deactivate")
    with session_scope(read_only=True) as session:
        assert not get_device(
            session, user_id=households.member_id, device_id="fridge-kitchen"
        ).is_active

    at = click(at, "Reactivate")

    assert not at.exception
    with session_scope(read_only=True) as session:
        assert get_device(
            session, user_id=households.member_id, device_id="fridge-kitchen"
        ).is_active


def test_deleting_a_device_needs_its_id_typed_and_removes_its_data(households):
    at = show(as_member(households), "pages/devices.py")
    delete = next(b for b in at.button if b.label == "Delete device and its data")
    assert delete.disabled

    at.text_input(key="confirm_fridge-kitchen").input("fridge-kitchen").run()
    at = click(at, "Delete device and its data")

    assert not at.exception
    assert any("Deleted fridge-kitchen" in s.value for s in at.success)
    with session_scope(read_only=True) as session:
        assert get_device(session, user_id=households.member_id, device_id="fridge-kitchen") is None
        left = session.exec(
            select(func.count()).select_from(Reading).where(Reading.user_id == households.member_id)
        ).one()
        admins_fridge = get_device(session, user_id=households.admin_id, device_id="fridge-kitchen")
    assert left > 0  # the heat pump's readings stay
    assert admins_fridge is not None  # same id, other household: untouched


def test_rotating_a_key_revokes_it_and_shows_a_working_replacement(households):
    with session_scope() as session:
        old = issue_api_key(
            session,
            user_id=households.member_id,
            scope=KeyScope.ingest,
            device_id="fridge-kitchen",
            name="fridge ingest",
        ).key
    at = show(as_member(households), "pages/devices.py")
    at = click(at, "Rotate")

    assert not at.exception and not at.error
    (new,) = secrets_shown(at)
    with session_scope(read_only=True) as session:
        assert verify_api_key(session, key=old) is None
        assert verify_api_key(session, key=new).user_id == households.member_id


@pytest.mark.parametrize(
    ("path", "scope", "device_id"),
    [
        ("pages/devices.py", KeyScope.ingest, "fridge-kitchen"),
        ("pages/account.py", KeyScope.read, None),
    ],
)
def test_revoking_a_key_stops_it_and_says_so(households, path, scope, device_id):
    """A device's ingest key on the Devices page, a read key on the Account page."""
    with session_scope() as session:
        issued = issue_api_key(
            session, user_id=households.member_id, scope=scope, device_id=device_id
        )
    at = show(as_member(households), path)
    at = click(at, "Revoke")

    assert not at.exception and not at.error
    assert f"Revoked {issued.prefix}_…; it no longer works." in [s.value for s in at.success]
    with session_scope(read_only=True) as session:
        assert verify_api_key(session, key=issued.key) is None


def test_send_data_snippets_carry_the_device_id_and_the_api_address(households):
    at = show(as_member(households), "pages/devices.py")

    snippets = [block.value for block in at.code]
    assert any('"device_id": "fridge-kitchen"' in s and "/api/v1/telemetry" in s for s in snippets)
    assert any(s.startswith("export ENERGY_API_KEY") for s in snippets)


# --- account -----------------------------------------------------------------------------------


def test_saving_the_profile_changes_timezone_price_and_currency(households):
    at = show(as_member(households), "pages/account.py")
    next(b for b in at.selectbox if b.label == "Timezone").set_value("America/New_York")
    next(n for n in at.number_input if n.label == "Price per kWh").set_value(0.1234)
    next(b for b in at.selectbox if b.label == "Currency").set_value("USD")
    at = click(at, "Save profile")

    assert not at.exception and not at.error
    with session_scope(read_only=True) as session:
        user = get_user_by_email(session, email=households.member_email)
    assert (user.timezone, user.price_per_kwh, user.currency) == ("America/New_York", 0.1234, "USD")
    assert at.session_state["energy_signed_in_user"].timezone == "America/New_York"


def test_export_all_my_data_offers_the_households_zip(households):
    at = show(as_member(households), "pages/account.py")
    at = click(at, "Export all my data")

    assert not at.exception and not at.error
    (download,) = at.get("download_button")
    assert download.proto.label == "Download the zip"
    with session_scope(read_only=True) as session:
        readings, hours = (
            session.exec(
                select(func.count()).select_from(table).where(table.user_id == households.member_id)
            ).one()
            for table in (Reading, HourlyAggregate)
        )
    assert readings > 0 and hours > 0
    assert at.caption[-1].value == (
        f"{len(MEMBER_DEVICES)} devices, {readings:,} readings, {hours:,} hourly figures, "
        "0 chat messages."
    )


def test_issuing_a_read_key_shows_it_once(households):
    at = show(as_member(households), "pages/account.py")
    next(t for t in at.text_input if t.label == "Name of the new read key").input("Grafana")
    at = click(at, "Issue read key")

    (key,) = secrets_shown(at)
    with session_scope(read_only=True) as session:
        principal = verify_api_key(session, key=key)
        listed = describe_api_keys(session, user_id=households.member_id)
    assert principal.scope == KeyScope.read
    assert [k.name for k in listed] == ["Grafana"]
    assert key not in str(listed)


# --- administration ----------------------------------------------------------------------------


def test_admin_creates_a_user_whose_temporary_password_works(households):
    at = show(as_admin(households), "pages/admin_users.py")
    at.text_input(key="new_user_email").input("new.member@example.com")
    at.text_input(key="new_user_name").input("New Member")
    at = click(at, "Create user")

    assert not at.exception and not at.error
    (password,) = secrets_shown(at)
    newcomer = sign_in(open_app(), "new.member@example.com", password)
    assert "energy_signed_in_user" in newcomer.session_state
    assert newcomer.session_state["energy_signed_in_user"].role == Role.member


def test_admin_cannot_remove_their_own_admin_role(households):
    at = show(as_admin(households), "pages/admin_users.py")
    next(r for r in at.radio if r.key.startswith("role_")).set_value(Role.member).run()
    at = click(at, "Save role")

    assert "your own admin role" in at.error[0].value
    with session_scope(read_only=True) as session:
        assert get_user_by_email(session, email=households.admin_email).role == Role.admin


def test_admin_deactivates_a_member_who_is_then_signed_out(households: Households):
    member = as_member(households)
    at = show(as_admin(households), "pages/admin_users.py")
    next(s for s in at.selectbox if s.label == "User").set_value(households.member_id).run()
    at = click(at, "Deactivate")

    assert not at.exception and not at.error
    member.run()
    assert "energy_signed_in_user" not in member.session_state


def test_admin_resets_a_password_ending_the_members_sessions(households):
    member = as_member(households)
    at = show(as_admin(households), "pages/admin_users.py")
    next(s for s in at.selectbox if s.label == "User").set_value(households.member_id).run()
    at = click(at, "Reset password")

    (password,) = secrets_shown(at)
    member.run()
    assert "energy_signed_in_user" not in member.session_state
    again = sign_in(open_app(), households.member_email, password)
    assert "energy_signed_in_user" in again.session_state


def test_admin_opens_self_registration_for_a_domain(households):
    at = show(as_admin(households), "pages/admin_users.py")
    next(t for t in at.toggle if "Visitors may create" in t.label).set_value(True)
    next(t for t in at.text_input if t.label.startswith("Only for email domains")).input(
        "@Example.org, example.net"
    )
    at = click(at, "Save")

    assert not at.exception and not at.error
    with session_scope(read_only=True) as session:
        policy = get_registration_policy(session)
    assert policy.enabled and policy.domains == ("example.org", "example.net")
