"""What the Alerts page and the sidebar's badge read: a household's alerts and alert settings as
plain data (cached per user), and the evidence chart of one alert."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from energy_core.alerts import device_alert_settings, household_settings, list_alerts
from webapp import loaders
from webapp.charts import NEUTRAL_COLOR, USED_COLOR, device_colors, power_unit
from webapp.loaders import DatabaseUnavailable, read_session

ALERTS_TTL_S = 30


@st.cache_data(ttl=ALERTS_TTL_S, show_spinner=False)
def load_alerts(user_id: int, state: str) -> list[dict]:
    with read_session() as session:
        return list_alerts(session, user_id=user_id, state=state, now=loaders.now_utc())


def load_alert_settings(user_id: int) -> tuple[dict, pd.DataFrame]:
    """The household's settings (cheap period, webhook, e-mail) and each device's."""
    with read_session() as session:
        own = household_settings(session, user_id=user_id)
        household = {
            "cheap_period": own.cheap_period,
            "webhook_url": own.webhook_url,
            "webhook_secret": own.webhook_secret,
            "email_alerts": own.email_alerts,
            "email_to": own.email_to,
        }
        devices = device_alert_settings(session, user_id=user_id)
    columns = ["device_id", "name", "sensitivity", "unusual_use", "offline_minutes"]
    frame = pd.DataFrame(devices, columns=columns)
    frame["offline_minutes"] = frame["offline_minutes"].astype("Int64")
    return household, frame


def alerts_title(user_id: int) -> str:
    """The page's name in the sidebar, with the number of new open alerts: "Alerts (2)"."""
    try:
        count = sum(1 for a in load_alerts(user_id, "open") if a["state"] == "open")
    except DatabaseUnavailable:
        return "Alerts"
    return f"Alerts ({count})" if count else "Alerts"


def clear_alert_caches() -> None:
    load_alerts.clear()


def evidence_chart(alert: dict, devices: pd.DataFrame) -> alt.Chart | None:
    """The alert's chart: its figure over time in the device's own colour (the household's
    teal for household alerts), and the usual value, where there is one, dashed in grey."""
    chart = alert["evidence"]["chart"]
    frame = pd.DataFrame(chart["points"], columns=["at", "label", "value", "usual"])
    if frame.empty or frame["value"].isna().all():
        return None
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    unit, divisor = chart["unit"], 1.0
    if unit == "W":
        unit, divisor = power_unit(pd.concat([frame["value"], frame["usual"]]).dropna())
    frame["value"] = frame["value"] / divisor
    frame["usual"] = frame["usual"].astype(float) / divisor
    colour = USED_COLOR
    if alert["device_id"] and alert["device_id"] in set(devices["device_id"]):
        colour = device_colors(devices)[alert["device_id"]]
    daily = len(frame) > 1 and (frame["at"].diff().min() >= pd.Timedelta(days=1))
    when = "%a %d %b" if daily else "%a %H:%M"
    x = alt.X("at:T", title=None, axis=alt.Axis(format=when, labelAngle=0))
    base = alt.Chart(frame)
    if chart.get("mark") == "bar":
        # Bars of days or weeks, named as the household's calendar names them.
        x = alt.X("label:N", title=None, sort=None, axis=alt.Axis(labelAngle=0))
        drawn = base.mark_bar(color=colour, opacity=0.85)
    else:
        drawn = base.mark_line(point=True, color=colour, interpolate="step-after")
    measured = drawn.encode(
        x=x,
        y=alt.Y("value:Q", title=unit),
        tooltip=[
            alt.Tooltip("at:T", title="From", format="%a %d %b %H:%M"),
            alt.Tooltip("value:Q", title=unit, format=",.2f"),
        ],
    )
    layers = [measured]
    if frame["usual"].notna().any():
        usual = (
            alt.Chart(frame.dropna(subset=["usual"]))
            .mark_line(color=NEUTRAL_COLOR, strokeDash=[4, 3], interpolate="step-after")
            .encode(x=x, y="usual:Q", tooltip=[alt.Tooltip("usual:Q", title=f"usual, {unit}")])
        )
        layers.append(usual)
    reference = chart.get("reference")
    if reference and reference.get("value") is not None:
        line = pd.DataFrame([{"value": reference["value"] / divisor, "label": reference["label"]}])
        layers.append(
            alt.Chart(line)
            .mark_rule(color=NEUTRAL_COLOR, strokeDash=[6, 4])
            .encode(y="value:Q", tooltip=["label:N", alt.Tooltip("value:Q", format=",.2f")])
        )
    # The page writes the chart's title above it, where a phone's width wraps it.
    return alt.layer(*layers).properties(height=220)
