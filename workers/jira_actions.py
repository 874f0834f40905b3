"""One-click Jira writes: move, assign, priority, blockers, watch (`blocked` lives in workers.memory_jobs)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from remedy.commands import PersonRef
from remedy.db.models import PriorityOverride
from remedy.errors import UserError
from remedy.jira.models import Issue, JiraUser
from remedy.notify import notify_phase_change, watchers_later
from remedy.packages import records
from remedy.parallel import parallel
from remedy.slack.mrkdwn import escape
from remedy.team.resolve import resolve_jira_user
from remedy.workflow import moves
from remedy.workflow.priority import override_expiry
from workers.context import JobContext, actor_name, audit, job_context, report


def move(origin: dict[str, Any], key: str, phase: str, **_: Any) -> None:
    """`/remedy move KEY to <phase>`: walk the workflow, create the phase's subtasks once."""
    with job_context(origin) as ctx:
        svc = ctx.services
        # Exit checks that need Jamf (a validated package before the pilot) are evaluated as `deploy pilot` does.
        gates = {"package_validated": records.gate(svc.db, svc.jamf)}
        watchers = watchers_later(ctx, key)
        moved, result = moves.move(svc.jira, key, phase, svc.templates, svc.actions, ctx.job_id, gates=gates)
        lines = [f"➡️ *{escape(actor_name(ctx))}* moved *{key}* {escape(result.start)} → *{escape(result.target)}*"
                 if result.moved else f"➡️ *{key}* is already in *{escape(result.target)}*"]
        if len(result.passed) > 1:
            lines.append("via " + " → ".join(escape(p) for p in result.passed[:-1]))
        if result.subtasks_created:
            lines.append("Subtasks created: " + ", ".join(escape(s) for s in result.subtasks_created))
        if result.subtasks_existing:
            lines.append("Already there: " + ", ".join(escape(s) for s in result.subtasks_existing))
        # The answer and the watchers' DMs are independent Slack posts: side by side.
        parallel([lambda: report(ctx, moved, "\n".join(lines), f"*{key}* is in *{escape(result.target)}*.",
                                 "jira.move", start=result.start, to=result.target, subtasks=result.subtasks_created),
                  lambda: notify_phase_change(ctx, key, result, moved, watchers)])


def assign(origin: dict[str, Any], key: str, assignee: dict[str, Any], **_: Any) -> None:
    """`/remedy assign KEY to <person>`: the person resolved Slack ↔ Jira, or a question back."""
    with job_context(origin) as ctx:
        svc = ctx.services
        who = resolve_jira_user(PersonRef.model_validate(assignee), svc.team, svc.jira, slack_email(ctx))
        issue, _ = parallel([lambda: svc.jira.get_issue(key), lambda: svc.jira.assign(key, who.account_id)])
        line = f"👤 *{escape(actor_name(ctx))}* assigned *{key}* to *{escape(who.name)}*"
        now = JiraUser(account_id=who.account_id, display_name=who.name, email=None, active=True)
        report(ctx, issue.model_copy(update={"assignee": now}), line, f"*{key}* is assigned to *{escape(who.name)}*.",
               "jira.assign", account_id=who.account_id, name=who.name)


def slack_email(ctx: JobContext) -> Any:
    def lookup(slack_id: str) -> str | None:
        user: dict[str, Any] = ctx.services.slack.users_info(user=slack_id).get("user") or {}
        email = (user.get("profile") or {}).get("email")
        return str(email) if email else None

    return lookup


def set_priority(origin: dict[str, Any], key: str, priority: str, reason: str | None = None,
                 days: int | None = None, until: str | None = None, **_: Any) -> None:
    """`/remedy priority KEY P1 [for 3 days | until DATE] because …`: Jira priority set, the override,
    its reason and its expiry kept."""
    with job_context(origin) as ctx:
        svc = ctx.services
        if not (reason or "").strip():  # the grammar asks for one; a job queued by anything else is held to it too
            raise UserError(f"An override needs a reason: `priority {key} {escape(priority)} because …`.")
        expires = override_expiry(svc.clock(), days, date.fromisoformat(until) if until else None)
        if expires is not None and expires <= svc.clock():
            raise UserError(f"{until} has passed; give a date from today on.")
        issue, name = _prioritised(ctx, key, priority)
        svc.actions.run_once(ctx.key("override"), "priority.override", key, do=lambda: record_override(
            ctx, key, name, reason, expires))
        why = f" because {escape(reason)}" if reason else ""
        lasts = f" until {expires:%Y-%m-%d %H:%M} UTC" if expires else ""
        report(ctx, issue.model_copy(update={"priority": name}),
               f"🎚 *{escape(actor_name(ctx))}* set *{key}* to *{escape(name)}*{lasts}{why}",
               f"*{key}* priority is *{escape(name)}*{lasts}.", "jira.priority", priority=name, reason=reason,
               expires=expires.isoformat() if expires else None)


def _prioritised(ctx: JobContext, key: str, priority: str) -> tuple[Issue, str]:
    """Set the Jira priority ``priority`` (P1…) stands for in the ticket's own template; the ticket and
    that name. When every template maps it alike (the usual case) the ticket is read beside the write."""
    svc = ctx.services
    names = {t.jira_priority(priority) for t in svc.templates.all()}
    if len(names) == 1:
        name = names.pop()
        issue, _ = parallel([lambda: svc.jira.get_issue(key), lambda: svc.jira.set_priority(key, name)])
        return issue, name
    issue = svc.jira.get_issue(key)
    name = svc.workflow_for(issue).jira_priority(priority)
    svc.jira.set_priority(key, name)
    return issue, name


def record_override(ctx: JobContext, key: str, name: str, reason: str | None, expires: datetime | None) -> str:
    with ctx.services.db.session() as s:
        row = PriorityOverride(ticket_key=key, priority=name, reason=reason, slack_user_id=ctx.user,
                               expires_at=expires)
        s.add(row)
        s.flush()
        return str(row.id)


def add_blocker(origin: dict[str, Any], key: str, blocker: str, **_: Any) -> None:
    """`/remedy add blocker KEY OTHER`: OTHER blocks KEY (a Jira "Blocks" link, right direction).
    Jira keeps one link per pair and type, so linking again changes nothing."""
    with job_context(origin) as ctx:
        svc = ctx.services
        def link() -> str:
            svc.jira.link(blocker, key)
            return f"{blocker}>{key}"

        svc.actions.run_once(ctx.key(f"link:{blocker}:{key}"), "jira.link", key, do=link)
        line = f"⛔ *{escape(actor_name(ctx))}* recorded that *{blocker}* blocks *{key}*"
        report(ctx, key, line, f"*{blocker}* now blocks *{key}* in Jira.", "jira.link", blocker=blocker)


def watch(origin: dict[str, Any], key: str, people: list[dict[str, Any]] | None = None, **_: Any) -> None:
    """`/remedy watch KEY [people…]`: the user, or the people named, watch the ticket in Jira."""
    with job_context(origin) as ctx:
        svc = ctx.services
        refs = [PersonRef.model_validate(p) for p in people or []] or [
            PersonRef(raw=f"<@{ctx.user}>", kind="mention", slack_id=ctx.user)]
        # Resolve everyone first: one unknown name stops the command before any write.
        found = [resolve_jira_user(ref, svc.team, svc.jira, slack_email(ctx)) for ref in refs]
        parallel([lambda who=who: svc.jira.add_watcher(key, who.account_id) for who in found])  # type: ignore[misc]
        names = ", ".join(who.name for who in found)
        if people:
            line = f"👀 *{escape(actor_name(ctx))}* added {escape(names)} as watchers of *{key}*"
            report(ctx, key, line, f"{escape(names)} now watch *{key}* in Jira.", "jira.watch",
                   account_ids=[who.account_id for who in found])
            return
        audit(ctx, "jira.watch", key, account_ids=[who.account_id for who in found])
        ctx.done(f"👀 {escape(names)} now watches *{key}* in Jira.")
