"""Line protocol parsing and the mapping of points to inputs, without a database."""

from __future__ import annotations

import pytest

from energy_core.ingest import IngestRejected
from energy_core.protocols.line_protocol import (
    LineProtocolError,
    Point,
    PointMapping,
    parse_line,
    parse_lines,
    power_values,
)

NOW_NS = 1_800_000_000 * 10**9


def test_escapes_in_measurement_tags_and_fields():
    point = parse_line(
        r'my\ power\,x,room=living\ room,k\=y=a\,b watts=1.5,note="say \"hi\", ok",on=T 42'
    )
    assert point == Point(
        "my power,x",
        {"room": "living room", "k=y": "a,b"},
        {"watts": 1.5, "note": 'say "hi", ok', "on": True},
        42,
    )


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", 1.0), ("-1.5e3", -1500.0), ("7i", 7), ("7u", 7), ("f", False), ("TRUE", True)],
)
def test_field_types(raw, value):
    parsed = parse_line(f"m v={raw}").fields["v"]
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    "line", ["m", "m,t=1", "m v=", "m v=NaN", "m v=-1u", 'm v="x', "m v=1 1.5", "m =1", "m,=x v=1"]
)
def test_lines_that_cannot_be_read(line):
    with pytest.raises(ValueError):
        parse_line(line)


def test_a_body_skips_comments_and_blank_lines_and_names_the_bad_lines():
    assert len(parse_lines("# comment\n\nm v=1\r\nm v=2\n")) == 2
    with pytest.raises(LineProtocolError) as caught:
        parse_lines("m v=1\nbad\nm v=2\nworse")
    assert caught.value.line == 2
    assert [p.index for p in caught.value.problems] == [2, 4]


def values(body: str, precision_ns: int = 1, mapping: PointMapping | None = None):
    return [
        (v.input_id, v.ts_us, v.value, v.is_watts)
        for v in power_values(
            parse_lines(body),
            now_ns=NOW_NS,
            precision_ns=precision_ns,
            mapping=mapping or PointMapping(),
        )
    ]


def test_home_assistant_emonhub_and_telegraf_shapes():
    body = "\n".join(
        [
            "W,domain=sensor,entity_id=fridge value=96",
            "power1,node=emontx1 value=230",
            "vrms,node=emontx1 value=240",
            "power,device=x,phase=a watts=1i,energy_wh=5",
            "power value=3",
        ]
    )
    now_us = NOW_NS // 1000
    assert values(body) == [
        ("sensor.fridge", now_us, 96.0, True),
        ("emontx1:power1", now_us, 230.0, None),
        ("emontx1:vrms", now_us, 240.0, None),
        ("x", now_us, 1.0, True),
        ("power", now_us, 3.0, True),
    ]


def test_the_mapping_is_configurable():
    mapping = PointMapping(device_tags=["circuit"], power_fields=["p"])
    assert values("elec,circuit=oven p=2000 1800000005", 10**9, mapping) == [
        ("oven", 1_800_000_005_000_000, 2000.0, True)
    ]


def test_a_power_field_that_is_no_number_is_refused():
    with pytest.raises(IngestRejected):
        values('power,device=x watts="high"')
