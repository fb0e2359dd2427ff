"""The Emoncms parsers on their own: no database, no HTTP."""

from __future__ import annotations

import zlib

import pytest

from energy_core.ingest import InvalidBody
from energy_core.protocols.emoncms import (
    EmoncmsFormatError,
    decompress,
    parse_bulk,
    parse_post,
)

NOW = 1_800_000_000.0


def named(values) -> dict[str, tuple[float, float]]:
    return {v.input_id: (v.ts_us / 1e6, v.value) for v in values}


def test_fulljson_may_carry_its_own_time_as_epoch_or_iso():
    epoch = parse_post(
        {"node": "a", "fulljson": '{"p": 1, "time": 1799999000}'}, node_segment=None, now_s=NOW
    )
    iso = parse_post(
        {"node": "a", "fulljson": '{"p": 1, "time": "2027-01-14T08:00:00Z"}'},
        node_segment=None,
        now_s=NOW,
    )
    assert named(epoch.values) == {"a:p": (1_799_999_000.0, 1.0)}
    assert named(iso.values)["a:p"][0] == NOW - 86_400
    assert epoch.full_json and iso.full_json


def test_legacy_json_ignores_quotes_and_braces_and_mixes_names_with_positions():
    post = parse_post(
        {"node": "n", "json": '{"power1":"100", 200, temp:21.5}'}, node_segment=None, now_s=NOW
    )
    assert named(post.values) == {
        "n:power1": (NOW, 100.0),
        "n:1": (NOW, 200.0),
        "n:temp": (NOW, 21.5),
    }
    assert not post.full_json


def test_node_names_keep_only_letters_digits_and_separators():
    post = parse_post({"csv": "1"}, node_segment="my<node>!", now_s=NOW)
    assert [v.input_id for v in post.values] == ["mynode:1"]


def test_bulk_rows_take_values_by_position_and_by_name():
    rows = '[[100, 10, 1, null, 3], [100, "tx", {"power": 4}, 5]]'
    values = named(parse_bulk(rows, {"time": "1800000000"}, now_s=NOW))
    assert values == {
        "10:1": (NOW + 100, 1.0),
        "10:3": (NOW + 100, 3.0),
        "tx:power": (NOW + 100, 4.0),
        "tx:1": (NOW + 100, 5.0),  # a name does not take a position (as in Emoncms)
    }


def test_sentat_within_a_minute_keeps_the_hubs_times_and_corrects_larger_skews_in_minutes():
    rows = f"[[{NOW - 10:.0f}, 1, 5]]"
    near = named(parse_bulk(rows, {"sentat": f"{NOW - 20:.0f}"}, now_s=NOW))
    far = named(parse_bulk(rows, {"sentat": f"{NOW - 3 * 3600 - 7:.0f}"}, now_s=NOW))
    assert near["1:1"][0] == NOW - 10
    assert far["1:1"][0] == NOW - 10 + 3 * 3600


@pytest.mark.parametrize(
    "rows", ["[]", "{}", "[[1, 2]]", '[[1, {"a": 1}, 2]]', '[["x", 1, 2]]', "[[1, 1, true]]"]
)
def test_bulk_rows_that_break_the_format_are_refused(rows):
    with pytest.raises(EmoncmsFormatError):
        parse_bulk(rows, {}, now_s=NOW)


def test_decompress_refuses_a_bomb_and_non_zlib():
    assert decompress(zlib.compress(b"[[1,2,3]]"), limit=100) == b"[[1,2,3]]"
    with pytest.raises(InvalidBody):
        decompress(zlib.compress(b"0" * 10_000), limit=1_000)
    with pytest.raises(InvalidBody):
        decompress(b"plain text", limit=1_000)
