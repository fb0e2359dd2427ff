"""Rows whose device is gone: the check that stands in for the foreign keys readings do not have.

Readings, hourly and daily aggregates and dirty marks name their device by ``(user_id,
device_pk)`` without a foreign key (migration 0020 says why). Deleting a device or a user deletes
those rows in the same transaction (``accounts.delete_device``, ``accounts.delete_user``), so
none should ever be left behind; this check would find them if a bug, a manual ``DELETE`` or a
restored backup left some. It walks each table's distinct devices with one index probe apiece
(no table scan), so it is cheap enough for the scheduler to run every day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlmodel import Session

from energy_core.household_scope import act_for_system

log = logging.getLogger(__name__)

DEVICE_TABLES = ("readings", "hourly_aggregates", "daily_aggregates", "dirty_hours")

# The distinct (user_id, device_pk) of a table whose primary key starts with them, found by
# jumping from one to the next along the index, then those that name no device of that user.
_ORPHAN_DEVICES = """
WITH RECURSIVE seen (user_id, device_pk) AS (
    SELECT user_id, device_pk FROM (
        SELECT user_id, device_pk FROM {table} ORDER BY user_id, device_pk LIMIT 1
    ) AS first_pair
    UNION ALL
    SELECT (SELECT n.user_id FROM {table} n
            WHERE (n.user_id, n.device_pk) > (s.user_id, s.device_pk)
            ORDER BY n.user_id, n.device_pk LIMIT 1),
           (SELECT n.device_pk FROM {table} n
            WHERE (n.user_id, n.device_pk) > (s.user_id, s.device_pk)
            ORDER BY n.user_id, n.device_pk LIMIT 1)
    FROM seen s
    WHERE s.user_id IS NOT NULL
)
SELECT s.user_id, s.device_pk, (
    SELECT count(*) FROM {table} t WHERE t.user_id = s.user_id AND t.device_pk = s.device_pk
)
FROM seen s
WHERE s.user_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = s.device_pk AND d.user_id = s.user_id)
ORDER BY s.user_id, s.device_pk
"""


@dataclass(frozen=True)
class OrphanDevice:
    """Rows of ``table`` that name ``device_pk`` of ``user_id``, a device that does not exist."""

    table: str
    user_id: int
    device_pk: int
    rows: int


@dataclass
class IntegrityReport:
    orphans: list[OrphanDevice] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.orphans

    def rows(self, table: str) -> int:
        return sum(o.rows for o in self.orphans if o.table == table)


def find_orphans(session: Session) -> IntegrityReport:
    """Every (table, user, device) whose rows outlived their device; empty when all is well."""
    act_for_system(session)  # across households by nature (row-level security)
    report = IntegrityReport()
    for table in DEVICE_TABLES:
        rows = session.execute(text(_ORPHAN_DEVICES.format(table=table)))
        report.orphans += [OrphanDevice(table, u, d, n) for u, d, n in rows]
    return report


def delete_orphans(session: Session, report: IntegrityReport) -> int:
    """Delete the rows ``report`` found (in the caller's transaction); returns how many."""
    act_for_system(session)  # across households by nature (row-level security)
    deleted = 0
    for orphan in report.orphans:
        deleted += session.execute(
            text(
                f"DELETE FROM {orphan.table} WHERE user_id = :user_id AND device_pk = :device_pk "
                "AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = :device_pk "
                "AND d.user_id = :user_id)"
            ),
            {"user_id": orphan.user_id, "device_pk": orphan.device_pk},
        ).rowcount
    return deleted


def log_orphans(report: IntegrityReport) -> None:
    """Say what the check found, where an operator will see it."""
    if report.ok:
        log.info("integrity check: every reading, aggregate and dirty mark has its device")
        return
    for orphan in report.orphans:
        log.error(
            "integrity check: %d row(s) of %s name device %d of user %d, which does not exist "
            "(`energy-monitor db check --delete-orphans` removes them)",
            orphan.rows,
            orphan.table,
            orphan.device_pk,
            orphan.user_id,
        )
