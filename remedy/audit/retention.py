"""Audit retention: the only code that ever deletes audit rows, and how the chain stays verifiable after.

``remedy audit prune`` (and the daily cron job) delete the events older than
``REMEDY_AUDIT_RETENTION_DAYS``, never a broken chain's, and only after appending an ``audit.pruned``
event that records the last deleted sequence number and its hash. That event is itself chained, so
:func:`remedy.audit.chain.verify` can tell a pruned start (the first kept row links to the recorded hash)
from rows deleted any other way (no such record: verification names the first missing sequence number).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from remedy.audit.chain import PRUNED, AuditWriter, verify
from remedy.db.models import AuditEvent
from remedy.db.session import Database


@dataclass(frozen=True)
class PruneResult:
    deleted: int
    through_seq: int | None
    message: str
    refused: bool = False  # the chain is broken: nothing deleted, and the operator must look


def prune(db: Database, writer: AuditWriter, retention_days: int | None, now: datetime) -> PruneResult:
    """Delete the events older than ``retention_days`` (None: keep everything)."""
    if retention_days is None:
        return PruneResult(0, None, "REMEDY_AUDIT_RETENTION_DAYS is not set: the audit trail is kept forever")
    chain = verify(db)
    if not chain.ok:
        return PruneResult(0, None, f"not pruning a broken chain: {chain.describe()}", refused=True)
    cutoff = now - timedelta(days=retention_days)
    with db.session() as s:
        last_old = s.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.ts < cutoff)
                             .order_by(AuditEvent.seq.desc()).limit(1)).first()
        first = s.scalar(select(func.min(AuditEvent.seq))) or 1
    if last_old is None:
        return PruneResult(0, None, f"nothing older than {retention_days} days")
    through, through_hash = int(last_old[0]), str(last_old[1])
    # Recorded before deleting: a prune that dies halfway leaves rows that the record already explains.
    writer.append("remedy", PRUNED, None, source="cron",
                  data={"through_seq": through, "through_hash": through_hash, "cutoff": cutoff.isoformat(),
                        "retention_days": retention_days, "count": through - first + 1})
    with db.session() as s:
        deleted = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq <= through)) or 0
        s.execute(delete(AuditEvent).where(AuditEvent.seq <= through))
    return PruneResult(deleted, through, f"deleted {deleted} events older than {retention_days} days "
                                         f"(through seq {through}); the chain now starts at seq {through + 1}")


__all__ = ["PRUNED", "PruneResult", "prune"]
