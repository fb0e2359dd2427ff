"""Driving the Streamlit app in tests: AppTest helpers shared by the UI and end-to-end tests.

The fixtures that prepare the app (``app_env``) live in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.components.v2 import manifest_scanner
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1 import AppTest

from tests.factories import PASSWORD

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "webapp" / "streamlit_app.py"
COOKIE_KEY = "a-test-cookie-key-that-is-long-enough-for-hs256"

# Every AppTest looks for Streamlit components in every installed package's metadata (about
# 0.15 s of CPU, more than many a page's run); a server looks once when it starts. The packages
# do not change while the tests run, so one look serves every AppTest of this process.
manifest_scanner.scan_component_manifests = cache(manifest_scanner.scan_component_manifests)

# Every AppTest run compiles the entry file and the page it shows again (a new ScriptCache per
# run, and Streamlit's "magic" rewrites each file's syntax tree before compiling it): about a
# tenth of the CPU of the page tests. A server compiles each file once. Compiled code serves every
# run of this process while its file is unchanged.
_compiled: dict[tuple[str, int, int], Any] = {}
_compile = ScriptCache.get_bytecode


def _compiled_once(self: ScriptCache, script_path: str) -> Any:  # noqa: ANN401 - a code object
    path = os.path.abspath(script_path)
    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size)
    code = _compiled.get(key)
    if code is None:
        code = _compiled[key] = _compile(self, path)
    return code


ScriptCache.get_bytecode = _compiled_once


def serve_like_a_server(patch: pytest.MonkeyPatch) -> None:
    """Run AppTest like a running server, which leaves Streamlit's legacy ``pages/`` mode on its
    first run and stays out of it. AppTest re-enters that mode on every run because a ``pages/``
    directory exists (the frame's way out is a rerun, which AppTest does not follow)."""
    original_init = PagesManager.__init__

    def init(self, *args, **kwargs) -> None:  # noqa: ANN001
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    patch.setattr(PagesManager, "__init__", init)


def keep_downloads(patch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Every file a page offers for download, by its button's key, as the pages run."""
    downloads: dict[str, bytes] = {}
    offer = st.download_button

    def keep(label, data=None, *args, key=None, **kwargs):  # noqa: ANN001, ANN202
        # What a click downloads: a deferred file is written by calling its data.
        downloads[key] = data() if callable(data) else data
        return offer(label, data, *args, key=key, **kwargs)

    patch.setattr(st, "download_button", keep)
    return downloads


def open_app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=30).run()


def sign_in(at: AppTest, email: str, password: str = PASSWORD) -> AppTest:
    next(box for box in at.text_input if box.label == "Email").input(email)
    next(box for box in at.text_input if box.label == "Password").input(password)
    next(button for button in at.button if button.label == "Sign in").click()
    return at.run()


def shown_text(at: AppTest) -> str:
    """Everything the run sent to the browser, tables and chart data included."""
    parts: list[str] = []

    def walk(node) -> None:  # noqa: ANN001 - element or block
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    walk(at.sidebar)
    parts.extend(frame.value.to_csv() for frame in at.dataframe)
    return "\n".join(parts)


def live_devices_table(at: AppTest):  # noqa: ANN201 - a DataFrame
    """The Live page's "All devices as a table" (``at`` shows Live), opened as a click on its
    section does: the section draws its table only while open."""
    at.session_state["live_table_open"] = True  # TABLE_OPEN_KEY of webapp/pages/live.py
    at.run()
    assert not at.exception
    (table,) = at.dataframe
    return table.value.set_index("Device")
