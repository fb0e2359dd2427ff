"""``energy-monitor import``: CSV, Emoncms feed exports and line protocol, stored whole or not at
all, idempotent, with the imported hours rolled up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from energy_cli.main import main
from energy_core.db import session_scope
from energy_core.history_import import CsvOptions, ImportRejected, read_history
from energy_core.models import HourlyAggregate
from tests.factories import make_device, make_user, stored_readings

T0 = datetime(2025, 3, 1, tzinfo=UTC)  # far outside the lateness window


@pytest.fixture
def user(engine):
    with session_scope(engine) as s:
        u = make_user(s, timezone="Europe/Berlin")
        make_device(s, user=u, device_id="solar", bidirectional=True)
        return {"email": u.email, "id": u.id}


def test_a_wide_csv_in_local_time_is_imported_once_and_rolled_up(engine, user, tmp_path, capsys):
    lines = ["time,fridge,solar"]
    for m in range(0, 120, 10):
        local = datetime(2025, 3, 1, 10, 0) + timedelta(minutes=m)
        lines.append(f"{local:%Y-%m-%d %H:%M:%S},{100 + m},{-m}")
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n")
    assert main(["import", str(path), "--user", user["email"]]) == 0
    out = capsys.readouterr().out
    assert "12 rows -> 24 readings" in out and "Stored 24 new readings" in out
    got = stored_readings(engine, user["id"])
    assert got["fridge"][0] == (datetime(2025, 3, 1, 9, 0, tzinfo=UTC), 100.0)  # Berlin is +1
    assert got["solar"][-1][1] == -110.0
    with session_scope(engine, read_only=True) as s:
        hours = s.exec(select(func.count()).select_from(HourlyAggregate)).one()
    assert hours >= 4  # two hours (and the one carried into) of two devices
    assert main(["import", str(path), "--user", user["email"]]) == 0
    assert "Stored 0 new readings (24 already stored)" in capsys.readouterr().out
    assert sum(len(v) for v in stored_readings(engine, user["id"]).values()) == 24


def test_an_emoncms_feed_export_of_meter_totals_becomes_power(engine, user, tmp_path, capsys):
    start = int(T0.timestamp())
    # kWh totals every 10 minutes: 0.1 kWh per 10 minutes is 600 W.
    body = "".join(f"{start + i * 600},{12.0 + i * 0.1:.1f}\n" for i in range(4))
    path = tmp_path / "feed_42.csv"
    path.write_text(body)
    argv = ["import", str(path), "--user", user["email"], "--device", "heat-pump", "--unit", "kWh"]
    assert main(argv) == 0
    got = stored_readings(engine, user["id"])["heat-pump"]
    assert [t for t, _ in got] == [T0 + timedelta(minutes=10 * i) for i in range(3)]
    assert [p for _, p in got] == pytest.approx([600.0] * 3)


def test_a_line_protocol_file(engine, user, tmp_path):
    stamp = int(T0.timestamp())
    path = tmp_path / "export.lp"
    path.write_text(
        f"power,device=kettle watts=2000 {stamp}\nW,domain=sensor,entity_id=tv value=80 {stamp}\n"
    )
    assert main(["import", str(path), "--user", user["email"], "--precision", "s"]) == 0
    got = stored_readings(engine, user["id"])
    assert got["kettle"] == [(T0, 2000.0)] and got["sensor.tv"] == [(T0, 80.0)]


def test_a_bad_row_stores_nothing_and_names_its_line(engine, user, tmp_path, capsys):
    path = tmp_path / "broken.csv"
    path.write_text("time,fridge\n2025-03-01T10:00:00Z,100\n2025-03-01T10:10:00Z,lots\n")
    assert main(["import", str(path), "--user", user["email"]]) == 2
    err = capsys.readouterr().err
    assert "line 3, fridge: 'lots' is no number" in err
    assert stored_readings(engine, user["id"]) == {}


def test_a_reading_that_breaks_a_rule_stores_nothing(engine, user, tmp_path, capsys):
    path = tmp_path / "negative.csv"
    path.write_text("time,fridge\n2025-03-01T10:00:00Z,100\n2025-03-01T10:10:00Z,-5\n")
    assert main(["import", str(path), "--user", user["email"]]) == 2
    assert "bidirectional" in capsys.readouterr().err
    assert stored_readings(engine, user["id"]) == {}


def test_dry_run_previews_and_stores_nothing(engine, user, tmp_path, capsys):
    path = tmp_path / "history.csv"
    path.write_text("when;watts\n1740823200;50\n1740823260;55\n")
    argv = ["import", str(path), "--user", user["email"], "--device", "lamp", "--dry-run"]
    assert main([*argv, "--time-column", "when", "--value-column", "watts"]) == 0
    out = capsys.readouterr().out
    assert "2 rows -> 2 readings" in out and "lamp  50.0 W" in out and "Dry run" in out
    assert stored_readings(engine, user["id"]) == {}


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("", CsvOptions()),
        ("1740823200,5\n", CsvOptions()),  # no header and no device
        ("time,a\nx,1\n", CsvOptions()),
        ("time,a\n1740823200,1\n", CsvOptions(timezone="Mars/Olympus")),
        ("time,a\n1740823200,1\n", CsvOptions(unit="MJ")),
        ("time,a\n1740823200,1\n", CsvOptions(time_column="when")),
    ],
)
def test_files_that_cannot_be_read_as_asked(text, options):
    with pytest.raises(ImportRejected):
        read_history(text, format="csv", options=options)
