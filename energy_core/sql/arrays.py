"""PostgreSQL arrays in binary wire format for bulk statements.

psycopg encodes a list element by element in Python (about 1 ms per 1,000 numbers, a third of the
API's CPU per batch); these build PostgreSQL's binary array format with one struct call.

psycopg learns them in ``register_array_dumpers``, which ``make_engine`` calls for PostgreSQL
before any connection is opened (connections copy the adapters known when they open): a process
on SQLite never imports psycopg for them."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from itertools import chain, repeat


class _BinaryArray(bytes):
    """A one-dimensional PostgreSQL array already in binary wire format."""


class Int4Array(_BinaryArray):
    pass


class Int8Array(_BinaryArray):
    pass


class Float8Array(_BinaryArray):
    pass


_ARRAY_HEADER = struct.Struct(">iiIii")  # ndim, flags (no nulls), element oid, length, lower bound
# (array type, element oid, struct code, element size) for each kind of array.
_ARRAY_KINDS = {
    Int4Array: (1007, 23, "i", 4),
    Int8Array: (1016, 20, "q", 8),
    Float8Array: (1022, 701, "d", 8),
}


def binary_array(kind: type[_BinaryArray], values: Sequence) -> _BinaryArray:
    _, element_oid, code, size = _ARRAY_KINDS[kind]
    n = len(values)
    if not n:
        return kind(struct.pack(">iiI", 0, 0, element_oid))
    items = struct.pack(
        f">{('i' + code) * n}", *chain.from_iterable(zip(repeat(size, n), values, strict=True))
    )
    return kind(_ARRAY_HEADER.pack(1, 0, element_oid, n, 1) + items)


def register_array_dumpers() -> None:
    """Teach psycopg (globally) to send these arrays as they are; idempotent."""
    global _registered
    if _registered:
        return
    import psycopg
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    for kind, (array_oid, _, _, _) in _ARRAY_KINDS.items():
        dumper = type(
            f"{kind.__name__}Dumper",
            (Dumper,),
            {"format": Format.BINARY, "oid": array_oid, "dump": lambda self, obj: bytes(obj)},
        )
        psycopg.adapters.register_dumper(kind, dumper)
    _registered = True


_registered = False
