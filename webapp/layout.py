"""Rows of figures, grids of tiles and bars of filters that fit the screen: side by side on a
desktop, two a line on a phone. Streamlit's columns stack one a line below 640 px, which put a
page's figures and filters one under the other and its first figure or chart below the fold of a
phone. A keyed container (Streamlit gives it the class ``st-key-<key>``) takes a few lines of CSS
for the phone's width; nothing else of the page is styled."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from webapp.units import shown_in

# Streamlit's own breakpoint: below it, columns stack and the sidebar folds away.
PHONE_MAX_PX = 640
# The gap of a container with gap="small".
SMALL_GAP = "1rem"
# The gap of a compact grid of figures on a phone (three a line).
COMPACT_GAP = "0.5rem"


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


def _style(css: str) -> None:
    # A <style> alone takes no room on the page.
    st.html(f"<style>{css}</style>")


def _figures_style(key: str, per_line: int) -> None:
    """The figures of a line are as tall as the tallest (one with a change under it), and below
    the phone breakpoint each takes its share of the line (``per_line`` a line) whatever its
    content: a narrow figure no longer makes three a line, and a wide one no longer takes a line
    alone. A last figure alone on its line takes the whole line. Three or more a line on a phone
    are a compact grid: less padding, a smaller value, and a label that wraps rather than being
    cut short."""
    gap = SMALL_GAP if per_line <= 2 else COMPACT_GAP
    share = f"calc({100 / per_line:.4f}% - {gap} * {per_line - 1} / {per_line})"
    metric = f'.st-key-{key} [data-testid="stMetric"]'
    compact = (
        f" .st-key-{key} {{ gap: {gap} !important; }}"
        f" {metric} > div {{ padding: 0.5rem !important; }}"
        f' {metric} [data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"],'
        f' {metric} [data-testid="stMetricLabel"] p'
        " { font-size: 0.75rem !important; white-space: normal !important; }"
        f' {metric} [data-testid="stMetricValue"] {{ font-size: 1.25rem !important; }}'
        if per_line > 2
        else ""
    )
    _style(
        f".st-key-{key} {{ align-items: stretch !important; }}"
        f' .st-key-{key} > div > [data-testid="stMetric"] {{ height: 100%; }}'
        f" @media (max-width: {PHONE_MAX_PX}px) {{ .st-key-{key} > div "
        f"{{ flex: 1 1 {share} !important; min-width: 0 !important; }}{compact} }}"
    )


def figure_row(
    figures: Sequence[Figure], *, key: str, border: bool = True, phone_per_line: int = 2
) -> None:
    """``figures`` side by side on a desktop (wrapping where they do not fit), two a line on a
    phone (``phone_per_line``: three make a compact grid, for a page whose first chart must
    stay on the phone's first screen). ``key`` names the row; two rows of one page need two
    keys. ``border=False`` for figures inside a bordered card. Each help text names the unit its
    figure is shown in (``shown_in``)."""
    _figures_style(key, phone_per_line)
    with st.container(horizontal=True, gap="small", key=key):
        for figure in figures:
            with st.container(width="stretch", gap=None) if figure.note else nullcontext():
                st.metric(
                    figure.label,
                    figure.value,
                    delta=figure.delta,
                    delta_color=figure.delta_color,
                    help=figure.help and shown_in(figure.help, figure.value),
                    border=border,
                    width="stretch",
                )
                if figure.note:
                    st.caption(figure.note)


def tile_grid(count: int, *, per_row: int, key: str) -> Iterator[DeltaGenerator]:
    """``count`` bordered tiles of one width, ``per_row`` a line on a desktop and two a line on a
    phone, each line as tall as its tallest tile, with each tile's last element (a link, say) at
    its foot, level with its neighbours'; yields each tile's container. (Rows of columns gave the
    last line's tiles another width, and a placeholder for a missing tile showed as an empty
    box.)"""
    _style(
        f".st-key-{key} {{ display: grid !important; align-items: stretch; "
        f"grid-template-columns: repeat({per_row}, minmax(0, 1fr)); gap: {SMALL_GAP}; }}"
        f" .st-key-{key} > div > div {{ height: 100%; }}"
        f" .st-key-{key} > div > div > :last-child {{ margin-top: auto; }}"
        f" @media (max-width: {PHONE_MAX_PX}px) {{ .st-key-{key} "
        "{ grid-template-columns: repeat(2, minmax(0, 1fr)); } }"
    )
    grid = st.container(key=key)
    for _ in range(count):
        yield grid.container(border=True)


def filter_bar(key: str) -> DeltaGenerator:
    """A line of filters that wraps where they do not fit: one line on a desktop, two or three
    on a phone instead of one filter a line. Give the short pickers a fixed ``width`` and the
    others ``width="stretch"``."""
    return st.container(horizontal=True, gap="small", key=key, vertical_alignment="bottom")
