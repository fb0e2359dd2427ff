"""The MQTT bridge against a real Mosquitto: Shelly, Tasmota and statestream messages are stored
through the one ingest function, acknowledged after the commit, and a broker restart is
survived. The shared broker on 127.0.0.1:1883 serves most tests; the restart test runs a broker
of its own on a free port."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest

from energy_core.db import session_scope
from energy_core.mqtt_status import bridge_status
from energy_core.protocols.mqtt import MqttMapping
from mqtt_bridge.main import Bridge, BridgeConfig
from tests.databases import unavailable
from tests.factories import make_user, stored_readings
from tests.parallel import one_worker_at_a_time

SHARED = ("127.0.0.1", 1883)


def broker_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def shared_broker(request) -> Iterator[tuple[str, int]]:
    """The shared broker, which no test of another worker uses meanwhile: a bridge subscribes to
    every device's topics, so it would count another test's messages as its own."""
    if not broker_answers(*SHARED):
        unavailable(f"no MQTT broker answers on {SHARED[0]}:{SHARED[1]}")
    with one_worker_at_a_time(request.config, "mqtt"):
        yield SHARED


@pytest.fixture
def user_id(engine) -> int:
    with session_scope(engine) as s:
        return make_user(s).id


def publisher(host: str, port: int) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4()}")
    client.connect(host, port)
    client.loop_start()
    return client


def publish(client: mqtt.Client, topic: str, payload: object) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    client.publish(topic, data, qos=1).wait_for_publish(timeout=5)


def wait_for(check: Callable[[], bool], timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def stored(engine, user_id: int) -> dict[str, list[float]]:
    return {
        device_id: [power_w for _, power_w in points]
        for device_id, points in stored_readings(engine, user_id).items()
    }


def running_bridge(engine, user_id: int, host: str, port: int, **mapping) -> Bridge:
    config = BridgeConfig(
        user="unused@example.com",
        host=host,
        port=port,
        client_id=f"test-bridge-{uuid.uuid4()}",
        mapping=MqttMapping(**mapping),
    )
    bridge = Bridge(config, engine=engine, user_id=user_id)
    bridge.start()
    wait_for(lambda: bridge.counts.connected, 10)
    time.sleep(0.3)  # the subscription's SUBACK
    return bridge


def test_shelly_tasmota_and_statestream_messages_are_stored(engine, user_id, shared_broker):
    tag = uuid.uuid4().hex[:8]
    base = f"ha{tag}"
    bridge = running_bridge(
        engine, user_id, *shared_broker, timezone="Europe/Berlin", statestream_base=base
    )
    pub = publisher(*shared_broker)
    try:
        local_now = datetime.now(ZoneInfo("Europe/Berlin")).replace(tzinfo=None, microsecond=0)
        publish(pub, f"shelly{tag}/status/switch:0", {"id": 0, "apower": 42.5, "output": True})
        publish(pub, f"pro3em{tag}/status/em:0", {"id": 0, "total_act_power": -800.0})
        publish(
            pub,
            f"tele/plug{tag}/SENSOR",
            {"Time": local_now.isoformat(), "ENERGY": {"Power": 230}},
        )
        publish(pub, f"{base}/sensor/fridge_power/state", b"96.5")
        publish(pub, f"{base}/sensor/outdoor_temperature/state", b"4.5")
        publish(pub, f"shelly{tag}/status/sys", {"uptime": 1})
        wanted = {
            f"shelly{tag}:switch:0": [42.5],
            f"pro3em{tag}:em:0": [-800.0],
            f"plug{tag}": [230.0],
            "sensor.fridge_power": [96.5],
        }
        wait_for(lambda: wanted.items() <= stored(engine, user_id).items())
        assert "sensor.outdoor_temperature" not in stored(engine, user_id)
    finally:
        pub.loop_stop()
        bridge.stop()
    assert bridge.counts.stored >= 4 and bridge.counts.ignored >= 1
    with session_scope(engine, read_only=True) as s:
        status = bridge_status(s)
    assert status is not None and status.stored >= 4 and status.last_lag_s is not None


def test_a_message_the_monitor_refuses_is_dropped_and_the_rest_stored(
    engine, user_id, shared_broker
):
    tag = uuid.uuid4().hex[:8]
    bridge = running_bridge(engine, user_id, *shared_broker)
    pub = publisher(*shared_broker)
    try:
        publish(pub, f"big{tag}/status/switch:0", {"apower": 1e12})  # beyond the power limit
        publish(pub, f"ok{tag}/status/switch:0", {"apower": 5})
        wait_for(lambda: f"ok{tag}:switch:0" in stored(engine, user_id))
    finally:
        pub.loop_stop()
        bridge.stop()
    assert f"big{tag}:switch:0" not in stored(engine, user_id)
    assert bridge.counts.rejected == 1


class OwnBroker:
    """A Mosquitto of this test on a free port, which the test may restart."""

    def __init__(self, conf: Path, port: int, binary: str):
        self.conf, self.port, self.binary = conf, port, binary
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: broker_answers("127.0.0.1", self.port), 10)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def own_broker(tmp_path) -> Iterator[OwnBroker]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        unavailable("mosquitto is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    broker = OwnBroker(conf, port, binary)
    broker.start()
    yield broker
    broker.stop()


def test_the_bridge_reconnects_after_a_broker_restart(engine, user_id, own_broker):
    tag = uuid.uuid4().hex[:8]
    bridge = running_bridge(engine, user_id, "127.0.0.1", own_broker.port)
    try:
        pub = publisher("127.0.0.1", own_broker.port)
        publish(pub, f"before{tag}/status/switch:0", {"apower": 1})
        wait_for(lambda: f"before{tag}:switch:0" in stored(engine, user_id))
        pub.loop_stop()
        own_broker.stop()
        wait_for(lambda: not bridge.counts.connected, 10)
        own_broker.start()
        wait_for(lambda: bridge.counts.connected, 40)  # paho's backoff is at most 30 s
        time.sleep(0.5)
        pub = publisher("127.0.0.1", own_broker.port)
        publish(pub, f"after{tag}/status/switch:0", {"apower": 2})
        wait_for(lambda: f"after{tag}:switch:0" in stored(engine, user_id))
        pub.loop_stop()
    finally:
        bridge.stop()
    assert bridge.counts.reconnects >= 1


class Outage:
    """The test database refusing this test's writes for a while, for real: on PostgreSQL it
    takes no connections and drops the ones it has; on SQLite another connection holds the
    write lock."""

    def __init__(self, engine):
        self.engine = engine
        self.lock = None

    def __enter__(self) -> Outage:
        url = self.engine.url
        if url.get_backend_name() == "sqlite":
            self.lock = self.engine.raw_connection()
            self.lock.driver_connection.execute("BEGIN EXCLUSIVE")
            return self
        name = url.database
        with self._admin() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
        return self

    def __exit__(self, *exc) -> None:
        if self.lock is not None:
            self.lock.driver_connection.execute("ROLLBACK")
            self.lock.close()
            return
        with self._admin() as conn:
            conn.exec_driver_sql(
                f'ALTER DATABASE "{self.engine.url.database}" ALLOW_CONNECTIONS true'
            )

    def _admin(self):
        from sqlalchemy import create_engine

        admin = create_engine(
            self.engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        return admin.connect()


def test_messages_wait_unacknowledged_while_the_database_is_down(engine, user_id, shared_broker):
    tag = uuid.uuid4().hex[:8]
    bridge = running_bridge(engine, user_id, *shared_broker)
    pub = publisher(*shared_broker)
    try:
        with Outage(engine):
            for i in range(5):
                publish(pub, f"down{tag}/status/switch:0", {"apower": i})
                time.sleep(0.05)
            wait_for(lambda: bridge.counts.received >= 5, 10)
            time.sleep(1.5)
            assert bridge.counts.stored == 0  # nothing committed, nothing acknowledged
        wait_for(lambda: len(stored(engine, user_id).get(f"down{tag}:switch:0", [])) == 5, 30)
    finally:
        pub.loop_stop()
        bridge.stop()
    assert stored(engine, user_id)[f"down{tag}:switch:0"] == [0.0, 1.0, 2.0, 3.0, 4.0]
