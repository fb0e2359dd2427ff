"""Devices: register, edit, deactivate and delete devices; issue, rotate and revoke their ingest
keys; and the commands that send a reading, filled in for each device."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from energy_core.accounts import (
    create_device,
    delete_device,
    issue_api_key,
    rotate_api_key,
    update_device,
)
from energy_core.models import DeviceCreate, DeviceUpdate, KeyScope
from energy_core.settings import get_settings
from webapp import auth
from webapp.actions import FAILED, flash, revoke_key, show_flash, submit
from webapp.downloads import csv_download, section
from webapp.inputs_view import inputs_section
from webapp.loaders import database_guard, load_api_keys, load_devices, now_utc
from webapp.notices import no_devices
from webapp.units import (
    format_duration,
    format_key_dates,
    format_last_seen,
    format_type,
    live_key_labels,
)

PAGE = "devices"
DEVICE_TYPES = (
    "fridge", "freezer", "washing_machine", "dryer", "dishwasher", "oven", "kettle",
    "heat_pump", "boiler", "ev_charger", "solar", "battery", "lighting", "router", "tv",
    "computer", "meter", "other",
)  # fmt: skip


def gap_label() -> str:
    """The max gap's label says what its 0 means: the table says "10 min (default)" of a device
    whose field read a bare 0 s."""
    return f"Max gap (s; 0: the default, {format_duration(get_settings().max_gap_s)})"


def api_url() -> str:
    settings = get_settings()
    if settings.public_api_url:
        return settings.public_api_url.rstrip("/")
    return f"http://{settings.api_host}:{settings.api_port}"


def curl_snippet(device_id: str) -> str:
    body = json.dumps({"device_id": device_id, "timestamp": "TIMESTAMP", "energy_watts": 123.4})
    body = body.replace('"TIMESTAMP"', '"\'"$(date -u +%Y-%m-%dT%H:%M:%SZ)"\'"')
    return (
        'export ENERGY_API_KEY="emk_..."   # the key shown once when it was issued\n'
        f'curl -sS -X POST "{api_url()}/api/v1/telemetry" \\\n'
        '  -H "Authorization: Bearer $ENERGY_API_KEY" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        f"  -d '{body}'\n"
        '# → {"accepted":1,"duplicates":0}'
    )


def python_snippet(device_id: str) -> str:
    return f'''import json
import urllib.request
from datetime import datetime, timezone

API_URL = "{api_url()}"
API_KEY = "emk_..."  # the key shown once when it was issued


def send(power_w: float) -> dict:
    reading = {{
        "device_id": {json.dumps(device_id)},
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "energy_watts": power_w,
    }}
    request = urllib.request.Request(
        f"{{API_URL}}/api/v1/telemetry",
        data=json.dumps(reading).encode(),
        headers={{"Authorization": f"Bearer {{API_KEY}}", "Content-Type": "application/json"}},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)  # {{"accepted": 1, "duplicates": 0}}


print(send(123.4))
'''


def type_options(current: str | None = None) -> list[str]:
    options = list(DEVICE_TYPES)
    if current and current not in options:
        options.insert(0, current)
    return options


# --- sections ----------------------------------------------------------------------------------


def device_list(devices: pd.DataFrame, keys: pd.DataFrame, *, now: datetime, tz: ZoneInfo) -> None:
    live = keys[keys["revoked_at"].isna() & keys["device_id"].notna()]
    key_counts = live.groupby("device_id").size()
    export = devices.assign(live_keys=devices["device_id"].map(key_counts).fillna(0).astype(int))
    with section(f"Your devices · {len(devices)}"):
        csv_download(export, name="devices", key="devices_csv")
    st.dataframe(
        pd.DataFrame(
            {
                "Name": devices["name"],
                "Device id": devices["device_id"],
                "Room": devices["location"],
                "Type": devices["type"].map(format_type),
                "Status": devices["is_active"].map({True: "Active", False: "Deactivated"}),
                "Bidirectional": devices["bidirectional"],
                "Max gap": devices["effective_gap_s"].map(format_duration)
                + devices["max_gap_s"].isna().map({True: " (default)", False: ""}),
                "Last seen": devices["last_seen_at"].map(
                    lambda at: format_last_seen(at, now=now, tz=tz)
                ),
                "Keys": export["live_keys"],
            }
        ),
        hide_index=True,
        column_config={"Bidirectional": st.column_config.CheckboxColumn()},
    )


def register_form(user: auth.SignedInUser, *, expanded: bool) -> None:
    with st.expander("Register a device", icon=":material/add_circle:", expanded=expanded):
        with st.form("register_device", clear_on_submit=False, border=False):
            left, right = st.columns(2)
            device_id = left.text_input(
                "Device id",
                key="new_device_id",
                placeholder="garage-freezer",
                help="The string the device sends as device_id. Unique among your devices; it "
                "cannot be changed later.",
            )
            name = right.text_input("Name", placeholder="Garage freezer", key="new_device_name")
            kind = left.selectbox(
                "Type", options=type_options(), format_func=format_type, key="new_device_type"
            )
            room = right.text_input("Room", placeholder="Garage", key="new_device_room")
            max_gap = left.number_input(
                gap_label(),
                min_value=0,
                max_value=86_400,
                value=0,
                key="new_device_gap",
                help="How long one reading holds its power; 0 uses the default "
                f"({get_settings().max_gap_s} s). Set it a little above the device's interval.",
            )
            bidirectional = right.checkbox(
                "Bidirectional (may report negative watts: solar, battery, a meter)",
                key="new_device_bidirectional",
            )
            with_key = right.checkbox(
                "Issue an ingest key for it now", value=True, key="new_device_with_key"
            )
            sent = st.form_submit_button("Register", type="primary", icon=":material/add:")
        if not sent:
            return

        def register(session) -> str | None:  # noqa: ANN001
            device = create_device(
                session,
                user_id=user.id,
                data=DeviceCreate(
                    device_id=device_id.strip(),
                    name=name.strip() or device_id.strip(),
                    type=kind,
                    location=room.strip(),
                    bidirectional=bidirectional,
                    max_gap_s=int(max_gap) or None,
                ),
            )
            if not with_key:
                return None
            return issue_api_key(
                session,
                user_id=user.id,
                scope=KeyScope.ingest,
                device_id=device.device_id,
                name=f"{device.device_id} ingest",
            ).key

        secret = submit(register)
        if secret is FAILED:
            return
        flash(
            PAGE,
            f"Registered {device_id.strip()}."
            + (" Point the device at the ingest API with this key:" if secret else ""),
            secret=secret,
            secret_label=f"Ingest key for {device_id.strip()}",
        )
        st.session_state["devices_manage"] = device_id.strip()
        st.rerun()


def edit_tab(user: auth.SignedInUser, device: pd.Series) -> None:
    device_id = device.name
    with st.form(f"edit_{device_id}", border=False):
        left, right = st.columns(2)
        name = left.text_input("Name", value=device["name"], key=f"name_{device_id}")
        kinds = type_options(device["type"])
        kind = right.selectbox(
            "Type",
            options=kinds,
            index=kinds.index(device["type"]),
            format_func=format_type,
            key=f"type_{device_id}",
        )
        room = left.text_input("Room", value=device["location"], key=f"room_{device_id}")
        max_gap = right.number_input(
            gap_label(),
            min_value=0,
            max_value=86_400,
            value=int(device["max_gap_s"]) if pd.notna(device["max_gap_s"]) else 0,
            help="0 uses the default. Changing it recomputes this device's stored hours.",
            key=f"gap_{device_id}",
        )
        bidirectional = left.checkbox(
            "Bidirectional", value=bool(device["bidirectional"]), key=f"bidi_{device_id}"
        )
        sent = st.form_submit_button("Save changes", type="primary", icon=":material/save:")
    if sent:
        changes = DeviceUpdate(
            name=name,
            type=kind,
            location=room,
            bidirectional=bidirectional,
            max_gap_s=int(max_gap) or None,
        )
        done = submit(
            lambda session: update_device(
                session, user_id=user.id, device_id=device_id, changes=changes
            )
        )
        if done is not FAILED:
            flash(PAGE, f"Saved {device_id}.")
            st.rerun()

    st.divider()
    if device["is_active"]:
        st.caption(
            "A deactivated device keeps its data but is shown as disabled; reactivate it at any "
            "time."
        )
        toggle = st.button("Deactivate", icon=":material/pause_circle:", key=f"off_{device_id}")
    else:
        st.caption("This device is deactivated.")
        toggle = st.button("Reactivate", icon=":material/play_circle:", key=f"on_{device_id}")
    if toggle:
        active = not device["is_active"]
        done = submit(
            lambda session: update_device(
                session,
                user_id=user.id,
                device_id=device_id,
                changes=DeviceUpdate(is_active=active),
            )
        )
        if done is not FAILED:
            flash(PAGE, f"{'Reactivated' if active else 'Deactivated'} {device_id}.")
            st.rerun()


def keys_tab(user: auth.SignedInUser, device: pd.Series, keys: pd.DataFrame, tz: ZoneInfo) -> None:
    device_id = device.name
    mine = keys[keys["device_id"] == device_id]
    now = now_utc()
    if mine.empty:
        st.caption("No keys for this device yet.")
    else:
        export = mine.drop(columns=["device_name"])
        st.dataframe(
            pd.DataFrame(
                {
                    "Key": mine["prefix"] + "_…",
                    "Name": mine["name"],
                    **format_key_dates(mine, tz=tz, now=now),
                }
            ),
            hide_index=True,
        )
        csv_download(export, name=f"{device_id}-keys", key=f"keys_csv_{device_id}")
    labels = live_key_labels(mine)
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Issue a new key**")
        st.caption("An ingest key that may write this device only.")
        if st.button("Issue key", icon=":material/key:", key=f"issue_{device_id}"):
            issued = submit(
                lambda session: issue_api_key(
                    session,
                    user_id=user.id,
                    scope=KeyScope.ingest,
                    device_id=device_id,
                    name=f"{device_id} ingest",
                )
            )
            if issued is not FAILED:
                flash(
                    PAGE,
                    f"Issued a key for {device_id}.",
                    secret=issued.key,
                    secret_label=f"Ingest key for {device_id}",
                )
                st.rerun()
    with right:
        st.markdown("**Rotate or revoke**")
        if not labels:
            st.caption("No live keys.")
            return
        key_id = st.selectbox(
            "Key", options=list(labels), format_func=labels.get, key=f"key_pick_{device_id}"
        )
        rotate, revoke = st.columns(2)
        if rotate.button(
            "Rotate",
            icon=":material/autorenew:",
            key=f"rotate_{device_id}",
            help="Revoke this key and issue its replacement at once.",
        ):
            issued = submit(
                lambda session: rotate_api_key(session, user_id=user.id, key_id=int(key_id))
            )
            if issued is not FAILED:
                flash(
                    PAGE,
                    f"Rotated {labels[key_id].split(' · ')[0]}: it no longer works. "
                    "Put the new key on the device:",
                    secret=issued.key,
                    secret_label=f"New ingest key for {device_id}",
                )
                st.rerun()
        if revoke.button("Revoke", icon=":material/key_off:", key=f"revoke_{device_id}"):
            revoke_key(PAGE, user_id=user.id, key_id=int(key_id), label=labels[key_id])


def send_tab(device: pd.Series) -> None:
    st.caption(
        "Each request carries one reading; `/api/v1/telemetry/batch` takes up to "
        f'{get_settings().max_batch_readings:,} as `{{"readings": [...]}}`. Timestamps are '
        "ISO 8601 with an offset (or epoch seconds); watts may be negative only for "
        "bidirectional devices. A key of this device may leave out `device_id`."
    )
    st.markdown("**curl**")
    st.code(curl_snippet(device.name), language="bash")
    st.markdown("**Python** (standard library only)")
    st.code(python_snippet(device.name), language="python")


def delete_tab(user: auth.SignedInUser, device: pd.Series) -> None:
    device_id = device.name
    st.warning(
        f"Deleting **{device_id}** removes it with all of its readings, hourly figures and "
        "keys. This cannot be undone; to keep the history, deactivate it instead.",
        icon=":material/warning:",
    )
    typed = st.text_input(
        f"Type the device id ({device_id}) to confirm", key=f"confirm_{device_id}"
    )
    if st.button(
        "Delete device and its data",
        type="primary",
        icon=":material/delete_forever:",
        disabled=typed.strip() != device_id,
        key=f"delete_{device_id}",
    ):
        deleted = submit(
            lambda session: delete_device(session, user_id=user.id, device_id=device_id)
        )
        if deleted is not FAILED:
            st.session_state.pop("devices_manage", None)
            flash(
                PAGE,
                f"Deleted {device_id} with {deleted.readings:,} readings, {deleted.hours:,} "
                f"hourly figures and {deleted.keys} key{'s' if deleted.keys != 1 else ''}.",
            )
            st.rerun()


# --- page --------------------------------------------------------------------------------------


def main() -> None:
    user = auth.current_user()
    tz = ZoneInfo(user.timezone)
    now = now_utc()
    st.title("Devices", anchor=False)
    st.caption("Register the meters and plugs that send readings, and manage their keys.")
    show_flash(PAGE)
    with database_guard():
        devices = load_devices(user.id)
        keys = load_api_keys(user.id)

    if devices.empty:
        no_devices(
            "No devices yet. Register one below: you get an ingest key and the commands to "
            "send its first reading.",
            link=False,
        )
    else:
        device_list(devices, keys, now=now, tz=tz)
    register_form(user, expanded=devices.empty)
    inputs_section(user, now=now, tz=tz)
    if devices.empty:
        return

    st.subheader("Manage a device", anchor=False)
    ids = list(devices["device_id"])
    names = dict(zip(devices["device_id"], devices["name"], strict=True))
    wanted = st.session_state.get("devices_manage")
    device_id = st.selectbox(
        "Device",
        options=ids,
        index=ids.index(wanted) if wanted in ids else 0,
        format_func=lambda d: f"{names[d]} ({d})",
    )
    st.session_state["devices_manage"] = device_id
    device = devices.set_index("device_id").loc[device_id]
    edit, keys_section, send, delete = st.tabs(
        [
            ":material/edit: Edit",
            ":material/key: API keys",
            ":material/send: Send data",
            ":material/delete: Delete",
        ]
    )
    with edit:
        edit_tab(user, device)
    with keys_section:
        keys_tab(user, device, keys, tz)
    with send:
        send_tab(device)
    with delete:
        delete_tab(user, device)


main()
