"""The live simulator: it posts the demo household's current power to the ingest API like a
well-made meter hub, through outages and refusals."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from energy_cli.simulator import BATCH_PATH, run_simulator
from energy_core.demo import DEMO_DEVICE_IDS, DEMO_DEVICES, device_power_w

API_KEY = "emk_0123abcd_not-a-real-secret-for-tests"


class _FakeApi:
    """An httpx handler that answers with the given statuses in turn and then 200."""

    def __init__(self, stop: threading.Event, *, statuses=(), stop_after: int = 1, errors=0):
        self.stop = stop
        self.statuses = list(statuses)
        self.errors = errors
        self.stop_after = stop_after
        self.requests: list[httpx.Request] = []
        self.ok = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.errors:
            self.errors -= 1
            raise httpx.ConnectError("connection refused", request=request)
        if self.statuses:
            status = self.statuses.pop(0)
            body = {"error": {"code": "x", "message": f"status {status}", "details": []}}
            return httpx.Response(status, json=body, headers={"Retry-After": "0"})
        self.ok += 1
        if self.ok >= self.stop_after:
            self.stop.set()
        n = len(json.loads(request.content)["readings"])
        return httpx.Response(200, json={"accepted": n, "duplicates": 0})

    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests]


def _simulate(api: _FakeApi, **kwargs):
    kwargs.setdefault("interval_s", 60.0)
    kwargs.setdefault("backoff_initial_s", 0.01)
    client = httpx.Client(transport=httpx.MockTransport(api))
    return run_simulator(
        api_url="http://api.test/", api_key=API_KEY, stop_event=api.stop, client=client, **kwargs
    )


def test_simulator_posts_one_reading_per_device_with_the_key():
    api = _FakeApi(threading.Event())
    before = datetime.now(UTC)
    stats = _simulate(api, devices=DEMO_DEVICES)

    assert len(api.requests) == 1
    request = api.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "http://api.test" + BATCH_PATH
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    readings = api.bodies()[0]["readings"]
    assert [r["device_id"] for r in readings] == list(DEMO_DEVICE_IDS)
    for reading in readings:
        assert set(reading) == {"device_id", "timestamp", "energy_watts"}
        assert reading["timestamp"].endswith("Z")
        at = datetime.fromisoformat(reading["timestamp"].replace("Z", "+00:00"))
        assert before - timedelta(seconds=1) <= at <= datetime.now(UTC)
        assert reading["energy_watts"] == device_power_w(reading["device_id"], at=at)
    assert stats.accepted == len(DEMO_DEVICES)


def test_simulator_accepts_device_ids():
    api = _FakeApi(threading.Event())
    _simulate(api, devices=["solar-roof", "router-hall"])
    assert [r["device_id"] for r in api.bodies()[0]["readings"]] == ["solar-roof", "router-hall"]


def test_simulator_retries_the_same_readings_after_a_503():
    api = _FakeApi(threading.Event(), statuses=[503, 503])
    stats = _simulate(api)

    bodies = api.bodies()
    assert len(bodies) == 3
    assert bodies[0] == bodies[1] == bodies[2]
    assert stats.failed_attempts == 2 and stats.accepted == len(DEMO_DEVICES)


def test_simulator_survives_connection_errors_and_keeps_sampling():
    api = _FakeApi(threading.Event(), errors=3)
    # Retries every ~10 ms while sampling every 20 ms: the backlog grows and is sent at the end.
    stats = _simulate(api, interval_s=0.02, backoff_initial_s=0.01, backoff_max_s=0.02)

    assert stats.failed_attempts == 3
    assert stats.accepted == stats.samples * len(DEMO_DEVICES)
    last = api.bodies()[-1]["readings"]
    assert len(last) == stats.samples * len(DEMO_DEVICES)
    assert len({r["timestamp"] for r in last}) == stats.samples


def test_simulator_drops_readings_the_api_refuses_and_goes_on():
    api = _FakeApi(threading.Event(), statuses=[422])
    stats = _simulate(api, interval_s=0.01)
    assert stats.rejected == len(DEMO_DEVICES)
    assert stats.accepted >= len(DEMO_DEVICES)
    assert api.bodies()[1] != api.bodies()[0]


def test_simulator_never_logs_the_key(caplog):
    caplog.set_level(logging.DEBUG, logger="energy_cli")
    api = _FakeApi(threading.Event(), statuses=[503, 401], errors=1)
    _simulate(api, interval_s=0.01)
    assert caplog.records
    assert not any(API_KEY in record.getMessage() for record in caplog.records)
    assert not any("emk_0123abcd" in record.getMessage() for record in caplog.records)


class _Recorder(BaseHTTPRequestHandler):
    received: list[tuple[str, str, dict]] = []
    fail_first = 0

    def do_POST(self):  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, self.headers["Authorization"], body))
        if type(self).fail_first:
            type(self).fail_first -= 1
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        payload = json.dumps({"accepted": len(body["readings"]), "duplicates": 0}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):  # keep the test output quiet
        pass


def simulator_thread(**options) -> tuple[threading.Thread, threading.Event, dict]:
    """The simulator sending every 50 ms with the test key, not yet started; the event that
    stops it, and the dict that holds its ``stats`` once it has stopped."""
    stop, result = threading.Event(), {}
    worker = threading.Thread(
        target=lambda: result.update(
            stats=run_simulator(api_key=API_KEY, interval_s=0.05, stop_event=stop, **options)
        ),
        daemon=True,
    )
    return worker, stop, result


def test_simulator_against_a_real_http_server_stops_on_the_event():
    _Recorder.received = []
    _Recorder.fail_first = 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    worker, stop, result = simulator_thread(
        api_url=f"http://127.0.0.1:{server.server_address[1]}", devices=DEMO_DEVICE_IDS
    )
    try:
        worker.start()
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while len(_Recorder.received) < 4 and datetime.now(UTC) < deadline:
            threading.Event().wait(0.02)
        stop.set()
        worker.join(timeout=5)
        assert not worker.is_alive()
    finally:
        server.shutdown()
        server.server_close()

    assert len(_Recorder.received) >= 4
    path, auth, body = _Recorder.received[0]
    assert path == BATCH_PATH and auth == f"Bearer {API_KEY}"
    assert _Recorder.received[1][2] == body  # the 503 was retried with the same readings
    stats = result["stats"]
    assert stats.failed_attempts == 1 and stats.accepted >= 3 * len(DEMO_DEVICES)


def test_simulator_keeps_running_while_the_api_is_down():
    # A port nobody listens on: connections are refused until the event stops the simulator.
    with ThreadingHTTPServer(("127.0.0.1", 0), _Recorder) as probe:
        port = probe.server_address[1]
    worker, stop, result = simulator_thread(
        api_url=f"http://127.0.0.1:{port}", backoff_initial_s=0.01, backoff_max_s=0.05
    )
    worker.start()
    threading.Event().wait(0.5)
    assert worker.is_alive()
    stop.set()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert result["stats"].failed_attempts >= 2 and result["stats"].accepted == 0
