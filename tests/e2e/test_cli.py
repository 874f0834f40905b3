"""The `remedy` command as an operator uses it: clear errors, doctor, db, audit, sandbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from remedy.audit import AuditWriter
from remedy.db import Database, upgrade
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e
CLEAN = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIRA_", "JAMF_", "OLLAMA_"))}


def remedy(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "remedy_cli.cli", *args], env={**CLEAN, **(env or {})},
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_serve_without_slack_settings_names_them(tmp_path: Path) -> None:
    done = remedy("serve", env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert done.returncode == 2
    assert "missing settings: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_setting_is_named() -> None:
    done = remedy("doctor", env={"REDIS_URL": "http://nope"})
    assert done.returncode == 2 and "REDIS_URL" in done.stderr


def test_db_upgrade_then_audit_verify_then_tamper(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/a.db"
    assert remedy("db", "upgrade", env={"DATABASE_URL": url}).returncode == 0
    writer = AuditWriter(Database(url))
    for i in range(3):
        writer.append("U01ALICE", "ticket.work", f"CPE-{i}")
    ok = remedy("audit", "verify", env={"DATABASE_URL": url})
    assert ok.returncode == 0 and "3 events verified" in ok.stdout
    with Database(url).engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_event SET target = 'CPE-X' WHERE seq = 2")
    bad = remedy("audit", "verify", env={"DATABASE_URL": url})
    assert bad.returncode == 1 and "BROKEN at seq 2" in bad.stdout


def test_doctor_prints_a_line_per_dependency_and_fails_when_redis_is_down(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/d.db"
    upgrade(url)
    done = remedy("doctor", env={"DATABASE_URL": url, "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("❌ Redis queue") and lines[1].startswith("✅ Database")
    assert any(line.startswith("➖ Jira: not configured") for line in lines)


def test_sandbox_prints_urls_that_answer() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "remedy_cli.cli", "sandbox"], env=CLEAN, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        exports: dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            match = re.match(r"export (\w+)=(\S+)", line)
            if match:
                exports[match.group(1)] = match.group(2)
            if line.startswith("Slack simulator"):
                break
        slack = httpx.post(exports["SLACK_API_URL"] + "auth.test",
                           headers={"Authorization": f"Bearer {exports['SLACK_BOT_TOKEN']}"}, timeout=5)
        assert slack.json()["ok"] is True
        jira = httpx.get(exports["JIRA_URL"] + "/rest/api/3/issue/CPE-3222",
                         auth=(exports["JIRA_EMAIL"], exports["JIRA_API_TOKEN"]), timeout=5)
        assert jira.json()["fields"]["summary"] == "Chrome 120 security update"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
