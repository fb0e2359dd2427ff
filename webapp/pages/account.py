"""Account: profile (name, timezone, price per kWh, currency), password, API keys for reading the
household's data, signing out everywhere, and an export of all the household's data."""

from __future__ import annotations

import io
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import pandas as pd
import streamlit as st

from energy_core.accounts import change_password, issue_api_key, update_profile
from energy_core.export import export_household
from energy_core.models import KeyScope
from webapp import auth
from webapp.actions import FAILED, flash, revoke_key, show_flash, submit
from webapp.downloads import csv_download, file_stem
from webapp.loaders import database_guard, load_api_keys, load_profile, now_utc, read_session
from webapp.units import (
    CURRENCIES,
    format_key_dates,
    format_price,
    format_when,
    live_key_labels,
)

PAGE = "account"


@cache
def timezones() -> list[str]:
    return sorted(name for name in available_timezones() if "/" in name or name == "UTC")


def profile_form(user: auth.SignedInUser, profile: dict) -> None:
    st.subheader("Profile", anchor=False)
    with st.form("profile", border=True):
        left, right = st.columns(2)
        full_name = left.text_input("Name", value=profile["full_name"])
        left.text_input(
            "Email", value=profile["email"], disabled=True, help="Ask an admin to change it."
        )
        zones = timezones()
        timezone = right.selectbox(
            "Timezone",
            options=zones,
            index=zones.index(profile["timezone"]) if profile["timezone"] in zones else 0,
            help="Days, weeks and months of every page follow it.",
        )
        price_column, currency_column = right.columns([2, 1])
        price = price_column.number_input(
            "Price per kWh",
            min_value=0.0,
            max_value=100.0,
            value=float(profile["price_per_kwh"]),
            step=0.01,
            format="%.4f",
            help="A flat price: every hour before the household's first tariff (Tariffs page), "
            "and every hour while it has none. Time of use, export prices, standing charge and "
            "tax are set on the Tariffs page.",
        )
        currencies = list(CURRENCIES)
        if profile["currency"] not in currencies:
            currencies.insert(0, profile["currency"])
        currency = currency_column.selectbox(
            "Currency", options=currencies, index=currencies.index(profile["currency"])
        )
        auto_register = st.toggle(
            "Register unknown devices automatically when a household key sends their readings",
            value=bool(profile["auto_register_devices"]),
        )
        sent = st.form_submit_button("Save profile", type="primary", icon=":material/save:")
    if sent:
        saved = submit(
            lambda session: update_profile(
                session,
                user_id=user.id,
                full_name=full_name,
                timezone=timezone,
                price_per_kwh=price,
                currency=currency,
                auto_register_devices=auto_register,
            )
        )
        if saved is not FAILED:
            flash(
                PAGE,
                f"Saved. Figures now use {timezone} and "
                f"{format_price(saved.price_per_kwh, saved.currency)}.",
            )
            st.rerun()


def password_form(user: auth.SignedInUser) -> None:
    st.subheader("Password", anchor=False)
    with st.form("password", border=True, clear_on_submit=True):
        current = st.text_input("Current password", type="password")
        left, right = st.columns(2)
        new = left.text_input(
            "New password",
            type="password",
            help="At least 12 characters, any you like; not a common password. "
            "A few unrelated words make a good one.",
        )
        repeat = right.text_input("New password again", type="password")
        sent = st.form_submit_button("Change password", icon=":material/password:")
    if not sent:
        return
    if new != repeat:
        st.error("The two new passwords differ.", icon=":material/error:")
        return
    cut_off = submit(
        lambda session: change_password(
            session, user_id=user.id, current_password=current, new_password=new
        )
    )
    if cut_off is FAILED:
        return
    # No rerun here: this run carries the fresh login cookie to the browser.
    auth.keep_signed_in_after(cut_off)
    st.success(
        "Password changed. You stay signed in here; every other session and every older login "
        "cookie of your account no longer works.",
        icon=":material/check_circle:",
    )


def keys_section(user: auth.SignedInUser, keys: pd.DataFrame, tz: ZoneInfo) -> None:
    st.subheader("API keys", anchor=False)
    st.caption(
        "Read keys let scripts and integrations read your household's data through the API. "
        "Household ingest keys may write readings for any of your devices; keys of one device "
        "are on the Devices page."
    )
    household = keys[keys["device_id"].isna()]
    now = now_utc()
    if household.empty:
        st.caption("No read or household keys yet.")
    else:
        with st.container(horizontal=True, horizontal_alignment="right"):
            csv_download(
                household.drop(columns=["device_id", "device_name"]),
                name="api-keys",
                key="account_keys_csv",
            )
        st.dataframe(
            pd.DataFrame(
                {
                    "Key": household["prefix"] + "_…",
                    "Name": household["name"],
                    "Scope": household["scope"].map(
                        {"read": "Read", "ingest": "Ingest (all devices)"}
                    ),
                    **format_key_dates(household, tz=tz, now=now),
                }
            ),
            hide_index=True,
        )
    left, right = st.columns(2, gap="large")
    with left, st.form("issue_read_key", border=False, clear_on_submit=True):
        name = st.text_input("Name of the new read key", placeholder="Home Assistant")
        if st.form_submit_button("Issue read key", icon=":material/key:"):
            issued = submit(
                lambda session: issue_api_key(
                    session,
                    user_id=user.id,
                    scope=KeyScope.read,
                    name=name.strip() or "read key",
                )
            )
            if issued is not FAILED:
                flash(PAGE, "Issued a read key.", secret=issued.key, secret_label="Read key")
                st.rerun()
    labels = live_key_labels(household)
    with right:
        if not labels:
            return
        key_id = st.selectbox("Key to revoke", options=list(labels), format_func=labels.get)
        if st.button("Revoke", icon=":material/key_off:", key="account_revoke"):
            revoke_key(PAGE, user_id=user.id, key_id=int(key_id), label=labels[key_id])


def sessions_section(user: auth.SignedInUser, profile: dict, tz: ZoneInfo) -> None:
    st.subheader("Sessions", anchor=False)
    cut_off = profile.get("sessions_valid_after")
    st.caption(
        "Sign out everywhere ends every session of your account — other browsers, devices and "
        "this one — and makes every login cookie issued until now useless. Signing out from the "
        "sidebar does the same."
        + (
            f" Last done {format_when(cut_off, tz=tz)}."
            if cut_off is not None and not pd.isna(cut_off)
            else ""
        )
    )
    if st.button("Sign out everywhere", icon=":material/devices:", key="sign_out_everywhere"):
        auth.sign_out_everywhere(user)
        st.info(auth.SESSION_ENDED, icon=":material/logout:")
        st.stop()


def export_section(user: auth.SignedInUser) -> None:
    st.subheader("Your data", anchor=False)
    st.caption(
        "Everything stored for your household — devices, every reading, the hourly figures and "
        "your chat — as CSV files in one zip, with a README of the columns."
    )
    if not st.button("Export all my data", icon=":material/download:", key="export_data"):
        return
    buffer = io.BytesIO()
    with st.spinner("Writing the export…"), database_guard(), read_session() as session:
        exported = export_household(session, user_id=user.id, out=buffer, at=now_utc())
    rows = exported.rows
    st.download_button(
        "Download the zip",
        data=buffer.getvalue(),
        file_name=f"energy-export-{file_stem(user.email.split('@')[0])}-{now_utc():%Y%m%d}.zip",
        mime="application/zip",
        icon=":material/folder_zip:",
        on_click="ignore",
        key="export_download",
    )
    st.caption(
        f"{rows['devices.csv']:,} devices, {rows['readings.csv']:,} readings, "
        f"{rows['hourly_aggregates.csv']:,} hourly figures, {rows['chat_messages.csv']:,} chat "
        "messages."
    )


def main() -> None:
    user = auth.current_user()
    tz = ZoneInfo(user.timezone)
    st.title("Account", anchor=False)
    st.caption(f"Signed in as {user.email} ({user.role}).")
    show_flash(PAGE)
    with database_guard():
        profile = load_profile(user.id)
        keys = load_api_keys(user.id)
    profile_form(user, profile)
    left, right = st.columns(2, gap="large")
    with left:
        password_form(user)
    with right:
        sessions_section(user, profile, tz)
    keys_section(user, keys, tz)
    export_section(user)


main()
