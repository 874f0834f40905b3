"""Comment jobs: post directly, or draft → (edit) → post / discard."""

from __future__ import annotations

from typing import Any

from remedy.errors import UserError
from remedy.jira.models import Issue
from remedy.llm.words import phrase
from remedy.parallel import parallel
from remedy.remediation import store
from remedy.remediation.facts import Facts, facts_from_issue
from remedy.remediation.measure import latest_for
from remedy.remediation.store import RemediationView
from remedy.slack import blocks
from remedy.slack.mrkdwn import escape, truncate
from remedy.tickets.analysis import analyse
from remedy.tickets.drafts import close_draft, draft_text, open_draft, save_draft
from remedy.tickets.topics import DRAFT, TopicInput, material
from workers.context import JobContext, actor_name, jira_comment, job_context, report

QUOTE_MAX = 1500
DRAFT_MAX = 3000  # a comment longer than this is a report, not a comment


def _quote(text: str) -> str:
    return "\n".join("> " + escape(line) for line in truncate(text, QUOTE_MAX).splitlines() or [""])


def _post(ctx: JobContext, key: str, body: str, marker: str, done: str) -> str:
    """Post ``body`` to Jira at most once per ``marker`` and reply in the ticket's thread."""
    comment_id = jira_comment(ctx, key, f"{body}\n\n— {actor_name(ctx)}, via remedy", marker)
    # No fresh read of the ticket: a comment changes nothing the thread's status line shows.
    quoted = f"💬 *{escape(actor_name(ctx))}* commented on *{key}* in Jira:\n{_quote(body)}"
    report(ctx, key, f"💬 {actor_name(ctx)} commented on {key}", done, "jira.comment", blks=[blocks.section(quoted)],
           reply_key=f"{marker}:reply", audit_key=f"{marker}:audit", comment_id=comment_id)
    return comment_id


def comment(origin: dict[str, Any], key: str, body: str, **_: Any) -> None:
    """`/remedy comment KEY "text"`: straight to Jira."""
    with job_context(origin) as ctx:
        _post(ctx, key, body, ctx.key("comment"), f"Comment posted on *{key}*.")


def _draft_card(key: str, draft_id: int, text: str) -> list[dict[str, Any]]:
    ref = str(draft_id)
    return [
        blocks.section(f"📝 *Draft comment for {key}* (only you see this):\n{_quote(text)}"),
        blocks.actions([
            blocks.command_button("Post", "post comment", key, ref, style="primary"),
            {**blocks.command_button("Edit", "edit draft", key, ref), "action_id": blocks.DRAFT_EDIT_ACTION},
            blocks.command_button("Discard", "discard draft", key, ref, style="danger"),
        ]),
    ]


def draft(origin: dict[str, Any], key: str, about: str | None = None, **_: Any) -> None:
    """`/remedy draft comment KEY [about …]`: a draft from the ticket's facts (about a topic when one
    is named), worded by the model when it states nothing beyond them, with Post / Edit / Discard."""
    with job_context(origin) as ctx:
        svc = ctx.services
        issue, known = parallel([lambda: svc.jira.get_issue(key), lambda: store.load(svc.db, key)])
        workflow = svc.workflow_for(issue)
        topic = TopicInput(issue, workflow, _facts(issue, known), known, svc.jamf, about)
        analysis = analyse(issue, workflow, known, latest_for(svc.db, issue, known), None, svc.clock().date())
        facts, template = material(topic, about, analysis, draft_text(issue, workflow, about))
        text = phrase(svc.llm, DRAFT, facts, {"comment": template}, limit=DRAFT_MAX, for_slack=False)["comment"]
        saved = save_draft(svc.db, ctx.user, issue.key, text)
        ctx.show(f"Draft comment for {key}", _draft_card(issue.key, saved.id, saved.text))


def _facts(issue: Issue, known: RemediationView | None) -> Facts | None:
    if known is not None:
        return known.facts
    try:
        return facts_from_issue(issue)
    except UserError:
        return None


def _the_draft(ctx: JobContext, key: str) -> Any:
    ref = str(ctx.origin.extra.get("ref") or "")
    found = open_draft(ctx.services.db, ctx.user, key, int(ref) if ref.isdigit() else None)
    if found is None or found.slack_user_id != ctx.user:
        raise UserError(f"You have no draft for {key}: `draft comment {key}` makes one, "
                        f"or `comment {key} \"text\"` posts directly.")
    if found.status != "draft":
        raise UserError(f"That draft for {key} was already {found.status}.")
    return found


def post_draft(origin: dict[str, Any], key: str, **_: Any) -> None:
    """`/remedy post comment KEY` or the Post button: the user's draft goes to Jira, once."""
    with job_context(origin) as ctx:
        found = _the_draft(ctx, key)
        # Keyed by the draft, not the command: two presses of Post still make one comment.
        comment_id = _post(ctx, key, found.text, f"draft:{found.id}:post", f"Your draft is posted on *{key}*.")
        close_draft(ctx.services.db, found.id, "posted", comment_id)


def discard_draft(origin: dict[str, Any], key: str, **_: Any) -> None:
    with job_context(origin) as ctx:
        found = _the_draft(ctx, key)
        close_draft(ctx.services.db, found.id, "discarded")
        ctx.done(f"Draft for *{key}* discarded.")


def edit_draft(origin: dict[str, Any], key: str, body: str, **_: Any) -> None:
    """`/remedy edit draft KEY "text"` or the Edit modal: new text, same draft, shown again."""
    with job_context(origin) as ctx:
        found = _the_draft(ctx, key)
        saved = save_draft(ctx.services.db, ctx.user, key, body)
        ctx.show(f"Draft comment for {key}", _draft_card(key, saved.id or found.id, saved.text))
