"""Seed data for the sandbox: the CPE project as a real team would have it on 2026-11-25.

Plain data only. The Jira simulator deep-copies these records and mutates its copies; demos,
tests and (later) the Jamf fleet seed all tell the same story from here:

- CPE-123  Epic "Q4 macOS third-party app security remediation" (Rollout, sarah)
- CPE-3222 Chrome 120 security update, CVE-2023-6702 (Pilot, High, alice), subtasks
  CPE-3223 "Pilot group validation" (Done) and CPE-3224 "Prepare rollback policy" (To Do)
- CPE-3301 Zoom 5.17 audio crash fix, waiting on Zoom support since 2026-11-22 (Investigation)
- CPE-3445 Slack 4.36 update at 87% compliance, due 2026-11-27 (Rollout, High, john.doe)
- CPE-3301 blocks CPE-3445: conference-room Macs are held back from the Slack rollout until the
  Zoom audio crash is fixed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.resources import files
from typing import Any

import yaml

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

PROJECT = {"id": "10000", "key": "CPE", "name": "Client Platform Engineering"}
# The Jira account remedy's API token belongs to (a normal "atlassian" account in real sites).
BOT_ACCOUNT_ID = "712020:0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
BOT_DISPLAY_NAME = "Remedy Bot"

# Category ids/keys/names are Jira's built-in ones; every site has exactly these three.
STATUS_CATEGORIES: dict[str, dict[str, Any]] = {
    "new": {"id": 2, "key": "new", "name": "To Do", "colorName": "blue-gray"},
    "indeterminate": {"id": 4, "key": "indeterminate", "name": "In Progress", "colorName": "yellow"},
    "done": {"id": 3, "key": "done", "name": "Done", "colorName": "green"},
}


@dataclass(frozen=True)
class Status:
    name: str
    id: str
    category: str


# The remediation workflow, in phase order (DESIGN.md §4).
WORKFLOW: tuple[Status, ...] = (
    Status("To Do", "10000", "new"),
    Status("Investigation", "10010", "indeterminate"),
    Status("Plan", "10011", "indeterminate"),
    Status("Build & Test", "10012", "indeterminate"),
    Status("Pilot", "10013", "indeterminate"),
    Status("Rollout", "10014", "indeterminate"),
    Status("Verify", "10015", "indeterminate"),
    Status("Done", "10001", "done"),
)


@dataclass(frozen=True)
class Transition:
    """One workflow transition: Jira transition ids are per-workflow strings, stable across issues."""

    id: str
    name: str
    source: str  # status name
    target: str  # status name


# Forward one phase or back one phase, nothing else: a ticket cannot skip the pilot, and "Done"
# is reached only from Verify. Ids step by 10 as Jira numbers transitions it creates.
TRANSITIONS: tuple[Transition, ...] = (
    Transition("11", "Start investigation", "To Do", "Investigation"),
    Transition("21", "Plan", "Investigation", "Plan"),
    Transition("31", "Build & test", "Plan", "Build & Test"),
    Transition("41", "Start pilot", "Build & Test", "Pilot"),
    Transition("51", "Roll out", "Pilot", "Rollout"),
    Transition("61", "Verify", "Rollout", "Verify"),
    Transition("71", "Done", "Verify", "Done"),
    Transition("81", "Back to To Do", "Investigation", "To Do"),
    Transition("91", "Back to Investigation", "Plan", "Investigation"),
    Transition("101", "Back to Plan", "Build & Test", "Plan"),
    Transition("111", "Back to Build & Test", "Pilot", "Build & Test"),
    Transition("121", "Back to Pilot", "Rollout", "Pilot"),
    Transition("131", "Back to Rollout", "Verify", "Rollout"),
    Transition("141", "Back to Verify", "Done", "Verify"),
)
PRIORITIES: dict[str, str] = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
DEFAULT_PRIORITY = "Medium"
# name -> (statusColor, description): Jira Cloud's default priority scheme.
PRIORITY_DETAILS: dict[str, tuple[str, str]] = {
    "Highest": ("#d04437", "This problem will block progress."),
    "High": ("#f15C75", "Serious problem that could block progress."),
    "Medium": ("#f79232", "Has the potential to affect progress."),
    "Low": ("#707070", "Minor problem or easily worked around."),
    "Lowest": ("#999999", "Trivial problem with little or no impact on progress."),
}
# The resolution the "Done" transition sets (Jira's built-in one, id 10000).
RESOLUTION_DONE: dict[str, str] = {
    "id": "10000", "name": "Done", "description": "Work has been completed on this issue."
}  # fmt: skip
# name -> (id, subtask, hierarchyLevel) as a company-managed Jira Software project has them.
ISSUE_TYPES: dict[str, tuple[str, bool, int]] = {
    "Epic": ("10000", False, 1),
    "Story": ("10001", False, 0),
    "Task": ("10002", False, 0),
    "Sub-task": ("10003", True, -1),
}
# name -> (id, inward phrase, outward phrase): Jira's default link types.
LINK_TYPES: dict[str, tuple[str, str, str]] = {
    "Blocks": ("10000", "is blocked by", "blocks"),
    "Cloners": ("10001", "is cloned by", "clones"),
    "Duplicate": ("10002", "is duplicated by", "duplicates"),
    "Relates": ("10003", "relates to", "relates to"),
}


@dataclass(frozen=True)
class Person:
    """A Jira user: team members from team.yml, plus remedy's own account in the simulator.

    Frozen because ``team()`` is cached and shared; change one with ``dataclasses.replace``.
    """

    handle: str
    account_id: str
    display_name: str
    email: str
    timezone: str
    active: bool = True


@dataclass
class CommentRecord:
    id: str
    author: str  # accountId
    created: datetime
    body: dict[str, Any]  # ADF
    updated: datetime | None = None
    # Entity properties ({"key", "value"}): remedy marks its comments with an idempotency key here.
    properties: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class IssueRecord:
    id: str
    key: str
    summary: str
    issue_type: str
    status: str
    priority: str
    reporter: str  # accountId
    assignee: str | None  # accountId, None = unassigned
    created: datetime
    updated: datetime
    labels: list[str] = field(default_factory=list)
    due_date: date | None = None
    description: dict[str, Any] | None = None  # ADF
    parent_key: str | None = None
    comments: list[CommentRecord] = field(default_factory=list)
    resolution: str | None = None  # set by the transition to Done, cleared when leaving it
    resolution_date: datetime | None = None
    watchers: list[str] = field(default_factory=list)  # accountIds, in the order they started watching


@dataclass
class LinkRecord:
    """Stored the way ``POST /rest/api/3/issueLink`` takes it: inward_key *blocks* outward_key."""

    id: str
    type_name: str
    inward_key: str
    outward_key: str


@dataclass(frozen=True)
class RemediationFacts:
    app_name: str
    bundle_id: str
    target_version: str
    cves: tuple[str, ...] = ()


REMEDIATION_FACTS: dict[str, RemediationFacts] = {
    "CPE-3222": RemediationFacts("Google Chrome", "com.google.Chrome", "120.0.6099.109", ("CVE-2023-6702",)),
    "CPE-3301": RemediationFacts("Zoom", "us.zoom.xos", "5.17.5"),
    "CPE-3445": RemediationFacts("Slack", "com.tinyspeck.slackmacgap", "4.36.140"),
}
# Rollouts under way when the story starts: the share of the online Macs still behind that the rollout
# has already updated. CPE-3445 is in Rollout at 87% (its comment of 2026-11-24): with the early
# updaters, 0.85 of the rest makes the fleet say so too (661 of 758 Macs with Slack, 87.2%).
ROLLED_OUT: dict[str, float] = {"com.tinyspeck.slackmacgap": 0.85}


@functools.cache
def team() -> dict[str, Person]:
    """People from the packaged team directory, by handle."""
    text = (files("remedy") / "defaults/team.yml").read_text(encoding="utf-8")
    people = yaml.safe_load(text)["people"]
    return {
        p["handle"]: Person(
            p["handle"], p["jira_account_id"], p["name"], p["email"], p.get("timezone", "UTC")
        )
        for p in people
    }


def _acct(handle: str) -> str:
    return team()[handle].account_id


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


# -- tiny ADF builders (seed text reads like what people type into Jira) ---------------------


def _text(text: str, *marks: str) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    if marks:
        node["marks"] = [{"type": mark} for mark in marks]
    return node


def _p(*parts: str | dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": [_text(p) if isinstance(p, str) else p for p in parts]}


def _h(text: str) -> dict[str, Any]:
    return {"type": "heading", "attrs": {"level": 3}, "content": [_text(text)]}


def _items(kind: str, *items: str) -> dict[str, Any]:
    return {"type": kind, "content": [{"type": "listItem", "content": [_p(item)]} for item in items]}


def _mention(handle: str) -> dict[str, Any]:
    person = team()[handle]
    return {"type": "mention", "attrs": {"id": person.account_id, "text": f"@{person.display_name}"}}


def _code(text: str) -> dict[str, Any]:
    return {"type": "codeBlock", "attrs": {"language": "shell"}, "content": [_text(text)]}


def _doc(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(blocks)}


# -- the tickets ---------------------------------------------------------------------------------


def _epic() -> IssueRecord:
    return IssueRecord(
        id="10123", key="CPE-123", summary="Q4 macOS third-party app security remediation",
        issue_type="Epic", status="Rollout", priority="High",
        reporter=_acct("sarah"), assignee=_acct("sarah"),
        created=_at(2, 9, 15), updated=_at(24, 17, 50), labels=["security", "macos", "q4-2026"],
        due_date=date(2026, 12, 18),
        description=_doc(
            _p("Bring third-party apps on all managed Macs to vendor-fixed versions before the Q4 audit."),
            _items("bulletList", "Chrome 120 security update (CPE-3222)",
                   "Zoom 5.17 audio crash fix (CPE-3301)", "Slack 4.36 update (CPE-3445)"),
        ),
    )  # fmt: skip


def _chrome() -> IssueRecord:
    return IssueRecord(
        id="13222", key="CPE-3222", summary="Chrome 120 security update", issue_type="Task",
        status="Pilot", priority="High", reporter=_acct("sarah"), assignee=_acct("alice"),
        created=_at(10, 8, 42), updated=_at(24, 16, 20), labels=["security", "chrome", "cve"],
        due_date=date(2026, 11, 30), parent_key="CPE-123",
        description=_doc(
            _p("Update Google Chrome on managed Macs to fix ", _text("CVE-2023-6702", "strong"),
               " (type confusion in V8, CVSS 8.8)."),
            _h("Details"),
            _items("bulletList", "Bundle ID: com.google.Chrome", "Target version: 120.0.6099.109",
                   "Affected: ~890 Macs below the target version"),
            _h("Rollout"),
            _items("orderedList", "Pilot ring", "Phase 1", "Phase 2", "Full fleet"),
        ),
        comments=[
            CommentRecord("20101", _acct("alice"), _at(18, 10, 5), _doc(
                _p("Package built from Google's enterprise PKG and tested on macOS 13, 14 and 15.",
                   " Check with:"),
                _code("defaults read '/Applications/Google Chrome.app/Contents/Info.plist' "
                      "CFBundleShortVersionString"),
            )),
            CommentRecord("20102", _acct("alice"), _at(24, 16, 20), _doc(
                _p("Pilot started: Chrome 120.0.6099.109 is deployed to the pilot ring. ",
                   _mention("sarah"), " I will share the results on Thursday for the go/no-go."),
            )),
        ],
    )  # fmt: skip


def _chrome_subtasks() -> list[IssueRecord]:
    validation = IssueRecord(
        id="13223", key="CPE-3223", summary="Pilot group validation", issue_type="Sub-task",
        status="Done", priority="Medium", reporter=_acct("alice"), assignee=_acct("alice"),
        created=_at(18, 10, 30), updated=_at(24, 15, 10), parent_key="CPE-3222",
        resolution="Done", resolution_date=_at(24, 15, 10),
        description=_doc(_p("Confirm the pilot smart group holds the IT and volunteer Macs only.")),
        comments=[CommentRecord("20103", _acct("alice"), _at(24, 15, 10),
                                _doc(_p("Pilot group checked against the volunteer list; no extra Macs.")))],
    )  # fmt: skip
    rollback = IssueRecord(
        id="13224", key="CPE-3224", summary="Prepare rollback policy", issue_type="Sub-task",
        status="To Do", priority="Medium", reporter=_acct("alice"), assignee=None,
        created=_at(18, 10, 35), updated=_at(18, 10, 35), parent_key="CPE-3222",
        description=_doc(_p("Jamf policy that reinstalls the previous Chrome build,",
                            " scoped to no one until needed.")),
    )  # fmt: skip
    return [validation, rollback]


def _zoom() -> IssueRecord:
    return IssueRecord(
        id="13301", key="CPE-3301", summary="Zoom 5.17 audio crash fix", issue_type="Task",
        status="Investigation", priority="Medium", reporter=_acct("sarah"), assignee=_acct("john.smith"),
        created=_at(14, 13, 0), updated=_at(22, 14, 30), labels=["vendor-wait", "zoom"],
        due_date=date(2026, 12, 5), parent_key="CPE-123",
        description=_doc(
            _p("Zoom 5.17 crashes when the audio device changes during a meeting (Bluetooth headsets)."),
            _p("Target: the vendor's fixed build, 5.17.5 or later (bundle ID us.zoom.xos)."),
        ),
        comments=[
            CommentRecord("20201", _acct("john.smith"), _at(17, 11, 20), _doc(
                _p("Reproduced on three conference-room Macs; crash is in the CoreAudio device switch."),
            )),
            CommentRecord("20202", _acct("john.smith"), _at(22, 14, 30), _doc(
                _p("Sent crash logs to Zoom support (case 01894523). Waiting on vendor response."),
            )),
        ],
    )  # fmt: skip


def _slack() -> IssueRecord:
    return IssueRecord(
        id="13445", key="CPE-3445", summary="Slack 4.36 update", issue_type="Story",
        status="Rollout", priority="High", reporter=_acct("sarah"), assignee=_acct("john.doe"),
        created=_at(12, 9, 5), updated=_at(24, 17, 45), labels=["slack", "security"],
        due_date=date(2026, 11, 27), parent_key="CPE-123",
        description=_doc(
            _p("Update Slack to 4.36.140 (bundle ID com.tinyspeck.slackmacgap) on all managed Macs."),
            _p("Conference-room Macs wait for the Zoom audio fix (CPE-3301)."),
        ),
        comments=[
            CommentRecord("20301", _acct("john.doe"), _at(20, 16, 0), _doc(
                _p("Pilot ring passed with no issues reported. Moving to rollout."),
            )),
            CommentRecord("20302", _acct("john.doe"), _at(24, 17, 45), _doc(
                _p("Rollout at 87% compliance (783 of 900 Macs on 4.36.140 or later)."),
            )),
        ],
    )  # fmt: skip


def issues() -> list[IssueRecord]:
    """Fresh records on every call, so each caller may mutate its own copy."""
    records = [_epic(), _chrome(), *_chrome_subtasks(), _zoom(), _slack()]
    for record in records:
        # Jira makes the reporter and the assignee watchers by default (the "autowatch" preference).
        record.watchers = list(dict.fromkeys(a for a in (record.reporter, record.assignee) if a))
    return records


def links() -> list[LinkRecord]:
    # Conference-room Macs are held back from the Slack rollout until the Zoom crash is fixed.
    return [LinkRecord(id="30001", type_name="Blocks", inward_key="CPE-3301", outward_key="CPE-3445")]


def status(name: str) -> Status:
    """The workflow status called ``name`` (case-insensitive, as JQL compares it)."""
    for candidate in WORKFLOW:
        if candidate.name.lower() == name.lower():
            return candidate
    raise KeyError(name)
