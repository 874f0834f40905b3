"""Migrations and the audit chain on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from remedy.audit import AuditWriter, verify
from remedy.db import Database, current_revision, upgrade
from remedy.db.migrate import head_revision
from remedy.db.models import Base


def _chain(db_url: str, n: int = 5) -> Database:
    upgrade(db_url)
    db = Database(db_url)
    writer = AuditWriter(db)
    for i in range(n):
        writer.append("U01ALICE", "ticket.work", f"CPE-{3220 + i}", data={"i": i, "note": "ünïcode ✓"})
    return db


def test_migrations_reach_head_and_match_the_models(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    assert current_revision(db.engine) == head_revision()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    db.dispose()


def test_intact_chain_verifies(db_url: str) -> None:
    db = _chain(db_url)
    result = verify(db)
    assert result.ok and result.checked == 5


@pytest.mark.parametrize(("tamper", "bad_seq", "why"), [
    ("UPDATE audit_event SET actor = 'U02SARAH' WHERE seq = 3", 3, "edited"),
    ("DELETE FROM audit_event WHERE seq = 2", 2, "missing"),
    ("UPDATE audit_event SET seq = seq + 100 WHERE seq = 4", 4, "missing"),
])
def test_tampering_is_found_at_the_first_bad_row(db_url: str, tamper: str, bad_seq: int, why: str) -> None:
    db = _chain(db_url)
    with db.engine.begin() as conn:
        conn.execute(text(tamper))
    result = verify(db)
    assert not result.ok and result.first_bad_seq == bad_seq
    assert why in (result.reason or "")


def test_reordered_rows_are_found(db_url: str) -> None:
    db = _chain(db_url)
    with db.engine.begin() as conn:  # swap the contents of rows 2 and 3, keeping seq numbers
        conn.execute(text("UPDATE audit_event SET seq = 1000 WHERE seq = 2"))
        conn.execute(text("UPDATE audit_event SET seq = 2 WHERE seq = 3"))
        conn.execute(text("UPDATE audit_event SET seq = 3 WHERE seq = 1000"))
    result = verify(db)
    assert not result.ok and result.first_bad_seq == 2


def test_once_key_appends_only_once(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    writer = AuditWriter(db)
    assert writer.append("U01ALICE", "ticket.work", "CPE-3222", once_key="job1:audit") is not None
    assert writer.append("U01ALICE", "ticket.work", "CPE-3222", once_key="job1:audit") is None
    assert verify(db).checked == 1
