"""What an audit event says a person did, in a few Slack words ("moved it Plan → Pilot").

One table for every Slack view of the trail (`resume`, `progress`, `audit trail`); the ticket is named
by the caller. Values come from the event's data, escaped for mrkdwn. An action this table does not know
(a newer command) is shown by its name rather than hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from remedy.slack.mrkdwn import escape

__all__ = ["doing", "where"]


class _Recorded(Protocol):
    @property
    def action(self) -> str: ...

    @property
    def data(self) -> dict[str, Any]: ...


def _s(value: Any) -> str:
    return escape(str(value)) if value not in (None, "") else "?"


def _failed(d: dict[str, Any]) -> str:
    failed = d.get("failed") or []
    return "passed" if d.get("passed") else "failed " + ", ".join(_s(f) for f in failed)


_DOING: dict[str, Callable[[dict[str, Any]], str]] = {
    "ticket.work": lambda d: "opened it",
    "jira.move": lambda d: f"moved it {_s(d.get('start'))} → {_s(d.get('to'))}",
    "jira.comment": lambda d: "commented in Jira",
    "jira.assign": lambda d: f"assigned it to {_s(d.get('name'))}",
    "jira.priority": lambda d: f"set its priority to {_s(d.get('priority'))}",
    "jira.link": lambda d: f"recorded {_s(d.get('blocker'))} as its blocker",
    "jira.watch": lambda d: "added watchers",
    "jira.attachment": lambda d: f"attached {_s(d.get('filename'))}",
    "jira.close": lambda d: "closed it",
    "jamf.policy": lambda d: "created the Jamf policy" if d.get("created") else "updated the Jamf policy",
    "jamf.deploy": lambda d: f"deployed it to the {_s(d.get('ring'))} ring",
    "jamf.package.validate": lambda d: f"validated package {_s(d.get('package'))}: {_failed(d)}",
    "jamf.package.override": lambda d: f"overrode the package validation: “{_s(d.get('reason'))}”",
    "rollout.card": lambda d: "asked for a go/no-go",
    "jamf.rollout.go": lambda d: f"approved Go for {_s(d.get('ring'))}",
    "rollout.no-go": lambda d: f"said No-go to {_s(d.get('ring'))}: “{_s(d.get('reason'))}”",
    "rollout.hold": lambda d: f"put {_s(d.get('ring'))} on hold",
    "rollout.stale": lambda d: f"pressed Go on a stale card ({_s(d.get('why'))}); nothing expanded",
    "rollout.refused": lambda d: f"was refused a rollout decision ({_s(d.get('why'))})",
    "rollout.ring_ready": lambda d: f"reported the {_s(d.get('ring'))} ring ready",
    "jamf.rollback.validate": lambda d: "validated the rollback",
    "team.escalate": lambda d: f"escalated it to {_s(d.get('to'))}"
                               + (f", priority raised to {_s(d['raised_to'])}" if d.get("raised_to") else ""),
    "team.delegate": lambda d: f"delegated it to {_s(d.get('to'))}",
    "team.schedule": lambda d: f"scheduled a discussion for {_s(d.get('start'))} UTC",
    "team.sync": lambda d: f"synced it to <#{_s(d.get('channel'))}>",
    "daily.update": lambda d: "posted the daily update",
    "notify.stakeholders": lambda d: f"notified stakeholders ({_s(d.get('event'))})",
    "auth.refused": lambda d: f"was refused: {_s(d.get('doing'))} needs the {_s(d.get('needed'))} role",
    "job.retry": lambda d: "retried a failed job",
    "command.refused": lambda d: f"was refused: {_s(d.get('doing'))} needs the {_s(d.get('needed'))} role",
    "read.compliance": lambda d: "looked at its compliance",
    "read.exceptions": lambda d: f"looked at its exceptions (page {_s(d.get('page'))})",
    "read.rollback_status": lambda d: "checked its rollback status",
    "read.compliance_gaps": lambda d: "looked at the compliance gaps",
}

# Where the effect landed: by the whole action, else by its first word.
_WHERE = {"team.escalate": "Slack + Jira", "team.delegate": "Slack + Jira", "team.schedule": "Slack + Jira",
          "jira": "Jira", "jamf": "Jamf", "rollout": "Slack", "team": "Slack", "ticket": "Slack",
          "daily": "Slack + Jira", "notify": "Slack", "auth": "remedy", "job": "remedy", "command": "remedy",
          "read": "Jamf"}


def doing(event: _Recorded) -> str:
    """'moved it Pilot → Plan' — escaped; unknown actions (newer commands) by their name."""
    say = _DOING.get(event.action)
    return say(event.data) if say is not None else escape(event.action.replace(".", " ").replace("_", " "))


def where(action: str) -> str:
    return _WHERE.get(action) or _WHERE.get(action.split(".", 1)[0], "remedy")
