"""The analysis of a ticket: a facts object from Jira, remedy's rollout records and the priority
rules, the template wording of summary / risk / next step, and the phase's suggestions.

The facts decide everything (risk, order, numbers); the model, when present, only rewords the
three texts and is checked against these same facts (remedy.llm.words). The texts are plain, with
Jira's words as Jira holds them: remedy.slack.analysis_card escapes them for Slack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from remedy.jira.models import Issue
from remedy.llm.client import Use
from remedy.remediation.measure import Previous
from remedy.remediation.store import RemediationView
from remedy.workflow.template import Suggestion, WorkflowTemplate

CVE = re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.IGNORECASE)

ANALYSIS = Use(
    # v2: the card's fields are kept (in the ticket's memory) as plain text, escaped when shown.
    name="analysis", version=2,
    instructions=("You are remedy, the assistant of a macOS client-platform team. Write the analysis of one "
                  "app remediation ticket for the team's Slack: plain, specific, no greetings, no markdown "
                  "headings. Each field one or two short sentences."),
    fields={"summary": "where the ticket stands: phase, progress, compliance if known",
            "risk": "the main risk to finishing on time and why, or that there is no open risk",
            "next": "why the first suggested step is the right next step"},
)


@dataclass(frozen=True)
class Analysis:
    facts: dict[str, Any]
    templates: dict[str, str]
    suggestions: list[Suggestion]


def _blockers(issue: Issue) -> list[dict[str, str]]:
    return [{"key": ln.other_key, "status": ln.other_status or "unknown"} for ln in issue.links
            if "blocked by" in ln.phrase and (ln.other_status or "").lower() not in ("done", "closed", "resolved")]


def _rollout(known: RemediationView | None, snapshot: Previous | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if snapshot is not None and snapshot.total:
        found["compliance"] = {"percent": round(100 * snapshot.compliant / snapshot.total, 1),
                               "compliant_macs": snapshot.compliant, "macs_with_app": snapshot.total,
                               "measured": f"{snapshot.taken_at:%Y-%m-%d %H:%M} UTC"}
    if known is not None and known.rings:
        found["rings"] = [{"ring": r.label, "status": r.status, "threshold_percent": r.threshold}
                          for r in known.rings]
        if known.active is not None:
            found["active_ring"] = known.active.label
    if known is not None:
        found["app"] = {"name": known.facts.app_name, "target_version": known.facts.target_version}
    return found


def analyse(issue: Issue, workflow: WorkflowTemplate, known: RemediationView | None, snapshot: Previous | None,
            priority: str | None, today: date) -> Analysis:
    phase = workflow.phase_for_status(issue.status)
    done = sum(1 for s in issue.subtasks if s.done)
    facts: dict[str, Any] = {
        "ticket": issue.key, "summary": issue.summary, "phase": phase.name if phase else issue.status,
        "jira_priority": issue.priority or "none", "assignee": issue.assignee.display_name if issue.assignee
        else "unassigned", "subtasks_done": done, "subtasks_total": len(issue.subtasks),
        "open_subtasks": [s.summary for s in issue.subtasks if not s.done], "blockers": _blockers(issue),
        "labels": issue.labels,
        "cves": sorted({c.upper() for c in CVE.findall(f"{issue.summary} {issue.description_text}")}),
    }
    if issue.due_date is not None:
        facts["due_date"] = issue.due_date.isoformat()
        facts["days_to_due"] = (issue.due_date - today).days
    if priority:
        facts["priority_breakdown"] = priority
    facts.update(_rollout(known, snapshot))
    suggestions = list(phase.analysis) if phase else []
    facts["suggested_steps"] = [s.label for s in suggestions]
    return Analysis(facts, _templates(facts, suggestions), suggestions)


def _templates(f: dict[str, Any], suggestions: list[Suggestion]) -> dict[str, str]:
    progress = f"{f['subtasks_done']}/{f['subtasks_total']} subtasks done" if f["subtasks_total"] else "no subtasks"
    summary = f"{f['ticket']} ({f['summary']}) is in {f['phase']}, {progress}"
    if "compliance" in f:
        c = f["compliance"]
        summary += f"; {c['percent']}% of Macs with the app are updated ({c['compliant_macs']}/{c['macs_with_app']})"
    if "active_ring" in f:
        summary += f"; the rollout is at the {f['active_ring']} ring"
    nxt = (f"{suggestions[0].label} is the {f['phase']} phase's next step." if suggestions
           else f"Move {f['ticket']} on when the {f['phase']} phase is complete.")
    return {"summary": summary + ".", "risk": _risk(f), "next": nxt}


def _risk(f: dict[str, Any]) -> str:
    if f["blockers"]:
        names = ", ".join(f"{b['key']} ({b['status']})" for b in f["blockers"])
        return f"Blocked by {names}: it can't leave {f['phase']} until that is resolved."
    days = f.get("days_to_due")
    pct = f.get("compliance", {}).get("percent")
    if days is not None and days < 0:
        return f"Overdue since {f['due_date']} ({-days} days)."
    if days is not None and days <= 7 and pct is not None:
        return f"Due {f['due_date']} (in {days} days) with {pct}% of Macs updated."
    if days is not None and days <= 7:
        return f"Due {f['due_date']} (in {days} days); compliance not measured yet."
    due = f" Due {f['due_date']}." if "due_date" in f else ""
    return f"No open risk in the Jira and Jamf data: no blockers.{due}"
