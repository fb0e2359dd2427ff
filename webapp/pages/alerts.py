"""Alerts: the household's open and recent alerts, grouped by kind, each with its explanation,
its figures and its evidence chart, to acknowledge or mute; and the alert settings of the
household and of each device (docs/alerts.md)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from energy_core.alerts import (
    MUTE_CHOICES,
    AlertSettingsUpdate,
    DeviceAlertSettingsUpdate,
    acknowledge,
    grouped,
    mute,
    set_device_alert_settings,
    set_household_alert_settings,
    unmute,
)
from energy_core.alerts.figures import figure_text
from webapp import auth
from webapp.actions import FAILED, flash, show_flash, submit
from webapp.alerts_view import (
    clear_alert_caches,
    evidence_chart,
    load_alert_settings,
    load_alerts,
)
from webapp.downloads import csv_download
from webapp.layout import Figure, figure_row
from webapp.loaders import database_guard, load_devices, now_utc
from webapp.units import markdown_literal

PAGE = "alerts"
STATES = {"Open": "open", "Last 7 days": "recent", "All": "all"}
MUTE_LABELS = {"1d": "for a day", "7d": "for a week", "forever": "until unmuted"}
STATE_BADGES = {
    "open": ("New", "red"),
    "acknowledged": ("Seen", "orange"),
    "resolved": ("Resolved", "green"),
}


def act(change, message: str) -> None:  # noqa: ANN001 - a function of a session
    if submit(change) is not FAILED:
        clear_alert_caches()
        flash(PAGE, message)
        st.rerun()


def local_time(text: str, tz: ZoneInfo) -> str:
    """A stored instant (ISO 8601) in the household's timezone, as the other pages give times."""
    return f"{datetime.fromisoformat(text).astimezone(tz):%a %-d %b %Y %H:%M}"


def alert_card(user_id: int, alert: dict, devices: pd.DataFrame, *, tz: ZoneInfo) -> None:
    with st.container(border=True):
        label, colour = STATE_BADGES[alert["state"]]
        head = st.container(horizontal=True, vertical_alignment="center")
        head.markdown(f"**{alert['title']}**")
        head.badge(label, color=colour)
        if alert["muted"]:
            head.badge("Muted", icon=":material/notifications_off:", color="gray")
        st.write(alert["explanation"])
        shown = [f for f in alert["evidence"]["figures"] if f["label"] != "Last seen"]
        if shown:
            figure_row(
                [Figure(f["label"], figure_text(f)) for f in shown],
                key=f"alert-{alert['id']}-figures",
                border=False,
            )
        chart = evidence_chart(alert, devices)
        if chart is not None:
            # The title above the chart wraps on a phone; Vega's own title was cut to the
            # chart's width ("Energy cost so far this period, day by d…").
            st.markdown(f"**{markdown_literal(alert['evidence']['chart']['title'])}**")
            st.altair_chart(chart, use_container_width=True)
        # In the household's time, as on every other page (it was UTC, an hour off in summer).
        times = f"Opened {local_time(alert['opened_at'], tz)}"
        if alert["resolved_at"]:
            times += f", resolved {local_time(alert['resolved_at'], tz)}"
        times += f" ({tz.key})"
        st.caption(times)
        if alert["state"] == "resolved":
            return
        row = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
        key = f"alert-{alert['id']}"
        if alert["state"] == "open" and row[0].button(
            "Acknowledge", key=f"{key}-ack", icon=":material/done:"
        ):
            act(
                lambda s: acknowledge(s, user_id=user_id, alert_id=alert["id"], now=now_utc()),
                f"Acknowledged: {alert['title']}.",
            )
        if alert["muted"]:
            if row[0].button("Unmute", key=f"{key}-unmute", icon=":material/notifications:"):
                act(lambda s: unmute(s, user_id=user_id, key=alert["key"]), "Unmuted.")
            return
        length = row[1].selectbox(
            "Mute", list(MUTE_CHOICES), format_func=MUTE_LABELS.get, index=1, key=f"{key}-for"
        )
        if row[2].button("Mute", key=f"{key}-mute", icon=":material/notifications_off:"):
            act(
                lambda s: mute(
                    s, user_id=user_id, alert_id=alert["id"], now=now_utc(), duration=length
                ),
                f"Muted {MUTE_LABELS[length]}: no new alert for {alert['title']}.",
            )


def alerts_section(user_id: int, devices: pd.DataFrame, *, tz: ZoneInfo) -> None:
    choice = st.segmented_control("Show", list(STATES), default="Last 7 days")
    state = STATES[choice or "Last 7 days"]
    with database_guard():
        alerts = load_alerts(user_id, state)
    if not alerts:
        st.info(
            "No open alerts: nothing is offline or unusual."
            if state == "open"
            else "No alerts in this period.",
            icon=":material/notifications_none:",
        )
        return
    for kind_title, items in grouped(alerts).items():
        st.subheader(f"{kind_title} ({len(items)})", anchor=False)
        for alert in items:
            alert_card(user_id, alert, devices, tz=tz)
    table = pd.DataFrame(
        [
            {
                "opened_at": a["opened_at"],
                "kind": a["kind"],
                "device_id": a["device_id"],
                "state": a["state"],
                "title": a["title"],
                "explanation": a["explanation"],
                "resolved_at": a["resolved_at"],
            }
            for a in alerts
        ]
    )
    csv_download(table, name=f"alerts-{state}", key="alerts-csv", label="Alerts as CSV")


def settings_section(user_id: int) -> None:
    with database_guard():
        household, devices = load_alert_settings(user_id)
    with st.expander("Alert settings", icon=":material/tune:"):
        st.caption(
            "Sensitivity of unusual use: high alerts on smaller changes (3 typical spreads), low "
            "only on large ones (8); normal is 5. Offline after: minutes without a reading "
            "(empty: the device's max gap or three of its usual reporting intervals, whichever "
            "is longer). docs/alerts.md has every rule."
        )
        edited = st.data_editor(
            devices,
            hide_index=True,
            disabled=["device_id", "name"],
            column_config={
                "device_id": "Device id",
                "name": "Device",
                "sensitivity": st.column_config.SelectboxColumn(
                    "Sensitivity", options=["low", "normal", "high"], required=True
                ),
                "unusual_use": st.column_config.CheckboxColumn("Unusual-use alerts"),
                "offline_minutes": st.column_config.NumberColumn(
                    "Offline after (min)", min_value=1, max_value=10_080, step=1
                ),
            },
            key="alert-devices",
        )
        if st.button("Save device settings", icon=":material/save:"):
            act(lambda s: save_devices(s, user_id, devices, edited), "Device alert settings saved.")
        st.divider()
        cheap = st.toggle(
            "Tell me when my tariff's cheap period starts",
            value=household["cheap_period"],
            help="From the time-of-use periods of the current tariff that are cheaper than its "
            "default import price (Tariffs page).",
        )
        url = st.text_input(
            "Webhook URL (optional)",
            value=household["webhook_url"] or "",
            placeholder="https://example.com/energy-alerts",
            help="New alerts are POSTed there as JSON, signed: the header X-Energy-Signature is "
            "sha256=HMAC-SHA256 of the body under the secret below.",
        )
        if household["webhook_secret"]:
            st.caption("Signing secret:")
            st.code(household["webhook_secret"], language=None)
        by_email = st.toggle(
            "E-mail me new alerts",
            value=household["email_alerts"],
            help="Sent through the server's SMTP settings (ENERGY_SMTP_HOST); without them no "
            "e-mail goes out.",
        )
        email_to = st.text_input(
            "Alert e-mail address (optional)",
            value=household["email_to"] or "",
            placeholder="empty: your sign-in address",
        )
        if st.button("Save household settings", icon=":material/save:"):
            act(
                lambda s: set_household_alert_settings(
                    s,
                    user_id=user_id,
                    changes=AlertSettingsUpdate(
                        cheap_period=cheap,
                        webhook_url=url or None,
                        email_alerts=by_email,
                        email_to=email_to,
                    ),
                ),
                "Alert settings saved.",
            )


def save_devices(session, user_id: int, before: pd.DataFrame, after: pd.DataFrame) -> int:  # noqa: ANN001
    changed = 0
    for (_, old), (_, new) in zip(before.iterrows(), after.iterrows(), strict=True):
        if old.equals(new):
            continue
        minutes = new["offline_minutes"]
        set_device_alert_settings(
            session,
            user_id=user_id,
            device_id=new["device_id"],
            changes=DeviceAlertSettingsUpdate(
                sensitivity=new["sensitivity"],
                unusual_use=bool(new["unusual_use"]),
                offline_minutes=None if pd.isna(minutes) else int(minutes),
            ),
        )
        changed += 1
    return changed


def main() -> None:
    user = auth.current_user()
    st.title("Alerts", anchor=False)
    st.caption(
        "Checked every few minutes: a device offline, a device's unusual hour, a device left "
        "on, the always-on load rising, the bill on course to exceed the budget, and (if you "
        "ask) the cheap period of your tariff. Each says what it saw, in the words of "
        "[What the figures mean](/metrics)."
    )
    show_flash(PAGE)
    with database_guard():
        devices = load_devices(user.id)
    alerts_section(user.id, devices, tz=ZoneInfo(user.timezone))
    settings_section(user.id)


main()
