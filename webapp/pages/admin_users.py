"""Admin · Users: create accounts, change roles, deactivate and reactivate, reset passwords,
unlock, and decide whether visitors may create their own account. Registered for admins only."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from energy_core.accounts import (
    create_user,
    generate_password,
    reset_password,
    set_user_active,
    set_user_role,
    unlock_user,
)
from energy_core.app_settings import parse_domains, set_registration_policy
from energy_core.models import Role
from energy_core.settings import get_settings
from webapp import auth
from webapp.actions import FAILED, flash, show_flash, submit
from webapp.downloads import csv_download, section
from webapp.loaders import database_guard, load_registration_policy, load_users, now_utc
from webapp.units import format_when

PAGE = "admin_users"


def users_table(users: pd.DataFrame, tz: ZoneInfo) -> None:
    now = now_utc()
    active = int(users["is_active"].sum())
    with section(f"Users · {active} active of {len(users)}"):
        csv_download(users, name="users", key="users_csv")
    locked = users["locked_until"].map(lambda at: pd.notna(at) and at > now)
    st.dataframe(
        pd.DataFrame(
            {
                "Email": users["email"],
                "Name": users["full_name"],
                "Role": users["role"].str.capitalize(),
                "Status": [
                    "Locked" if lock else ("Active" if on else "Deactivated")
                    for lock, on in zip(locked, users["is_active"], strict=True)
                ],
                "Devices": users["devices"],
                "Timezone": users["timezone"],
                "Created": users["created_at"].map(lambda at: format_when(at, tz=tz, now=now)),
            }
        ),
        hide_index=True,
    )


def create_form(admin: auth.SignedInUser) -> None:
    with st.expander("Create a user", icon=":material/person_add:"):
        with st.form("create_user", border=False, clear_on_submit=True):
            left, right = st.columns(2)
            email = left.text_input("Email", key="new_user_email")
            full_name = right.text_input("Name", key="new_user_name")
            role = left.selectbox(
                "Role",
                options=[Role.member, Role.admin],
                format_func=str.capitalize,
                key="new_user_role",
            )
            timezone = right.text_input(
                "Timezone", value=get_settings().default_timezone, key="new_user_timezone"
            )
            password = left.text_input(
                "Password",
                type="password",
                help="Leave empty to generate a temporary one, shown once.",
                key="new_user_password",
            )
            sent = st.form_submit_button("Create user", type="primary", icon=":material/add:")
        if not sent:
            return
        secret = password or generate_password()
        created = submit(
            lambda session: create_user(
                session,
                email=email,
                password=secret,
                full_name=full_name.strip(),
                role=Role(role),
                timezone=timezone.strip(),
            )
        )
        if created is FAILED:
            return
        flash(
            PAGE,
            f"Created {created.role} {created.email}.",
            secret=None if password else secret,
            secret_label=f"Temporary password for {created.email}",
        )
        st.rerun()


def manage(admin: auth.SignedInUser, users: pd.DataFrame) -> None:
    st.subheader("Manage a user", anchor=False)
    emails = dict(zip(users["id"], users["email"], strict=True))
    user_id = st.selectbox("User", options=list(emails), format_func=emails.get)
    row = users.set_index("id").loc[user_id]
    now = now_utc()
    role_column, active_column, password_column = st.columns(3, gap="large")
    with role_column:
        st.markdown("**Role**")
        role = st.radio(
            "Role",
            options=[Role.member, Role.admin],
            index=1 if row["role"] == Role.admin else 0,
            format_func=str.capitalize,
            horizontal=True,
            label_visibility="collapsed",
            key=f"role_{user_id}",
        )
        if st.button("Save role", key=f"save_role_{user_id}", disabled=role == row["role"]):
            done = submit(
                lambda session: set_user_role(
                    session, user_id=int(user_id), role=Role(role), acting_user_id=admin.id
                )
            )
            if done is not FAILED:
                flash(PAGE, f"{row['email']} is now {role}.")
                st.rerun()
    with active_column:
        st.markdown("**Access**")
        locked = pd.notna(row["locked_until"]) and row["locked_until"] > now
        st.caption(
            ("Active" if row["is_active"] else "Deactivated")
            + (
                f"; password sign-ins locked until {row['locked_until']:%H:%M} UTC"
                if locked
                else ""
            )
        )
        label = "Deactivate" if row["is_active"] else "Reactivate"
        if st.button(label, key=f"active_{user_id}"):
            active = not row["is_active"]
            done = submit(
                lambda session: set_user_active(
                    session, user_id=int(user_id), is_active=active, acting_user_id=admin.id
                )
            )
            if done is not FAILED:
                flash(PAGE, f"{label}d {row['email']}.")
                st.rerun()
        if locked and st.button("Unlock", key=f"unlock_{user_id}"):
            done = submit(lambda session: unlock_user(session, user_id=int(user_id)))
            if done is not FAILED:
                flash(PAGE, f"Unlocked {row['email']}.")
                st.rerun()
    with password_column:
        st.markdown("**Password**")
        st.caption("A new temporary password, shown once; their sessions end.")
        if st.button("Reset password", key=f"reset_{user_id}"):
            secret = generate_password()
            done = submit(
                lambda session: reset_password(session, user_id=int(user_id), new_password=secret)
            )
            if done is not FAILED:
                flash(
                    PAGE,
                    f"Reset the password of {row['email']}.",
                    secret=secret,
                    secret_label=f"Temporary password for {row['email']}",
                )
                st.rerun()


def registration(admin: auth.SignedInUser) -> None:
    st.subheader("Self-registration", anchor=False)
    policy = load_registration_policy()
    with st.form("registration", border=True):
        enabled = st.toggle(
            "Visitors may create their own (member) account on the sign-in page",
            value=policy["enabled"],
        )
        domains = st.text_input(
            "Only for email domains (optional)",
            value=", ".join(policy["domains"]),
            placeholder="example.com, example.org",
            help="Leave empty to allow any address.",
        )
        sent = st.form_submit_button("Save", icon=":material/save:")
    if sent:
        done = submit(
            lambda session: set_registration_policy(
                session, enabled=enabled, domains=parse_domains(domains), updated_by=admin.id
            )
        )
        if done is not FAILED:
            state = "on" if done.enabled else "off"
            where = f" for {', '.join(done.domains)}" if done.enabled and done.domains else ""
            flash(PAGE, f"Self-registration is {state}{where}.")
            st.rerun()


def main() -> None:
    admin = auth.require_admin()
    tz = ZoneInfo(admin.timezone)
    st.title("Users", anchor=False)
    st.caption("Accounts of this monitor. Only administrators see this page.")
    show_flash(PAGE)
    with database_guard():
        users = load_users(admin.id)
        users_table(users, tz)
        create_form(admin)
        manage(admin, users)
        registration(admin)


main()
