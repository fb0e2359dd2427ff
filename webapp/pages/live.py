"""Live: what the household draws right now, a tile per device, and the last 60 minutes."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import streamlit as st

from energy_core.stats import GLOSSARY
from webapp import auth
from webapp.charts import (
    GENERATED_COLOR,
    USED_COLOR,
    axis_format,
    device_legend,
    device_scale,
    power_tooltip,
    power_unit,
)
from webapp.downloads import csv_download, section
from webapp.layout import Figure, figure_row, tile_grid
from webapp.loaders import OVERVIEW_TTL_S, DatabaseUnavailable, load_devices, now_utc
from webapp.notices import no_devices
from webapp.reads import LiveView, load_overview, load_recent_power
from webapp.summary_view import weekly_summary_section
from webapp.units import (
    currency_symbol,
    format_energy,
    format_last_seen,
    format_money,
    format_power,
    format_type,
    markdown_literal,
)

TILES_PER_ROW = 4
RECENT_MINUTES = 60
# Session state key of the "All devices as a table" section's open/closed state.
TABLE_OPEN_KEY = "live_table_open"


def status_label(row: pd.Series) -> str:
    if not row["is_active"]:
        return "Disabled"
    return "Online" if row["online"] else "Offline"


# --- sections ----------------------------------------------------------------------------------


def household_metrics(view: LiveView, *, currency: str) -> None:
    """Power now and today's figures of the household, in the glossary's words."""
    today = view.today
    generates = view.generates
    figures = [
        Figure(
            "Household now"
            if not generates
            else ("Importing now" if view.net_w >= 0 else "Exporting now"),
            format_power(abs(view.net_w) if generates else view.consumption_w),
            "What the online devices draw now: the latest reading of every device that is online "
            "(its latest reading still holds, within its max gap)."
            + (
                f" They draw {format_power(view.consumption_w)} and produce "
                f"{format_power(view.generation_w)}; the grid meter's reading wins where there "
                "is one."
                if generates
                else ""
            ),
        )
    ]
    if generates:
        figures.append(
            Figure(
                "Generating now",
                format_power(view.generation_w),
                "What the online devices produce now: the latest reading of every generating "
                "device that is online, as a positive number.",
            )
        )
    figures.append(
        Figure(
            "Consumption today", format_energy(today["consumption_wh"]), GLOSSARY["consumption_wh"]
        )
    )
    if generates:
        figures.append(
            Figure(
                "Generation today", format_energy(today["generation_wh"]), GLOSSARY["generation_wh"]
            )
        )
    figures.append(Figure("Cost today", format_money(today["cost"], currency), GLOSSARY["cost"]))
    figure_row(figures, key="live_figures")


def recent_chart(
    recent: pd.DataFrame, devices: pd.DataFrame, *, now: datetime, tz: tzinfo
) -> pd.DataFrame:
    # ``devices``: the registered devices (with ``created_at``), for the colours.
    """The last hour per device (stacked; generation below zero) and the household's net power.
    Returns the frame behind it, for the CSV."""
    names = dict(zip(devices["device_id"], devices["name"], strict=True))
    data = recent.assign(
        device=recent["device_id"].map(names),
        minute=recent["bucket_start"].dt.tz_convert(tz).dt.tz_localize(None),
    )
    # A minute that no device's readings hold stays blank, not zero.
    net = data.groupby("minute", as_index=False)["mean_w"].sum(min_count=1)
    stacked = (
        data.assign(used=data["mean_w"].clip(lower=0), generated=data["mean_w"].clip(upper=0))
        .groupby("minute")[["used", "generated"]]
        .sum()
    )
    unit, divisor = power_unit([*stacked["used"], *stacked["generated"]])
    data["power"] = data["mean_w"] / divisor
    data["peak"] = data["max_w"] / divisor
    net["power"] = net["mean_w"] / divisor
    colours = device_scale(devices, recent["device_id"].unique())
    start = (now - timedelta(minutes=RECENT_MINUTES)).astimezone(tz).replace(tzinfo=None)
    x = alt.X(
        "minute:T",
        title=None,
        scale=alt.Scale(domain=[start, now.astimezone(tz).replace(tzinfo=None)]),
        axis=alt.Axis(format="%H:%M", tickCount=7, grid=False),
    )
    areas = (
        alt.Chart(data)
        .mark_area(interpolate="step-after", opacity=0.85)
        .encode(
            x=x,
            y=alt.Y(
                "power:Q",
                stack="zero",
                title=f"Power ({unit})",
                axis=alt.Axis(format=axis_format(divisor), tickCount=5),
            ),
            color=alt.Color(
                "device:N",
                scale=colours,
                legend=None,
            ),
            order=alt.Order("device:N"),
            tooltip=[
                alt.Tooltip("minute:T", title="Minute", format="%H:%M"),
                alt.Tooltip("device:N", title="Device"),
                power_tooltip("power", "Mean", unit=unit, divisor=divisor),
                power_tooltip("peak", "Peak", unit=unit, divisor=divisor),
            ],
        )
    )
    net_line = (
        alt.Chart(net)
        .mark_line(interpolate="step-after", color="#1f2933", strokeWidth=1.5)
        .encode(
            x=x,
            y="power:Q",
            tooltip=[
                alt.Tooltip("minute:T", title="Minute", format="%H:%M"),
                power_tooltip("power", "Household net", unit=unit, divisor=divisor),
            ],
        )
    )
    st.altair_chart((areas + net_line).properties(height=280), width="stretch")
    device_legend(colours)
    st.caption(
        "Mean power per minute of each device, stacked; generation is drawn below zero and the "
        "dark line is the household's net power. Minutes without readings are left blank."
    )
    return recent.assign(name=recent["device_id"].map(names))[
        ["bucket_start", "device_id", "name", "mean_w", "min_w", "max_w", "samples"]
    ]


def feed_stopped(devices: pd.DataFrame, *, now: datetime, tz: tzinfo) -> None:
    """One line when no active device is online although some have sent readings: the power now
    is then 0 W and the chart's end is blank, which otherwise reads as a house using nothing."""
    active = devices[devices["is_active"]]
    if active.empty or active["online"].any():
        return
    latest = active["last_seen_at"].fillna(active["reading_at"]).max()
    if pd.isna(latest):
        return
    st.warning(
        f"No device is online: the last reading came {format_last_seen(latest, now=now, tz=tz)}."
        " Power now counts online devices only.",
        icon=":material/wifi_off:",
    )


def device_tiles(
    devices: pd.DataFrame, *, user: auth.SignedInUser, now: datetime, tz: tzinfo
) -> None:
    last_seen = devices["last_seen_at"].fillna(devices["reading_at"])
    tiles = tile_grid(len(devices), per_row=TILES_PER_ROW, key="live_tiles")
    for tile, (index, device) in zip(tiles, devices.iterrows(), strict=True):
        with tile:
            status = status_label(device)
            st.markdown(f"**{markdown_literal(device['name'])}**")
            room = " · ".join(p for p in (device["location"], format_type(device["type"])) if p)
            st.caption(markdown_literal(room) or " ")
            power = device["power_w"]
            # The status goes under the power where the tile is too narrow for both (columns
            # of fixed shares cut it to "On…" in four tiles a line on a laptop).
            with st.container(horizontal=True, vertical_alignment="center", gap="small"):
                st.markdown(
                    f"<span style='font-size:1.6rem;font-weight:600;color:"
                    f"{GENERATED_COLOR if (power or 0) < 0 else USED_COLOR}'>"
                    f"{format_power(power)}</span>",
                    unsafe_allow_html=True,
                    width="content",
                )
                st.badge(
                    status,
                    icon={
                        "Online": ":material/wifi:",
                        "Offline": ":material/wifi_off:",
                        "Disabled": ":material/block:",
                    }[status],
                    color={"Online": "green", "Offline": "gray", "Disabled": "orange"}[status],
                )
            if device["generator"]:
                today = f"Generated today {format_energy(device['today_generation_wh'])}"
            else:
                today = (
                    f"Today {format_energy(device['today_consumption_wh'])} · "
                    f"{format_money(device['today_cost'], user.currency)}"
                )
            st.caption(f"{today}  \nLast seen {format_last_seen(last_seen[index], now=now, tz=tz)}")
            st.page_link(
                "pages/device.py",
                label="Details",
                icon=":material/arrow_forward:",
                query_params={"device": device["device_id"]},
            )


def table_frame(devices: pd.DataFrame, *, tz: tzinfo) -> pd.DataFrame:
    """The devices as the table shows them and the CSV holds them."""
    last_seen = devices["last_seen_at"].fillna(devices["reading_at"])
    return pd.DataFrame(
        {
            "device_id": devices["device_id"],
            "name": devices["name"],
            "location": devices["location"],
            "type": devices["type"],
            "status": devices.apply(status_label, axis=1).str.lower(),
            "power_w": devices["power_w"],
            "last_seen_at": last_seen,
            "last_seen_local": last_seen.dt.tz_convert(tz),
            "today_consumption_wh": devices["today_consumption_wh"].round(1),
            "today_generation_wh": devices["today_generation_wh"].round(1),
            "today_cost": devices["today_cost"].round(4),
            "today_coverage": devices["today_coverage"].round(4),
        }
    )


def device_table(devices: pd.DataFrame, *, now: datetime, tz: tzinfo, currency: str) -> None:
    last_seen = devices["last_seen_at"].fillna(devices["reading_at"])
    table = pd.DataFrame(
        {
            "Device": devices["name"],
            "Room": devices["location"],
            "Type": devices["type"].map(format_type),
            "Power now": devices["power_w"].map(format_power),
            "Status": devices.apply(status_label, axis=1),
            "Last seen": last_seen.map(lambda at: format_last_seen(at, now=now, tz=tz)),
            "Consumption today (kWh)": devices["today_consumption_wh"] / 1000,
            "Generation today (kWh)": devices["today_generation_wh"] / 1000,
            "Cost today": devices["today_cost"],
            "Coverage": devices["today_coverage"] * 100,
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "Power now": st.column_config.TextColumn(alignment="right"),
            "Consumption today (kWh)": st.column_config.NumberColumn(format="%.2f"),
            "Generation today (kWh)": st.column_config.NumberColumn(format="%.2f"),
            "Cost today": st.column_config.NumberColumn(
                f"Cost today ({currency_symbol(currency)})", format="%.2f"
            ),
            "Coverage": st.column_config.ProgressColumn(
                format="%.0f%%",
                min_value=0.0,
                max_value=100.0,
                help="Share of today so far that the device's readings cover; gaps are unknown, "
                "not zero.",
            ),
        },
    )


# --- page --------------------------------------------------------------------------------------


@st.fragment(run_every=OVERVIEW_TTL_S)
def live(user: auth.SignedInUser) -> None:
    auth.recheck(user)
    tz = ZoneInfo(user.timezone)
    try:
        view = load_overview(user.id)
        recent = load_recent_power(user.id, RECENT_MINUTES)
        registered = load_devices(user.id)
    except DatabaseUnavailable as exc:
        st.error(str(exc), icon=":material/cloud_off:")
        return
    now = now_utc()
    devices = view.devices
    if devices.empty:
        no_devices(
            "No devices yet. Register your first one on the Devices page: it gives you an API "
            "key and a ready-made command to send readings."
        )
        return

    household_metrics(view, currency=user.currency)
    feed_stopped(devices, now=now, tz=tz)

    row = section("Last 60 minutes")
    if recent.empty:
        st.info(
            "No readings in the last hour. Devices post their readings to the ingest API; the "
            "tiles below say when each was last seen.",
            icon=":material/hourglass_empty:",
        )
    else:
        behind = recent_chart(recent, registered, now=now, tz=tz)
        with row:
            csv_download(behind, name=f"power-last-hour-{now:%Y%m%d-%H%M}", key="live_recent_csv")

    online, total = int(devices["online"].sum()), len(devices)
    st.subheader(f"Devices · {online} of {total} online", anchor=False)
    device_tiles(devices, user=user, now=now, tz=tz)

    # Drawn only while open (a click reruns this fragment): closed, the table still made a fresh
    # tab load and draw Streamlit's data grid, a sixth of the page's frontend code, before the
    # first chart of a sign-in was drawn.
    table = st.expander(
        "All devices as a table",
        icon=":material/table:",
        key=TABLE_OPEN_KEY,
        on_change="rerun",
    )
    if table.open:
        with table:
            device_table(devices, now=now, tz=tz, currency=user.currency)
            csv_download(
                table_frame(devices, tz=tz),
                name=f"devices-now-{now.astimezone(tz):%Y%m%d-%H%M}",
                key="live_devices_csv",
            )
    # The cost rule sits under every cost of the page (today's and each tile's), not between the
    # figures and the chart: there, seven lines of it pushed a phone's first chart off the screen.
    st.caption(
        f"Updated {now.astimezone(tz):%H:%M:%S} ({user.timezone}); refreshes every "
        f"{OVERVIEW_TTL_S} s. Power is the latest reading of a device that is online; today "
        f"starts at local midnight. {view.cost_rule}"
    )


user = auth.current_user()
st.title("Live", anchor=False)
st.caption("What your household is using right now.")
live(user)
weekly_summary_section(user.id)
