"""`escalate` and `delegate`: hand a ticket up or across, tell the people, change Jira once.

Order of an escalation, and why:
1. resolve the person (or the rules' default) and refuse what can't be right (yourself, a group,
   someone outside the team directory, an ambiguous name) — nothing has happened yet;
2. claim the repeat window: an identical request within a minute answers "already escalated";
3. DM the person: the escalation *is* that message, so if Slack refuses it (user_not_found,
   cannot_dm_bot, not_in_channel…) the job stops here, before any Jira write, and says so;
4. FYI DMs up the escalator's manager chain when the rules ask — best effort: a refusal is named
   in the answer but does not undo the escalation;
5. Jira: the comment, the watcher, and the priority raise (with its override) side by side;
6. the reply in the ticket's thread, the audit event and the ✅.
Every write is keyed by the job (ActionLog, comment markers, message metadata), so a retried or
crashed job never sends anything twice. A refused request gives its window claim back, so the
user can run it again at once after fixing the cause.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from remedy.commands import CATALOG, PersonRef
from remedy.db.models import PriorityOverride
from remedy.errors import UserError
from remedy.jira.errors import JiraAuthError, JiraForbidden, JiraInvalid, JiraNotFound
from remedy.jira.models import Issue, JiraUser
from remedy.parallel import parallel
from remedy.slack import blocks, cards
from remedy.slack.mrkdwn import escape
from remedy.slack.poster import Posted, SlackPostError
from remedy.team.directory import Group, Person
from remedy.team.escalation import (
    Claim,
    EscalationPlan,
    claim,
    default_target,
    delegate_assignee,
    level_of,
    plan_escalation,
    release,
    request_key,
)
from remedy.team.resolve import Resolved, resolve_jira_user
from workers.context import PERMANENT, JobContext, audit, job_context, report, require_role, thread_reply

# The helpers `assign` and `priority` use, so an escalation resolves people and records its
# priority override exactly as those commands do.
from workers.jira_actions import record_override, slack_email

JIRA_REFUSED = (JiraNotFound, JiraForbidden, JiraInvalid, JiraAuthError)
# Slack's answers that mean "this DM will never go through as things are", in words for people.
DM_REFUSALS: dict[str, str] = {
    "user_not_found": "Slack doesn't know that user — is their slack_id in team.yml right?",
    "users_not_found": "Slack doesn't know that user — is their slack_id in team.yml right?",
    "cannot_dm_bot": "that Slack id belongs to a bot, and Slack doesn't let apps DM bots",
    "user_disabled": "their Slack account is deactivated",
    "account_inactive": "their Slack account is deactivated",
    "not_in_channel": "I'm not in my DM with them (they may have removed the app)",
    "channel_not_found": "I can't see my DM with them (they may have removed the app)",
    "is_archived": "my DM with them is archived",
    "restricted_action": "the workspace doesn't let me DM them",
    "missing_scope": "I lack the `im:write` scope to open DMs (reinstall the app from manifest.yml)",
}


class DmRefused(UserError):
    """A DM that can't go through as things are; ``code`` is Slack's error (None: no Slack id)."""

    def __init__(self, person: Person, code: str | None) -> None:
        why = f"{DM_REFUSALS[code]} (Slack: `{code}`)" if code else "they have no slack_id in team.yml"
        super().__init__(f"I couldn't DM {person.name}: {why}.")
        self.code = code


# -- escalate ----------------------------------------------------------------------------------


def escalate(origin: dict[str, Any], key: str, to: dict[str, Any] | None = None, reason: str | None = None,
             **_: Any) -> None:
    """`/remedy escalate [KEY] [to] <person> [reason]` (no person: the escalation rules' default)."""
    with job_context(origin) as ctx:
        require_role(ctx, CATALOG["escalate"].role, "Escalating a ticket", key)
        svc = ctx.services
        me = _requester(ctx)
        issue = svc.jira.get_issue(key)
        plan = _plan(ctx, me, to, reason, issue)
        account = _jira_account(ctx, plan.target)  # looked up before anything is written
        guard = request_key("escalate", issue.key, plan.target.handle, ctx.user, plan.reason)
        held = claim(svc.redis, guard, ctx.job_id, svc.clock())
        if held is not None:
            ctx.done(f"*{issue.key}* was already escalated to *{escape(plan.target.name)}* by you at "
                     f"{_clock(held, me)} — nothing sent again.")
            return
        try:
            _escalate(ctx, issue, plan, account)
        except PERMANENT:
            release(svc.redis, guard, ctx.job_id)
            raise


def _plan(ctx: JobContext, me: Person, to: dict[str, Any] | None, reason: str | None,
          issue: Issue) -> EscalationPlan:
    svc = ctx.services
    priorities = svc.workflow_for(issue).priorities
    if to is None:
        target, why = default_target(svc.team, me, level_of(issue.priority, priorities))
    else:
        target, why = _directory_person(ctx, PersonRef.model_validate(to)), "named"
    return plan_escalation(svc.team, me, target, reason, why, issue.priority, priorities)


def _directory_person(ctx: JobContext, ref: PersonRef) -> Person:
    """The named person, who must be in the team directory: that is where remedy learns how to reach
    them and who their manager is. Ambiguous and unknown names get the resolver's question."""
    svc = ctx.services
    group = svc.team.group(ref.raw) if ref.kind in ("handle", "name", "group") else None
    if group is not None:
        raise UserError(f"{escape(group.name)} is a group, and an escalation goes to one person. To hand the "
                        f"ticket to the group, use `delegate KEY to {escape(group.name)}`.")
    found = resolve_jira_user(ref, svc.team, svc.jira, slack_email(ctx))
    if found.person is None:
        raise UserError(f"{escape(found.name)} is in Jira but not in the team directory (team.yml), so I can't "
                        "escalate to them: I only escalate to people I know how to reach. Ask a lead to add "
                        "them, or escalate to someone who is listed.")
    return found.person


def _escalate(ctx: JobContext, issue: Issue, plan: EscalationPlan, account: str | None) -> None:
    shown = issue if plan.raise_to is None else issue.model_copy(update={"priority": plan.raise_to.name})
    try:
        _send_dm(ctx, plan.target, *_dm_message(ctx, shown, plan, fyi=False), "dm:escalate")
    except DmRefused as exc:
        raise UserError(f"{exc} Nothing was changed: no Jira comment, watcher or priority, no thread reply.") \
            from exc
    missed = _notify_chain(ctx, shown, plan)
    try:
        parallel([lambda: _comment(ctx, issue.key, plan), lambda: _watch(ctx, issue.key, account),
                  lambda: _raise_priority(ctx, issue.key, plan)])
    except JIRA_REFUSED as exc:
        raise UserError(f"{plan.target.name} got the DM, but Jira refused the update: {exc}") from exc
    line, done = _escalated_lines(issue.key, plan, missed, watching=account is not None)
    report(ctx, shown, line, done, "team.escalate", to=plan.target.handle, why=plan.why, reason=plan.reason,
           watcher=account,
           raised_to=plan.raise_to.name if plan.raise_to else None,
           fyi=[p.handle for p in plan.fyi if p.handle not in missed], fyi_failed=sorted(missed))


def _escalated_lines(key: str, plan: EscalationPlan, missed: dict[str, str], watching: bool) -> tuple[str, str]:
    """The thread reply (mentioning the person, so Slack notifies them there too) and the ✅ line."""
    why = f": {escape(plan.reason)}" if plan.reason else ""
    lines = [f"🚨 *{escape(plan.escalator.name)}* escalated *{key}* to <@{plan.target.slack_id}>{why}"]
    if plan.raise_to is not None:
        lines.append(f"Priority raised to *{escape(plan.raise_to.name)}* ({plan.raise_to.level}) by the "
                     "escalation rules")
    told = [escape(p.name) for p in plan.fyi if p.handle not in missed]
    if told:
        lines.append("FYI sent to " + ", ".join(told))
    raised = f", priority raised to *{escape(plan.raise_to.name)}*" if plan.raise_to else ""
    watcher = ("watcher added" if watching
               else f"not added as a watcher ({escape(plan.target.name)} has no Jira account)")
    done = (f"*{key}* escalated to *{escape(plan.target.name)}*: DM sent, Jira comment posted, {watcher}"
            f"{raised}." + "".join(f"\n⚠️ {escape(text)}" for text in missed.values()))
    return "\n".join(lines), done


def _dm_message(ctx: JobContext, issue: Issue, plan: EscalationPlan, fyi: bool) -> tuple[str, list[Any]]:
    """The ticket card under one line saying who escalated, to whom and why."""
    svc = ctx.services
    who, to = plan.escalator.name, plan.target.name
    plain = f"FYI: {who} escalated {issue.key} to {to}" if fyi else f"{who} escalated {issue.key} to you"
    head = (f"ℹ️ FYI: *{escape(who)}* escalated *{issue.key}* to *{escape(to)}*" if fyi
            else f"🚨 *{escape(who)}* escalated *{issue.key}* to you")
    if plan.reason:
        plain, head = f"{plain}: {plan.reason}", f"{head}: _{escape(plan.reason)}_"
    if plan.raise_to is not None:
        head += f"\nPriority raised to *{escape(plan.raise_to.name)}* by the escalation rules."
    _, card = cards.ticket_card(issue, svc.workflow_for(issue), svc.settings.JIRA_URL)
    return escape(plain), [blocks.section(head), *card]


def _notify_chain(ctx: JobContext, issue: Issue, plan: EscalationPlan) -> dict[str, str]:
    """FYI DMs to the escalator's managers; returns {handle: what went wrong} for those that failed."""
    missed: dict[str, str] = {}
    for person in plan.fyi:
        try:
            _send_dm(ctx, person, *_dm_message(ctx, issue, plan, fyi=True), f"dm:fyi:{person.handle}")
        except DmRefused as exc:
            missed[person.handle] = f"{exc} The FYI to them was not sent; the escalation went ahead."
    return missed


def _send_dm(ctx: JobContext, person: Person, text: str, blks: list[Any], name: str) -> Posted:
    if not person.slack_id:
        raise DmRefused(person, None)
    try:
        return ctx.services.poster.dm(person.slack_id, text, blks, ctx.key(name))
    except (SlackPostError, SlackApiError) as exc:
        code = exc.error if isinstance(exc, SlackPostError) else str(exc.response.get("error", ""))
        if code not in DM_REFUSALS:
            raise  # rate limits, Slack hiccups: the job is retried, and what was sent stays sent
        raise DmRefused(person, code) from exc


def _comment(ctx: JobContext, key: str, plan: EscalationPlan) -> None:
    jira = ctx.services.jira
    marker, text = ctx.key("comment"), plan.comment()
    ctx.services.actions.run_once(marker, "jira.comment", key, do=lambda: jira.add_comment(key, text, marker=marker).id,
                                  recover=lambda: getattr(jira.find_comment(key, marker), "id", None))


def _jira_account(ctx: JobContext, person: Person) -> str | None:
    """The person's Jira account, or None when Jira has none for them: the escalation still goes
    out (reaching the person is the point), only the watcher is left out, and the answer says so."""
    try:
        return _account(ctx, person).account_id
    except UserError:
        return None


def _watch(ctx: JobContext, key: str, account: str | None) -> None:
    if account is not None:
        ctx.services.jira.add_watcher(key, account)  # Jira keeps one watch per person: a repeat is harmless


def _raise_priority(ctx: JobContext, key: str, plan: EscalationPlan) -> None:
    """The override first, then Jira: a crash in between leaves Jira unchanged, so the rerun still
    sees the ticket below the level and finishes; the other way round it would see it raised and
    never record why."""
    if plan.raise_to is None:
        return
    svc, name, why = ctx.services, plan.raise_to.name, plan.override_reason
    svc.actions.run_once(ctx.key("override"), "priority.override", key,
                         do=lambda: record_override(ctx, key, name, why, None),
                         recover=lambda: _our_override(ctx, key, name, why))
    svc.jira.set_priority(key, name)  # setting the same priority again changes nothing


def _our_override(ctx: JobContext, key: str, name: str, reason: str) -> str | None:
    """After a crash: the ticket's newest override, if it is the one this job was recording."""
    with ctx.services.db.session() as s:
        row = s.scalar(select(PriorityOverride).where(PriorityOverride.ticket_key == key)
                       .order_by(PriorityOverride.id.desc()).limit(1))
        mine = row is not None and (row.priority, row.reason, row.slack_user_id) == (name, reason, ctx.user)
        return str(row.id) if mine and row is not None else None


# -- delegate ----------------------------------------------------------------------------------


def delegate(origin: dict[str, Any], key: str, to: dict[str, Any], **_: Any) -> None:
    """`/remedy delegate [KEY] to <group|person>`: assign (the group's lead or next in turn), the
    group's members as watchers, a message in the group's channel."""
    with job_context(origin) as ctx:
        require_role(ctx, CATALOG["delegate"].role, "Delegating a ticket", key)
        svc = ctx.services
        me = _requester(ctx)
        ref = PersonRef.model_validate(to)
        group = svc.team.group(ref.raw) if ref.kind in ("handle", "name", "group") else None
        person = None if group is not None else resolve_jira_user(ref, svc.team, svc.jira, slack_email(ctx))
        if person is not None and person.person is not None and person.person.handle == me.handle:
            raise UserError("You can't delegate a ticket to yourself; to take it, use `assign KEY to me`.")
        # The group's notice links the ticket's thread: when the thread is known here, its link is
        # fetched beside the ticket, so the notice can go out with the reply.
        home = svc.poster.thread_ts(ctx.channel, key) if group is not None and group.slack_channel else None
        issue, link = parallel([lambda: svc.jira.get_issue(key),
                                lambda: _permalink(ctx, ctx.channel, home) if home else None])
        to_whom = f"group {group.name}" if group is not None else f"account {person.account_id if person else ''}"
        guard = request_key("delegate", issue.key, to_whom, ctx.user)
        held = claim(svc.redis, guard, ctx.job_id, svc.clock())
        if held is not None:
            name = group.name if group is not None else person.name if person else ref.display()
            ctx.done(f"*{issue.key}* was already delegated to *{escape(name)}* by you at {_clock(held, me)} — "
                     "nothing done again.")
            return
        try:
            _delegate(ctx, issue, me, group, person, (home is not None, link))
        except PERMANENT:
            release(svc.redis, guard, ctx.job_id)
            raise


def _delegate(ctx: JobContext, issue: Issue, me: Person, group: Group | None, person: Resolved | None,
              thread: tuple[bool, str | None]) -> None:
    """``thread``: whether the ticket has its thread here, and that thread's link when it does."""
    svc, key = ctx.services, issue.key
    chosen: Person | None
    if group is not None:
        # Every Jira account is resolved before the turn is taken or anything is written.
        accounts = {p.handle: _account(ctx, p) for p in _group_people(ctx, group)}
        chosen, turn = delegate_assignee(svc.team, group, me, svc.db, ctx.job_id)
        assignee, watchers = accounts[chosen.handle], list(accounts.values())
    else:
        assert person is not None
        chosen, turn, assignee, watchers = person.person, None, person, [person]
    parallel([lambda: svc.jira.assign(key, assignee.account_id),
              *[lambda w=w: svc.jira.add_watcher(key, w.account_id) for w in watchers]])
    now = JiraUser(account_id=assignee.account_id, display_name=assignee.name, email=None, active=True)
    who = _mention(chosen, assignee.name)
    line = _delegated_line(me, key, group, who, turn) + "\nWatching: " + ", ".join(escape(w.name) for w in watchers)
    shown = issue.model_copy(update={"assignee": now})
    threaded, link = thread
    if group is not None and group.slack_channel and not threaded:  # the reply makes the thread the notice links
        posted = thread_reply(ctx, shown, line, [blocks.section(line)], "team.delegate")
        missed = _notify_group(ctx, group, me, key, who, _permalink(ctx, posted.channel, posted.thread_ts or posted.ts))
    else:
        _, missed = parallel([
            lambda: thread_reply(ctx, shown, line, [blocks.section(line)], "team.delegate"),
            lambda: _notify_group(ctx, group, me, key, who, link) if group is not None else None])
    told = f" <#{group.slack_channel}> is told." if group is not None and group.slack_channel and not missed else ""
    done = f"*{key}* is assigned to *{escape(assignee.name)}*; {len(watchers)} watching in Jira.{told}"
    parallel([lambda: audit(ctx, "team.delegate", key, to=group.name if group else assignee.account_id,
                            assignee=assignee.account_id, turn=turn, watchers=[w.account_id for w in watchers],
                            notify_failed=missed),
              lambda: ctx.done(done + (f"\n⚠️ {escape(missed)}" if missed else ""))])


def _delegated_line(me: Person, key: str, group: Group | None, who: str, turn: int | None) -> str:
    if group is None:
        return f"📌 *{escape(me.name)}* delegated *{key}* to {who}"
    how = f"round-robin turn {turn + 1}" if turn is not None else "the group's lead"
    return f"📌 *{escape(me.name)}* delegated *{key}* to *{escape(group.name)}*: {who} ({how})"


def _group_people(ctx: JobContext, group: Group) -> list[Person]:
    people = ctx.services.team.members(group)
    lead = ctx.services.team.by_handle(group.lead) if group.lead else None
    return people + ([lead] if lead is not None and lead not in people and group.assign == "lead" else [])


def _account(ctx: JobContext, person: Person) -> Resolved:
    svc = ctx.services
    return resolve_jira_user(PersonRef(raw=person.handle, kind="handle"), svc.team, svc.jira)


def _notify_group(ctx: JobContext, group: Group, me: Person, key: str, who: str, link: str | None) -> str | None:
    """A message in the group's channel pointing at the ticket's thread; returns what went wrong, if
    anything (the delegation itself is done by then, so a refusal is reported, not raised)."""
    if not group.slack_channel:
        return None
    where = f"<{link}|the ticket thread>" if link else f"the ticket's thread in <#{ctx.channel}>"
    text = f"📣 *{escape(me.name)}* delegated *{key}* to *{escape(group.name)}*: {who} has it. Details in {where}."
    try:
        ctx.services.poster.post_once(group.slack_channel, text, [blocks.section(text)], ctx.key("notify"))
    except SlackPostError as exc:
        return f"I couldn't post in <#{group.slack_channel}>: {exc}"
    return None


def _permalink(ctx: JobContext, channel: str, ts: str) -> str | None:
    try:
        resp = ctx.services.slack.chat_getPermalink(channel=channel, message_ts=ts)
    except SlackApiError:
        return None  # the message still says where the thread is
    return str(resp.get("permalink") or "") or None


# -- shared ------------------------------------------------------------------------------------


def _requester(ctx: JobContext) -> Person:
    person = ctx.services.team.by_slack_id(ctx.user)
    if person is None:  # require_role already refused anyone not listed; this keeps the types honest
        raise UserError("You are not in the team directory (team.yml); ask a lead to add you.")
    return person


def _mention(person: Person | None, fallback: str) -> str:
    return f"<@{person.slack_id}>" if person is not None and person.slack_id else f"*{escape(fallback)}*"


def _clock(held: Claim, person: Person) -> str:
    """When the earlier request was made, on the requester's clock ("10:02 CET")."""
    try:
        zone = ZoneInfo(person.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    at: datetime = held.at.astimezone(zone)
    return at.strftime("%H:%M %Z")
