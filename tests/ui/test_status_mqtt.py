"""The System status page reports the MQTT bridge's counts and lag once a bridge has run."""

from __future__ import annotations

import time

from energy_core.db import session_scope
from energy_core.mqtt_status import BridgeCounts, save_bridge_status
from tests.apptest import open_app, shown_text, sign_in
from tests.ui.conftest import Households
from webapp import loaders


def test_status_page_shows_the_mqtt_bridge_after_it_reported(households: Households):
    def page():
        at = sign_in(open_app(), households.admin_email, households.admin_password)
        return at.switch_page("pages/admin_status.py").run()

    before = page()
    assert not before.exception and "MQTT bridge" not in shown_text(before)
    counts = BridgeCounts(started_at=time.time() - 60, connected=True, received=120, stored=117)
    counts.ignored, counts.rejected, counts.last_lag_s = 2, 1, 0.34
    with session_scope() as session:
        save_bridge_status(session, counts=counts, backlog=3)
    loaders.load_system_status.clear()
    after = page()
    assert not after.exception
    shown = {m.label: m.value for m in after.metric}
    assert shown["Bridge"] == "Connected"
    assert shown["Messages stored"] == "117"
    assert shown["Lag"] == "0.34 s"
    assert shown["Waiting"] == "3"
