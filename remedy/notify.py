"""Tell the people who care when a ticket changes phase or a go/no-go is decided.

Two audiences: the stakeholder channel (``REMEDY_STAKEHOLDER_CHANNEL``: one reply in the ticket's
thread there) and the ticket's Jira watchers (a DM each; the person who made the change is left
out). Every message carries an idempotency key of (job, event, recipient), so a retried job sends
nothing twice.

A notification reports work that is already done and answered ✅, so it never fails that work: a
recipient Slack refuses, a watcher the team directory can't place, or Jira not answering is
logged, counted and audited instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

from remedy.jira.models import Issue, JiraUser
from remedy.parallel import later, parallel
from remedy.queue import Origin
from remedy.remediation.decisions import DecisionView
from remedy.services import Services
from remedy.slack import blocks, cards
from remedy.slack.mrkdwn import escape
from remedy.team.directory import Directory, Person
from remedy.workflow.moves import MoveResult

log = logging.getLogger("remedy.notify")
T = TypeVar("T")
Wording = Callable[[str], str]  # the ticket as shown ("*CPE-3301*" in its thread) → the line


class JobLike(Protocol):
    """What a notification needs of the job it reports on (``workers.context.JobContext``)."""

    @property
    def services(self) -> Services: ...

    @property
    def origin(self) -> Origin: ...

    @property
    def user(self) -> str: ...

    @property
    def job_id(self) -> str: ...

    def key(self, name: str) -> str: ...


@dataclass
class Notified:
    channel: str | None = None  # the stakeholder channel, when the post is there
    dms: list[str] = field(default_factory=list)  # Slack ids of the watchers told
    unknown: int = 0  # watchers with no Slack id in the team directory: skipped
    failed: dict[str, str] = field(default_factory=dict)  # "channel" or a Slack id → why not


Watchers = Callable[[], list[JiraUser] | None]  # the ticket's watchers, read while the job does its work


def watchers_later(ctx: JobLike, key: str) -> Watchers:
    """Start reading ``key``'s watchers now, beside the job's own calls (a move does not change them),
    so the notification that follows the change waits for no Jira read of its own."""
    return later(partial(_quietly, f"read the watchers of {key}", partial(ctx.services.jira.watchers, key)))


def notify_phase_change(ctx: JobLike, key: str, result: MoveResult, issue: Issue | None = None,
                        watchers: Watchers | None = None) -> Notified | None:
    """After a move; None when this job moved nothing (the ticket was there already). ``issue`` is the
    ticket as the move left it and ``watchers`` their read started beforehand; either is read when not given."""
    start = _owed(ctx, key, result)
    if start is None:
        return None
    who = _actor(ctx)
    moved = f"{escape(start)} → *{escape(result.target)}*" if start else f"to *{escape(result.target)}*"
    return _notify(ctx, key, "phase", lambda ticket: f"➡️ {ticket} moved {moved} by *{who}*", issue, watchers)


def notify_decision(ctx: JobLike, view: DecisionView, status: str, reason: str | None,
                    issue: Issue | None = None, watchers: Watchers | None = None) -> Notified:
    """After a go, no-go or hold on a rollout card (``status`` as the card records it)."""
    return _notify(ctx, view.ticket_key, "decision",
                   partial(_decision_line, status, view.numbers, _actor(ctx), reason), issue, watchers)


def _decision_line(status: str, n: dict[str, Any], who: str, reason: str | None, ticket: str) -> str:
    nxt, ring = escape(str(n.get("next_label", "the next ring"))), escape(str(n.get("ring_label", "the ring")))
    failures = int(n.get("failures") or 0)
    seen = (f"{ring} at {float(n.get('rate') or 0):.1f}% ({n.get('compliant', 0)}/{n.get('with_app', 0)} Macs, "
            f"threshold {float(n.get('threshold') or 0):g}%), {failures} failure{'s' if failures != 1 else ''}")
    if status == "go":
        moves = f" The ticket moves to *{escape(str(n['moves_to']))}*." if n.get("moves_to") else ""
        return f"✅ *Go* for *{nxt}* on {ticket} by *{who}*: {seen}.{moves}"
    if status == "no-go":
        return f"🛑 *No-go* for *{nxt}* on {ticket} by *{who}*: {escape(reason or 'no reason given')}. {seen}."
    return f"⏸ *Hold* on {ticket} by *{who}*: it stays on *{ring}* ({seen})."


def _owed(ctx: JobLike, key: str, result: MoveResult) -> str | None:
    """The phase the ticket left when this job moved it; "" when a rerun of that job finds it moved
    already and the phase is lost; None when the job moved nothing."""
    marker, actions = ctx.key("notify:phase"), ctx.services.actions
    if result.moved:
        # Recorded before anything is sent: a rerun reads the ticket as already moved, and must
        # still finish what this job owes rather than go quiet.
        return actions.run_once(marker, "notify.owed", key, do=lambda: result.start).external_id
    if actions.status(marker) is None:
        return None
    return actions.run_once(marker, "notify.owed", key, do=lambda: "").external_id


def _notify(ctx: JobLike, key: str, event: str, line: Wording, known: Issue | None = None,
            later: Watchers | None = None) -> Notified:
    svc, done = ctx.services, Notified()
    issue, watchers = parallel([
        (lambda: known) if known is not None else partial(_quietly, f"read {key}", partial(svc.jira.get_issue, key)),
        later or partial(_quietly, f"read the watchers of {key}", partial(svc.jira.watchers, key))])
    people, done.unknown = recipients(svc.team, watchers or [], exclude=ctx.user)
    channel = _stakeholder_channel(ctx)
    if channel is not None:
        error = _attempt(f"post in {channel}", partial(_post_channel, ctx, channel, key, issue, line(f"*{key}*"),
                                                       event))
        done.channel = None if error else channel
        if error:
            done.failed["channel"] = error
    text = line(_ticket_label(svc, key, issue))
    errors = parallel([partial(_attempt, f"DM {p.handle}", partial(_dm, ctx, p, key, text, event)) for p in people])
    for person, error in zip(people, errors, strict=True):
        if error:
            done.failed[str(person.slack_id)] = error
        else:
            done.dms.append(str(person.slack_id))
    svc.audit.append(ctx.user, "notify.stakeholders", key, source="slack",
                     data={"job": ctx.job_id, "event": event, "channel": done.channel, "recipients": done.dms,
                           "unknown_watchers": done.unknown, "failed": done.failed,
                           "watchers_read": watchers is not None},
                     once_key=ctx.key(f"audit:notify.stakeholders:{event}"))
    return done


def recipients(team: Directory, watchers: list[JiraUser], exclude: str) -> tuple[list[Person], int]:
    """The watchers the team directory knows (by Jira account, then email), each once, without
    ``exclude`` (the Slack id of whoever made the change); and how many could not be placed."""
    by_account = {p.jira_account_id: p for p in team.people if p.jira_account_id}
    by_email = {p.email.lower(): p for p in team.people if p.email}
    found: dict[str, Person] = {}
    unknown = 0
    for watcher in watchers:
        person = by_account.get(watcher.account_id) or by_email.get((watcher.email or "").lower())
        if person is None or not person.slack_id or not watcher.active:
            unknown += 1
        elif person.slack_id != exclude:
            found.setdefault(person.slack_id, person)
    return list(found.values()), unknown


def _stakeholder_channel(ctx: JobLike) -> str | None:
    settings = ctx.services.settings
    channel = settings.REMEDY_STAKEHOLDER_CHANNEL or None
    # The job's own answer already sits in the ticket's thread of the channel it ran in: a second
    # line there would say the same thing twice.
    return None if channel == (ctx.origin.channel_id or settings.REMEDY_HOME_CHANNEL) else channel


def _post_channel(ctx: JobLike, channel: str, key: str, issue: Issue | None, text: str, event: str) -> None:
    svc = ctx.services

    def fresh() -> str:
        read = svc.jira.get_issue(key)
        return cards.status_line(read, svc.workflow_for(read), svc.settings.JIRA_URL)

    # With the ticket read after the change, the thread's title line shows the new phase at once, in the
    # words of the ticket's own workflow template.
    status = cards.status_line(issue, svc.workflow_for(issue), svc.settings.JIRA_URL) if issue else fresh
    svc.poster.reply(channel, key, status, text, [blocks.section(text)], ctx.key(f"notify:{event}:channel"))


def _dm(ctx: JobLike, person: Person, key: str, text: str, event: str) -> None:
    assert person.slack_id
    why = blocks.context(f"You watch {key} in Jira; stop watching it there to stop these messages.")
    ctx.services.poster.dm(person.slack_id, text, [blocks.section(text), why],
                           ctx.key(f"notify:{event}:dm:{person.slack_id}"))


def _ticket_label(svc: Services, key: str, issue: Issue | None) -> str:
    url = cards.browse_url(svc.settings.JIRA_URL, key)
    shown = f"*<{url}|{key}>*" if url else f"*{key}*"
    return f"{shown} ({escape(issue.summary)})" if issue else shown


def _actor(ctx: JobLike) -> str:
    """Who made the change, as mrkdwn: their name, or a mention Slack resolves for a stranger."""
    person = ctx.services.team.by_slack_id(ctx.user)
    return escape(person.name) if person else f"<@{ctx.user}>"


def _quietly(what: str, call: Callable[[], T]) -> T | None:
    """A read the notification can do without: the channel post still goes out without the summary."""
    try:
        return call()
    except Exception:  # see _attempt
        log.warning("notification: could not %s", what, exc_info=True)
        return None


def _attempt(what: str, call: Callable[[], None]) -> str | None:
    """Run one send; the reason it failed, or None. Whatever goes wrong (Slack refusing, Slack or
    the database unreachable) concerns this one recipient, never the work already done; the
    traceback goes to the log."""
    try:
        call()
    except Exception as exc:  # a notification must not fail the job it reports on
        log.warning("notification: could not %s", what, exc_info=True)
        return str(getattr(exc, "error", "") or type(exc).__name__)
    return None
