"""`remedy audit export | prune | verify` as an operator runs them: exports that re-verify on their own,
a retention that deletes only through `prune` (recorded, so the chain still verifies), and any other
deletion, edit or reordering named by its first bad sequence number."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from remedy.audit import AuditWriter, event_hash
from remedy.db import Database
from tests.e2e.test_cli import remedy

NOW = datetime.now(UTC)


def _trail(tmp_path: Path) -> str:
    """A database with 6 events: 3 from 100 days ago (CPE-1 twice, CPE-2), 3 from today."""
    url = f"sqlite:///{tmp_path}/audit.db"
    assert remedy("db", "upgrade", env={"DATABASE_URL": url}).returncode == 0
    db = Database(url)
    old = AuditWriter(db, clock=lambda: NOW - timedelta(days=100))
    for target in ("CPE-1", "CPE-2", "CPE-1"):
        old.append("U01ALICE", "jira.comment", target, data={"why": "old"})
    new = AuditWriter(db, clock=lambda: NOW)
    for target in ("CPE-1", "CPE-3", "CPE-1"):
        new.append("U02SARAH", "jira.move", target, data={"to": "Pilot", "note": "ünïcode, \"quoted\""})
    return url


def test_export_jsonl_and_csv_filtered_and_reverifiable(tmp_path: Path) -> None:
    url = _trail(tmp_path)
    jsonl = remedy("audit", "export", "--ticket", "cpe-1", env={"DATABASE_URL": url})
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert jsonl.returncode == 0 and [r["seq"] for r in rows] == [1, 3, 4, 6]
    for r in rows:  # an exported row carries everything its hash covers
        assert event_hash(r["seq"], datetime.fromisoformat(r["ts"]), r["actor"], r["action"], r["target"],
                          r["source"], r["data"], r["prev_hash"]) == r["hash"]
    out = tmp_path / "recent.csv"
    done = remedy("audit", "export", "--format", "csv", "--since", (NOW - timedelta(days=1)).date().isoformat(),
                  "--output", str(out), env={"DATABASE_URL": url})
    assert done.returncode == 0 and "3 audit events written" in done.stderr
    table = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert [int(r["seq"]) for r in table] == [4, 5, 6]
    assert json.loads(table[0]["data"]) == {"to": "Pilot", "note": "ünïcode, \"quoted\""}
    bad = remedy("audit", "export", "--since", "last tuesday", env={"DATABASE_URL": url})
    assert bad.returncode == 2 and "is not a date" in bad.stderr


def test_prune_keeps_the_chain_verifiable_and_other_deletions_are_named(tmp_path: Path) -> None:
    url = _trail(tmp_path)
    forever = remedy("audit", "prune", env={"DATABASE_URL": url})
    assert forever.returncode == 0 and "kept forever" in forever.stdout
    pruned = remedy("audit", "prune", env={"DATABASE_URL": url, "REMEDY_AUDIT_RETENTION_DAYS": "90"})
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert "deleted 3 events older than 90 days (through seq 3); the chain now starts at seq 4" in pruned.stdout
    ok = remedy("audit", "verify", env={"DATABASE_URL": url})
    assert ok.returncode == 0 and "audit chain intact: 4 events verified" in ok.stdout  # 3 kept + the prune record
    again = remedy("audit", "prune", env={"DATABASE_URL": url, "REMEDY_AUDIT_RETENTION_DAYS": "90"})
    assert "nothing older than 90 days" in again.stdout

    with Database(url).engine.begin() as conn:  # someone deletes the oldest kept row by hand
        conn.exec_driver_sql("DELETE FROM audit_event WHERE seq = 4")
    broken = remedy("audit", "verify", env={"DATABASE_URL": url})
    assert broken.returncode == 1 and "BROKEN at seq 4" in broken.stdout
    refused = remedy("audit", "prune", env={"DATABASE_URL": url, "REMEDY_AUDIT_RETENTION_DAYS": "30"})
    assert refused.returncode == 1 and "not pruning a broken chain" in refused.stdout


def test_a_forged_prune_record_does_not_hide_a_deletion(tmp_path: Path) -> None:
    url = _trail(tmp_path)
    with Database(url).engine.begin() as conn:  # rows 1–2 deleted, and a record claiming a prune edited in
        conn.exec_driver_sql("DELETE FROM audit_event WHERE seq <= 2")
        prev = conn.exec_driver_sql("SELECT hash FROM audit_event WHERE seq = 2").scalar()
        assert prev is None
        conn.exec_driver_sql("UPDATE audit_event SET action = 'audit.pruned' WHERE seq = 6")
    broken = remedy("audit", "verify", env={"DATABASE_URL": url})
    assert broken.returncode == 1 and "BROKEN at seq 1" in broken.stdout
