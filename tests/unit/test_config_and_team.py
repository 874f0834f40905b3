"""Settings and YAML config fail with a line that names what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from remedy.config import ConfigError, load_settings
from remedy.team import TeamConfigError, load_directory
from remedy.workflow import WorkflowError, load_workflow


def test_defaults_are_the_embedded_ones() -> None:
    s = load_settings()
    assert s.OLLAMA_MODEL == "llama3.2:3b" and s.DATABASE_URL.startswith("sqlite")


def test_missing_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET"):
        load_settings().require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


def test_bad_url_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_URL", "jira.example.com")
    with pytest.raises(ConfigError, match="JIRA_URL"):
        load_settings()


def test_secrets_do_not_leak_through_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_API_TOKEN", "super-secret-token")
    s = load_settings()
    assert "super-secret-token" not in repr(s) and s.secret("JIRA_API_TOKEN") == "super-secret-token"


def test_team_resolves_people_and_flags_ambiguity() -> None:
    team = load_directory()
    assert team.resolve("sarah").person is not None
    assert team.resolve("<@U02SARAH>".strip("<>@")).person.name == "Sarah Chen"  # type: ignore[union-attr]
    john = team.resolve("john")
    assert john.person is None and {p.handle for p in john.candidates} == {"john.smith", "john.doe"}
    assert team.resolve("dev-team").group is not None
    assert team.role_of("U02SARAH") == "lead" and team.role_of("U0NOBODY") == "viewer"


def test_broken_team_file_names_the_problem(tmp_path: Path) -> None:
    (tmp_path / "team.yml").write_text("people:\n  - handle: a\n    name: A\n    manager: ghost\n")
    with pytest.raises(TeamConfigError, match="manager 'ghost' is not in people"):
        load_directory(tmp_path)


def test_broken_workflow_file_names_the_problem(tmp_path: Path) -> None:
    (tmp_path / "workflow.yml").write_text("name: x\nphases: []\n")
    with pytest.raises(WorkflowError, match=r"workflow\.yml"):
        load_workflow(tmp_path)
