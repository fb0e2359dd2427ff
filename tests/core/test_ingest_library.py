"""The ingest library below the HTTP API: parsing the JSON contract, the column-wise fast path and
what ``record_reading_columns`` stores, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import delete, func, select

from energy_core.db import session_scope
from energy_core.ingest import (
    IngestRejected,
    InvalidBody,
    ReadingColumns,
    ReadingIn,
    _register_devices,
    decode_json_body,
    parse_readings_columns,
    record_reading_columns,
    record_readings,
    timestamp_us,
)
from energy_core.models import Device, DirtyHour, Reading
from energy_core.reading_json import _fast_columns, _slow_columns
from energy_core.rollup import rollup_dirty_hours
from energy_core.types import to_epoch_us, utcnow
from tests.factories import make_device, make_user
from tests.strategies import database_examples

# --- timestamps and bodies -----------------------------------------------------------------------


def test_timestamps_are_canonicalised_to_utc_microseconds():
    at = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    us = to_epoch_us(at)
    assert timestamp_us("2026-05-01T12:00:00.123456Z") == us
    assert timestamp_us("2026-05-01T14:00:00.123456+02:00") == us
    assert timestamp_us("2026-05-01T12:00:00.1234567Z") == us  # beyond µs is cut
    assert timestamp_us(" 2026-05-01T12:00:00.123456Z ") == us
    assert timestamp_us(at.timestamp()) == us
    assert timestamp_us(1777636800) == 1777636800 * 1_000_000


@pytest.mark.parametrize(
    "value",
    [
        "2026-05-01T12:00:00",
        "2026-05-01",
        "",
        "now",
        "2026-05-01T12:00:00+24:00",
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:01Z",
        1e15,
        1777636800000,
        -1,
        math.nan,
        math.inf,
        True,
        None,
        [1],
        {"at": 1},
        "x" * 65,
    ],
)
def test_values_that_are_no_timestamp_say_why(value):
    why = timestamp_us(value)
    assert isinstance(why, str) and why


def test_json_that_orjson_refuses_for_non_finite_numbers_is_decoded_to_report_them():
    assert math.isnan(decode_json_body(b'{"a": NaN}')["a"])
    assert decode_json_body(b"[1e400, -Infinity]") == [math.inf, -math.inf]


@pytest.mark.parametrize(
    "body", [b"{", b"\xff{}", b"[" * 50_000, b'{"a": 1} {"b": 2}', b"1" * 5_000]
)
def test_bodies_that_are_no_json_raise_invalid_body(body):
    with pytest.raises(InvalidBody):
        decode_json_body(body)


# --- the column-wise fast path agrees with the per-reading parser --------------------------------


def _mostly(valid, invalid):
    """``valid`` nine times in ten, so that whole batches are often acceptable."""
    return st.integers(0, 9).flatmap(lambda k: valid if k else invalid)


_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 1e400, 2**53, 2**53 + 1, 1777636800, 1777636800.5]),
)
_timestamps = _mostly(
    st.one_of(
        st.integers(min_value=946_684_800, max_value=4_102_444_800),
        st.floats(min_value=946_684_800, max_value=4_102_444_800),
        st.datetimes(
            min_value=datetime(2000, 1, 2),
            max_value=datetime(2099, 12, 30),
            timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
        ).map(lambda d: d.isoformat()),
        st.sampled_from(["2026-05-01T12:00:00Z", "2026-05-01T12:00:00.5+02:00"]),
    ),
    st.one_of(
        _numbers,
        st.sampled_from(["2026-05-01T12:00:00", "1999-01-01T00:00:00Z", "garbage", ""]),
        st.text(max_size=30),
        st.booleans(),
        st.none(),
    ),
)
_device_ids = _mostly(
    st.sampled_from(["fridge", "solar", "d" * 128, "Küche ☀"]),
    st.one_of(
        st.sampled_from(["", " ", "a\x00b", "\ud800", "d" * 129]),
        st.text(max_size=10),
        st.integers(),
        st.none(),
    ),
)
_values = _mostly(
    st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**60), 2**60)),
    st.one_of(_numbers, st.text(max_size=5), st.booleans(), st.none(), st.just([1])),
)


@st.composite
def _items(draw):
    item = {}
    if draw(st.integers(0, 9)):
        item["device_id"] = draw(_device_ids)
    if draw(st.integers(0, 19)):
        item["timestamp"] = draw(_timestamps)
    choice = draw(st.integers(0, 19))
    if choice < 14:
        item["energy_watts"] = draw(_values)
    elif choice < 19:
        item["power_w"] = draw(_values)
    if draw(st.integers(0, 29)) == 0:
        item[draw(st.sampled_from(["user_id", "owner_id", "power_w", "x"]))] = draw(_values)
    return item if draw(st.integers(0, 49)) else draw(_values)


@settings(max_examples=600, deadline=None)
@given(st.lists(_items(), min_size=1, max_size=6))
def test_fast_columns_accept_exactly_what_the_per_reading_parser_accepts(items):
    fast = _fast_columns(items)
    try:
        slow = _slow_columns(items, single=False)
    except IngestRejected:
        slow = None
    if fast is not None:
        assert slow == fast
    if slow is not None:
        assert parse_readings_columns({"readings": items}, batch=True, max_readings=10) == slow
    else:
        with pytest.raises(IngestRejected):
            parse_readings_columns({"readings": items}, batch=True, max_readings=10)


# --- storing -------------------------------------------------------------------------------------


@pytest.fixture
def home(engine):
    with session_scope(engine) as s:
        user = make_user(s)
        make_device(s, user=user, device_id="fridge")
        make_device(s, user=user, device_id="solar", bidirectional=True)
        make_device(s, user=user, device_id="slow", max_gap_s=3 * 3600)
        return user.id


def columns(*rows: tuple[str | None, datetime, float]) -> ReadingColumns:
    return ReadingColumns(
        [d for d, _, _ in rows], [to_epoch_us(t) for _, t, _ in rows], [p for _, _, p in rows]
    )


def test_repeats_within_a_batch_and_across_batches_are_stored_once_with_the_first_value(
    engine, home
):
    at = utcnow() - timedelta(minutes=5)
    with session_scope(engine) as s:
        result = record_reading_columns(
            s,
            user_id=home,
            columns=columns(("fridge", at, 1.0), ("fridge", at, 2.0), ("solar", at, -3.0)),
        )
    assert (result.accepted, result.duplicates) == (2, 1)
    with session_scope(engine) as s:
        again = record_reading_columns(
            s, user_id=home, columns=columns(("fridge", at, 9.0), ("solar", at, 9.0))
        )
    assert (again.accepted, again.duplicates) == (0, 2)
    with session_scope(engine, read_only=True) as s:
        assert sorted(s.exec(select(Reading.power_w)).all()) == [-3.0, 1.0]


def test_a_batch_meeting_stored_readings_in_the_middle_stores_each_new_one_once(engine, home):
    """A batch's rows go in by device and instant: on PostgreSQL its plain insert has stored
    some rows when it meets the stored one and fails; the statement that skips stored readings
    then stores them again from the savepoint, once, with their marks and last-seen times: the
    solar's (it had none); on PostgreSQL not the fridge's, whose newest reading is only a minute
    past the stored one (``LAST_SEEN_STEP_S``), until the rollup sets it."""
    base = utcnow().replace(minute=30, second=0, microsecond=0) - timedelta(hours=5)
    with session_scope(engine) as s:
        record_reading_columns(
            s, user_id=home, columns=columns(("fridge", base + timedelta(minutes=2), 2.0))
        )
    with session_scope(engine) as s:
        s.exec(delete(DirtyHour))
    with session_scope(engine) as s:
        result = record_reading_columns(
            s,
            user_id=home,
            columns=columns(
                *(("fridge", base + timedelta(minutes=m), 10.0 + m) for m in range(4)),
                ("solar", base, -1.0),
            ),
        )
    assert (result.accepted, result.duplicates) == (4, 1)
    with session_scope(engine, read_only=True) as s:
        stored = s.exec(
            select(Device.device_id, Reading.ts, Reading.power_w)
            .join(Device, Device.id == Reading.device_pk)
            .order_by(Device.device_id, Reading.ts)
        ).all()
        marks = s.exec(
            select(Device.device_id, DirtyHour.hour_start).join(
                Device, Device.id == DirtyHour.device_pk
            )
        ).all()
        seen = dict(s.exec(select(Device.device_id, Device.last_seen_at)).all())
    assert stored == [
        ("fridge", base, 10.0),
        ("fridge", base + timedelta(minutes=1), 11.0),
        ("fridge", base + timedelta(minutes=2), 2.0),
        ("fridge", base + timedelta(minutes=3), 13.0),
        ("solar", base, -1.0),
    ]
    hour = base.replace(minute=0)
    assert sorted(marks) == [("fridge", hour), ("solar", hour)]
    stepped = engine.dialect.name == "postgresql"
    assert (seen["fridge"], seen["solar"]) == (base + timedelta(minutes=2 if stepped else 3), base)
    rollup_dirty_hours(engine)
    with session_scope(engine, read_only=True) as s:
        seen = dict(s.exec(select(Device.device_id, Device.last_seen_at)).all())
    assert (seen["fridge"], seen["solar"]) == (base + timedelta(minutes=3), base)


def test_batches_written_in_one_transaction_are_each_stored_and_counted(engine, home):
    """As a history import writes its chunks: the first meets a stored reading (on PostgreSQL it
    goes back to its savepoint), the transaction goes on with more batches, new and repeated,
    and commits them all."""
    base = utcnow().replace(microsecond=0) - timedelta(hours=3)
    # A minute and a half apart: each new reading moves the last-seen time (LAST_SEEN_STEP_S).
    at = [base + timedelta(seconds=90 * i) for i in range(6)]
    with session_scope(engine) as s:
        record_reading_columns(s, user_id=home, columns=columns(("fridge", at[0], 1.0)))
    counts = []
    with session_scope(engine) as s:
        for batch in (
            [("fridge", at[0], 9.0), ("fridge", at[1], 2.0)],
            [("fridge", at[2], 3.0), ("fridge", at[3], 4.0)],
            [("fridge", at[3], 9.0), ("fridge", at[4], 5.0)],
            [("fridge", at[4], 9.0)],
            [("fridge", at[5], 6.0)],
        ):
            result = record_reading_columns(s, user_id=home, columns=columns(*batch))
            counts.append((result.accepted, result.duplicates))
    assert counts == [(1, 1), (2, 0), (1, 1), (0, 1), (1, 0)]
    with session_scope(engine, read_only=True) as s:
        stored = s.exec(select(Reading.ts, Reading.power_w).order_by(Reading.ts)).all()
        fridge = s.exec(select(Device).where(Device.device_id == "fridge")).one()
    assert stored == [(t, float(i + 1)) for i, t in enumerate(at)]
    assert fridge.last_seen_at == at[5]


def test_a_rejected_batch_leaves_nothing_behind(engine, home):
    at = utcnow() - timedelta(minutes=5)
    with pytest.raises(IngestRejected) as caught:
        with session_scope(engine) as s:
            record_reading_columns(
                s, user_id=home, columns=columns(("fridge", at, 1.0), ("fridge", at, -1.0))
            )
    assert [(p.index, p.field) for p in caught.value.problems] == [(1, "energy_watts")]
    with session_scope(engine, read_only=True) as s:
        assert s.exec(select(func.count()).select_from(Reading)).one() == 0
        assert s.exec(select(func.count()).select_from(DirtyHour)).one() == 0


def test_dirty_hours_cover_every_hour_a_reading_can_reach(engine, home):
    hour = (utcnow() - timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)
    with session_scope(engine) as s:
        record_reading_columns(
            s,
            user_id=home,
            columns=columns(
                ("fridge", hour + timedelta(minutes=10), 1.0),
                ("slow", hour + timedelta(minutes=30), 1.0),
            ),
        )
    with session_scope(engine, read_only=True) as s:
        marks = s.exec(
            select(Device.device_id, DirtyHour.hour_start, DirtyHour.version).join(
                Device, Device.id == DirtyHour.device_pk
            )
        ).all()
    assert sorted(marks) == [
        ("fridge", hour, 1),
        ("slow", hour, 1),
        ("slow", hour + timedelta(hours=1), 1),
        ("slow", hour + timedelta(hours=2), 1),
        ("slow", hour + timedelta(hours=3), 1),
    ]


def test_a_new_reading_in_a_marked_hour_keeps_its_one_mark(engine, home):
    """Writers leave a mark that is already there as it is on PostgreSQL (how the rollup stays
    safe with that: tests/core/test_writer_locks.py); SQLite renews its version."""
    at = utcnow().replace(minute=5) - timedelta(hours=3)
    for offset in (0, 60):
        with session_scope(engine) as s:
            record_reading_columns(
                s, user_id=home, columns=columns(("fridge", at + timedelta(seconds=offset), 1.0))
            )
    with session_scope(engine, read_only=True) as s:
        hours = s.exec(select(DirtyHour.hour_start)).all()
        assert hours == [at.replace(minute=0, second=0, microsecond=0)]


def test_last_seen_moves_forward_only(engine, home):
    late = utcnow() - timedelta(minutes=1)
    early = late - timedelta(minutes=30)
    for at in (late, early):
        with session_scope(engine) as s:
            record_reading_columns(s, user_id=home, columns=columns(("fridge", at, 1.0)))
    with session_scope(engine, read_only=True) as s:
        fridge = s.exec(select(Device).where(Device.device_id == "fridge")).one()
    assert fridge.last_seen_at == late


def test_the_window_can_be_lifted_for_trusted_history_but_not_the_other_rules(engine, home):
    old = utcnow() - timedelta(days=90)
    with session_scope(engine) as s:
        result = record_readings(
            s, user_id=home, readings=[ReadingIn("fridge", old, 5.0)], enforce_window=False
        )
    assert result.accepted == 1
    with pytest.raises(IngestRejected):
        with session_scope(engine) as s:
            record_readings(
                s, user_id=home, readings=[ReadingIn("fridge", old, -5.0)], enforce_window=False
            )


def test_reading_objects_with_naive_times_or_non_numbers_are_rejected(engine, home):
    now = utcnow()
    bad = [
        ReadingIn("fridge", now.replace(tzinfo=None), 1.0),
        ReadingIn("fridge", now, "12"),
        ReadingIn("fridge", now, True),
    ]
    with pytest.raises(IngestRejected) as caught:
        with session_scope(engine) as s:
            record_readings(s, user_id=home, readings=bad)
    assert [(p.index, p.field) for p in caught.value.problems] == [
        (0, "timestamp"),
        (1, "energy_watts"),
        (2, "energy_watts"),
    ]


def test_a_device_registered_concurrently_is_kept_not_an_error(engine, home):
    with session_scope(engine) as s:
        _register_devices(s, user_id=home, names=["fridge", "new-one"])
    with session_scope(engine, read_only=True) as s:
        names = sorted(s.exec(select(Device.device_id).where(Device.user_id == home)).all())
    assert names == ["fridge", "new-one", "slow", "solar"]


@database_examples(40)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["fridge", "solar", "slow"]),
            st.integers(min_value=0, max_value=5_000),
            st.floats(min_value=-1e4, max_value=1e4),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_whatever_is_posted_each_instant_is_stored_once_with_its_first_value(engine, home, rows):
    base = utcnow().replace(microsecond=0) - timedelta(hours=2)
    readings = [
        ReadingIn(d, base + timedelta(seconds=s), abs(p) if d != "solar" else p) for d, s, p in rows
    ]
    with session_scope(engine) as s:
        s.exec(delete(Reading))
    with session_scope(engine) as s:
        result = record_readings(s, user_id=home, readings=readings)
    first: dict[tuple[str, datetime], float] = {}
    for r in readings:
        first.setdefault((r.device_id, r.ts), r.power_w)
    assert result.accepted + result.duplicates == len(readings)
    assert result.accepted == len(first)
    with session_scope(engine, read_only=True) as s:
        stored = {
            (d, ts): p
            for d, ts, p in s.exec(
                select(Device.device_id, Reading.ts, Reading.power_w).join(
                    Device, Device.id == Reading.device_pk
                )
            )
        }
    assert stored == first


def test_a_batch_naming_more_devices_than_sqlite_binds_per_statement_is_resolved(engine, home):
    with session_scope(engine) as s:
        s.add_all(Device(device_id=f"m{i:04d}", name=f"m{i}", user_id=home) for i in range(1_200))
    at = utcnow() - timedelta(minutes=2)
    with session_scope(engine) as s:
        result = record_reading_columns(
            s, user_id=home, columns=columns(*((f"m{i:04d}", at, float(i)) for i in range(1_200)))
        )
    assert result.accepted == 1_200
    with session_scope(engine, read_only=True) as s:
        assert s.exec(select(func.sum(Reading.power_w))).one() == sum(range(1_200))
        seen = s.exec(select(func.count()).where(Device.last_seen_at == at)).one()
    assert seen == 1_200
