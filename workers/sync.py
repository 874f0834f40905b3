"""`/remedy sync [KEY] [#channel]`: a concise status of the ticket in a team channel, as a reply under
the ticket's home message there (created when the ticket has none in that channel yet).

The numbers (compliance, priority, blockers) come from remedy's records and Jira, without a Jamf call;
the model may only reword them (remedy.llm.words), else the plain template is posted.
"""

from __future__ import annotations

from typing import Any

from remedy.commands.model import PersonRef
from remedy.errors import UserError
from remedy.jira.models import Issue
from remedy.llm.client import Use
from remedy.llm.words import Phrased, phrase
from remedy.memory import get_focus
from remedy.parallel import parallel
from remedy.remediation import store
from remedy.remediation.measure import Previous, latest_for
from remedy.remediation.store import RemediationView
from remedy.slack import blocks
from remedy.slack.cards import browse_url, phase_name, status_line
from remedy.slack.mrkdwn import escape
from remedy.slack.poster import SlackPostError
from remedy.workflow.priority import Override, Score
from remedy.workflow.priority_view import priority_line, ticket_priority
from remedy.workflow.template import WorkflowTemplate
from workers.context import JobContext, actor_name, audit, job_context

SYNC = Use(
    name="sync", version=1,
    instructions=("You are remedy, the assistant of a macOS client-platform team. Write a concise status of one "
                  "app remediation ticket for a team channel: plain, specific, no greetings, no markdown. "
                  "Each field one short sentence."),
    fields={"status": "phase, priority, assignee, and compliance and rollout ring when known",
            "next": "what blocks the ticket, if anything, and the next step"},
)
_UNREACHABLE = frozenset({"channel_not_found", "not_in_channel"})


def sync(origin: dict[str, Any], key: str | None = None, channel: dict[str, Any] | None = None, **_: Any) -> None:
    with job_context(origin) as ctx:
        svc = ctx.services
        key = key or get_focus(svc.db, ctx.user)
        if not key:
            raise UserError("Which ticket? Open one with `work CPE-3222` (it becomes your focus), then `sync`.")
        target = _channel(ctx, channel)
        issue, known = parallel([lambda: svc.jira.get_issue(key), lambda: store.load(svc.db, key)])
        score, override = ticket_priority(svc, issue)
        facts = status_facts(issue, svc.workflow_for(issue), known, latest_for(svc.db, issue, known), score, override)
        phrased = phrase(svc.llm, SYNC, facts, templates(facts))
        text, blks = _post(ctx, issue, phrased, priority_line(score, override))
        try:
            line = status_line(issue, svc.workflow_for(issue), svc.settings.JIRA_URL)
            posted = svc.poster.reply(target, issue.key, line, text, blks, ctx.key("sync"))
        except SlackPostError as exc:
            better = _refused(target, exc)
            if better is None:
                raise
            raise better from exc
        audit(ctx, "team.sync", issue.key, channel=target, ts=posted.ts, thread_ts=posted.thread_ts,
              worded_by_model=sorted(phrased.by_model), **{k: facts[k] for k in ("phase", "priority", "assignee")},
              compliance=facts.get("compliance"))
        ctx.done(f"Posted the status of *{issue.key}* to <#{target}>, in its thread there.")


def _channel(ctx: JobContext, channel: dict[str, Any] | None) -> str:
    """The channel asked for (it must come as Slack's `<#C…|name>`), else the requester's group
    channel in team.yml, else the home channel."""
    svc = ctx.services
    if channel:
        ref = PersonRef.model_validate(channel)
        if ref.slack_id:
            return ref.slack_id
        # Slack turns a #name it knows into <#C…|name> before we see it, so a bare name names no channel
        # Slack knows, or one typed where Slack doesn't escape (the console).
        raise UserError(f"I don't know a channel called {escape(ref.raw)}: type `#` and pick it from Slack's "
                        "list, so that Slack sends me its id.")
    person = svc.team.by_slack_id(ctx.user)
    groups = [g for g in svc.team.team.groups if person and person.handle in g.members and g.slack_channel]
    found = groups[0].slack_channel if groups else svc.settings.REMEDY_HOME_CHANNEL
    if not found:
        raise UserError("Which channel? Name one (`sync #channel`); you are in no team.yml group with a channel.")
    return found


def _refused(channel: str, exc: SlackPostError) -> UserError | None:
    """Slack's refusal in words that say what to do, when there is something to do."""
    if exc.error in _UNREACHABLE:
        return UserError(f"I can't post in <#{channel}>: it doesn't exist, or it is private and I'm not in it. "
                         "Invite me there with `/invite @remedy` and run `sync` again.")
    if exc.error == "is_archived":
        return UserError(f"<#{channel}> is archived; pick another channel.")
    return None


def status_facts(issue: Issue, workflow: WorkflowTemplate, known: RemediationView | None, snapshot: Previous | None,
                 score: Score, override: Override | None) -> dict[str, Any]:
    """What the status may say; every number in the post comes from here."""
    phase = workflow.phase_for_status(issue.status)
    facts: dict[str, Any] = {
        "ticket": issue.key, "summary": issue.summary, "phase": phase_name(issue, workflow),
        "priority": override.level if override else score.level,
        "priority_source": "override" if override else "computed",
        "assignee": issue.assignee.display_name if issue.assignee else "unassigned",
        "blockers": [{"key": ln.other_key, "status": ln.other_status or "unknown"} for ln in issue.links
                     if "blocked by" in ln.phrase and (ln.other_status or "").lower() not in ("done", "closed")],
    }
    if snapshot is not None and snapshot.total:
        facts["compliance"] = {"percent": round(100 * snapshot.compliant / snapshot.total, 1),
                               "compliant_macs": snapshot.compliant, "macs_with_app": snapshot.total,
                               "measured": f"{snapshot.taken_at:%Y-%m-%d %H:%M} UTC"}
    if known is not None and known.active is not None:
        facts["active_ring"] = known.active.label
    steps = [(s.label, s.command) for s in phase.analysis] if phase and phase.analysis else [
        (command, command) for command in (phase.suggest if phase else [])]
    if steps:
        facts["next_step"], facts["next_command"] = steps[0]
    return facts


def templates(f: dict[str, Any]) -> dict[str, str]:
    """The plain wording (always correct): used whenever the model's adds anything to the facts."""
    status = f"{f['ticket']} is in {f['phase']}, priority {f['priority']}"
    status += " (override)" if f["priority_source"] == "override" else ""
    status += f", assigned to {f['assignee']}" if f["assignee"] != "unassigned" else ", unassigned"
    if "compliance" in f:
        c = f["compliance"]
        status += (f"; {c['percent']}% compliant ({c['compliant_macs']}/{c['macs_with_app']} Macs, "
                   f"measured {c['measured']})")
    if "active_ring" in f:
        status += f"; the rollout is at the {f['active_ring']} ring"
    blocked = ", ".join(f"{b['key']} ({b['status']})" for b in f["blockers"])
    nxt = f"Blocked by {blocked}. " if blocked else "No blockers. "
    if "next_step" not in f:
        return {"status": status + ".", "next": nxt + f"Next: finish {f['phase']}."}
    label, command = f["next_step"], f["next_command"]
    nxt += f"Next: {label} (`{command}`)." if label != command else f"Next: `{command}`."
    return {"status": status + ".", "next": nxt}


def _post(ctx: JobContext, issue: Issue, phrased: Phrased, priority: str) -> tuple[str, list[dict[str, Any]]]:
    url = browse_url(ctx.services.settings.JIRA_URL, issue.key)
    link = f"<{url}|{issue.key}>" if url else issue.key
    # The model's words come back escaped; the templates hold Jira text as it is, so escape them here.
    status, nxt = (phrased[n] if n in phrased.by_model else escape(phrased[n]) for n in ("status", "next"))
    head = f"🔄 *Status of {link}* {escape(issue.summary)} · synced by {escape(actor_name(ctx))}"
    text = f"{head}\n{status}\n{nxt}"
    return text, [blocks.section(text), blocks.context(f"Priority {priority}")]
