"""The analyst app's frame: page config, sign-in, then the pages the user's role may see.

Run it with ``energy-monitor app`` (or ``streamlit run webapp/streamlit_app.py``). Pages live in
``pages/`` beside this file and are registered here explicitly, by paths relative to it; a page a
role may not see is never registered.
"""

from __future__ import annotations

import re

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from energy_core.settings import get_settings
from webapp import auth
from webapp.alerts_view import alerts_title
from webapp.loaders import DatabaseUnavailable

if PagesManager.uses_pages_directory:
    # On the first run of a process Streamlit takes a folder named pages/ for a legacy multipage
    # app and runs this file as one of its pages. Our pages are registered with st.navigation
    # below; leave that mode before anything renders, or the first sign-in after a restart is lost.
    PagesManager.uses_pages_directory = False
    st.rerun()

st.set_page_config(
    page_title="Energy monitor",
    page_icon="⚡",
    layout="wide",
    initial_sidebar_state="auto",
)


def markdown_literal(text: str) -> str:
    """``text`` shown as typed: stored names and emails are not Markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~<>$:])", r"\\\1", text)


def pages_for(user: auth.SignedInUser) -> dict[str, list[st.Page]]:
    """The navigation of this user. Admin-only pages go in an "Admin" section added only when
    ``user.is_admin``, so members cannot reach them even by URL."""
    pages = {
        "Energy": [
            st.Page(
                "pages/live.py",
                title="Live",
                icon=":material/bolt:",
                url_path="home",
                default=True,
            ),
            st.Page(
                "pages/history.py", title="History", icon=":material/bar_chart:", url_path="history"
            ),
            st.Page(
                "pages/device.py", title="Device", icon=":material/monitoring:", url_path="device"
            ),
            st.Page("pages/chat.py", title="Chat", icon=":material/chat:", url_path="chat"),
            st.Page(
                "pages/alerts.py",
                title=alerts_title(user.id),
                icon=":material/notifications:",
                url_path="alerts",
            ),
            st.Page(
                "pages/glossary.py",
                title="What the figures mean",
                icon=":material/menu_book:",
                url_path="metrics",
            ),
        ],
        "Setup": [
            st.Page(
                "pages/devices.py", title="Devices", icon=":material/sensors:", url_path="devices"
            ),
            st.Page(
                "pages/import_history.py",
                title="Import",
                icon=":material/upload_file:",
                url_path="import",
            ),
            st.Page(
                "pages/tariffs.py",
                title="Tariffs",
                icon=":material/payments:",
                url_path="tariffs",
            ),
            st.Page(
                "pages/account.py",
                title="Account",
                icon=":material/account_circle:",
                url_path="account",
            ),
        ],
    }
    # Streamlit serves the default page at "/" only; /live, typed or bookmarked, is Live too.
    # (A page that switched to another right after a sign-in would drop the login cookie.)
    pages["Energy"].append(
        st.Page("pages/live.py", title="Live", url_path="live", visibility="hidden")
    )
    if user.is_admin:
        pages["Admin"] = [
            st.Page(
                "pages/admin_users.py",
                title="Users",
                icon=":material/group:",
                url_path="admin-users",
            ),
            st.Page(
                "pages/admin_status.py",
                title="System status",
                icon=":material/monitor_heart:",
                url_path="admin-status",
            ),
        ]
    return pages


# The address of every page a signed-in user may have; see signed_out_pages.
PAGE_PATHS = (
    "live",
    "history",
    "device",
    "chat",
    "alerts",
    "metrics",
    "devices",
    "import",
    "tariffs",
    "account",
    "admin-users",
    "admin-status",
)


def signed_out_page() -> None:
    """The page of a visitor who is not signed in; the frame has already drawn the form or
    the reason. Registering it keeps Streamlit from offering the files in pages/ instead."""


def signed_out_pages() -> list:
    """The sign-in page at the root and, hidden, at the address of every page of the app: a
    bookmarked link (History's filters live in its address) shows the form instead of "Page not
    found", keeps its address and query, and opens that page once the visitor has signed in."""
    return [st.Page(signed_out_page, title="Sign in", url_path="sign-in", default=True)] + [
        st.Page(signed_out_page, title="Sign in", url_path=path, visibility="hidden")
        for path in PAGE_PATHS
    ]


def account_sidebar(user: auth.SignedInUser) -> bool:
    """Who is signed in, and the sign-out button. True when the button was pressed."""
    with st.sidebar, st.container(border=True):
        st.markdown(f"**{markdown_literal(user.display_name)}**")
        if user.full_name:
            st.text(user.email)
        st.badge(
            user.role.capitalize(),
            icon=":material/shield_person:" if user.is_admin else ":material/person:",
            color="primary" if user.is_admin else "gray",
        )
        return st.button(
            "Sign out",
            key="energy_sign_out",
            icon=":material/logout:",
            help="Also ends your other sessions: login cookies issued before now stop working.",
        )


def main() -> None:
    settings = get_settings()
    user = authenticator = None
    problem = auth.cookie_key_problem(settings)
    if problem:
        st.error(problem, icon=":material/key_off:")
    else:
        try:
            authenticator = auth.make_authenticator(settings)
            user = auth.sign_in(authenticator)
        except DatabaseUnavailable as exc:
            st.error(str(exc), icon=":material/cloud_off:")

    if user is None:
        # No sidebar for visitors: close the one a signed-out session still has open.
        st.set_page_config(initial_sidebar_state="collapsed")
        st.navigation(signed_out_pages(), position="hidden").run()
        return

    st.logo(":material/bolt:", size="large")
    page = st.navigation(pages_for(user), position="sidebar")
    if account_sidebar(user):
        auth.sign_out(authenticator, user)
        st.info(auth.SIGNED_OUT, icon=":material/logout:")
        return
    auth.run_page(page, authenticator)


main()
