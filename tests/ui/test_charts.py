"""Chart colours belong to the device: registering another device never recolours one."""

from __future__ import annotations

import pandas as pd

from energy_core.demo import DEMO_DEVICES
from webapp.charts import DEVICE_COLORS, device_colors, device_scale


def registered(*device_ids: str) -> pd.DataFrame:
    times = pd.date_range("2026-01-01", periods=len(device_ids), freq="h", tz="UTC")
    return pd.DataFrame(
        {
            "device_id": list(device_ids),
            "name": [d.title() for d in device_ids],
            "created_at": times,
        }
    )


def test_a_new_device_changes_no_other_devices_colour():
    ids = [d.device_id for d in DEMO_DEVICES]
    before = device_colors(registered(*ids))

    # Sorts first by name and by id, and is registered last.
    after = device_colors(registered(*ids, "aardvark-heater"))

    assert {d: after[d] for d in ids} == before
    assert len(set(before.values())) == len(ids)  # distinct while there are colours to spare


def test_the_colour_comes_from_the_device_not_from_its_place_in_the_list():
    ids = ["heat-pump", "ev-charger", "fridge-kitchen"]

    alone = device_colors(registered("heat-pump"))
    among = device_colors(registered(*ids))

    assert alone["heat-pump"] == among["heat-pump"]


def test_more_devices_than_colours_still_get_one_each():
    ids = [f"plug-{i}" for i in range(len(DEVICE_COLORS) + 5)]

    colours = device_colors(registered(*ids))

    assert set(colours) == set(ids)
    assert set(colours.values()) <= set(DEVICE_COLORS)


def test_the_scale_maps_each_name_to_its_devices_colour():
    devices = registered("heat-pump", "ev-charger")

    scale = device_scale(devices).to_dict()

    colours = device_colors(devices)
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "Heat-Pump": colours["heat-pump"],
        "Ev-Charger": colours["ev-charger"],
    }
