"""Draft comments: a deterministic draft from ticket facts (the LLM issue will reword it, never
the numbers), kept per user and ticket until it is posted or discarded."""

from __future__ import annotations

from sqlalchemy import Select, select

from remedy.db.models import Draft
from remedy.db.session import Database
from remedy.jira.models import Issue
from remedy.workflow.template import WorkflowTemplate


def draft_text(issue: Issue, workflow: WorkflowTemplate, about: str | None = None) -> str:
    """A status comment built only from what Jira says about the ticket."""
    phase = workflow.phase_for_status(issue.status)
    phase_name = phase.name if phase else issue.status
    done = sum(1 for s in issue.subtasks if s.done)
    topic = f" about {about}" if about else ""
    lines = [f"Status update on {issue.key} ({issue.summary}){topic}: the ticket is in {phase_name}."]
    if issue.subtasks:
        open_ = [s.summary for s in issue.subtasks if not s.done]
        lines.append(f"Subtasks: {done} of {len(issue.subtasks)} done"
                     + (f"; open: {', '.join(open_[:5])}." if open_ else "."))
    blockers = [link.other_key for link in issue.links if "blocked by" in link.phrase]
    if blockers:
        lines.append(f"Blocked by {', '.join(blockers)}.")
    if phase is not None and (nxt := workflow.next_phase(phase)) is not None:
        lines.append(f"Next: finish {phase_name} and move to {nxt.name}.")
    return "\n".join(lines)


def save_draft(db: Database, user: str, key: str, text: str) -> Draft:
    """The user's open draft for ``key``, created or replaced."""
    with db.session() as s:
        draft = s.scalar(_open(user, key))
        if draft is None:
            draft = Draft(slack_user_id=user, ticket_key=key, text=text, status="draft")
            s.add(draft)
        else:
            draft.text = text
        s.flush()
        return draft


def open_draft(db: Database, user: str, key: str, draft_id: int | None = None) -> Draft | None:
    """The draft a button names (``draft_id``), else the user's latest open draft for ``key``."""
    if draft_id is not None:
        return get_draft(db, draft_id)
    with db.session() as s:
        return s.scalar(_open(user, key))


def get_draft(db: Database, draft_id: int) -> Draft | None:
    with db.session() as s:
        return s.get(Draft, draft_id)


def close_draft(db: Database, draft_id: int, status: str, comment_id: str | None = None) -> None:
    with db.session() as s:
        draft = s.get(Draft, draft_id)
        if draft is not None:
            draft.status, draft.comment_id = status, comment_id


def _open(user: str, key: str) -> Select[Draft]:
    return (select(Draft).where(Draft.slack_user_id == user, Draft.ticket_key == key, Draft.status == "draft")
            .order_by(Draft.id.desc()).limit(1))
