"""Rows of figures and tiles that fit the screen: side by side on a desktop, two a line on a
phone. Streamlit's columns stack one a line below 640 px, which put a page's figures one under the
other and its first chart below the fold of a phone; a wrapping row keeps two a line there."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import streamlit as st
from streamlit.delta_generator import DeltaGenerator


@dataclass(frozen=True)
class Figure:
    """One figure in a bordered tile, in the glossary's words (``help``)."""

    label: str
    value: str
    help: str | None = None
    delta: str | None = None
    delta_color: str = "normal"
    # A line under the figure, such as when a peak happened.
    note: str | None = None


def figure_row(figures: Sequence[Figure]) -> None:
    """``figures`` side by side, each the same width, wrapping on a narrow screen."""
    with st.container(horizontal=True, gap="small"):
        for figure in figures:
            with st.container(width="stretch", gap=None) if figure.note else nullcontext():
                st.metric(
                    figure.label,
                    figure.value,
                    delta=figure.delta,
                    delta_color=figure.delta_color,
                    help=figure.help,
                    border=True,
                    width="stretch",
                )
                if figure.note:
                    st.caption(figure.note)


def tile_rows(count: int, *, per_row: int) -> Iterator[DeltaGenerator]:
    """``count`` bordered tiles, ``per_row`` a line on a desktop and two a line on a phone; yields
    each tile's container. The last line keeps the width of the others."""
    for start in range(0, count, per_row):
        with st.container(horizontal=True, gap="small"):
            for n in range(start, start + per_row):
                if n < count:
                    yield st.container(border=True, width="stretch")
                else:
                    # An empty slot holds the place of a missing tile on a desktop's last line.
                    st.container(width="stretch", height=1)
