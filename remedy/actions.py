"""Exactly-once side effects on top of at-least-once jobs.

Every write to Jira or Slack gets a key (originating command id + what + arguments). The key is
recorded *before* the call (pending) and *after* it (done, with the external id). A job that runs
again finds ``done`` and skips; one that finds ``pending`` crashed somewhere around the call, so
it first asks the service whether the write happened (``recover``) before doing it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from remedy.db.models import Action
from remedy.db.session import Database


@dataclass(frozen=True)
class Outcome:
    external_id: str
    reused: bool  # True when an earlier run had already done it


class ActionLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def run_once(self, key: str, kind: str, target: str | None, do: Callable[[], str],
                 recover: Callable[[], str | None] | None = None) -> Outcome:
        """Run ``do`` at most once for ``key``; returns what it (or an earlier run) produced."""
        state, external = self._claim(key, kind, target)
        if state == "done":
            return Outcome(external or "", True)
        if state == "pending" and recover is not None:
            found = recover()
            if found is not None:
                self._finish(key, found)
                return Outcome(found, True)
        try:
            result = do()
        except Exception as exc:
            self._failed(key, exc)
            raise
        self._finish(key, result)
        return Outcome(result, False)

    def _claim(self, key: str, kind: str, target: str | None) -> tuple[str, str | None]:
        try:
            with self._db.session() as s:
                row = s.scalar(select(Action).where(Action.idempotency_key == key))
                if row is None:
                    s.add(Action(idempotency_key=key, kind=kind, target=target, status="pending"))
                    return "new", None
                if row.status == "failed":  # a clean refusal did nothing: try again from scratch
                    row.status, row.error = "pending", None
                    return "new", None
                return row.status, row.external_id
        except IntegrityError:  # another run claimed it a moment ago: treat it as maybe done
            return "pending", None

    def _finish(self, key: str, external_id: str) -> None:
        with self._db.session() as s:
            row = s.scalar(select(Action).where(Action.idempotency_key == key))
            if row is not None:
                row.status, row.external_id, row.error = "done", external_id, None

    def _failed(self, key: str, exc: Exception) -> None:
        # Only a refusal (4xx, or Slack's ok=false) proves nothing happened; a timeout or a 5xx
        # may hide a success, so those stay pending and the next run checks first.
        status = getattr(exc, "status", None)
        if not (getattr(exc, "refused", False) or (isinstance(status, int) and 400 <= status < 500)):
            return
        with self._db.session() as s:
            row = s.scalar(select(Action).where(Action.idempotency_key == key))
            if row is not None:
                row.status, row.error = "failed", str(exc)[:500]

    def status(self, key: str) -> str | None:
        """pending | done | failed, or None if no run ever claimed ``key``."""
        with self._db.session() as s:
            return s.scalar(select(Action.status).where(Action.idempotency_key == key))
