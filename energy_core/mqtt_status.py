"""The MQTT bridge's counts and lag: kept by the bridge process, read by the System status page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from energy_core.models import BridgeStatus
from energy_core.types import utcnow

BRIDGE = "mqtt"


@dataclass
class BridgeCounts:
    """Counts since the bridge started (``started_at``: epoch seconds)."""

    started_at: float
    connected: bool = False
    received: int = 0
    stored: int = 0
    ignored: int = 0  # messages that carry no power (other topics, other quantities)
    rejected: int = 0  # messages whose values the monitor refuses (dropped)
    reconnects: int = 0
    last_lag_s: float | None = None  # arrival to commit, the slowest of the last batch
    last_error: str | None = None


def save_bridge_status(session: Session, *, counts: BridgeCounts, backlog: int) -> None:
    row = session.get(BridgeStatus, BRIDGE) or BridgeStatus(
        bridge=BRIDGE,
        started_at=utcnow(),
        updated_at=utcnow(),
        connected=False,
        received=0,
        stored=0,
        ignored=0,
        rejected=0,
    )
    row.started_at = datetime.fromtimestamp(counts.started_at, UTC)
    row.updated_at = utcnow()
    row.connected = counts.connected
    row.received, row.stored = counts.received, counts.stored
    row.ignored, row.rejected = counts.ignored, counts.rejected
    row.reconnects, row.backlog = counts.reconnects, backlog
    row.last_lag_s, row.last_error = counts.last_lag_s, counts.last_error
    session.add(row)


def bridge_status(session: Session) -> BridgeStatus | None:
    """The bridge's last report, or None if no bridge ever ran."""
    return session.get(BridgeStatus, BRIDGE)
