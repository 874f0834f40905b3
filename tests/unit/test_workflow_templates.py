"""Team workflow templates (REMEDY_CONFIG_DIR/workflows/*.yml) chosen per ticket by project, issue type
or label, through the real app: a matching ticket gets its team's subtasks and ring plan, any other the
default's; `remedy config check` validates the templates with their lines; bad templates stop remedy at
start with the file named."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml

from remedy.configcheck import check
from remedy.jira.models import Issue
from remedy.sandbox.run import Sandbox
from remedy.workflow.template import WorkflowError
from remedy.workflow.templates import load_workflows
from remedy_cli.embedded import Runtime
from tests.unit.test_daily_update import _run

VENDOR_PLAN = ["Confirm the vendor's fixed build", "Plan a two-ring rollout"]


def _vendor_template() -> dict[str, Any]:
    base = yaml.safe_load((files("remedy") / "defaults" / "workflow.yml").read_text(encoding="utf-8"))
    base["name"] = "vendor-fix"
    base["match"] = {"labels": ["vendor-wait"], "issue_types": ["Task", "Bug"]}
    for phase in base["phases"]:
        if phase["name"] == "Plan":
            phase["subtasks"] = VENDOR_PLAN
    base["rings"] = [{"name": "pilot", "label": "Pilot", "groups": ["Pilot - {app}", "Pilot"], "threshold": 80,
                      "soak_hours": 12},
                     {"name": "full", "label": "All Macs", "groups": ["All Managed Macs"], "threshold": 95,
                      "soak_hours": 0}]
    return base


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "10-vendor.yml").write_text(yaml.safe_dump(_vendor_template()), encoding="utf-8")
    return tmp_path


def _subtasks(rt: Runtime, key: str) -> list[str]:
    return [s.summary for s in rt.sandbox.jira_state.subtasks(key)]


def test_a_matching_ticket_follows_its_teams_template(sandbox: Sandbox, sqlite_url: str, config_dir: Path) -> None:
    rt = Runtime.start(sandbox, sqlite_url, REMEDY_CONFIG_DIR=str(config_dir))
    try:
        assert _run(rt, "move CPE-3301 to plan").startswith("✅")  # Task with the vendor-wait label
        assert set(VENDOR_PLAN) <= set(_subtasks(rt, "CPE-3301"))
        assert _run(rt, "move CPE-3445 to plan").startswith("✅")  # a Story without it: the default's subtasks
        assert {"Draft rollout timeline", "Prepare user communication"} <= set(_subtasks(rt, "CPE-3445"))
        assert not set(VENDOR_PLAN) & set(_subtasks(rt, "CPE-3445"))
        created = _run(rt, "create jamf policy CPE-3301")
        assert created.startswith("✅"), created
        plan = [m.text for m in rt.sandbox.slack_state.all_messages("C0CPETEAM") if "• Rings:" in m.text][-1]
        assert "Pilot (" in plan and "≥ 80%, soak 12 h) → All Macs" in plan and "Phase 1" not in plan
    finally:
        rt.stop()


def _issue(key: str, issue_type: str, labels: list[str]) -> Issue:
    return Issue.model_validate({"key": key, "id": "1", "summary": "s", "status": "Plan", "status_category": "new",
                                 "issue_type": issue_type, "labels": labels, "created": "2026-11-01T00:00:00Z",
                                 "updated": "2026-11-01T00:00:00Z"})


def test_every_listed_criterion_must_match_and_the_first_file_wins(config_dir: Path) -> None:
    other = _vendor_template() | {"name": "all-bugs", "match": {"issue_types": ["Bug"]}}
    (config_dir / "workflows" / "20-bugs.yml").write_text(yaml.safe_dump(other), encoding="utf-8")
    found = load_workflows(config_dir)
    assert found.for_issue(_issue("CPE-1", "Task", ["Vendor-Wait"])).name == "vendor-fix"
    assert found.for_issue(_issue("CPE-1", "Story", ["vendor-wait"])).name == "macos-app-remediation"
    assert found.for_issue(_issue("OPS-9", "Bug", ["vendor-wait"])).name == "vendor-fix"  # 10- before 20-
    assert found.for_issue(_issue("OPS-9", "Bug", [])).name == "all-bugs"


def test_bad_templates_are_named_by_the_check_and_at_start(config_dir: Path) -> None:
    broken = _vendor_template()
    del broken["match"]
    (config_dir / "workflows" / "30-nomatch.yml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    text = "name: odd\nmatch: {labels: [x]}\nphases:\n  - name: Plan\n    jira_status: Plan\n    exit_checks: [magic]\n"
    (config_dir / "workflows" / "40-bad.yml").write_text(text, encoding="utf-8")
    problems = [str(p) for p in check(config_dir).problems]
    assert any(p.startswith(f"{config_dir}/workflows/40-bad.yml:6: phases.0.exit_checks.0: Input should be")
               for p in problems), problems
    assert any("30-nomatch.yml" in p and "needs `match:`" in p for p in problems), problems
    with pytest.raises(WorkflowError, match=r"30-nomatch.yml: a team template needs `match:`"):
        load_workflows(config_dir)
