"""PostgreSQL arrays in binary wire format for bulk statements, and rows read back as one
float8[] into numpy (``float_rows``).

psycopg encodes a list element by element in Python (about 1 ms per 1,000 numbers, a third of the
API's CPU per batch; 2.5 ms per 1,000 device names, each checked against a regular expression for
quoting); these build PostgreSQL's binary array format in one numpy copy (numbers, 0.04 ms per
1,000) or one join (text).

psycopg learns them in ``register_array_dumpers``, which ``make_engine`` calls for PostgreSQL
before any connection is opened (connections copy the adapters known when they open): a process
on SQLite never imports psycopg for them."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Sequence
from functools import cache
from itertools import chain

import numpy as np
from sqlalchemy import Connection


class _BinaryArray(bytes):
    """A one-dimensional PostgreSQL array already in binary wire format."""


class Int4Array(_BinaryArray):
    pass


class Int8Array(_BinaryArray):
    pass


class Float8Array(_BinaryArray):
    pass


class TextArray(_BinaryArray):
    pass


_ARRAY_HEADER = struct.Struct(">iiIii")  # ndim, has NULLs, element oid, length, lower bound
# (array type, element oid, numpy type of an element) for each kind of array of numbers.
_ARRAY_KINDS = {
    Int4Array: (1007, 23, ">i4"),
    Int8Array: (1016, 20, ">i8"),
    Float8Array: (1022, 701, ">f8"),
}
_ARRAY_OIDS = {**{kind: oid for kind, (oid, _, _) in _ARRAY_KINDS.items()}, TextArray: 1009}
_TEXT_OID = 25


# Arrays of at most this many numbers are packed by ``struct`` (a few microseconds; numpy takes
# about ten for any array under a hundred numbers, a group of single readings holds a few).
_SMALL = 32


@cache
def _small_items(element: str, n: int) -> struct.Struct:
    """The elements of an array of ``n`` numbers: each its size, then its value."""
    return struct.Struct(">" + f"i{_STRUCT_CODES[element]}" * n)


_STRUCT_CODES = {">i4": "i", ">i8": "q", ">f8": "d"}


def binary_array(kind: type[_BinaryArray], values: Sequence) -> _BinaryArray:
    """``values`` (numbers, or a numpy array of them) as an array of ``kind``; a value out of
    the element type's range raises OverflowError."""
    _, element_oid, element = _ARRAY_KINDS[kind]
    n = len(values)
    if not n:
        return kind(struct.pack(">iiI", 0, 0, element_oid))
    if n <= _SMALL and not isinstance(values, np.ndarray):
        size = np.dtype(element).itemsize
        with contextlib.suppress(struct.error):  # out of range, or no number: numpy says which
            items = _small_items(element, n).pack(*chain.from_iterable((size, v) for v in values))
            return kind(_ARRAY_HEADER.pack(1, 0, element_oid, n, 1) + items)
    # Each element is its size, then its value, both big-endian.
    items = np.empty(n, np.dtype([("size", ">i4"), ("value", element)]))
    items["size"] = np.dtype(element).itemsize
    items["value"] = values
    return kind(_ARRAY_HEADER.pack(1, 0, element_oid, n, 1) + items.tobytes())


def text_array(values: Sequence[str | None]) -> TextArray:
    """``values`` as a text[] (UTF-8; None is NULL)."""
    if not values:
        return TextArray(struct.pack(">iiI", 0, 0, _TEXT_OID))
    encoded = [None if v is None else v.encode() for v in values]
    items = b"".join(_NULL if e is None else len(e).to_bytes(4, "big") + e for e in encoded)
    nulls = int(None in encoded)
    return TextArray(_ARRAY_HEADER.pack(1, nulls, _TEXT_OID, len(encoded), 1) + items)


_NULL = (-1).to_bytes(4, "big", signed=True)  # an element's size when it is NULL


def register_array_dumpers() -> None:
    """Teach psycopg (globally) to send these arrays as they are; idempotent."""
    global _registered
    if _registered:
        return
    import psycopg
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    for kind, array_oid in _ARRAY_OIDS.items():
        dumper = type(
            f"{kind.__name__}Dumper",
            (Dumper,),
            {"format": Format.BINARY, "oid": array_oid, "dump": lambda self, obj: bytes(obj)},
        )
        psycopg.adapters.register_dumper(kind, dumper)
    _registered = True


_registered = False


def float_rows(conn: Connection, sql: str, params: dict, width: int) -> np.ndarray:
    """The rows of ``sql`` (``width`` float8 columns, none NULL) as one array: they come back as
    one two-dimensional float8[] in binary and go into numpy as they are, with no Python object
    per value. A month by day of 500 devices is up to 15k rows of nine; fetched as rows, psycopg
    made a float for each value and a tuple for each row before they went into the array."""
    names = ", ".join(f"c{k}" for k in range(width))
    cursor = conn.connection.driver_connection.cursor(binary=True)
    cursor.adapters.register_loader(_FLOAT8_ARRAY_OID, _float8_array_loader())
    with cursor:
        (found,) = cursor.execute(
            f"SELECT array_agg(ARRAY[{names}]) FROM ({sql}) AS t ({names})", params
        ).fetchone()
    if found is None:  # no row: array_agg gives NULL
        return np.empty((0, width), dtype=np.float64)
    return found.reshape(-1, width)


_FLOAT8_ARRAY_OID = 1022


@cache
def _float8_array_loader() -> type:
    """psycopg's loader of a float8[] without NULLs, in binary, as a flat numpy array of its
    elements in order (made on first use: a process on SQLite never imports psycopg). After the
    header (dimensions, flags, element type, then each dimension's length and lower bound) each
    element is its length (always 8) and its 8 bytes, big-endian."""
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    def load(self, data: bytes | memoryview) -> np.ndarray:
        ndim, has_nulls = int.from_bytes(data[0:4], "big"), int.from_bytes(data[4:8], "big")
        if has_nulls:
            raise ValueError("expected a float8[] without NULLs")
        count = 1 if ndim else 0
        for d in range(ndim):
            count *= int.from_bytes(data[12 + 8 * d : 16 + 8 * d], "big")
        items = np.frombuffer(data, dtype=_ELEMENT, count=count, offset=12 + 8 * ndim)
        return items["value"].astype(np.float64)

    return type("Float8ArrayLoader", (Loader,), {"format": Format.BINARY, "load": load})


_ELEMENT = np.dtype([("length", ">i4"), ("value", ">f8")])
