"""Multi-ticket views follow each ticket's own workflow template: `risks`, `compliance gaps`, `exec summary`,
App Home, the bulk commands, `priorities`, work sessions and `resume` name a team ticket's phases as its
team's template does and hold it to that template's last ring threshold, while a ticket on the default
template keeps the default's names and target. Searches by status ask for every template's statuses.

The team template here ("fast-lane", for tickets labelled fast-lane) calls the Jira statuses Pilot,
Rollout and Verify "Canary", "Broad" and "Sign-off", and is done at 90% where the default needs 95%.
Slack is at 92.5% of the fleet: on target for a fast-lane ticket, behind for a default one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml

from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts
from tests.unit.test_bulk_support import answer, card_text, last_card, marked, new_epic, new_story, press

ALICE, JDOE = "U01ALICE", "U04JDOE"
SLACK_APP, SLACK_TO = "com.tinyspeck.slackmacgap", "4.36.140"
CHROME, CHROME_TO = "com.google.Chrome", "120.0.6099.109"
RENAMED = {"Pilot": "Canary", "Rollout": "Broad", "Verify": "Sign-off"}
CANARY_STEP = "draft comment about canary health"  # the first step fast-lane's Canary phase offers
DUE = date(2026, 11, 27)  # two days after the sandbox's today, as CPE-3445's


def _default_workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((files("remedy") / "defaults" / "workflow.yml").read_text("utf-8"))
    return loaded


def _fast_lane() -> dict[str, Any]:
    base = _default_workflow()
    base["name"], base["match"] = "fast-lane", {"labels": ["fast-lane"]}
    for phase in base["phases"]:
        phase["name"] = RENAMED.get(phase["name"], phase["name"])
        if phase["name"] == "Canary":
            phase["analysis"] = [{"label": "Canary health", "command": CANARY_STEP}]
    base["pilot_phase"], base["rollout_phase"] = "Canary", "Broad"
    base["rings"] = [{"name": "pilot", "label": "Canary", "groups": ["Pilot - {app}", "Pilot"], "threshold": 80,
                      "soak_hours": 12},
                     {"name": "full", "label": "All Macs", "groups": ["All Managed Macs"], "threshold": 90,
                      "soak_hours": 0}]
    return base


def _config(folder: Path, default: dict[str, Any] | None = None) -> Path:
    (folder / "workflows").mkdir(parents=True)
    (folder / "workflows" / "10-fast-lane.yml").write_text(yaml.safe_dump(_fast_lane()), encoding="utf-8")
    if default is not None:
        (folder / "workflow.yml").write_text(yaml.safe_dump(default), encoding="utf-8")
    rules = (files("remedy") / "defaults" / "priority.yml").read_text("utf-8")
    # Points for the team's phase names too, so `priorities` says which phase it saw ("in Canary (+7)").
    assert "phases: {Pilot: 10, Rollout: 10}" in rules
    (folder / "priority.yml").write_text(rules.replace("phases: {Pilot: 10, Rollout: 10}",
                                                       "phases: {Pilot: 10, Rollout: 10, Canary: 7, Broad: 7}"),
                                         encoding="utf-8")
    return folder


def _start(sandbox: Sandbox, tmp_path: Path, default: dict[str, Any] | None = None) -> Runtime:
    config = _config(tmp_path / "config", default)
    return Runtime.start(sandbox, f"sqlite:///{tmp_path / 'remedy.db'}", REMEDY_CONFIG_DIR=str(config),
                         REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1, REMEDY_BULK_JIRA_RATE=400.0)


def _label(rt: Runtime, *keys: str) -> None:
    jira = rt.sandbox.jira_state
    with jira.lock:
        for key in keys:
            jira.issues[key].labels.append("fast-lane")


def _slack_at_92(rt: Runtime) -> float:
    """Update Slack on enough Macs for 92.5% of those with it: between the two targets."""
    jamf = rt.sandbox.jamf_state
    with jamf.lock:
        now = jamf.compliance(SLACK_APP, SLACK_TO)
        for device_id in now.behind[:math.ceil(0.925 * now.total) - now.compliant]:
            jamf.device(device_id).apps[SLACK_APP] = SLACK_TO
        after = jamf.compliance(SLACK_APP, SLACK_TO)
    percent = 100.0 * after.compliant / after.total
    assert 90 <= percent < 95
    return percent


def _slack_story(rt: Runtime, status: str, epic: str | None = None, fast: bool = False, n: int = 0,
                 bundle: str = SLACK_APP, target: str = SLACK_TO) -> str:
    """A Story for alice due with CPE-3445; ``fast``: labelled for the fast-lane template."""
    jira = rt.sandbox.jira_state
    key = new_story(jira, epic, n, status=status, bundle=bundle, target=target)
    with jira.lock:
        jira.issues[key].due_date = DUE
        if fast:
            jira.issues[key].labels.append("fast-lane")
    return key


@dataclass
class World:
    rt: Runtime
    twin: str  # a default-template Slack ticket in Rollout, alice's, due with CPE-3445
    percent: float  # Slack's fleet compliance


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    """CPE-3222 (Pilot, alice) and CPE-3445 (Rollout, john.doe) follow fast-lane; a twin of CPE-3445
    on the default template is alice's."""
    rt = _start(sandbox, tmp_path)
    _label(rt, "CPE-3222", "CPE-3445")
    percent = _slack_at_92(rt)
    yield World(rt, _slack_story(rt, "Rollout"), percent)
    rt.stop()


def _text(rt: Runtime, command: str, user: str = ALICE) -> str:
    """What the user sees of the answer (text and blocks)."""
    sent = rt.slash(command, user=user)
    rt.drain()
    return answer(rt, sent)


def _line_of(text: str, key: str) -> str:
    return next(line for line in text.split("\n") if f"*{key}*" in line)


# -- reads ----------------------------------------------------------------------------------------------


def test_compliance_gaps_holds_each_ticket_to_its_own_target(world: World) -> None:
    said = _text(world.rt, "compliance gaps")
    assert "% of 90% target" in _line_of(said, "CPE-3222")  # fast-lane: Chrome behind its 90%
    assert f"{world.percent:.1f}% of 95% target" in _line_of(said, world.twin)  # default: behind 95%
    assert "CPE-3445" not in said  # the same 92.5% of Slack meets fast-lane's 90%
    assert "CPE-3301" not in said  # Investigation: rolling out under neither template


def test_risks_use_each_tickets_target(world: World) -> None:
    said = _text(world.rt, "risks", user=JDOE)
    assert re.search(rf"\*{world.twin}\* missing 7% .*\n_{world.percent:.1f}% compliant \(\d+/\d+ Macs\), target 95%",
                     said), said
    assert re.search(r"\*CPE-3222\* missing .*\n_[\d.]+% compliant \(\d+/\d+ Macs\), target 90%", said), said
    assert "CPE-3445 missing" not in said  # the same Slack fleet, but fast-lane's 90% is met
    assert "CPE-3301 vendor response overdue" in said  # the rest of the seed's picture is unchanged


def test_exec_summary_counts_each_ticket_in_its_own_phases(world: World) -> None:
    rt = world.rt
    assert _text(rt, "exec summary").startswith("✅ Executive summary for all remediations")
    [summary] = [block_texts(m.blocks) for m in rt.sandbox.slack_state.messages("C0CPETEAM")
                 if m.text.startswith("📊 Executive summary")]
    assert "Investigation 1, Canary 1, Rollout 1, Broad 1" in summary
    [doc] = [f.content.decode() for f in rt.sandbox.slack_state.files.values()
             if f.filename.startswith("exec-summary-") and f.filename.endswith(".md") and f.content]
    assert re.search(r"\| CPE-3445 \| .+? \| 90% ✅ \|", doc), doc
    assert re.search(rf"\| {world.twin} \| .+? \| 95% ⏳ \|", doc), doc
    assert "| Canary | 1 |" in doc and "| Pilot |" not in doc


def test_app_home_shows_its_own_phase_and_target(world: World) -> None:
    rt = world.rt
    for key in ("CPE-3445", world.twin):
        assert _text(rt, f"compliance {key}").startswith("✅")  # the snapshots Home reads
    mine = _home(rt, ALICE)
    assert "*Canary* · " in _item(mine, "CPE-3222") and f"next: `{CANARY_STEP}`" in _item(mine, "CPE-3222")
    assert "*Rollout* · " in _item(mine, world.twin)
    assert f"⏰ due in 2 days, at {world.percent:.1f}% (target 95%)" in mine
    johns = _home(rt, JDOE)
    assert "*Broad* · " in _item(johns, "CPE-3445") and "⏰" not in johns  # on its 90% target: no flag


def _home(rt: Runtime, user: str) -> str:
    rt.event({"type": "app_home_opened", "user": user, "tab": "home"})
    rt.drain()
    return block_texts(rt.sandbox.slack_state.home_views[user][-1]["blocks"])


def _item(home: str, key: str) -> str:
    """The ticket's section on Home: its key line and the phase line under it."""
    at = home.index(f"|{key}>*")
    return home[at:at + 400]


def test_priorities_and_a_session_use_the_tickets_own_phases(world: World) -> None:
    rt = world.rt
    queue = _text(rt, "my queue")
    assert "in Canary (+7)" in _line_of(queue, "CPE-3222")
    assert "in Rollout (+10)" in _line_of(queue, world.twin)
    session = _text(rt, "start session 2h")
    assert f"*CPE-3222* Canary health `{CANARY_STEP}`" in session


def test_resume_names_a_move_made_in_jira_by_the_tickets_template(world: World) -> None:
    rt = world.rt
    _text(rt, "work CPE-3222")
    _text(rt, "resume")  # remembers CPE-3222 in Canary
    jira = rt.sandbox.jira_state
    with jira.lock:
        jira.set_status("CPE-3222", "Rollout")
    said = _text(rt, "resume")
    assert "*CPE-3222* is now in Broad (was Canary), changed in Jira" in said


# -- bulk -----------------------------------------------------------------------------------------------


def test_close_all_resolved_and_the_report_use_each_template(world: World) -> None:
    rt = world.rt
    epic = new_epic(rt.sandbox.jira_state)
    fast = _slack_story(rt, "Verify", epic, fast=True, n=1)
    slow = _slack_story(rt, "Verify", epic, n=2)
    assert "Close 1 ticket?" in _text(rt, f"close all resolved in epic {epic}")
    card = card_text(rt, last_card(rt))
    assert f"Sign-off done, {world.percent:.1f}% ≥ 90% compliant" in card and slow not in card
    press(rt, last_card(rt), "Confirm")
    assert rt.sandbox.jira_state.status_of(fast) == "Done" and rt.sandbox.jira_state.status_of(slow) == "Verify"
    report = _text(rt, f"compliance report on {slow} CPE-3445")
    assert "Compliance report for 2 tickets" in report
    table = [m.text for m in rt.sandbox.slack_state.messages("C0CPETEAM") if "Compliance report" in m.text][-1]
    assert "2 tickets, 2 measured, 1 below their target (95% / 90%)" in table  # slow's 95%; CPE-3445 meets 90%


def test_nothing_to_close_names_each_templates_rule(world: World) -> None:
    said = _text(world.rt, f"close all resolved on CPE-3445 {world.twin}")
    assert "Nothing to close" in said
    assert "(Sign-off and ≥ 90% or Verify and ≥ 95%)" in said  # in the order of the tickets


def test_batch_comment_and_focus_name_each_tickets_phase(world: World) -> None:
    rt = world.rt
    epic = new_epic(rt.sandbox.jira_state)
    fast, slow = _slack_story(rt, "Rollout", epic, fast=True, n=1), _slack_story(rt, "Rollout", epic, n=2)
    focus = _text(rt, f"focus epic {epic}")
    assert re.search(rf"{fast}\s+Broad\s", focus) and re.search(rf"{slow}\s+Rollout\s", focus), focus
    assert "Post to 2 tickets?" in _text(rt, 'batch comment "Now in {phase}."')  # the focused epic
    assert f"*{fast}* App 1 update · Broad" in card_text(rt, last_card(rt))
    press(rt, last_card(rt), "Confirm")
    jira = rt.sandbox.jira_state
    assert marked(jira, fast)[0]["text"].startswith("Now in Broad.")
    assert marked(jira, slow)[0]["text"].startswith("Now in Rollout.")


# -- statuses only a team template has ------------------------------------------------------------------


def test_a_status_only_a_team_template_uses_is_searched_for_its_tickets(sandbox: Sandbox, tmp_path: Path) -> None:
    """A default without Verify: a fast-lane ticket in Verify (its Sign-off) is still rolling out; a
    default ticket in Verify is in no phase of its template, so not rolling out."""
    default = _default_workflow()
    default["phases"] = [p for p in default["phases"] if p["name"] != "Verify"]
    rt = _start(sandbox, tmp_path, default)
    try:
        fast = _slack_story(rt, "Verify", fast=True, n=1, bundle=CHROME, target=CHROME_TO)
        slow = _slack_story(rt, "Verify", n=2, bundle=CHROME, target=CHROME_TO)
        gaps = _text(rt, "compliance gaps")
        assert "% of 90% target" in _line_of(gaps, fast)  # Chrome 120 is on few Macs yet
        assert slow not in gaps
        assert "of 4 in rollout" in gaps  # CPE-3222, CPE-3445 and epic CPE-123 (default here), and fast
    finally:
        rt.stop()


def test_a_priority_override_uses_the_tickets_own_mapping(sandbox: Sandbox, tmp_path: Path) -> None:
    """fast-lane calls P1 "High" where the default calls it "Highest": `priority KEY P1` sets each ticket's own."""
    template = _fast_lane()
    template["priorities"] = {"P1": "High", "P2": "Medium", "P3": "Low", "P4": "Lowest"}
    config = _config(tmp_path / "config")
    (config / "workflows" / "10-fast-lane.yml").write_text(yaml.safe_dump(template), encoding="utf-8")
    rt = Runtime.start(sandbox, f"sqlite:///{tmp_path / 'remedy.db'}", REMEDY_CONFIG_DIR=str(config),
                       REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1)
    try:
        _label(rt, "CPE-3222")
        fast = _text(rt, "priority CPE-3222 P1 because the CVE is exploited")
        default = _text(rt, "priority CPE-3301 P1 because the vendor shipped the fix")
        assert fast.startswith("✅") and "*High*" in fast, fast
        assert default.startswith("✅") and "*Highest*" in default, default
        assert rt.sandbox.jira_state.priority_of("CPE-3222") == "High"
        assert rt.sandbox.jira_state.priority_of("CPE-3301") == "Highest"
        queue = _text(rt, "priorities")
        assert "P1" in queue and "override" in queue.lower(), queue
    finally:
        rt.stop()


def test_moving_to_a_canonical_phase_reaches_the_teams_renamed_one(world: World) -> None:
    """`move CPE-3445 to verify`: fast-lane calls Jira's Verify "Sign-off"; the move gets there and says so."""
    answer = _text(world.rt, "move CPE-3445 to verify")
    assert answer.startswith("✅") and "Sign-off" in answer, answer
    assert world.rt.sandbox.jira_state.status_of("CPE-3445") == "Verify"
    back = _text(world.rt, "move CPE-3445 to rollout")
    assert back.startswith("✅") and "Broad" in back, back
