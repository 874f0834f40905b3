"""`remedy config check` as an operator runs it on a config folder: every problem of every file at once,
each at its file and line; checks across a file (a manager who is nobody) at the line of the value;
the shipped defaults named when the folder lacks a file; a misnamed file pointed out."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from tests.e2e.test_cli import remedy

pytestmark = pytest.mark.e2e


def _shipped(name: str) -> str:
    return (files("remedy") / "defaults" / name).read_text(encoding="utf-8")


def test_the_shipped_defaults_pass() -> None:
    done = remedy("config", "check")
    assert done.returncode == 0, done.stdout
    assert "✅ 5 files checked, 0 problems: remedy/defaults/workflow.yml (shipped)" in done.stdout


def test_every_problem_with_its_file_and_line(tmp_path: Path) -> None:
    priority = _shipped("priority.yml").replace("cve_without_score: 15", "cve_without_score: lots")
    priority = priority.replace("overdue: 35", "overdue: [35]")
    (tmp_path / "priority.yml").write_text(priority, encoding="utf-8")
    lines = priority.splitlines()
    (tmp_path / "workflow.yml").write_text("phases:\n  - name: Triage\n    jira_status: [Open\n", encoding="utf-8")
    team = _shipped("team.yml").replace("    manager: sarah\n", "    manager: nobody\n", 1)
    (tmp_path / "team.yml").write_text(team, encoding="utf-8")
    (tmp_path / "insight.yml").write_text("{}\n", encoding="utf-8")

    done = remedy("config", "check", "--dir", str(tmp_path))
    assert done.returncode == 1
    out = done.stdout
    cve_line = next(i for i, line in enumerate(lines, 1) if "cve_without_score" in line)
    due_line = next(i for i, line in enumerate(lines, 1) if "overdue: [35]" in line)
    assert f"❌ {tmp_path}/priority.yml:{cve_line}: cvss.cve_without_score: Input should be a valid integer" in out
    assert f"❌ {tmp_path}/priority.yml:{due_line}: due.overdue: Input should be a valid integer" in out
    assert f"❌ {tmp_path}/workflow.yml:4: not valid YAML: expected ',' or ']'" in out
    manager_line = next(i for i, line in enumerate(team.splitlines(), 1) if "manager: nobody" in line)
    assert f"❌ {tmp_path}/team.yml:{manager_line}: people.0.manager: alice: manager 'nobody' is not in people" in out
    assert f"❌ {tmp_path}/insight.yml: remedy does not read this file (a typo of insights.yml" in out
    assert "remedy/defaults/insights.yml (shipped)" in out and "5 problems" in out


def test_a_folder_that_is_not_there(tmp_path: Path) -> None:
    done = remedy("config", "check", "--dir", str(tmp_path / "nope"))
    assert done.returncode == 2 and "is not a directory" in done.stderr
