"""The account rules of energy_core.accounts that the app enforces: lockout, session cut-off,
passwords, profile checks, the last admin, self-registration, device and key upkeep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from energy_core import rollup
from energy_core.accounts import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    LastAdminError,
    RegistrationClosedError,
    WrongPasswordError,
    change_password,
    delete_device,
    end_sessions,
    get_user_by_email,
    issue_api_key,
    login_locked_until,
    record_failed_login,
    record_successful_login,
    register_user,
    reset_password,
    rotate_api_key,
    set_user_active,
    set_user_role,
    sign_in_is_current,
    update_device,
    update_profile,
    verify_api_key,
)
from energy_core.app_settings import (
    get_registration_policy,
    parse_domains,
    set_registration_policy,
)
from energy_core.db import session_scope
from energy_core.models import DeviceUpdate, DirtyHour, HourlyAggregate, KeyScope, Reading, Role
from energy_core.rollup import rollup_dirty_hours
from energy_core.security import WeakPasswordError, verify_password
from tests.factories import PASSWORD, add_readings, make_device, make_user

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def test_the_fifth_wrong_password_in_a_row_locks_for_fifteen_minutes(engine):
    with session_scope() as session:
        make_user(session, email="ola@example.com")
        results = [
            record_failed_login(session, email="OLA@example.com ", now=NOW)
            for _ in range(MAX_FAILED_LOGINS)
        ]
        locked = login_locked_until(session, email="ola@example.com", now=NOW)
        later = login_locked_until(session, email="ola@example.com", now=NOW + LOCKOUT)

    assert results == [None] * (MAX_FAILED_LOGINS - 1) + [NOW + LOCKOUT]
    assert locked == NOW + LOCKOUT
    assert later is None


def test_a_right_password_clears_the_count(engine):
    with session_scope() as session:
        user = make_user(session, email="ola@example.com")
        for _ in range(MAX_FAILED_LOGINS - 1):
            record_failed_login(session, email=user.email, now=NOW)
        record_successful_login(session, user_id=user.id)
        result = record_failed_login(session, email=user.email, now=NOW)
        session.refresh(user)

    assert result is None and user.failed_logins == 1


def test_unknown_emails_are_not_counted(engine):
    with session_scope() as session:
        assert record_failed_login(session, email="ghost@example.com", now=NOW) is None
        assert get_user_by_email(session, email="ghost@example.com") is None


def test_ending_sessions_invalidates_earlier_sign_ins_and_never_moves_back(engine):
    with session_scope() as session:
        user = make_user(session)
        end_sessions(session, user_id=user.id, at=NOW)
        kept = end_sessions(session, user_id=user.id, at=NOW - timedelta(hours=1))

        assert kept == NOW
        assert not sign_in_is_current(user, signed_in_at=NOW - timedelta(seconds=1))
        assert sign_in_is_current(user, signed_in_at=NOW)


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(engine):
    with session_scope() as session:
        user = make_user(session)
        with pytest.raises(WrongPasswordError):
            change_password(
                session, user_id=user.id, current_password="nope", new_password="x" * 12
            )
        with pytest.raises(WeakPasswordError):
            change_password(session, user_id=user.id, current_password=PASSWORD, new_password="x")
        with pytest.raises(WeakPasswordError, match="space"):
            change_password(
                session, user_id=user.id, current_password=PASSWORD, new_password=" padded pass "
            )
        with pytest.raises(WeakPasswordError, match="same"):
            change_password(
                session, user_id=user.id, current_password=PASSWORD, new_password=PASSWORD
            )
        cut_off = change_password(
            session,
            user_id=user.id,
            current_password=PASSWORD,
            new_password="another-good-one",
            now=NOW,
        )

        assert cut_off == NOW == user.sessions_valid_after
        assert verify_password("another-good-one", user.password_hash)


def test_an_admin_reset_lifts_a_lock(engine):
    with session_scope() as session:
        user = make_user(session)
        for _ in range(MAX_FAILED_LOGINS):
            record_failed_login(session, email=user.email, now=NOW)
        reset_password(session, user_id=user.id, new_password="temporary-123", now=NOW)
        session.flush()
        session.refresh(user)

        assert user.locked_until is None and user.failed_logins == 0
        assert user.sessions_valid_after == NOW


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"price_per_kwh": -0.1}, "price"),
        ({"price_per_kwh": float("nan")}, "price"),
        ({"currency": "euro"}, "currency"),
    ],
)
def test_profile_values_are_checked(engine, changes, message):
    profile = {"full_name": "A", "timezone": "UTC", "price_per_kwh": 0.3, "currency": "EUR"}
    with session_scope() as session:
        user = make_user(session)
        with pytest.raises(ValueError, match=message):
            update_profile(session, user_id=user.id, **(profile | changes))


def test_the_last_active_admin_stays_an_admin(engine):
    with session_scope() as session:
        boss = make_user(session, role=Role.admin)
        other = make_user(session, role=Role.admin)
        with pytest.raises(LastAdminError, match="your own"):
            set_user_role(session, user_id=boss.id, role=Role.member, acting_user_id=boss.id)
        set_user_role(session, user_id=other.id, role=Role.member, acting_user_id=boss.id)
        with pytest.raises(LastAdminError, match="only active admin"):
            set_user_role(session, user_id=boss.id, role=Role.member)
        with pytest.raises(LastAdminError, match="only active admin"):
            set_user_active(session, user_id=boss.id, is_active=False)


def test_self_registration_follows_the_policy(engine):
    with session_scope() as session:
        assert not get_registration_policy(session).enabled
        with pytest.raises(RegistrationClosedError, match="turned off"):
            register_user(session, email="a@example.org", password="long-enough-1")
        set_registration_policy(session, enabled=True, domains=parse_domains("@Example.org"))
        with pytest.raises(RegistrationClosedError, match="example.org"):
            register_user(session, email="a@example.com", password="long-enough-1")
        user = register_user(session, email="A@Example.org", password="long-enough-1")

    assert (user.email, user.role) == ("a@example.org", Role.member)


def test_domains_that_are_not_domains_are_refused():
    assert parse_domains("a.org, b.net\nc.io;a.org") == ("a.org", "b.net", "c.io")
    with pytest.raises(ValueError, match="not an email domain"):
        parse_domains("example")


def test_deleting_a_device_removes_its_data_and_keys_and_nothing_else(engine):
    points = [(NOW + timedelta(minutes=m), 100.0) for m in range(0, 180, 5)]
    with session_scope() as session:
        alice, bob = make_user(session), make_user(session)
        for user in (alice, bob):
            device = make_device(session, user=user, device_id="plug")
            add_readings(session, user=user, device=device, points=points)
        key = issue_api_key(session, user_id=alice.id, scope=KeyScope.ingest, device_id="plug")
    rollup_dirty_hours(engine)
    with session_scope() as session:
        deleted = delete_device(session, user_id=alice.id, device_id="plug")
        left = {
            table.__tablename__: session.exec(
                select(func.count()).select_from(table).where(table.user_id == alice.id)
            ).one()
            for table in (Reading, HourlyAggregate, DirtyHour)
        }
        bobs = session.exec(
            select(func.count()).select_from(Reading).where(Reading.user_id == bob.id)
        ).one()
        assert verify_api_key(session, key=key.key) is None

    assert (deleted.readings, deleted.keys) == (len(points), 1)
    assert deleted.hours >= 3
    assert left == {"readings": 0, "hourly_aggregates": 0, "dirty_hours": 0}
    assert bobs == len(points)


def test_a_new_max_gap_marks_the_device_for_recomputation(engine, monkeypatch):
    # The marking leaves hours past the retention horizon alone, judged by rollup's clock: pin it
    # beside the reading, whatever the date the suite runs on.
    monkeypatch.setattr(rollup, "utcnow", lambda: NOW + timedelta(hours=1))
    with session_scope() as session:
        user = make_user(session)
        plug = make_device(session, user=user, device_id="plug")
        add_readings(session, user=user, device=plug, points=[(NOW, 50.0)])
    rollup_dirty_hours(engine)
    with session_scope() as session:
        update_device(
            session, user_id=user.id, device_id="plug", changes=DeviceUpdate(max_gap_s=1200)
        )
        marked = session.exec(select(func.count()).select_from(DirtyHour)).one()
        device = update_device(
            session, user_id=user.id, device_id="plug", changes=DeviceUpdate(max_gap_s=None)
        )

    assert marked >= 1
    assert device.max_gap_s is None  # explicitly None: back to the default


def test_rotating_a_key_keeps_its_name_scope_and_device(engine):
    with session_scope() as session:
        user = make_user(session)
        device = make_device(session, user=user, device_id="plug")
        old = issue_api_key(
            session, user_id=user.id, scope=KeyScope.ingest, device_id="plug", name="plug key"
        )
        new = rotate_api_key(session, user_id=user.id, key_id=old.id)
        principal = verify_api_key(session, key=new.key)

        assert verify_api_key(session, key=old.key) is None
        assert principal.device_pk == device.id and principal.scope == KeyScope.ingest
        with pytest.raises(ValueError, match="revoked already"):
            rotate_api_key(session, user_id=user.id, key_id=old.id)
