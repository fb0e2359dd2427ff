"""``export --user E``: every device, reading, hourly aggregate and chat message of the household
as CSV files in one zip with a README of the columns, and nothing of another household."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest

from energy_cli.main import main
from energy_core.alerts import (
    AlertSettingsUpdate,
    DeviceAlertSettingsUpdate,
    household_settings,
    set_device_alert_settings,
    set_household_alert_settings,
)
from energy_core.alerts.models import Alert, AlertMute
from energy_core.chat.answers import ChatAnswer
from energy_core.chat.history import record_exchange
from energy_core.db import session_scope
from energy_core.export import FILES
from energy_core.rollup import rollup_dirty_hours
from energy_core.tariff_alternatives import save_alternative
from energy_core.tariffs import import_prices, set_tariff
from energy_core.types import utcnow
from tests.factories import add_readings, make_device, make_user


@pytest.fixture
def households(engine):
    start = (utcnow() - timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)
    with session_scope(engine) as s:
        ada = make_user(s, email="ada@example.com")
        fridge = make_device(s, user=ada, device_id="fridge", name="Fridge, the old one")
        solar = make_device(s, user=ada, device_id="solar", bidirectional=True)
        add_readings(
            s,
            user=ada,
            device=fridge,
            points=[(start + timedelta(minutes=m), 80.5) for m in range(0, 120, 5)],
        )
        add_readings(
            s,
            user=ada,
            device=solar,
            points=[(start, -1500.0), (start + timedelta(minutes=5), -1400.0)],
        )
        bo = make_user(s, email="bo@example.com")
        theirs = make_device(s, user=bo, device_id="theirs")
        add_readings(s, user=bo, device=theirs, points=[(start, 999.0)])
        answer = ChatAnswer(text='The fridge used 0.16 kWh, "about" as usual.', engine="offline")
        record_exchange(s, user_id=ada.id, question="How much did the fridge use?", answer=answer)
        record_exchange(s, user_id=bo.id, question="Bo's secret question", answer=answer)
        plan = {"currency": "EUR", "valid_from": "2026-01-01", "import": {"default": 0.3}}
        set_tariff(s, user_id=ada.id, document=plan)
        set_tariff(s, user_id=bo.id, document={**plan, "import": {"default": 0.777}})
        prices = "start,price\n2026-01-05T00:00:00Z,0.12\n2026-01-05T00:30:00Z,0.14\n"
        import_prices(s, user_id=ada.id, text=prices)
        save_alternative(s, user_id=ada.id, name="Cheaper", document=plan)
        save_alternative(s, user_id=bo.id, name="Bo's secret tariff", document=plan)
        evidence = {"figures": [{"label": "Last reading", "value": "5 h ago", "unit": ""}]}
        for user, device, title in ((ada, fridge, "Fridge is offline"), (bo, theirs, "Bo's alert")):
            s.add(
                Alert(
                    user_id=user.id,
                    device_pk=device.id,
                    kind="offline",
                    key=f"offline:{device.device_id}",
                    title=title,
                    explanation="No reading for 5 hours, longer than its offline time.",
                    evidence=json.dumps(evidence),
                    opened_at=start,
                    updated_at=start + timedelta(hours=1),
                    acknowledged_at=start + timedelta(minutes=30),
                )
            )
        set_household_alert_settings(
            s,
            user_id=ada.id,
            changes=AlertSettingsUpdate(cheap_period=True, webhook_url="https://93.184.216.34/ada"),
        )
        set_household_alert_settings(
            s, user_id=bo.id, changes=AlertSettingsUpdate(webhook_url="https://93.184.216.34/bo")
        )
        set_device_alert_settings(
            s,
            user_id=ada.id,
            device_id="fridge",
            changes=DeviceAlertSettingsUpdate(sensitivity="high"),
        )
        s.add(AlertMute(user_id=ada.id, key="offline:solar", muted_until=None))
        ada_id = ada.id
    rollup_dirty_hours(engine)
    return ada_id


def read_zip(path) -> dict[str, list[dict]]:
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert names == {*FILES, "README.txt"}
        tables = {}
        for name in FILES:
            text = archive.read(name).decode("utf-8")
            reader = csv.DictReader(io.StringIO(text, newline=""))
            assert reader.fieldnames == [column for column, _ in FILES[name]]
            tables[name] = list(reader)
        tables["README.txt"] = archive.read("README.txt").decode("utf-8")
    return tables


def test_export_writes_everything_of_the_household_and_nothing_else(
    households, engine, tmp_path, capsys
):
    ada_id = households
    dest = tmp_path / "ada.zip"
    assert main(["export", "--user", "ada@example.com", "--output", str(dest)]) == 0
    assert capsys.readouterr().out.startswith(f"Wrote {dest} for ada@example.com: ")
    tables = read_zip(dest)

    assert [d["device_id"] for d in tables["devices.csv"]] == ["fridge", "solar"]
    assert tables["devices.csv"][0]["name"] == "Fridge, the old one"
    readings = tables["readings.csv"]
    assert len(readings) == 24 + 2
    assert {r["device_id"] for r in readings} == {"fridge", "solar"}
    assert float(next(r for r in readings if r["device_id"] == "solar")["power_w"]) == -1500.0
    hours = tables["hourly_aggregates.csv"]
    assert {h["device_id"] for h in hours} == {"fridge", "solar"}
    assert sum(float(h["generated_wh"]) for h in hours) > 0
    chat = tables["chat_messages.csv"]
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert chat[1]["content"] == 'The fridge used 0.16 kWh, "about" as usual.'

    tariffs = tables["tariffs.csv"]
    assert [t["valid_from"] for t in tariffs] == ["2026-01-01"]
    assert json.loads(tariffs[0]["tariff"])["import"]["default"] == 0.3
    assert [float(p["price"]) for p in tables["tariff_prices.csv"]] == [0.12, 0.14]
    assert [a["name"] for a in tables["tariff_alternatives.csv"]] == ["Cheaper"]

    [alert] = tables["alerts.csv"]
    assert (alert["kind"], alert["device_id"], alert["title"]) == (
        "offline",
        "fridge",
        "Fridge is offline",
    )
    assert (alert["state"], alert["resolved_at"]) == ("acknowledged", "")
    assert alert["acknowledged_at"].startswith(str(alert["opened_at"])[:13])
    assert json.loads(alert["evidence"])["figures"][0]["value"] == "5 h ago"
    assert alert["explanation"].startswith("No reading for 5 hours")
    assert tables["alert_settings.csv"] == [
        {
            "cheap_period": "true",
            "webhook_url": "https://93.184.216.34/ada",
            "email_alerts": "true",
            "email_to": "",
        }
    ]
    assert [(d["device_id"], d["sensitivity"]) for d in tables["alert_device_settings.csv"]] == [
        ("fridge", "high")
    ]
    assert tables["alert_mutes.csv"] == [{"key": "offline:solar", "muted_until": ""}]

    everything = dest.read_bytes()
    with session_scope(engine, read_only=True) as s:
        secret = household_settings(s, user_id=ada_id).webhook_secret
    assert secret.encode() not in everything  # the webhook's signing secret is a key
    assert b"Bo's alert" not in everything and b"93.184.216.34/bo" not in everything
    assert b"0.777" not in everything
    assert b"theirs" not in everything and b"Bo's secret" not in everything
    assert b"$2b$" not in everything  # no password hash

    readme = tables["README.txt"]
    for name, columns in FILES.items():
        assert name in readme
        assert all(column in readme for column, _ in columns)


def test_export_never_overwrites_without_force(households, tmp_path, capsys):
    dest = tmp_path / "ada.zip"
    dest.write_text("keep me")
    assert main(["export", "--user", "ada@example.com", "-o", str(dest)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert dest.read_text() == "keep me"
    assert main(["export", "--user", "ada@example.com", "-o", str(dest), "--force"]) == 0
    assert zipfile.is_zipfile(dest)


def test_export_of_an_unknown_user_writes_nothing(households, tmp_path, capsys):
    out = tmp_path / "exports"
    out.mkdir()
    assert main(["export", "--user", "nobody@example.com", "-o", str(out / "nobody.zip")]) == 2
    assert "No user with email nobody@example.com" in capsys.readouterr().err
    assert not list(out.iterdir())
