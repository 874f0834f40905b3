"""Append-only audit events, each carrying the hash of the one before it.

``hash = sha256(canonical JSON of seq, ts, actor, action, target, source, data, prev_hash)``.
Editing, deleting or reordering any row breaks the chain from that row on, and
:func:`verify` names the first sequence number where it breaks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from remedy.db.models import Action, AuditEvent
from remedy.db.session import Database

GENESIS = "0" * 64
PRUNED = "audit.pruned"  # the record `remedy audit prune` leaves of what it deleted (see remedy.audit.retention)
_APPEND_TRIES = 8


def _ts_text(ts: datetime) -> str:
    # SQLite hands back naive datetimes, PostgreSQL aware ones: hash the same UTC text for both.
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.isoformat(timespec="microseconds")


def event_hash(seq: int, ts: datetime, actor: str, action: str, target: str | None, source: str,
               data: dict[str, Any], prev_hash: str) -> str:
    body = {"seq": seq, "ts": _ts_text(ts), "actor": actor, "action": action, "target": target,
            "source": source, "data": data, "prev_hash": prev_hash}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _row_hash(row: AuditEvent) -> str:
    return event_hash(row.seq, row.ts, row.actor, row.action, row.target, row.source, row.data, row.prev_hash)


class AuditWriter:
    """Appends events; concurrent writers race on the unique ``seq`` and the loser retries."""

    def __init__(self, db: Database, clock: Callable[[], datetime] | None = None) -> None:
        self._db = db
        # The sandbox runs on simulated time; its audit trail must read on the same clock as its rollout.
        self._clock = clock or (lambda: datetime.now(UTC))

    def append(self, actor: str, action: str, target: str | None = None, *, source: str = "slack",
               data: dict[str, Any] | None = None, once_key: str | None = None) -> AuditEvent | None:
        """Append one event. With ``once_key``, a retried job appends it only once (returns None)."""
        payload = json.loads(json.dumps(data or {}, default=str))  # what the DB will hand back
        for attempt in range(_APPEND_TRIES):
            try:
                with self._db.session() as s:
                    if once_key is not None:
                        s.add(Action(idempotency_key=once_key, kind="audit", target=target, status="done"))
                    return self._append_once(s, actor, action, target, source, payload, self._clock())
            except IntegrityError:
                if once_key is not None and self._already(once_key):
                    return None
                if attempt == _APPEND_TRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _already(self, once_key: str) -> bool:
        with self._db.session() as s:
            return s.scalar(select(Action.id).where(Action.idempotency_key == once_key)) is not None

    @staticmethod
    def _append_once(s: Session, actor: str, action: str, target: str | None, source: str,
                     data: dict[str, Any], ts: datetime) -> AuditEvent:
        last = s.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one_or_none()
        seq = 1 if last is None else last.seq + 1
        prev = GENESIS if last is None else last.hash
        row = AuditEvent(seq=seq, ts=ts, actor=actor, action=action, target=target, source=source,
                         data=data, prev_hash=prev, hash="")
        row.hash = _row_hash(row)
        s.add(row)
        s.flush()
        return row


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} events verified"
        return f"audit chain BROKEN at seq {self.first_bad_seq}: {self.reason} ({self.checked} verified before it)"


def _check_rows(rows: Iterable[AuditEvent], start: tuple[int, str] = (1, GENESIS)) -> VerifyResult:
    (expected_seq, prev), checked = start, 0
    for row in rows:
        if row.seq != expected_seq:
            what = "missing" if row.seq > expected_seq else "out of order"
            return VerifyResult(False, checked, expected_seq, f"event {expected_seq} {what} (found {row.seq})")
        if row.prev_hash != prev:
            return VerifyResult(False, checked, row.seq, "previous-hash link does not match (deleted/reordered)")
        if _row_hash(row) != row.hash:
            return VerifyResult(False, checked, row.seq, "content does not match its hash (edited)")
        prev, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
    return VerifyResult(True, checked)


def verify(db: Database) -> VerifyResult:
    """Walk the chain in sequence order; stop at the first row that doesn't fit. A chain whose oldest
    rows were pruned (``remedy audit prune``) starts where its ``audit.pruned`` record says."""
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
        start = _pruned_start(s) or (1, GENESIS)
        rows = s.execute(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=500))
        result = _check_rows((r for (r,) in rows), start)
    if result.ok and result.checked != total:
        return VerifyResult(False, result.checked, result.checked + 1, "row count does not match sequence")
    return result


def _pruned_start(s: Session) -> tuple[int, str] | None:
    """Where the chain starts after the latest ``audit.pruned`` record (itself chained, so editing it
    breaks the chain further on): the last pruned sequence number + 1, linking to its recorded hash."""
    latest = s.scalars(select(AuditEvent).where(AuditEvent.action == PRUNED).order_by(AuditEvent.seq.desc())
                       .limit(1)).first()
    through = latest.data.get("through_seq") if latest is not None else None
    through_hash = latest.data.get("through_hash") if latest is not None else None
    if isinstance(through, int) and isinstance(through_hash, str):
        return through + 1, through_hash
    return None
