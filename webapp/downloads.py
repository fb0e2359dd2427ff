"""The CSV download under every table and chart: exactly the frame it shows, nothing else."""

from __future__ import annotations

import re
from functools import partial

import pandas as pd
import streamlit as st


def csv_bytes(frame: pd.DataFrame) -> bytes:
    # ISO 8601 with the offset: spreadsheets and pandas read it back as the same instant.
    return frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S%z").encode()


def file_stem(*parts: str) -> str:
    text = "-".join(p for p in parts if p)
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-").lower()


def csv_download(
    frame: pd.DataFrame, *, name: str, key: str, label: str = "CSV", help: str | None = None
) -> None:
    """A download button for ``frame`` as ``<name>.csv``. The CSV is written when the button is
    clicked, not on every run of the page (a page offers several and reruns every few seconds)."""
    st.download_button(
        label,
        data=partial(csv_bytes, frame),
        file_name=f"{file_stem(name)}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key=key,
        help=help or f"The {len(frame):,} rows behind this, as CSV.",
    )


def section(title: str):  # noqa: ANN201 - a DeltaGenerator
    """A section heading with room at its right end for the section's CSV button: write the
    button into the returned row (``with row: csv_download(...)``) once its data is known."""
    row = st.container(
        horizontal=True, horizontal_alignment="distribute", vertical_alignment="bottom"
    )
    row.subheader(title, anchor=False)
    return row
