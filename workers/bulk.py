"""Bulk commands: `focus epic`, `batch comment`, `close all resolved`, `compliance report`, and the
Confirm / Cancel / Retry buttons of a bulk card (the runs themselves are in :mod:`workers.bulk_run`).

Nothing is written to Jira before someone presses Confirm: the commands only read, then post a card.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from remedy.bulk import closing, scope, store
from remedy.bulk.report import Row, summary, to_csv, to_markdown
from remedy.bulk.scope import Resolved, blockers, phase_of, progress_of
from remedy.commands.catalog import Role
from remedy.errors import UserError
from remedy.jira.models import Issue
from remedy.parallel import parallel
from remedy.remediation.progress import Progress
from remedy.slack import blocks, bulk_card
from remedy.slack.mrkdwn import escape, truncate
from workers.bulk_run import run_operation
from workers.context import JobContext, audit, job_context, require_role

CARD_MAX_AGE = timedelta(hours=24)  # an older card is re-asked: the tickets may have moved on


def _progresses(ctx: JobContext, issues: list[Issue]) -> list[Progress | None]:
    svc, now = ctx.services, ctx.services.clock()
    return parallel([lambda i=i: progress_of(svc.jamf, svc.db, i, now) for i in issues])  # type: ignore[misc]


def _resolve(ctx: JobContext, where: dict[str, Any]) -> Resolved:
    svc = ctx.services
    return scope.resolve(svc.jira, where, ctx.user, svc.db, svc.team, svc.templates)


def focus_epic(origin: dict[str, Any], key: str, **_: Any) -> None:
    """`/remedy focus epic KEY`: the epic's stories become the default scope of bulk commands."""
    with job_context(origin) as ctx:
        svc = ctx.services
        epic = svc.jira.get_issue(key)
        if epic.issue_type.lower() != "epic":
            raise UserError(f"*{epic.key}* is a {escape(epic.issue_type)}, not an epic: `focus epic` takes an "
                            "epic's key, and works on the stories under it.")
        stories = scope.epic_stories(svc.jira, epic.key)
        store.set_epic_focus(svc.db, ctx.user, epic.key, svc.clock())
        audit(ctx, "bulk.focus_epic", epic.key, stories=len(stories))
        head = (f"🎯 Focus: epic *{epic.key}* {escape(epic.summary)} · {len(stories)} "
                f"stor{'ies' if len(stories) != 1 else 'y'}. `batch comment`, `close all resolved` and "
                "`compliance report` without a scope now cover them.")
        if not stories:
            ctx.show(head, [blocks.section(head)])
            return
        measured = _progresses(ctx, stories)
        rows = [[s.key, phase_of(s, svc.templates), s.assignee.display_name if s.assignee else "unassigned",
                 f"{p.percent:.1f}%" if p else "—", ", ".join(blockers(s)) or "—"]
                for s, p in zip(stories, measured, strict=True)]
        lines = bulk_card.table(("key", "phase", "assignee", "compliance", "blockers"), rows, (10, 13, 16, 10, 24))
        ctx.show(head, bulk_card.code_sections(head, lines, max_sections=10))


def batch_comment(origin: dict[str, Any], body: str, scope: dict[str, Any] | None = None, **_: Any) -> None:
    """`/remedy batch comment "text" [scope]`: a confirmation card listing the tickets; posting starts
    only when Confirm is pressed (:func:`press`)."""
    with job_context(origin) as ctx:
        require_role(ctx, Role.ENGINEER, "Commenting on many tickets", "batch comment")
        _check_template(body)
        found = _resolve(ctx, scope or {})
        if not found.issues:
            raise UserError(f"No tickets in {escape(found.describe)}: nothing to comment on.")
        templates = ctx.services.templates
        lines = [f"• *{i.key}* {escape(truncate(i.summary, 60))} · {escape(phase_of(i, templates))} · "
                 f"{escape(i.assignee.display_name) if i.assignee else 'unassigned'}" for i in found.issues]
        _open_card(ctx, "comment", [i.key for i in found.issues], lines, found.describe, body)


def _check_template(body: str) -> None:
    scope.check_template(body)


def close_all_resolved(origin: dict[str, Any], scope: dict[str, Any] | None = None, **_: Any) -> None:
    """`/remedy close all resolved [scope]`: the verified tickets on a confirmation card."""
    with job_context(origin) as ctx:
        svc = ctx.services
        require_role(ctx, Role.ENGINEER, "Closing tickets", "close all resolved")
        found = _resolve(ctx, scope or {})
        ready = closing.candidates(svc.jamf, svc.db, svc.templates, found.issues, svc.clock())
        if not ready:
            ctx.done(f"Nothing to close in {escape(found.describe)} ({len(found.issues)} tickets): none has a Jira "
                     f"resolution, or {escape(closing.requirement(svc.templates, found.issues))}.")
            return
        summaries = {i.key: i.summary for i in found.issues}
        lines = [f"• *{c.key}* {escape(truncate(summaries[c.key], 60))} · {escape(c.why)}" for c in ready]
        whys = json.dumps({c.key: c.why for c in ready})
        _open_card(ctx, "close", [c.key for c in ready], lines, found.describe, None, whys)


def _lead_needed(ctx: JobContext, count: int, doing: str) -> bool:
    """Above REMEDY_BULK_LEAD_OVER tickets a bulk write needs a lead (refused and audited otherwise)."""
    limit = ctx.services.settings.REMEDY_BULK_LEAD_OVER
    if count <= limit:
        return False
    require_role(ctx, Role.LEAD, f"{doing} on {count} tickets at once (more than {limit})", f"bulk:{count}")
    return True


def _open_card(ctx: JobContext, kind: str, keys: list[str], lines: list[str], describe: str, body: str | None,
               stored_body: str | None = None) -> None:
    svc = ctx.services
    lead_only = _lead_needed(ctx, len(keys), "Commenting" if kind == "comment" else "Closing")
    created = svc.actions.run_once(ctx.key("bulk:op"), "bulk.card", kind, do=lambda: store.create(
        svc.db, kind, ctx.user, describe, keys, stored_body if stored_body is not None else body, svc.clock()))
    op_id = int(created.external_id)
    title, card = bulk_card.confirm_card(op_id, kind, lines, ctx.user, describe, body, lead_only)
    posted = svc.poster.post_once(ctx.channel, title, card, ctx.key("bulk:card"))
    store.set_message(svc.db, op_id, posted.channel, posted.ts)
    audit(ctx, f"bulk.{kind}.card", f"bulk:{op_id}", tickets=keys, scope=describe)
    ctx.done(f"{bulk_card.question(kind, len(keys))} Confirm or cancel on the card in <#{posted.channel}>; "
             "nothing is written before that.")


def compliance_report(origin: dict[str, Any], scope: dict[str, Any] | None = None, **_: Any) -> None:
    """`/remedy compliance report [scope]`: a table in the channel, the CSV and markdown files in its thread."""
    with job_context(origin) as ctx:
        svc = ctx.services
        found = _resolve(ctx, scope or {})
        if not found.issues:
            raise UserError(f"No tickets in {escape(found.describe)}: nothing to report.")
        rows = [Row.of(i, p) for i, p in zip(found.issues, _progresses(ctx, found.issues), strict=True)]
        now, targets = svc.clock(), svc.templates.targets(found.issues)  # each ticket's own template's
        title = f"Compliance report · {found.describe} · {now:%Y-%m-%d %H:%M} UTC"
        lines = bulk_card.table(("ticket", "app", "target", "devices", "compl.%", "fail", "deadline", "status"),
                                [r.cells() for r in rows], (10, 14, 14, 7, 7, 4, 10, 12))
        head = f"📋 *{escape(title)}*: {summary(rows, targets)}"
        posted = svc.poster.post_once(ctx.channel, head, bulk_card.code_sections(head, lines), ctx.key("report"))
        stem = f"compliance-report-{now:%Y%m%d-%H%M}"
        parallel([
            lambda: svc.poster.upload(posted.channel, posted.ts, f"{stem}.csv", to_csv(rows).encode(), title + " (CSV)",
                                      ctx.key("report:csv")),
            lambda: svc.poster.upload(posted.channel, posted.ts, f"{stem}.md", to_markdown(rows, title).encode(),
                                      title + " (markdown)", ctx.key("report:md")),
        ])
        audit(ctx, "bulk.compliance_report", found.describe, tickets=[r.ticket for r in rows])
        ctx.done(f"Compliance report for {len(rows)} tickets posted in <#{posted.channel}>, with CSV and markdown.")


def press(origin: dict[str, Any], op: int, choice: str, **_: Any) -> None:
    """Confirm / Cancel / Retry on a bulk card. The first Confirm wins; any later press, or a press on
    a card that was cancelled, finished or is too old, is answered and changes nothing."""
    with job_context(origin) as ctx:
        view = store.get(ctx.services.db, int(op))
        if view is None or choice not in bulk_card.CHOICES:
            audit(ctx, "bulk.refused", f"bulk:{op}", choice=choice, why="no such operation")
            raise UserError("This button does not match a bulk operation; run the command again.")
        _allowed(ctx, view)
        if choice == "cancel":
            _cancel(ctx, view)
        elif choice == "confirm" and view.status == "pending" and ctx.services.clock() - view.created_at > CARD_MAX_AGE:
            raise UserError("This card is more than 24 h old and the tickets may have changed: run the command again.")
        elif not store.claim(ctx.services.db, view.id, choice, ctx.user, ctx.job_id):
            line = _already(ctx, view.id)
            ctx.show(line, [blocks.section(line)])
        else:
            run_operation(ctx, view.id)


def _allowed(ctx: JobContext, view: store.OpView) -> None:
    """Engineers for writes, a lead above the size limit; someone else's card needs a lead."""
    require_role(ctx, Role.ENGINEER, "Confirming a bulk write", f"bulk:{view.id}")
    if _lead_needed(ctx, len(view.keys), "Confirming a bulk write"):
        return
    if view.requested_by != ctx.user:
        require_role(ctx, Role.LEAD, f"Answering <@{view.requested_by}>'s bulk card", f"bulk:{view.id}")


def _cancel(ctx: JobContext, view: store.OpView) -> None:
    if not store.cancel(ctx.services.db, view.id, ctx.user):
        line = _already(ctx, view.id)
        ctx.show(line, [blocks.section(line)])
        return
    if view.channel_id and view.message_ts:
        ctx.services.poster.update(view.channel_id, view.message_ts, *bulk_card.cancelled(view.kind, ctx.user))
    audit(ctx, f"bulk.{view.kind}.cancelled", f"bulk:{view.id}", tickets=len(view.keys))
    ctx.done("Cancelled: nothing was written.")


def _already(ctx: JobContext, op_id: int) -> str:
    now = store.get(ctx.services.db, op_id)
    assert now is not None
    who = f"<@{now.decided_by}>" if now.decided_by else "someone"
    said = {"cancelled": f"was cancelled by {who}", "running": f"is running (started by {who})",
            "done": f"is done (confirmed by {who})", "partial": "has failures: use its Retry button",
            "pending": "is waiting for Confirm"}
    return f"ℹ️ That bulk operation {said.get(now.status, now.status)}; nothing more was done."
