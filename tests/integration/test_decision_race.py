"""First press wins: approvers pressing the same go/no-go card at the same moment, in separate
workers (threads with their own connections), produce exactly one decision — on SQLite and on
the real PostgreSQL — while the winner's own retry may carry on."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from remedy.db import Database, upgrade
from remedy.remediation import decisions


def test_one_of_many_simultaneous_presses_wins(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    now = datetime(2026, 11, 26, 10, 2, tzinfo=UTC)
    card = decisions.create(db, "CPE-3222", "pilot", "phase1", {"rate": 97.8}, "U01ALICE", now)
    start, results = threading.Barrier(8), []
    lock = threading.Lock()

    def press(n: int) -> None:
        start.wait()
        won = decisions.claim(db, card, f"U0LEAD{n}", f"job-{n}", now)
        with lock:
            results.append((n, won))

    threads = [threading.Thread(target=press, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [n for n, won in results if won]
    assert len(winners) == 1
    view = decisions.get(db, card)
    assert view is not None and view.decided_by == f"U0LEAD{winners[0]}" and view.status == "deciding"
    assert decisions.claim(db, card, view.decided_by, f"job-{winners[0]}", now)  # the winner's retry goes on
    assert not decisions.claim(db, card, "U0LEAD9", "job-9", now)
    db.dispose()
