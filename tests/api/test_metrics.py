"""``GET /metrics``: off by default, behind a token when one is set, and the counts are right."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from energy_core.rollup import rollup_dirty_hours
from energy_core.settings import get_settings
from ingest_api.app import create_app
from tests.api.support import assert_error, auth, iso

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


def metrics_client(monkeypatch, **env: str) -> TestClient:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return TestClient(create_app())


def samples(text: str) -> dict[str, float]:
    """``name{labels}`` -> value, from the exposition format; checks every line parses."""
    found = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.fullmatch(r"# (HELP|TYPE) \w+ .+", line), line
            continue
        match = re.fullmatch(r"(\w+(?:\{[^}]*\})?) (-?[0-9.e+]+|\+Inf)", line)
        assert match, line
        found[match.group(1)] = float(match.group(2))
    return found


def test_metrics_are_off_by_default(client):
    assert_error(client.get("/metrics"), 404, "not_found")


def test_metrics_count_requests_readings_and_refusals(monkeypatch, engine, household):
    with metrics_client(monkeypatch, ENERGY_METRICS="true") as client:
        key, again = auth(household.household_key), iso(5)
        ok = client.post(
            "/api/v1/telemetry",
            json={"device_id": "fridge", "timestamp": again, "energy_watts": 90},
            headers=key,
        )
        assert ok.status_code == 201
        batch = {
            "readings": [
                {"device_id": "fridge", "timestamp": iso(60), "energy_watts": 80},
                {"device_id": "heater", "timestamp": iso(60), "energy_watts": 2000},
                {"device_id": "fridge", "timestamp": again, "energy_watts": 90},
            ]
        }
        assert client.post("/api/v1/telemetry/batch", json=batch, headers=key).status_code == 201
        bad = client.post(
            "/api/v1/telemetry/batch",
            json={"readings": [{"device_id": "fridge", "timestamp": "yesterday"}]},
            headers=key,
        )
        assert_error(bad, 422, "validation_error")
        assert_error(
            client.post("/api/v1/telemetry", json={}, headers=auth("nope")), 401, "unauthorized"
        )
        read = client.get(
            "/api/v1/telemetry/aggregates/hourly",
            params={"device_id": "fridge"},
            headers=auth(household.read_key),
        )
        assert read.status_code == 200, read.text

        scraped = client.get("/metrics")
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
        got = samples(scraped.text)

    def answers(route: str, status: int) -> float:
        return got[f'energy_api_requests_total{{route="{route}",method="POST",status="{status}"}}']

    assert answers("/api/v1/telemetry", 201) == 1
    assert answers("/api/v1/telemetry", 401) == 1
    assert answers("/api/v1/telemetry/batch", 201) == 1
    assert answers("/api/v1/telemetry/batch", 422) == 1
    # The route template, never the raw path with its query.
    assert any(
        k.startswith('energy_api_requests_total{route="/api/v1/telemetry/aggregates/hourly"')
        for k in got
    )
    # One single reading and two new of the batch's three; its third was the single one again.
    assert got["energy_readings_accepted_total"] == 3
    assert got["energy_readings_duplicate_total"] == 1
    assert got['energy_ingest_rejected_total{reason="validation_error"}'] == 1
    assert got['energy_ingest_rejected_total{reason="unauthorized"}'] == 1
    assert got['energy_api_errors_total{code="unauthorized"}'] == 1
    # The latency histogram: cumulative buckets ending in +Inf, which equals the count.
    route = 'route="/api/v1/telemetry/batch"'
    assert got[f'energy_api_request_duration_seconds_bucket{{{route},le="+Inf"}}'] == 2
    assert got[f"energy_api_request_duration_seconds_count{{{route}}}"] == 2
    assert got[f"energy_api_request_duration_seconds_sum{{{route}}}"] > 0
    # The rollup backlog: the hours the new readings made dirty, not yet aggregated.
    assert got["energy_rollup_dirty_hours"] >= 2
    assert got["energy_rollup_oldest_dirty_age_seconds"] >= 0
    assert got["energy_database_up"] == 1
    # No rollup has run yet: no last-run figures rather than made-up ones.
    assert not any(k.startswith("energy_rollup_last_run") for k in got)


def test_metrics_show_the_last_rollup_run(monkeypatch, engine, household):
    with metrics_client(monkeypatch, ENERGY_METRICS="true") as client:
        batch = {
            "readings": [
                {"device_id": "fridge", "timestamp": iso(7200), "energy_watts": 80},
                {"device_id": "fridge", "timestamp": iso(60), "energy_watts": 90},
            ]
        }
        key = auth(household.household_key)
        assert client.post("/api/v1/telemetry/batch", json=batch, headers=key).status_code == 201
        before = samples(client.get("/metrics").text)
        run = rollup_dirty_hours(engine)
        after = samples(client.get("/metrics").text)
    assert before["energy_rollup_dirty_hours"] == run.hours >= 2
    assert after["energy_rollup_dirty_hours"] == 0
    assert after["energy_rollup_oldest_dirty_age_seconds"] == 0
    assert after["energy_rollup_last_run_hours"] == run.hours
    assert after["energy_rollup_last_run_duration_seconds"] == pytest.approx(run.duration_s)
    assert 0 <= after["energy_rollup_last_run_age_seconds"] < 60


@pytest.mark.parametrize("given", [None, "Bearer wrong-token", "Bearer s3cret-metrics-token "])
def test_a_metrics_token_keeps_others_out(monkeypatch, engine, given):
    env = {"ENERGY_METRICS": "true", "ENERGY_METRICS_TOKEN": "s3cret-metrics-token"}
    with metrics_client(monkeypatch, **env) as client:
        headers = {"Authorization": given} if given else {}
        assert_error(client.get("/metrics", headers=headers), 401, "unauthorized")
        allowed = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
        assert allowed.status_code == 200
        assert "energy_api_requests_total" in allowed.text


def test_the_grafana_dashboard_asks_only_for_metrics_the_api_serves(monkeypatch, engine):
    rollup_dirty_hours(engine)  # the last run's figures appear once a rollup has run
    with metrics_client(monkeypatch, ENERGY_METRICS="true") as client:
        client.get("/health")
        client.get("/nowhere")
        text = client.get("/metrics").text
    # Every family is declared, with or without samples yet; a histogram's series add suffixes.
    families = dict(re.findall(r"^# TYPE (\w+) (\w+)$", text, re.MULTILINE))
    served = set(families) | {
        f"{name}_{part}"
        for name, kind in families.items()
        if kind == "histogram"
        for part in ("bucket", "sum", "count")
    }
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    asked = {name for e in exprs for name in re.findall(r"\benergy_\w+", e)}
    assert asked and asked <= served, asked - served
    assert all(p["datasource"]["uid"] == "${datasource}" for p in dashboard["panels"])


def test_metrics_report_redis_and_its_failures(monkeypatch, engine, household, redis_url):
    from energy_core import cache as cache_module

    def scrape(url: str) -> dict[str, float]:
        cache_module.get_cache.cache_clear()
        with metrics_client(monkeypatch, ENERGY_METRICS="true", ENERGY_REDIS_URL=url) as client:
            reading = {"device_id": "fridge", "timestamp": iso(30), "energy_watts": 70}
            r = client.post("/api/v1/telemetry", json=reading, headers=auth(household.fridge_key))
            assert r.status_code in (200, 201), r.text  # memory stands in for a Redis that is down
            return samples(client.get("/metrics").text)

    try:
        healthy = scrape(redis_url)
        # Nothing listens on port 1: every Redis call fails at once.
        broken = scrape("redis://127.0.0.1:1/0")
    finally:
        cache_module.get_cache.cache_clear()
    assert healthy["energy_redis_up"] == 1 and healthy["energy_redis_errors_total"] == 0
    assert broken["energy_redis_up"] == 0 and broken["energy_redis_errors_total"] >= 1
