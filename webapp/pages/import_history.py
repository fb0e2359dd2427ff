"""Import: a household's history from a CSV file, an Emoncms feed export or a line-protocol file.
The page only gathers choices and shows what ``energy_core.history_import`` reads and stores."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from energy_core.db import get_engine
from energy_core.errors import CoreError
from energy_core.history_import import (
    CsvOptions,
    HistoryPlan,
    detect_format,
    read_history,
    store_history,
)
from energy_core.rollup import rollup_dirty_hours
from webapp import auth
from webapp.actions import FAILED, submit

UNITS = ["W", "kW", "Wh", "kWh"]
UNIT_HELP = "W or kW: power. Wh or kWh: meter totals, turned into the average power between them."


def explain(exc: CoreError) -> None:
    st.error(str(exc), icon=":material/error:")
    rows = [
        {"Line": d.get("index"), "Column": d.get("field"), "Problem": d.get("message")}
        for d in exc.details[:20]
    ]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)


def csv_header(text: str) -> list[str]:
    first = next(csv.reader(io.StringIO(text.split("\n", 1)[0])), [])
    return [name.strip() for name in first]


def preview(plan: HistoryPlan, tz: str) -> None:
    span = plan.span()
    cols = st.columns(3)
    cols[0].metric("Rows in the file", f"{plan.rows:,}")
    cols[1].metric("Readings to store", f"{plan.count:,}")
    cols[2].metric("Devices", f"{len(plan.devices()):,}")
    if span is not None:
        st.caption(
            f"From {span[0].astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M} to "
            f"{span[1].astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M} ({tz}); devices: "
            + ", ".join(plan.devices())[:500]
        )
    st.dataframe(
        pd.DataFrame(
            [
                {"Time": ts.astimezone(ZoneInfo(tz)), "Device": device, "Watts": power}
                for device, ts, power in plan.preview(10)
            ]
        ),
        hide_index=True,
    )


def main() -> None:
    user = auth.current_user()
    st.title("Import history", anchor=False)
    st.caption(
        "CSV: a time column and a column per device named by its header, or one value column "
        "for one device. Emoncms feed exports (time,value lines) need the device. Line "
        "protocol maps points to devices as the InfluxDB API does. The whole file is stored or "
        "nothing; importing it again stores nothing twice; devices it names are registered."
    )
    upload = st.file_uploader("File", type=["csv", "txt", "lp"])
    if upload is None:
        return
    try:
        text = upload.getvalue().decode("utf-8-sig")
    except UnicodeDecodeError:
        st.error("The file is not UTF-8 text.", icon=":material/error:")
        return
    fmt = detect_format(upload.name, text)
    st.caption(f"Read as {'line protocol' if fmt == 'lp' else 'CSV'}. First lines of the file:")
    st.code("\n".join(text.splitlines()[:5]), language=None)
    options, precision = CsvOptions(timezone=user.timezone), "ns"
    if fmt == "csv":
        header = csv_header(text)
        left, right = st.columns(2)
        time_column = left.selectbox("Time column", header, index=0)
        device = right.text_input("Device (for one value column)", help="empty: one per column")
        value_column = None
        if device:
            others = [h for h in header if h != time_column]
            value_column = left.selectbox("Value column", others) if others else None
        unit = right.selectbox("Unit", UNITS, help=UNIT_HELP)
        timezone = left.text_input("Timezone of times without an offset", value=user.timezone)
        has_header = not time_column.replace(".", "").isdigit()
        options = CsvOptions(
            time_column=time_column if has_header else None,
            value_column=value_column if has_header else None,
            device=device or None,
            timezone=timezone,
            unit=unit,
        )
    else:
        precision = st.selectbox("Timestamp precision", ["ns", "us", "ms", "s"])
    try:
        plan = read_history(text, format=fmt, options=options, precision=precision)
    except CoreError as exc:
        explain(exc)
        return
    st.subheader("What will be stored", anchor=False)
    preview(plan, user.timezone)
    if not st.button("Import", type="primary"):
        return
    bar = st.progress(0.0, text="Storing readings")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"Stored {done:,} of {total:,}")

    try:
        result = submit(lambda s: store_history(s, user_id=user.id, plan=plan, progress=progress))
    except CoreError as exc:
        explain(exc)
        return
    if result is FAILED:
        return
    bar.progress(1.0, text="Rolling up the imported hours")
    run = rollup_dirty_hours(get_engine())
    st.success(
        f"Stored {result.accepted:,} new readings ({result.duplicates:,} were already stored)"
        + ("" if run.skipped else f"; {run.hours:,} device-hours recomputed")
        + ".",
        icon=":material/check_circle:",
    )


main()
