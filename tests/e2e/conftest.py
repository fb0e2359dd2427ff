"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.databases import unavailable
from tests.e2e.support import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201 - a Playwright Browser
    """Chromium, started once per test module: each test opens a context of its own (its own
    cookies, storage and pages), and starting Playwright's driver and the browser cost about
    1.3 s of CPU each time."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
