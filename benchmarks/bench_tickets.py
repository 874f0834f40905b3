"""Remediation tickets for benchmarks: realistic Task tickets (bundle id and target version in the
description, due dates, phases) created through the Jira simulator's REST API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from remedy.sandbox import seed
from remedy.sandbox.run import JIRA_EMAIL, JIRA_TOKEN, Sandbox
from remedy.sandbox.seed import REMEDIATION_FACTS

FIRST = "CPE-3222"


@dataclass(frozen=True)
class Spec:
    """A remediation ticket as the team would file it."""

    summary: str
    bundle_id: str
    version: str
    phase: str
    priority: str
    assignee: str  # team handle
    due_in_days: int
    labels: tuple[str, ...]
    why: str


# 17 more tickets, in every phase: with the seed's CPE-3222, CPE-3301 and CPE-3445 they make 20.
NEW: tuple[Spec, ...] = (
    Spec("Firefox 121 security update", "org.mozilla.firefox", "121.0.1", "Investigation", "High", "alice", 6,
         ("security", "firefox", "cve"), "Fixes CVE-2023-6856 (heap overflow in WebGL2 blitFramebuffer)."),
    Spec("Microsoft Edge 120 security update", "com.microsoft.edgemac", "120.0.2210.91", "Plan", "High",
         "john.doe", 9, ("security", "edge"), "Picks up the Chromium 120 security fixes."),
    Spec("Microsoft Teams 24 migration", "com.microsoft.teams2", "24004.1307.2669.7070", "Build & Test",
         "Medium", "john.smith", 20, ("teams",), "Classic Teams goes out of support; move to the new client."),
    Spec("Microsoft Word 16.80 update", "com.microsoft.Word", "16.80", "Rollout", "Medium", "alice", 4,
         ("office",), "Monthly Office update with security fixes."),
    Spec("1Password 8.10 update", "com.1password.1password", "8.10.23", "Pilot", "High", "john.doe", 8,
         ("security", "1password"), "Fixes a local privilege escalation in the updater."),
    Spec("Adobe Acrobat Reader security update", "com.adobe.Reader", "23.006.20380", "Investigation", "Highest",
         "sarah", 3, ("security", "adobe"), "Adobe's December bulletin rates the fixed issues critical."),
    Spec("Visual Studio Code 1.85 update", "com.microsoft.VSCode", "1.85.1", "To Do", "Low", "john.smith", 30,
         ("developer-tools",), "Developers asked for the 1.85 release; no security fix."),
    Spec("Docker Desktop 4.26 update", "com.docker.docker", "4.26.1", "Verify", "Medium", "john.doe", 2,
         ("developer-tools", "security"), "Fixes the Enhanced Container Isolation bypass."),
    Spec("Dropbox 189 update", "com.getdropbox.dropbox", "189.4.8395", "Investigation", "Low", "alice", 25,
         ("dropbox",), "The File Provider migration needs the 189 client."),
    Spec("Webex 43.12 update", "Cisco-Systems.Spark", "43.12.0.27955", "Plan", "Medium", "john.smith", 12,
         ("webex",), "Audio device switching fix requested by the conference-room team."),
    Spec("Microsoft Outlook 16.80 update", "com.microsoft.Outlook", "16.80", "Build & Test", "High", "sarah", 7,
         ("office", "security"), "Monthly Office update with security fixes."),
    Spec("Box Drive 2.36 update", "com.box.desktop", "2.36.145", "To Do", "Low", "john.doe", 40,
         ("box",), "Box Drive 2.36 supports macOS 15 File Provider."),
    Spec("Notion 2.3 update", "notion.id", "2.3.2", "Pilot", "Low", "alice", 14,
         ("notion",), "Fixes a crash at launch on Apple silicon Macs."),
    Spec("Microsoft Excel 16.80 update", "com.microsoft.Excel", "16.80", "Rollout", "Medium", "john.smith", 5,
         ("office",), "Monthly Office update with security fixes."),
    Spec("iTerm2 3.4.23 security fix", "com.googlecode.iterm2", "3.4.23", "Verify", "High", "john.doe", 1,
         ("security", "developer-tools"), "Fixes escape-sequence handling that could run commands."),
    Spec("Google Drive 85 update", "com.google.drivefs", "85.0.13", "Investigation", "Medium", "sarah", 18,
         ("google-drive",), "Older Drive for desktop builds stop syncing in January."),
    Spec("Microsoft PowerPoint 16.80 update", "com.microsoft.Powerpoint", "16.80", "Plan", "Medium", "alice", 10,
         ("office",), "Monthly Office update with security fixes."),
)
# Forward transition ids out of each phase (remedy.sandbox.seed.TRANSITIONS).
FORWARD = {t.source: t.id for t in seed.TRANSITIONS if seed.WORKFLOW.index(seed.status(t.target))
           == seed.WORKFLOW.index(seed.status(t.source)) + 1}  # fmt: skip


# -- tickets in the Jira simulator, through its REST API ----------------------------------------------
def _description(spec: Spec) -> dict[str, Any]:
    def para(text: str) -> dict[str, Any]:
        return {"type": "paragraph", "content": [{"type": "text", "text": text}]}

    items = [f"Bundle ID: {spec.bundle_id}", f"Target version: {spec.version}"]
    bullets = {"type": "bulletList", "content": [{"type": "listItem", "content": [para(i)]} for i in items]}
    return {"type": "doc", "version": 1, "content": [para(f"Update {spec.summary.split(' ')[0]} on managed Macs. "
                                                          f"{spec.why}"), bullets]}


def create_ticket(jira: httpx.Client, spec: Spec) -> str:
    team = seed.team()
    fields = {"project": {"key": "CPE"}, "issuetype": {"name": "Task"}, "parent": {"key": "CPE-123"},
              "summary": spec.summary, "priority": {"name": spec.priority}, "labels": list(spec.labels),
              "duedate": (seed.NOW.date() + timedelta(days=spec.due_in_days)).isoformat(),
              "assignee": {"accountId": team[spec.assignee].account_id}, "description": _description(spec)}
    r = jira.post("/rest/api/3/issue", json={"fields": fields})
    r.raise_for_status()
    key = str(r.json()["key"])
    status = "To Do"
    while status != spec.phase:
        jira.post(f"/rest/api/3/issue/{key}/transitions",
                  json={"transition": {"id": FORWARD[status]}}).raise_for_status()
        status = seed.WORKFLOW[seed.WORKFLOW.index(seed.status(status)) + 1].name
    return key


def ticket_keys(sandbox: Sandbox, n: int) -> list[str]:
    """The seeded remediation tickets first, then as many new ones as ``n`` needs."""
    keys = [FIRST, *(k for k in REMEDIATION_FACTS if k != FIRST)][:n]
    with jira_client(sandbox) as jira:
        keys += [create_ticket(jira, NEW[i % len(NEW)]) for i in range(n - len(keys))]
    return keys


def jira_client(sandbox: Sandbox) -> httpx.Client:
    return httpx.Client(base_url=sandbox.jira.url, auth=(JIRA_EMAIL, JIRA_TOKEN), timeout=10)
