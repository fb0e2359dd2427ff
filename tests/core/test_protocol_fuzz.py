"""Whatever a client sends, the protocol parsers answer with a reading or a refusal the API maps
to a 4xx: never another exception (which would be a 500)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from energy_core.ingest import IngestRejected
from energy_core.protocols.emoncms import parse_bulk, parse_post
from energy_core.protocols.line_protocol import PointMapping, parse_lines, power_values
from energy_core.protocols.mqtt import MqttMapping, values_from_message

LINE_ALPHABET = st.sampled_from(list('power,device=x watts="1.5e3i u\\ \n#tTfF-0123456789'))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.text(LINE_ALPHABET, max_size=120))
def test_line_protocol_reads_or_refuses(body):
    try:
        points = parse_lines(body)
        power_values(points, now_ns=1_800_000_000 * 10**9, precision_ns=1, mapping=PointMapping())
    except IngestRejected:
        pass


@settings(max_examples=300, deadline=None)
@given(
    JSON_VALUES, st.sampled_from([{}, {"sentat": "1800000000"}, {"offset": "-5"}, {"time": "x"}])
)
def test_emoncms_bulk_reads_or_refuses(data, params):
    try:
        parse_bulk(json.dumps(data), params, now_s=1_800_000_000.0)
    except IngestRejected:
        pass


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["node", "time", "fulljson", "json", "csv", "data"]),
        st.text(max_size=30),
        max_size=4,
    ),
    st.one_of(st.none(), st.text(max_size=10)),
)
def test_emoncms_post_reads_or_refuses(params, node):
    try:
        parse_post(params, node_segment=node, now_s=1_800_000_000.0)
    except IngestRejected:
        pass


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        ["a/status/switch:0", "a/status/em:0", "tele/a/SENSOR", "homeassistant/sensor/x/state"]
    ),
    st.one_of(st.binary(max_size=40), JSON_VALUES.map(lambda v: json.dumps(v).encode())),
)
def test_mqtt_payloads_read_or_give_nothing(topic, payload):
    values_from_message(topic, payload, received_us=1_800_000_000_000_000, mapping=MqttMapping())
