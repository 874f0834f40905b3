"""The ticket card and its status line, built from a Jira issue and the workflow template."""

from __future__ import annotations

from remedy.jira.models import Issue
from remedy.slack.blocks import Block, actions, command_button, context, fields, header, link_button, section
from remedy.slack.mrkdwn import escape as esc
from remedy.workflow.template import WorkflowTemplate

MAX_SUGGESTIONS = 4


def browse_url(jira_url: str | None, key: str) -> str | None:
    return f"{jira_url.rstrip('/')}/browse/{key}" if jira_url else None


def phase_name(issue: Issue, workflow: WorkflowTemplate) -> str:
    phase = workflow.phase_for_status(issue.status)
    return phase.name if phase else issue.status


def status_line(issue: Issue, workflow: WorkflowTemplate, jira_url: str | None) -> str:
    """The one line at the top of a ticket's home thread, edited as the ticket moves."""
    url = browse_url(jira_url, issue.key)
    key = f"<{url}|{issue.key}>" if url else issue.key
    who = esc(issue.assignee.display_name) if issue.assignee else "unassigned"
    prio = esc(issue.priority) if issue.priority else "no priority"
    return (f"🧩 *{key}* {esc(issue.summary)} · *{esc(phase_name(issue, workflow))}* · {prio} · {who}")


def suggestions(issue: Issue, workflow: WorkflowTemplate) -> list[str]:
    phase = workflow.phase_for_status(issue.status)
    return list(phase.suggest[:MAX_SUGGESTIONS]) if phase else ["analyze"]


def ticket_card(issue: Issue, workflow: WorkflowTemplate, jira_url: str | None,
                ref: str = "") -> tuple[str, list[Block]]:
    """Key, summary, phase, priority, assignee, and the next suggested actions as buttons."""
    phase = phase_name(issue, workflow)
    who = esc(issue.assignee.display_name) if issue.assignee else "_unassigned_"
    blocks: list[Block] = [
        header(f"{issue.key} · {issue.summary}"),
        fields([("Phase", esc(phase)), ("Priority", esc(issue.priority or "—")), ("Assignee", who),
                ("Updated", issue.updated.strftime("%Y-%m-%d %H:%M UTC"))]),
    ]
    extra = _context_line(issue)
    if extra:
        blocks.append(context(extra))
    nexts = suggestions(issue, workflow)
    buttons = [command_button(_label(s), s, issue.key, ref, style="primary" if i == 0 else None)
               for i, s in enumerate(nexts)]
    url = browse_url(jira_url, issue.key)
    if url:
        buttons.append(link_button("Open in Jira", url))
    blocks.append(section("*Next:* " + " · ".join(f"`{esc(s)}`" for s in nexts)))
    blocks.append(actions(buttons))
    # The notification text is mrkdwn too: a Jira summary must not become a live <!channel> or link.
    text = f"{issue.key} · {esc(issue.summary)} — {esc(phase)}, {esc(issue.priority or 'no priority')}"
    return text, blocks


def _context_line(issue: Issue) -> str:
    bits: list[str] = []
    if issue.subtasks:
        done = sum(1 for sub in issue.subtasks if sub.done)
        bits.append(f"☑️ subtasks {done}/{len(issue.subtasks)} done")
    blockers = [link.other_key for link in issue.links if "blocked by" in link.phrase]
    if blockers:
        bits.append("⛔ blocked by " + ", ".join(esc(b) for b in blockers))
    if issue.labels:
        bits.append("🏷 " + ", ".join(esc(label) for label in issue.labels[:8]))
    if issue.due_date:
        bits.append(f"📅 due {issue.due_date.isoformat()}")
    if issue.parent_key:
        bits.append(f"epic {esc(issue.parent_key)}")
    return " · ".join(bits)


def _label(action: str) -> str:
    return action[:1].upper() + action[1:]

