"""The binary arrays of bulk statements reach PostgreSQL as the values they were built from."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlmodel import select

from energy_core.db import make_engine, session_scope
from energy_core.models import Device
from energy_core.sql.arrays import (
    Float8Array,
    Int4Array,
    Int8Array,
    binary_array,
    register_array_dumpers,
    text_array,
)
from energy_core.sql.ingest import find_devices
from tests.factories import make_user


@pytest.fixture
def pg(postgres_url):
    register_array_dumpers()
    engine = make_engine(postgres_url)
    with engine.connect() as conn:
        yield conn.connection.driver_connection.cursor()
    engine.dispose()


@pytest.mark.parametrize(
    ("kind", "cast", "values"),
    [
        (Int4Array, "int4", [0, 1, -1, 2**31 - 1, -(2**31)]),
        (Int8Array, "int8", [0, 1_767_225_600_000_000, -(2**63), 2**63 - 1]),
        (Float8Array, "float8", [0.0, -0.5, 1e300, 123.456, -7.0]),
        (Int4Array, "int4", []),
        (Float8Array, "float8", []),
        # Longer than the arrays packed one number at a time.
        (Int8Array, "int8", [k * 1_000_003 - 2**40 for k in range(100)]),
    ],
)
def test_number_arrays_arrive_as_sent(pg, kind, cast, values):
    for given in (values, np.array(values, dtype=object if kind is Int8Array else None)):
        pg.execute(f"SELECT %b::{cast}[]", (binary_array(kind, given),))
        assert pg.fetchone()[0] == values


def test_float_arrays_keep_infinities_and_nan(pg):
    pg.execute("SELECT %b::float8[]", (binary_array(Float8Array, [math.inf, -math.inf, math.nan]),))
    got = pg.fetchone()[0]
    assert got[:2] == [math.inf, -math.inf] and math.isnan(got[2])


def test_a_number_out_of_an_arrays_range_is_refused():
    # A short array is packed number by number, a long one by numpy: both refuse it.
    for n in (1, 100):
        with pytest.raises(OverflowError):
            binary_array(Int4Array, [0] * (n - 1) + [2**31])
        with pytest.raises(OverflowError):
            binary_array(Int8Array, [-(2**63) - 1] * n)


def test_text_arrays_arrive_as_sent(pg):
    names = ["meter-0001", "Küche ☕", "a,b", '"quoted"', "{braces}", "back\\slash", " ", "x" * 128]
    for values in (names, []):
        pg.execute("SELECT %b::text[]", (text_array(values),))
        assert pg.fetchone()[0] == values
    pg.execute(
        "SELECT n.name, n.i FROM unnest(%b::text[]) WITH ORDINALITY AS n(name, i)",
        (text_array(names),),
    )
    assert [row[0] for row in pg.fetchall()] == names
    with_nulls = [None, "fridge", None]
    pg.execute("SELECT %b::text[]", (text_array(with_nulls),))
    assert pg.fetchone()[0] == with_nulls


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("odd", ["line\nbreak", "plain"])
def test_devices_are_found_by_name_whatever_the_names_hold(engine, odd):
    """The names go as one text split by the server, or as an array when one holds a line
    break: either way exactly the user's devices of those names are found."""
    names = ["fridge", "Küche ☕", "a,b", odd]
    with session_scope(engine) as s:
        user = make_user(s)
        other = make_user(s)
        s.add_all([Device(device_id=n, name="x", user_id=user.id) for n in names])
        s.add(Device(device_id="fridge", name="x", user_id=other.id))
        s.flush()
        pks = {d.device_id: d.id for d in s.exec(select(Device).where(Device.user_id == user.id))}
        found = find_devices(s.connection(), user_id=user.id, device_ids=[*names, "missing"])
    assert sorted((row[0], row[1]) for row in found) == sorted((pks[n], n) for n in names)
