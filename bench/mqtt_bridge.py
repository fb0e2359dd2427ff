"""Benchmark of the MQTT bridge: 100 messages per second (50 Shelly plugs, twice a second each)
through the broker on 127.0.0.1:1883 into a scratch PostgreSQL database, for --seconds; prints
the bridge's lag (arrival to commit, the slowest message of each batch) and whether every
message was stored. Not a test: it prints figures and never fails on timing.

    python bench/mqtt_bridge.py [--seconds 20] [--rate 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt  # noqa: E402
from sqlmodel import func, select  # noqa: E402

from energy_core.db import make_engine, session_scope  # noqa: E402
from energy_core.models import Reading  # noqa: E402
from energy_core.protocols.mqtt import MqttMapping  # noqa: E402
from mqtt_bridge.main import Bridge, BridgeConfig  # noqa: E402
from tests.databases import scratch_postgres_database  # noqa: E402
from tests.factories import make_user  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=int, default=100)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:6]
    with scratch_postgres_database("energy_bench_mqtt") as url:
        engine = make_engine(url)
        with session_scope(engine) as s:
            user_id = make_user(s).id
        config = BridgeConfig(
            user="bench", client_id=f"bench-{tag}", mapping=MqttMapping(statestream_base=tag)
        )
        bridge = Bridge(config, engine=engine, user_id=user_id)
        bridge.start()
        while not bridge.counts.connected:
            time.sleep(0.05)
        time.sleep(0.5)
        lags: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            seen = None
            while not stop.is_set():
                lag = bridge.counts.last_lag_s
                if lag is not None and lag is not seen:
                    lags.append(lag)
                    seen = lag
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{tag}")
        pub.connect("127.0.0.1", 1883)
        pub.loop_start()
        sent = 0
        start = time.monotonic()
        while time.monotonic() - start < args.seconds:
            due = start + sent / args.rate
            time.sleep(max(0.0, due - time.monotonic()))
            plug = sent % 50
            pub.publish(
                f"plug{tag}-{plug}/status/switch:0",
                json.dumps({"id": 0, "apower": 100 + sent % 7}),
                qos=1,
            )
            sent += 1
        elapsed = time.monotonic() - start
        deadline = time.monotonic() + 30
        while bridge.counts.stored < sent and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        sampler.join()
        pub.loop_stop()
        bridge.stop()
        with session_scope(engine, read_only=True) as s:
            rows = s.exec(select(func.count()).select_from(Reading)).one()
        engine.dispose()
    print(f"sent {sent:,} messages in {elapsed:.1f} s ({sent / elapsed:.0f}/s)")
    print(f"stored {bridge.counts.stored:,} messages, {rows:,} readings")
    if lags:
        lags.sort()
        print(
            f"lag (arrival to commit, slowest of each batch): median {statistics.median(lags):.3f}"
            f" s, p95 {lags[int(len(lags) * 0.95) - 1]:.3f} s, max {lags[-1]:.3f} s "
            f"over {len(lags)} batches"
        )


if __name__ == "__main__":
    main()
