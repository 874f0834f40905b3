"""The chaos suite's shared parts: every test here is marked ``chaos`` (run by `make chaos`, not by
`make test`), gets a PostgreSQL database and a Redis database of its own (so it can run beside other
suites and leave nothing behind), and reports what it proved to the table `make chaos` prints:

    scenario · runs · applied · duplicates · lost · refused

``applied``: commands whose effects are all there exactly once; ``duplicates``/``lost``: effects found
twice / missing (both must be 0); ``refused``: commands refused cleanly (a clear ❌ or a rejection,
nothing half-done), which is a correct outcome for the scenarios that inject refusals.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from remedy.db.session import make_engine
from tests.conftest import PG_URL, ROOT

CHAOS_REDIS_URL = os.environ.get("REMEDY_CHAOS_REDIS_URL", "redis://127.0.0.1:6379/14")
REPORT_FILE = ROOT / "chaos-report.txt"


@dataclass
class Row:
    scenario: str
    runs: int = 0
    applied: int = 0
    duplicates: int = 0
    lost: int = 0
    refused: int = 0


@dataclass
class ChaosReport:
    rows: dict[str, Row] = field(default_factory=dict)

    def add(self, scenario: str, *, runs: int = 1, applied: int = 0, duplicates: int = 0, lost: int = 0,
            refused: int = 0) -> None:
        row = self.rows.setdefault(scenario, Row(scenario))
        row.runs += runs
        row.applied += applied
        row.duplicates += duplicates
        row.lost += lost
        row.refused += refused

    def table(self) -> str:
        head = ("scenario", "runs", "applied", "duplicates", "lost", "refused")
        lines = [list(head)] + [[r.scenario, str(r.runs), str(r.applied), str(r.duplicates), str(r.lost),
                                 str(r.refused)] for r in self.rows.values()]
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        out = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths,
                                                                                                     strict=True)))
               for line in lines]
        out.insert(1, "  ".join("-" * w for w in widths))
        total = Row("total", *(sum(getattr(r, f) for r in self.rows.values())
                               for f in ("runs", "applied", "duplicates", "lost", "refused")))
        out.append(f"total: {total.runs} runs, {total.applied} applied, {total.duplicates} duplicates, "
                   f"{total.lost} lost, {total.refused} refused")
        return "\n".join(out)


_REPORT = ChaosReport()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.chaos)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _REPORT.rows:
        return
    table = _REPORT.table()
    terminalreporter.write_sep("=", "chaos: every command applied exactly once, or refused cleanly")
    terminalreporter.write_line(table)
    REPORT_FILE.write_text(table + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def chaos_report() -> ChaosReport:
    return _REPORT


@pytest.fixture
def chaos_pg() -> Iterator[str]:
    """A PostgreSQL database of this test's own (created empty, dropped after)."""
    name = f"chaos_{secrets.token_hex(4)}"
    engine = make_engine(PG_URL)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def chaos_redis() -> str:
    """Redis database 14 (tests use 15), emptied."""
    conn = redis.Redis.from_url(CHAOS_REDIS_URL, socket_connect_timeout=2)
    conn.flushdb()
    return CHAOS_REDIS_URL
