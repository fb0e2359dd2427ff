"""End to end: the real processes (uvicorn, scheduler, Streamlit) on free ports, a fresh database,
the CLI to create a user and a device key, readings over HTTP, and the aggregate they produce."""

from __future__ import annotations

import os
import sys
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from energy_core.db import session_scope
from energy_core.models import HourlyAggregate
from energy_core.types import utcnow
from tests.apptest import live_devices_table, open_app, shown_text, sign_in
from tests.e2e.support import free_port, running, user_with_a_device, wait_until

pytestmark = pytest.mark.e2e


def test_readings_posted_over_http_reach_the_aggregates_and_the_app(engine, app_env, tmp_path):
    env = {
        **os.environ,
        "ENERGY_DATABASE_URL": str(engine.url.render_as_string(hide_password=False)),
        "ENERGY_ROLLUP_INTERVAL_S": "1",
        "ENERGY_LOG_LEVEL": "INFO",
    }
    key = user_with_a_device(
        env,
        "e2e@example.com",
        "e2e-password-1",
        *("--device-id", "heat-pump", "--name", "Heat pump"),
        *("--type", "heat_pump", "--location", "Garden"),
    )
    assert key.startswith("emk_")

    api_port, app_port = free_port(), free_port()
    logs = [tmp_path / "api.log", tmp_path / "scheduler.log", tmp_path / "app.log"]
    with (
        running([sys.executable, "-m", "energy_cli", "api", "--port", str(api_port)], env, logs[0]),
        running([sys.executable, "-m", "energy_cli", "scheduler"], env, logs[1]),
        running([sys.executable, "-m", "energy_cli", "app", "--port", str(app_port)], env, logs[2]),
    ):
        api = f"http://127.0.0.1:{api_port}"
        wait_until(
            lambda: httpx.get(f"{api}/ready", timeout=2).status_code == 200,
            timeout_s=60,
            what="the API answering /ready",
            logs=logs,
        )
        start = (utcnow() - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        readings = [
            {
                "timestamp": (start + timedelta(minutes=m)).isoformat(),
                "energy_watts": 1800.0,
            }
            for m in range(0, 60)
        ]
        r = httpx.post(
            f"{api}/api/v1/telemetry/batch",
            json={"readings": readings},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        assert r.json() == {"accepted": 60, "duplicates": 0}

        def aggregated() -> bool:
            with session_scope(engine, read_only=True) as s:
                row = s.exec(
                    select(HourlyAggregate).where(HourlyAggregate.hour_start == start)
                ).first()
            return row is not None and abs(row.energy_wh - 1800.0) < 1e-6

        wait_until(aggregated, timeout_s=60, what="the hourly aggregate", logs=logs)
        wait_until(
            lambda: (
                httpx.get(f"http://127.0.0.1:{app_port}/_stcore/health", timeout=2).status_code
                == 200
            ),
            timeout_s=90,
            what="Streamlit answering /_stcore/health",
            logs=logs,
        )

    # The Overview of the same database shows the device and the energy posted over HTTP.
    at = sign_in(open_app(), "e2e@example.com", "e2e-password-1")
    assert not at.exception
    table = live_devices_table(at)
    assert "Heat pump" in table.index
    assert "Garden" in shown_text(at)
