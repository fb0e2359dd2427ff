"""Admin · System status: the database, the cache, the background jobs and their lag, the hours
waiting for the rollup, and the size of the tables. Registered for admins only."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from webapp import auth
from webapp.downloads import csv_download, section
from webapp.layout import Figure, figure_row
from webapp.loaders import STATUS_TTL_S, database_guard, load_system_status, now_utc
from webapp.units import format_duration, format_when

# A rollup older than this many intervals means the scheduler is behind or not running.
LATE_INTERVALS = 3


def cache_state(status: dict) -> tuple[str, str]:
    if status["cache_backend"] == "redis":
        if status["cache_healthy"]:
            return "Redis", "Answering; caches and rate limits are shared by all processes."
        return "Redis down", "Configured but not answering: each process serves from memory."
    return "In memory", "No ENERGY_REDIS_URL: each process keeps its own cache."


def mqtt_bridge(bridge: dict | None, *, tz: ZoneInfo, now) -> None:  # noqa: ANN001
    """The MQTT bridge's last report (``energy-monitor mqtt``), if one ever ran."""
    if bridge is None:
        return
    st.subheader("MQTT bridge", anchor=False)
    stale = bridge["age_s"] > 60
    state = "Not reporting" if stale else ("Connected" if bridge["connected"] else "Reconnecting")
    lag = bridge["lag_s"]
    figure_row(
        [
            Figure("Bridge", state),
            Figure("Messages stored", f"{bridge['stored']:,}", "since the bridge started"),
            Figure("Received", f"{bridge['received']:,}"),
            Figure("Lag", "—" if lag is None else f"{lag:,.2f} s", "arrival to commit"),
            Figure("Waiting", f"{bridge['backlog']:,}", "received, not yet stored"),
        ],
        key="bridge_figures",
        border=False,
    )
    st.caption(
        f"Reported {format_when(bridge['reported_at'], tz=tz, now=now)}; started "
        f"{format_when(bridge['started_at'], tz=tz, now=now)}; {bridge['ignored']:,} messages "
        f"without power, {bridge['rejected']:,} refused, {bridge['reconnects']:,} reconnects."
    )
    if bridge["error"]:
        st.warning(bridge["error"], icon=":material/cloud_off:")


def main() -> None:
    admin = auth.require_admin()
    tz = ZoneInfo(admin.timezone)
    now = now_utc()
    st.title("System status", anchor=False)
    with database_guard():
        status = load_system_status(admin.id)
    st.caption(
        f"Checked {format_when(status['checked_at'], tz=tz, now=now)}; refreshed at most every "
        f"{STATUS_TTL_S} s. {status['backend']} {status['server_version']} at "
        f"`{status['database']}`."
    )

    rollup = next((job for job in status["jobs"].itertuples() if job.job == "rollup"), None)
    interval = status["rollup_interval_s"]
    cache_label, cache_help = cache_state(status)
    oldest = status["oldest_dirty_hour"]
    readings = status["tables"].set_index("table").loc["readings"]
    cells = [
        (
            "Database",
            status["backend"],
            f"{status['backend']} {status['server_version']}: the database the app uses.",
        ),
        ("Cache", cache_label, cache_help),
        (
            "Last rollup",
            format_duration(rollup.age_s) + " ago" if rollup is not None else "never",
            f"When the scheduler last finished aggregating; it runs every {interval} s.",
        ),
        (
            "Dirty hours",
            f"{status['dirty_hours']:,}",
            "Device-hours waiting for the rollup"
            + (
                f"; the oldest is {format_when(oldest, tz=tz, now=now)}."
                if oldest is not None and not pd.isna(oldest)
                else "."
            ),
        ),
        (
            "Readings",
            ("≈ " if readings["estimated"] else "") + f"{int(readings['rows']):,}",
            "Raw readings stored (an estimate on PostgreSQL for big tables).",
        ),
    ]
    figure_row(
        [Figure(label, value, help_text) for label, value, help_text in cells], key="status_figures"
    )

    if rollup is None:
        st.warning(
            "The rollup has never run: hourly figures come from raw readings until it does. "
            "Start the scheduler (`energy-monitor scheduler`, or `energy-monitor up`).",
            icon=":material/schedule:",
        )
    elif rollup.age_s > LATE_INTERVALS * interval:
        st.warning(
            f"The last rollup finished {format_duration(rollup.age_s)} ago, more than "
            f"{LATE_INTERVALS} intervals of {interval} s: is the scheduler running?",
            icon=":material/schedule:",
        )
    if rollup is not None and rollup.error:
        st.error(f"The last rollup failed: {rollup.error}", icon=":material/error:")
    if status["cache_backend"] == "redis" and not status["cache_healthy"]:
        st.warning(cache_help, icon=":material/cloud_off:")

    jobs = status["jobs"]
    with section("Background jobs"):
        csv_download(jobs, name="jobs", key="status_jobs_csv")
    if jobs.empty:
        st.caption("No background job has run yet.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "Job": jobs["job"].str.capitalize(),
                    "Started": jobs["started_at"].map(lambda at: format_when(at, tz=tz, now=now)),
                    "Finished": jobs["finished_at"].map(lambda at: format_when(at, tz=tz, now=now)),
                    "Took": jobs["duration_s"].map(lambda s: f"{s:,.2f} s"),
                    "Hours computed": jobs["hours_computed"].map("{:,}".format),
                    "Since": jobs["age_s"].map(format_duration),
                    "Error": jobs["error"].fillna(""),
                }
            ),
            hide_index=True,
        )

    mqtt_bridge(status.get("mqtt"), tz=tz, now=now)

    tables = status["tables"]
    with section("Tables"):
        csv_download(tables, name="table-rows", key="status_tables_csv")
    st.dataframe(
        pd.DataFrame(
            {
                "Table": tables["table"],
                "Rows": [
                    ("≈ " if estimated else "") + f"{rows:,}"
                    for rows, estimated in zip(tables["rows"], tables["estimated"], strict=True)
                ],
            }
        ),
        hide_index=True,
        column_config={"Rows": st.column_config.TextColumn(alignment="right")},
    )
    st.caption(
        "≈ marks PostgreSQL's planner estimate, used for big tables instead of a full count."
    )


main()
