"""`remedy console` as a newcomer runs it: piped lines in, what Slack would show out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def _console(lines: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}"}
    return subprocess.run([sys.executable, "-m", "remedy_cli.cli", "console", "--user", "alice"],
                          input=lines, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_console_prints_card_help_and_did_you_mean(tmp_path: Path) -> None:
    done = _console("/remedy work CPE-3222\n/remedy help\n/remedy wrok\n", tmp_path / "c.db")
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "CPE-3222 · Chrome 120 security update" in out and "[ Compliance ]" in out
    assert "escalate [KEY] [[to] <person>]" in out
    assert "Did you mean `work`?" in out


def test_second_console_run_remembers_the_focus(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    assert _console("/remedy work CPE-3301\n", db).returncode == 0
    done = _console("/remedy my focus\n", db)
    assert done.returncode == 0
    assert "CPE-3301 · Zoom 5.17 audio crash fix" in done.stdout


def test_demo_shows_the_cpe_3222_thread() -> None:
    env = {**os.environ, "DATABASE_URL": "sqlite://"}
    done = subprocess.run([sys.executable, "-m", "remedy_cli.cli", "demo"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "#cpe-remediation as the team sees it" in done.stdout
    assert "CPE-3222 · Chrome 120 security update" in done.stdout
    assert "CPE-9999 not found" in done.stdout
