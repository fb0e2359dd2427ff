"""Columns the tables share: the owning household's id, a device's id and UTC instants."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field

from energy_core.types import UTCDateTime


def utc_column(nullable: bool = False, **kwargs) -> Column:
    """A UTC instant (stored aware on PostgreSQL, as UTC text on SQLite)."""
    return Column(UTCDateTime(), nullable=nullable, **kwargs)


def user_id_field(*, primary_key: bool = False) -> Any:
    """The owning household's ``user_id``: never null, its rows deleted with the user."""
    return Field(
        sa_column=Column(
            Integer,
            ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=primary_key,
            nullable=False,
        )
    )


def device_pk_field(*, primary_key: bool = False, nullable: bool = False) -> Any:
    """A device's ``device_pk`` with a foreign key, its rows deleted with the device (the readings
    and aggregates tables keep theirs without one); nullable ones default to None."""
    column = Column(
        Integer,
        ForeignKey("devices.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=nullable,
    )
    return Field(default=None, sa_column=column) if nullable else Field(sa_column=column)
