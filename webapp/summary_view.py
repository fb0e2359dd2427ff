"""The weekly summary on the Live page (docs/insights.md): one expander below the live figures,
closed until asked, with the week's totals against the week before, the biggest movers against
the week before and a year earlier, the always-on change, the week's alerts, and the same
summary as Markdown and CSV."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from energy_core.insights import WeeklySummary, default_week, weekly_summary
from energy_core.insights_report import (
    CSV_COLUMNS,
    alert_lines,
    baseload_text,
    change_text,
    figure,
    mover_line,
    summary_markdown,
    summary_rows,
)
from energy_core.stats import load_household
from webapp import loaders
from webapp.downloads import csv_download, file_stem
from webapp.loaders import DatabaseUnavailable, read_session

WEEKS_OFFERED = 8
# Rising consumption, import and cost read red; rising generation and export green.
RISING_IS_BAD = {"consumption_wh", "import_wh", "cost"}


@st.cache_data(ttl=300, show_spinner=False)
def load_weeks(user_id: int) -> list[date]:
    """The Mondays of the last WEEKS_OFFERED whole weeks, newest first."""
    with read_session() as session:
        household = load_household(session, user_id=user_id)
    last = default_week(loaders.now_utc(), household)
    return [last - timedelta(weeks=n) for n in range(WEEKS_OFFERED)]


@st.cache_data(ttl=300, show_spinner=False)
def load_summary(user_id: int, monday: date) -> WeeklySummary:
    with read_session() as session:
        household = load_household(session, user_id=user_id)
        return weekly_summary(session, household, now=loaders.now_utc(), monday=monday)


# Session state key of the section's open/closed state.
OPEN_KEY = "live_summary_open"


def weekly_summary_section(user_id: int) -> None:
    # Read and drawn only while open: a closed section cost the Live page's first run a week's
    # reads and the browser a selectbox, figures and downloads it did not show, all before the
    # first chart of a fresh sign-in was drawn.
    section = st.expander(
        "Weekly summary", icon=":material/summarize:", key=OPEN_KEY, on_change="rerun"
    )
    if not section.open:
        return
    with section:
        try:
            weeks = load_weeks(user_id)
        except DatabaseUnavailable as exc:
            st.error(str(exc), icon=":material/cloud_off:")
            return
        monday = st.selectbox(
            "Week",
            weeks,
            format_func=lambda d: (
                f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d} (from {d:%a %-d %b})"
            ),
            key="summary_week",
        )
        try:
            summary = load_summary(user_id, monday)
        except DatabaseUnavailable as exc:
            st.error(str(exc), icon=":material/cloud_off:")
            return
        show_summary(summary)


def show_summary(summary: WeeklySummary) -> None:
    c = summary.currency
    # A wrapping row: five figures side by side on a desktop, two or three a line on a phone.
    with st.container(horizontal=True, gap="medium"):
        for total in summary.totals:
            ratio = total.previous.ratio
            st.metric(
                total.title,
                figure(total.metric, total.value, c),
                delta=None if ratio is None else f"{ratio * 100:+.0f}%",
                delta_color="inverse" if total.metric in RISING_IS_BAD else "normal",
                help=f"Against the week before: {change_text(total.previous, total.metric, c)}. "
                f"Against a year earlier: {change_text(total.last_year, total.metric, c)}.",
                width="content",
            )
    st.caption(
        "Changes in percent only where readings cover at least 90 % of both weeks (see What the "
        "figures mean); otherwise the difference and why."
    )
    previous, last_year = st.tabs(["Movers vs the week before", "vs a year earlier"])
    for tab, found in ((previous, summary.movers_previous), (last_year, summary.movers_last_year)):
        with tab:
            # A list, not a table: the explanations wrap on a phone instead of being cut off.
            lines = [mover_line(m, c) for m in found] or ["No device has figures in this week."]
            st.markdown("\n".join(lines))
    st.markdown(f"**Always-on load:** {baseload_text(summary)}")
    st.markdown("**Alerts opened this week:**\n\n" + "\n".join(alert_lines(summary)))
    stem = file_stem(f"weekly-summary-{summary.week}")
    row = st.container(horizontal=True)
    with row:
        st.download_button(
            "Markdown",
            data=summary_markdown(summary).encode(),
            file_name=f"{stem}.md",
            mime="text/markdown",
            icon=":material/download:",
            on_click="ignore",
            key="summary_md",
        )
        csv_download(
            pd.DataFrame(summary_rows(summary), columns=CSV_COLUMNS),
            name=stem,
            key="summary_csv",
        )


__all__ = ["show_summary", "weekly_summary_section"]
