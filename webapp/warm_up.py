"""What the sign-in form starts while the visitor types, so that the Live page opens quickly
after "Sign in": the browser's chart code and, on the server, the page's own modules."""

from __future__ import annotations

import ast
import logging
import threading
from importlib import import_module
from pathlib import Path

import pandas as pd
import streamlit as st

log = logging.getLogger(__name__)

CHART_WARM_UP_KEY = "energy_chart_code"


def load_chart_code() -> None:
    """An invisible one-point chart under the form. The browser fetches and starts Streamlit's
    chart code (Vega, about a third of the frontend code the Live page needs) only when a page
    first draws a chart; drawing one here does that while the visitor types, so that after
    "Sign in" the Live page draws its first chart without waiting for it."""
    with st.container(key=CHART_WARM_UP_KEY):
        # Out of sight and out of the accessibility tree, but laid out at a real width: a chart
        # in a container of no width is never drawn, and its code never loaded.
        st.html(
            f"<style>.st-key-{CHART_WARM_UP_KEY} {{position: absolute; left: -10000px; "
            "width: 300px; height: 60px; overflow: hidden; visibility: hidden}</style>"
        )
        st.vega_lite_chart(
            pd.DataFrame({"x": [0.0]}),
            {"mark": "tick", "encoding": {"x": {"field": "x", "type": "quantitative"}}},
            height=40,
        )


# The page a sign-in opens. Its own imports are imported ahead of it (``load_page_modules``),
# read from the file so that the list cannot fall behind the page.
LIVE_PAGE = Path(__file__).parent / "pages" / "live.py"


def page_modules(page: Path) -> list[str]:
    """The project's modules that ``page`` imports at its top, in the page's order (two threads
    that import in one order never wait for each other in a cycle)."""
    tree = ast.parse(page.read_text(encoding="utf-8"))
    return [
        node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.split(".")[0] in {"energy_core", "webapp"}
    ]


_page_modules_loading = threading.Lock()
_page_modules_loaded = False


def load_page_modules() -> None:
    """The server's side of ``load_chart_code``: once per process, import the Live page's
    modules in the background while the visitor types, not after "Sign in". An import the page
    needs before this thread is done waits for it (Python's per-module import lock)."""
    global _page_modules_loaded  # noqa: PLW0603 - once per process
    with _page_modules_loading:
        if _page_modules_loaded:
            return
        _page_modules_loaded = True

    def load() -> None:
        # Imported after "Sign in", they were about a tenth of the server's part of the first
        # chart of a fresh server.
        for name in page_modules(LIVE_PAGE):
            try:
                import_module(name)
            except Exception:  # the page's own import reports it, in the page
                log.debug("could not import %s ahead of the Live page", name, exc_info=True)

    threading.Thread(target=load, name="energy-page-modules", daemon=True).start()


def warm_up_live_page() -> None:
    """Both, under the sign-in form."""
    load_chart_code()
    load_page_modules()
