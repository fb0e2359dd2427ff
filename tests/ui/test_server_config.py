"""The app's packaged Streamlit settings keep the server's protections on, and name only options
this Streamlit knows (a misspelt option is silently ignored)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from streamlit import config

import webapp

CONFIG = Path(webapp.__file__).parent / ".streamlit" / "config.toml"


def test_the_server_keeps_xsrf_cors_and_no_static_files():
    server = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["server"]
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True
    assert server["enableStaticServing"] is False


def test_every_packaged_option_is_one_streamlit_knows():
    settings = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    known = set(config.get_config_options())

    def names(table: dict, prefix: str = ""):
        for key, value in table.items():
            if isinstance(value, dict):
                yield from names(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}"

    assert set(names(settings)) <= known


def test_no_full_garbage_collection_after_each_run():
    # Streamlit's default collects every generation after every run of a page: a pause of
    # 100-300 ms after each click in a process holding pandas, Altair and SQLAlchemy.
    runner = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["runner"]
    assert runner["postScriptGC"] is False
