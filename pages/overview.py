"""Overview: what the household draws right now and what each device has used today."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import streamlit as st

from webapp import auth
from webapp.loaders import OVERVIEW_TTL_S, DatabaseUnavailable, load_overview

USED = "Used"
GENERATED = "Generated"


# --- formatting --------------------------------------------------------------------------------


def format_power(power_w: float | None) -> str:
    if power_w is None or pd.isna(power_w):
        return "—"
    if abs(power_w) >= 1000:
        return f"{power_w / 1000:,.2f} kW"
    return f"{power_w:,.0f} W"


def format_energy(energy_wh: float) -> str:
    kwh = energy_wh / 1000
    return f"{kwh:,.1f} kWh" if abs(kwh) >= 100 else f"{kwh:,.2f} kWh"


def format_type(kind: str) -> str:
    words = [word.upper() if len(word) <= 2 else word for word in kind.replace("_", " ").split()]
    if not words:
        return ""
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def format_last_seen(at: pd.Timestamp | None, *, now: datetime, tz: tzinfo) -> str:
    """ "3 min ago · 14:02" (the absolute part gains the date when it is not today)."""
    if at is None or pd.isna(at):
        return "never"
    seconds = max((now - at).total_seconds(), 0)
    if seconds < 60:
        relative = "just now"
    elif seconds < 3600:
        relative = f"{int(seconds // 60)} min ago"
    elif seconds < 86_400:
        relative = f"{int(seconds // 3600)} h ago"
    else:
        days = int(seconds // 86_400)
        relative = f"{days} day{'s' if days > 1 else ''} ago"
    local, local_now = at.astimezone(tz), now.astimezone(tz)
    if local.date() == local_now.date():
        absolute = f"{local:%H:%M}"
    elif local.year == local_now.year:
        absolute = f"{local:%d %b %H:%M}"
    else:
        absolute = f"{local:%d %b %Y %H:%M}"
    return f"{relative} · {absolute}"


def status_label(row: pd.Series) -> str:
    if not row["is_active"]:
        return "Disabled"
    return "Online" if row["online"] else "Offline"


# --- sections ----------------------------------------------------------------------------------


def household_metrics(devices: pd.DataFrame) -> None:
    power = devices.loc[devices["online"], "power_w"]
    energy = devices["today_energy_wh"]
    using_w, generating_w = power.clip(lower=0).sum(), abs(power.clip(upper=0).sum())
    used_wh, generated_wh = energy.clip(lower=0).sum(), abs(energy.clip(upper=0).sum())
    has_generation = bool(devices["bidirectional"].any() or generating_w or generated_wh)

    cells = [
        ("Using now", format_power(using_w), "Latest power of every online device that draws.")
    ]
    if has_generation:
        net_w = using_w - generating_w
        cells += [
            ("Generating now", format_power(generating_w), "Latest export of online generators."),
            (
                "Net import now" if net_w >= 0 else "Net export now",
                format_power(abs(net_w)),
                "Using now minus generating now.",
            ),
        ]
    cells.append(("Used today", format_energy(used_wh), "Since local midnight, all devices."))
    if has_generation:
        cells.append(("Generated today", format_energy(generated_wh), "Since local midnight."))
    for column, (label, value, help_text) in zip(st.columns(len(cells)), cells, strict=True):
        column.metric(label, value, help=help_text, border=True)


def device_table(devices: pd.DataFrame, *, now: datetime, tz: tzinfo) -> None:
    last_seen = devices["last_seen_at"].fillna(devices["reading_at"])
    table = pd.DataFrame(
        {
            "Device": devices["name"],
            "Room": devices["location"],
            "Type": devices["type"].map(format_type),
            "Power now": devices["power_w"].map(format_power),
            "Status": devices.apply(status_label, axis=1),
            "Last seen": last_seen.map(lambda at: format_last_seen(at, now=now, tz=tz)),
            "Today (kWh)": devices["today_energy_wh"] / 1000,
            "Coverage": devices["today_coverage"] * 100,
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "Power now": st.column_config.TextColumn(alignment="right"),
            "Today (kWh)": st.column_config.NumberColumn(format="%.2f"),
            "Coverage": st.column_config.ProgressColumn(
                format="%.0f%%",
                min_value=0.0,
                max_value=100.0,
                help="Share of today so far that the device's readings cover; gaps are unknown, "
                "not zero.",
            ),
        },
    )


def export_csv(devices: pd.DataFrame, *, tz: tzinfo) -> bytes:
    last_seen = devices["last_seen_at"].fillna(devices["reading_at"])
    export = pd.DataFrame(
        {
            "device_id": devices["device_id"],
            "name": devices["name"],
            "location": devices["location"],
            "type": devices["type"],
            "status": devices.apply(status_label, axis=1).str.lower(),
            "power_w": devices["power_w"],
            "last_seen_at": last_seen.map(lambda at: "" if pd.isna(at) else at.isoformat()),
            "last_seen_local": last_seen.map(
                lambda at: "" if pd.isna(at) else at.astimezone(tz).isoformat()
            ),
            "today_energy_kwh": (devices["today_energy_wh"] / 1000).round(4),
            "today_coverage": devices["today_coverage"].round(4),
        }
    )
    return export.to_csv(index=False).encode()


def energy_chart(devices: pd.DataFrame) -> None:
    data = pd.DataFrame(
        {
            "Device": devices["name"],
            "Room": devices["location"],
            "kWh": devices["today_energy_wh"] / 1000,
        }
    )
    data["Flow"] = data["kWh"].map(lambda kwh: GENERATED if kwh < 0 else USED)
    # One explicit order for every layer: largest use on top, generation at the bottom.
    order = data.sort_values("kWh", ascending=False)["Device"].tolist()
    base = alt.Chart(data).encode(
        x=alt.X(
            "kWh:Q",
            title="kWh today",
            axis=alt.Axis(format=",.0f", grid=True),
            scale=alt.Scale(padding=36),  # room for the value labels at both ends
        ),
        y=alt.Y("Device:N", sort=order, title=None, axis=alt.Axis(labelLimit=220)),
        tooltip=[
            alt.Tooltip("Device:N"),
            alt.Tooltip("Room:N"),
            alt.Tooltip("kWh:Q", format=",.2f"),
        ],
    )
    bars = base.mark_bar(cornerRadiusEnd=3, height={"band": 0.7}).encode(
        color=alt.Color(
            "Flow:N",
            scale=alt.Scale(domain=[USED, GENERATED], range=["#0f766e", "#d97706"]),
            legend=alt.Legend(title=None, orient="top", direction="horizontal"),
        )
    )
    label = alt.Text("kWh:Q", format=",.2f")
    used_labels = base.transform_filter("datum.kWh >= 0").mark_text(align="left", dx=4)
    generated_labels = base.transform_filter("datum.kWh < 0").mark_text(align="right", dx=-4)
    # Streamlit fits legend and axes into the height too: give each device a readable band.
    chart = (
        bars + used_labels.encode(text=label) + generated_labels.encode(text=label)
    ).properties(height=36 * len(data) + 90)
    st.altair_chart(chart, width="stretch")


# --- page --------------------------------------------------------------------------------------


@st.fragment(run_every=OVERVIEW_TTL_S)
def live_overview(user: auth.SignedInUser) -> None:
    auth.recheck(user)
    tz = ZoneInfo(user.timezone)
    try:
        devices = load_overview(user.id)
    except DatabaseUnavailable as exc:
        st.error(str(exc), icon=":material/cloud_off:")
        return
    now = datetime.now(UTC)
    if devices.empty:
        st.info(
            "No devices yet — register one with "
            f"`energy-monitor devices add --user {user.email} --device-id kitchen-fridge "
            '--name "Kitchen fridge" --location Kitchen`, then point the device at the ingest '
            "API with the key it prints.",
            icon=":material/sensors_off:",
        )
        return

    household_metrics(devices)

    online, total = int(devices["online"].sum()), len(devices)
    st.subheader(f"Devices · {online} of {total} online", anchor=False)
    device_table(devices, now=now, tz=tz)
    updated, download = st.columns([3, 1], vertical_alignment="center")
    updated.caption(
        f"Updated {now.astimezone(tz):%H:%M:%S}; refreshes every {OVERVIEW_TTL_S} s. "
        "Power is the latest reading of a device that is online; today starts at local midnight."
    )
    download.download_button(
        "Download CSV",
        data=export_csv(devices, tz=tz),
        file_name=f"energy-overview-{now.astimezone(tz):%Y-%m-%d-%H%M}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        width="stretch",
    )

    st.subheader("Energy today by device", anchor=False)
    energy_chart(devices)


user = auth.current_user()
st.title("Overview", anchor=False)
st.caption(f"Your household, live. Times are in {user.timezone}.")
live_overview(user)
