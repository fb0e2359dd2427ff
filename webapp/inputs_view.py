"""The Devices page's list of hub inputs (Emoncms, InfluxDB, MQTT): what each sends, and whether
it is watts, which the household may change (``energy_core.inputs.set_input_kind``)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from energy_core.inputs import set_input_kind
from webapp import auth
from webapp.actions import FAILED, submit
from webapp.downloads import csv_download, section
from webapp.loaders import clear_setup_caches, load_inputs
from webapp.units import format_when


def inputs_section(user: auth.SignedInUser, *, now: datetime, tz: ZoneInfo) -> None:
    inputs = load_inputs(user.id)
    if inputs.empty:
        return
    with section(f"Inputs from hubs · {len(inputs)}"):
        csv_download(inputs, name="inputs", key="devices_inputs_csv")
    st.caption(
        "Values your hubs send by name (Emoncms node:input, InfluxDB series, MQTT topics). Only "
        "inputs marked watts become readings of the device of that name; the others (voltage, "
        "temperature, meter totals) keep their latest value and stay out of every figure."
    )
    shown = pd.DataFrame(
        {
            "Input": inputs["input_id"],
            "Watts": inputs["is_watts"],
            "Latest value": inputs["last_value"],
            "At": inputs["last_at"].map(lambda at: format_when(at, tz=tz, now=now)),
        }
    )
    edited = st.data_editor(
        shown,
        hide_index=True,
        disabled=["Input", "Latest value", "At"],
        key="devices_inputs_editor",
    )
    changed = [
        (name, bool(watts))
        for name, watts, before in zip(
            edited["Input"], edited["Watts"], shown["Watts"], strict=True
        )
        if bool(watts) != bool(before)
    ]
    if changed and st.button("Save input kinds", key="devices_inputs_save"):

        def change(session) -> None:  # noqa: ANN001
            for name, watts in changed:
                set_input_kind(session, user_id=user.id, input_id=name, is_watts=watts)

        if submit(change) is not FAILED:
            clear_setup_caches()
            st.success(
                f"Saved {len(changed)} input(s); values from now on follow the new kind.",
                icon=":material/check_circle:",
            )
