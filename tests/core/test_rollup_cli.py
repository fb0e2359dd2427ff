"""`energy-monitor aggregate [--rebuild] [--since DATE] [--device ID]` against a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from energy_cli.main import main
from energy_core import rollup
from energy_core.db import session_scope
from energy_core.models import HourlyAggregate
from energy_core.rollup import rollup_dirty_hours
from tests.core.test_rollup import NOW, T0
from tests.factories import add_readings, make_device, make_user, seed_device, steady_points


@pytest.fixture(autouse=True)
def rollup_clock(monkeypatch):
    """The command has no clock of its own to pass: pin rollup's, so that --rebuild does not
    leave T0's hours to retention once the real date is far enough from them."""
    monkeypatch.setattr(rollup, "utcnow", lambda: NOW)


def seed(engine):
    with session_scope(engine) as s:
        user = make_user(s)
        kettle = make_device(s, user=user, device_id="kettle")
        fridge = make_device(s, user=user, device_id="fridge")
        for device in (kettle, fridge):
            add_readings(s, user=user, device=device, points=steady_points(T0, 600.0, count=4 * 12))
    rollup_dirty_hours(engine)
    return kettle, fridge


def spoil_every_aggregate(engine) -> None:
    with session_scope(engine) as s:
        s.exec(update(HourlyAggregate).values(energy_wh=-1.0))


def energies(engine, device_pk: int) -> list[float]:
    with session_scope(engine, read_only=True) as s:
        rows = s.exec(
            select(HourlyAggregate)
            .where(HourlyAggregate.device_pk == device_pk)
            .order_by(HourlyAggregate.hour_start)
        ).all()
    return [round(r.energy_wh, 6) for r in rows]


def test_aggregate_recomputes_what_is_dirty(engine, capsys):
    user, device = seed_device(engine, [(T0, 100.0)])
    assert main(["aggregate"]) == 0
    assert "Recomputed 1 device-hours" in capsys.readouterr().out


def test_rebuild_recomputes_every_hour_with_a_progress_bar(engine, capsys):
    kettle, fridge = seed(engine)
    spoil_every_aggregate(engine)
    assert main(["aggregate", "--rebuild"]) == 0
    out = capsys.readouterr().out
    assert "Rebuilt 10 device-hours of all devices" in out
    assert "Rebuilding [##############################] 10/10" in out
    # Four hours of 600 W, then the last reading's 5 minutes in the fifth.
    assert energies(engine, kettle.id) == energies(engine, fridge.id) == [600.0] * 4 + [50.0]


def test_rebuild_of_one_device_since_a_date_leaves_the_rest_as_it_was(engine, capsys):
    kettle, fridge = seed(engine)
    spoil_every_aggregate(engine)
    since = (T0 + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    assert main(["aggregate", "--rebuild", "--device", "kettle", "--since", since]) == 0
    assert "Rebuilt 3 device-hours of 1 device(s) since" in capsys.readouterr().out
    assert energies(engine, kettle.id) == [-1.0, -1.0, 600.0, 600.0, 50.0]
    assert energies(engine, fridge.id) == [-1.0] * 5


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["aggregate", "--since", "2026-03-01"], "add --rebuild"),
        (["aggregate", "--rebuild", "--device", "no-such-device"], "No device with id"),
    ],
)
def test_aggregate_explains_wrong_options(engine, capsys, argv, message):
    seed(engine)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_since_must_be_a_date(engine, capsys):
    with pytest.raises(SystemExit):
        main(["aggregate", "--rebuild", "--since", "last tuesday"])
    assert "is not a date" in capsys.readouterr().err
