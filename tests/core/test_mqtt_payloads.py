"""What Shelly, Tasmota and Home Assistant publish, read into input values (no broker, no
database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from energy_core.protocols.mqtt import MqttMapping, values_from_message

RECEIVED_US = 1_800_000_000_000_000


def read(topic: str, payload, mapping: MqttMapping | None = None):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return [
        (v.input_id, v.ts_us, v.value, v.is_watts)
        for v in values_from_message(
            topic, raw, received_us=RECEIVED_US, mapping=mapping or MqttMapping()
        )
    ]


def test_shelly_gen2_switch_and_pro_3em():
    switch = {"id": 0, "source": "timer", "output": True, "apower": 8.9, "voltage": 237.5}
    em = {"id": 0, "a_act_power": 100.0, "b_act_power": -50.0, "total_act_power": -1234.5}
    assert read("shellyplus1pm-a8032ab1/status/switch:0", switch) == [
        ("shellyplus1pm-a8032ab1:switch:0", RECEIVED_US, 8.9, True)
    ]
    assert read("shellypro3em-c1/status/em:0", em) == [
        ("shellypro3em-c1:em:0", RECEIVED_US, -1234.5, True)
    ]
    assert read("shellyplus1pm-a8032ab1/status/sys", {"uptime": 5}) == []


def test_tasmota_time_is_the_devices_local_time():
    payload = {"Time": "2027-01-15T09:00:00", "ENERGY": {"Total": 1.2, "Power": 230}}
    berlin = MqttMapping(timezone="Europe/Berlin")
    ((name, ts, value, watts),) = read("tele/plug_kitchen/SENSOR", payload, berlin)
    assert (name, value, watts) == ("plug_kitchen", 230.0, True)
    assert ts == int(datetime(2027, 1, 15, 8, 0, tzinfo=UTC).timestamp()) * 1_000_000


def test_tasmota_with_two_channels():
    payload = {"Time": "2027-01-15T09:00:00", "ENERGY": {"Power": [10, 20]}}
    assert [r[0] for r in read("tele/dual/SENSOR", payload)] == ["dual:1", "dual:2"]


def test_home_assistant_statestream_states_and_renames():
    mapping = MqttMapping(devices={"sensor.fridge_power": "fridge"})
    assert read("homeassistant/sensor/fridge_power/state", b"96.5", mapping) == [
        ("fridge", RECEIVED_US, 96.5, None)
    ]
    assert read("homeassistant/sensor/fridge_power/state", b"unavailable") == []
    assert read("homeassistant/sensor/fridge_power/unit_of_measurement", b'"W"') == []


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("x/status/switch:0", b"not json"),
        ("x/status/switch:0", b"[1, 2]"),
        ("x/status/switch:0", b'{"apower": "high"}'),
        ("tele/t/SENSOR", b'{"ENERGY": {"Power": null}}'),
        ("tele/t/SENSOR", b'{"Time": "garbage", "ENERGY": {}}'),
        ("some/other/topic", b"1"),
    ],
)
def test_payloads_without_power_give_nothing(topic, payload):
    assert read(topic, payload) == []
