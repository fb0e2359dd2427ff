"""The MQTT bridge: subscribes at QoS 1 with a persistent session, reads each message with
``energy_core.protocols.mqtt`` and stores the values of a short window in one transaction through
``energy_core.inputs.record_inputs`` (the one ingest function beneath). A message is acknowledged
to the broker only after the transaction that stored it has committed, so nothing acknowledged is
lost when the database is down: the batch is retried with backoff, and messages not yet
acknowledged are delivered again by the broker after a reconnect. paho reconnects with backoff.
"""

from __future__ import annotations

import argparse
import logging
import queue
import signal
import threading
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from energy_core.accounts import require_user
from energy_core.db import DatabaseUnavailable, get_engine, session_scope
from energy_core.ingest import IngestRejected
from energy_core.inputs import InputValue, record_inputs
from energy_core.mqtt_status import BridgeCounts, save_bridge_status
from energy_core.protocols.mqtt import MqttMapping, values_from_message
from energy_core.records import record_of
from energy_core.settings import get_settings

log = logging.getLogger(__name__)

BATCH_WINDOW_S = 0.2
BATCH_MAX = 2_000
STATUS_EVERY_S = 5.0
_OUTAGES = (DBAPIError, PoolTimeout, DatabaseUnavailable)


@dataclass(frozen=True)
class Message:
    mid: int
    qos: int
    values: list[InputValue]
    received_at: float


@dataclass
class BridgeConfig:
    user: str
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    client_id: str = "energy-monitor-bridge"
    mapping: MqttMapping = field(default_factory=MqttMapping)


def load_mapping(path: Path | None, *, timezone: str) -> MqttMapping:
    """The mapping file (TOML): ``timezone`` (Tasmota's), ``statestream_base`` and a
    ``[devices]`` table renaming inputs to device ids."""
    if path is None:
        return MqttMapping(timezone=timezone)
    data = tomllib.loads(path.read_text())
    return MqttMapping(
        timezone=data.get("timezone", timezone),
        statestream_base=data.get("statestream_base", "homeassistant"),
        devices={str(k): str(v) for k, v in data.get("devices", {}).items()},
    )


class Bridge:
    def __init__(self, config: BridgeConfig, *, engine: Engine, user_id: int):
        self.config = config
        self.engine = engine
        self.user_id = user_id
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.counts = BridgeCounts(started_at=time.time())
        self.stopping = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            clean_session=False,  # the broker keeps QoS 1 messages for us while we are away
            manual_ack=True,
        )
        if config.username:
            self.client.username_pw_set(config.username, config.password)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.writer = threading.Thread(target=self._write_loop, name="mqtt-writer", daemon=True)

    # --- MQTT side (paho's network thread) -----------------------------------------------------

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            log.warning("MQTT broker refused the connection: %s", reason_code)
            return
        self.counts.connected = True
        topics = self.config.mapping.topics()
        client.subscribe([(topic, 1) for topic in topics])
        log.info(
            "connected to MQTT at %s:%d, subscribed to %s",
            self.config.host,
            self.config.port,
            ", ".join(topics),
        )

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:  # noqa: ANN001
        self.counts.connected = False
        self.counts.reconnects += 1
        if not self.stopping.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason_code)

    def _on_message(self, client, _userdata, message) -> None:  # noqa: ANN001
        self.counts.received += 1
        received = time.time()
        try:
            values = values_from_message(
                message.topic,
                message.payload,
                received_us=int(received * 1_000_000),
                mapping=self.config.mapping,
            )
        except Exception:  # a payload no rule expected must not stop the bridge
            log.exception("cannot read a message on %s; dropped", message.topic)
            values = []
        if not values:
            self.counts.ignored += 1
            client.ack(message.mid, message.qos)
            return
        self.inbox.put(Message(message.mid, message.qos, values, received))

    # --- database side (the writer thread) ------------------------------------------------------

    def _next_batch(self) -> list[Message]:
        try:
            first = self.inbox.get(timeout=0.5)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + BATCH_WINDOW_S
        while len(batch) < BATCH_MAX:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self.inbox.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _store(self, messages: Sequence[Message]) -> None:
        with session_scope(self.engine, household=self.user_id) as session:
            record_inputs(
                session,
                user_id=self.user_id,
                values=[v for m in messages for v in m.values],
                register=True,
            )

    def store_batch(self, batch: list[Message]) -> None:
        """Store ``batch`` and acknowledge it; retried with backoff while the database is down.
        A batch that breaks a rule is stored message by message: only the bad ones are dropped."""
        delay = 0.5
        while not self.stopping.is_set():
            try:
                try:
                    self._store(batch)
                    stored = batch
                except IngestRejected:
                    stored = []
                    for message in batch:
                        try:
                            self._store([message])
                            stored.append(message)
                        except IngestRejected as exc:
                            self.counts.rejected += 1
                            log.warning("dropped values the monitor refuses: %s", exc)
                break
            except _OUTAGES as exc:
                self.counts.last_error = f"database unavailable: {exc.__class__.__name__}"
                log.warning(
                    "database unavailable; retrying %d message(s) in %.1f s", len(batch), delay
                )
                self.stopping.wait(delay)
                delay = min(delay * 2, 10.0)
        else:
            return  # stopping: not acknowledged, the broker delivers them again
        now = time.time()
        for message in batch:
            self.client.ack(message.mid, message.qos)
        self.counts.stored += len(stored)
        self.counts.last_lag_s = max(now - m.received_at for m in batch)
        self.counts.last_error = None

    def _write_loop(self) -> None:
        last_status = 0.0
        while not self.stopping.is_set():
            batch = self._next_batch()
            if batch:
                self.store_batch(batch)
            if time.monotonic() - last_status >= STATUS_EVERY_S:
                last_status = time.monotonic()
                self.save_status()

    def save_status(self) -> None:
        try:
            with session_scope(self.engine) as session:
                save_bridge_status(session, counts=self.counts, backlog=self.inbox.qsize())
        except _OUTAGES:
            log.debug("status not saved: database unavailable")

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self.writer.start()
        self.client.connect_async(self.config.host, self.config.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.stopping.set()
        self.client.disconnect()
        self.client.loop_stop()
        self.writer.join(timeout=15)
        self.save_status()


def run(config: BridgeConfig) -> None:
    engine = get_engine()
    with session_scope(engine, read_only=True) as session:
        user_id = require_user(session, email=config.user).id
    bridge = Bridge(config, engine=engine, user_id=user_id)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    bridge.start()
    done.wait()
    bridge.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="energy-monitor mqtt", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=get_settings().log_level, format="%(asctime)s %(name)s %(message)s")
    run(config_from_args(args))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings = get_settings()
    parser.add_argument("--user", required=True, help="email of the household the devices are of")
    parser.add_argument("--host", default=settings.mqtt_host, help="MQTT broker host")
    parser.add_argument("--port", type=int, default=settings.mqtt_port, help="MQTT broker port")
    parser.add_argument("--username", default=settings.mqtt_username)
    parser.add_argument("--password", default=settings.mqtt_password)
    parser.add_argument("--client-id", default="energy-monitor-bridge")
    parser.add_argument("--mapping", type=Path, help="mapping file (TOML)")
    parser.add_argument("--timezone", default="UTC", help="of Tasmota's times (default UTC)")


def config_from_args(args: argparse.Namespace) -> BridgeConfig:
    # Each option of ``add_arguments`` is the field of the same name; the mapping is read from
    # its file.
    return record_of(BridgeConfig, args, mapping=load_mapping(args.mapping, timezone=args.timezone))
