"""Draft comments about a topic (`draft comment about rollout timeline`): the facts each topic
needs and a template that states them plainly. The model may reword; it may not add."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from remedy.jamf.client import JamfClient
from remedy.jira.models import Issue
from remedy.llm.client import Use
from remedy.remediation import compat
from remedy.remediation.facts import Facts
from remedy.remediation.store import RemediationView
from remedy.tickets.analysis import Analysis
from remedy.workflow.template import WorkflowTemplate

DRAFT = Use(
    name="draft", version=1,
    instructions=("You are remedy, drafting a Jira comment for a macOS client-platform team about one app "
                  "remediation ticket. Write it for colleagues and stakeholders: clear, factual, at most six "
                  "sentences, no greeting, no signature. Cover the topic given in the facts."),
    fields={"comment": "the comment text"},
)


@dataclass(frozen=True)
class TopicInput:
    issue: Issue
    workflow: WorkflowTemplate
    facts: Facts | None  # what the ticket remediates, when its description says
    known: RemediationView | None
    jamf: JamfClient
    about: str | None = None  # what the user asked the draft to be about, as typed


Topic = Callable[[TopicInput], tuple[dict[str, Any], str]]


def _rings(t: TopicInput) -> list[dict[str, Any]]:
    if t.known is not None and t.known.rings:
        return [{"ring": r.label, "group": r.group_name, "threshold_percent": r.threshold,
                 "soak_hours": r.soak_hours, "status": r.status} for r in t.known.rings]
    app = t.facts.app_name if t.facts else "the app"
    return [{"ring": r.label, "group": r.groups[0].replace("{app}", app), "threshold_percent": r.threshold,
             "soak_hours": r.soak_hours} for r in t.workflow.rings]


def _ring_text(rings: list[dict[str, Any]]) -> str:
    return " → ".join(f"{r['ring']} ({r['group']}, ≥ {r['threshold_percent']:g}%, soak {r['soak_hours']:g} h)"
                      for r in rings)


def timeline(t: TopicInput) -> tuple[dict[str, Any], str]:
    rings = _rings(t)
    due = t.issue.due_date.isoformat() if t.issue.due_date else None
    text = f"Proposed rollout for {t.issue.key}: {_ring_text(rings)}."
    text += f" Each ring starts after a lead's go/no-go on the previous one's numbers. Due {due}." if due else (
        " Each ring starts after a lead's go/no-go on the previous one's numbers.")
    return {"rings": rings, "due_date": due or "not set"}, text


def rollback(t: TopicInput) -> tuple[dict[str, Any], str]:
    p = t.known.policy if t.known is not None else None
    if p is None or p.rollback_policy_id is None:
        return ({"rollback_policy": "none yet"},
                f"No rollback policy exists for {t.issue.key} yet: upload the previous version's package to Jamf "
                "and run `create jamf policy`, so a rollback is ready before the pilot.")
    facts = {"rollback_policy_id": p.rollback_policy_id, "rollback_package": p.rollback_package_name,
             "rollback_version": p.rollback_version}
    return facts, (f"Rollback for {t.issue.key}: policy {p.rollback_policy_id} reinstalls {p.rollback_package_name} "
                   f"({p.rollback_version}); it stays disabled and scoped like the rollout, to be enabled only if a "
                   "ring fails its go/no-go for a regression.")


def pilot_group(t: TopicInput) -> tuple[dict[str, Any], str]:
    first = _rings(t)[0]
    return ({"pilot": first}, f"Pilot group for {t.issue.key}: {first['group']}, the workflow's first ring. It moves "
            f"on when at least {first['threshold_percent']:g}% of its Macs run the target version after "
            f"{first['soak_hours']:g} h.")


def communication(t: TopicInput) -> tuple[dict[str, Any], str]:
    app = t.facts.app_name if t.facts else t.issue.summary
    target = t.facts.target_version if t.facts else "the new version"
    due = t.issue.due_date.isoformat() if t.issue.due_date else None
    text = (f"Heads-up for Mac users: {app} updates to {target} automatically at your Mac's next check-in with "
            "Jamf; no action is needed. Quit and reopen the app when asked.")
    if due:
        text += f" Every Mac should be updated by {due}."
    return {"app": app, "target_version": target, "due_date": due or "not set"}, text


def compatibility(t: TopicInput) -> tuple[dict[str, Any], str]:
    if t.facts is None:
        return ({"compatibility": "unknown: the ticket does not say which app and version"},
                f"macOS compatibility for {t.issue.key} is unknown: add “Bundle ID:” and “Target version:” to "
                "the description so remedy can read the fleet.")
    found = compat.compatibility(t.jamf, t.facts, t.issue.description_text, compat.asked_from(t.about))
    return found.as_facts(), compat.template(found)


TOPICS: list[tuple[tuple[str, ...], Topic]] = [
    (("compatib", "macos"), compatibility), (("timeline", "schedule", "rollout plan"), timeline),
    (("rollback",), rollback), (("pilot group", "pilot selection", "selection"), pilot_group),
    (("communication", "users", "announce"), communication),
]


def topic_for(about: str | None) -> Topic | None:
    low = (about or "").lower()
    return next((fn for words, fn in TOPICS if any(w in low for w in words)), None)


def material(t: TopicInput, about: str | None, analysis: Analysis, status_text: str) -> tuple[dict[str, Any], str]:
    """The facts and template text of a draft: the topic's when ``about`` names one; an executive
    summary is the analysis' summary and risk; anything else is a status update from the ticket."""
    low = (about or "").lower()
    if "executive" in low or "leadership" in low:
        return {**analysis.facts, "topic": about}, f"{analysis.templates['summary']} {analysis.templates['risk']}"
    topic = topic_for(about)
    if topic is None:
        return {**analysis.facts, "topic": about or "status update"}, status_text
    facts, text = topic(t)
    return {"ticket": t.issue.key, "summary": t.issue.summary, "topic": about, **facts}, text
