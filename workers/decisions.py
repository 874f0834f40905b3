"""`rollout next` posts a go/no-go card; its buttons run `decide`.

First press wins (a conditional update on the decision row). Go re-measures before acting: if
the numbers moved materially since the card was posted, the card is marked stale and a fresh one
is posted instead of expanding the rollout on numbers nobody saw.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from remedy.commands.catalog import Role
from remedy.errors import UserError
from remedy.jira.models import Issue
from remedy.notify import notify_decision, watchers_later
from remedy.parallel import parallel
from remedy.remediation import decisions, rings, store
from remedy.remediation.decisions import DecisionView
from remedy.remediation.policies import scope_to
from remedy.remediation.precheck import changed, precheck
from remedy.remediation.store import RemediationView, RingView
from remedy.slack import blocks, rollout_card
from remedy.slack.mrkdwn import escape
from remedy.workflow import moves
from workers.context import JobContext, actor_name, audit, jira_comment, job_context, require_role, thread_reply


def rollout_next(origin: dict[str, Any], key: str, **_: Any) -> None:
    """`/remedy rollout next KEY`: a card in the ticket's thread with the current ring's numbers and
    Go / No-go / Hold for the next ring (only leads and admins may press them)."""
    with job_context(origin) as ctx:
        require_role(ctx, Role.ENGINEER, "Asking for a go/no-go", key)
        known, active, nxt = _next_step(ctx, key)
        decision_id = _post_card(ctx, known, active, nxt, "card")
        ctx.done(f"Go/no-go card for *{escape(nxt.label)}* posted in the *{key}* thread (decision {decision_id}).")


def _next_step(ctx: JobContext, key: str) -> tuple[RemediationView, RingView, RingView]:
    known = store.load(ctx.services.db, key)
    if known is None or known.policy is None or not known.rings:
        raise UserError(f"*{key}* has no Jamf policy yet: run `create jamf policy {key}` first.")
    active = known.active
    if active is None:
        raise UserError(f"*{key}* is not deployed yet: run `deploy pilot {key}` first.")
    nxt = known.next_after(active)
    if nxt is None:
        raise UserError(f"*{key}* already reaches every ring ({escape(active.label)} is the last). When compliance "
                        f"meets the target, `move {key} to verify`.")
    return known, active, nxt


def _measure(ctx: JobContext, known: RemediationView, active: RingView, nxt: RingView) -> dict[str, Any]:
    svc = ctx.services
    now = svc.clock()
    issue, counts = parallel([lambda: svc.jira.get_issue(known.facts.key),
                              lambda: rings.count(svc.jamf, known.facts, known.rings, now)])
    moves_to = svc.workflow_for(issue).rollout_phase if active.position == 0 else None
    return precheck(known, active, nxt, counts, issue, now, moves_to)


def _post_card(ctx: JobContext, known: RemediationView, active: RingView, nxt: RingView, name: str) -> int:
    """Measure, record the decision, post the card in the thread; older pending cards are replaced."""
    svc, key = ctx.services, known.facts.key
    numbers = _measure(ctx, known, active, nxt)
    created = svc.actions.run_once(ctx.key(f"{name}:decision"), "rollout.card", key, do=lambda: str(
        decisions.create(svc.db, key, active.name, nxt.name, numbers, ctx.user, svc.clock())))
    decision_id = int(created.external_id)
    stored = decisions.get(svc.db, decision_id)
    assert stored is not None
    title, blks = rollout_card.card(decision_id, stored.numbers, ctx.user, stored.created_at)
    posted = thread_reply(ctx, key, title, blks, name)
    decisions.set_message(svc.db, decision_id, posted.channel, posted.ts)
    for old in decisions.pending_for(svc.db, key, exclude=decision_id):
        if decisions.supersede(svc.db, old.id):
            _replace_card(ctx, old, "replaced", ctx.user)
    audit(ctx, "rollout.card", key, once_key=ctx.key(f"{name}:audit"), decision=decision_id, numbers=stored.numbers)
    return decision_id


def _replace_card(ctx: JobContext, view: DecisionView, status: str, user: str, reason: str | None = None,
                  detail: str = "") -> None:
    if view.channel_id and view.message_ts:
        text, blks = rollout_card.decided(view.numbers, status, user, ctx.services.clock(), reason, detail)
        ctx.services.poster.update(view.channel_id, view.message_ts, text, blks)


def decide(origin: dict[str, Any], decision: int, choice: str, ticket: str, ring: str,
           reason: str | None = None, **_: Any) -> None:
    """A Go / No-go / Hold press (No-go arrives from its reason modal)."""
    with job_context(origin) as ctx:
        svc = ctx.services
        require_role(ctx, Role.LEAD, "Deciding a rollout", ticket)
        view = decisions.get(svc.db, int(decision))
        if view is None or view.ticket_key != ticket or view.to_ring != ring or choice not in rollout_card.CHOICES:
            audit(ctx, "rollout.refused", ticket, decision=decision, ring=ring, why="button does not match")
            raise UserError("This button does not match a go/no-go card; run `rollout next` again.")
        if not decisions.claim(svc.db, view.id, ctx.user, ctx.job_id, svc.clock()):
            line = _already(ctx, view.id)
            ctx.show(line, [blocks.section(line)])
            return
        if choice == "go":
            _go(ctx, view)
        elif choice == "no-go":
            _no_go(ctx, view, reason or "no reason given")
        else:
            _hold(ctx, view)


def _already(ctx: JobContext, decision_id: int) -> str:
    now = decisions.get(ctx.services.db, decision_id)
    assert now is not None
    if now.status in ("replaced", "stale"):
        return "ℹ️ This card was replaced by a newer one in the thread; decide there."
    who = f"<@{now.decided_by}>" if now.decided_by else "someone"
    when = f" at {now.decided_at:%H:%M} UTC" if now.decided_at else ""
    verdict = {"go": "Go", "no-go": "No-go", "hold": "Hold"}.get(now.status, "a decision in progress")
    return f"ℹ️ Already decided by {who}{when}: *{verdict}*."


def _go(ctx: JobContext, view: DecisionView) -> None:
    svc, key = ctx.services, view.ticket_key
    known = store.load(svc.db, key)
    assert known is not None and known.policy is not None
    source = next(r for r in known.rings if r.name == view.from_ring)
    target = next(r for r in known.rings if r.name == view.to_ring)
    watchers = watchers_later(ctx, key)
    verdict = svc.actions.run_once(ctx.key("recheck"), "rollout.recheck", key,
                                   do=lambda: _recheck(ctx, view, known, source, target)).external_id
    if verdict != "ok":
        _stale(ctx, view, known, source, target, verdict)
        return
    scope = sorted({r.group_id for r in known.rings if r.position <= target.position})
    issue, moved = _expand(ctx, view, known, scope)
    now = svc.clock()
    store.start_ring(svc.db, key, target.name, now)
    store.finish_ring(svc.db, key, source.name, now)
    decisions.finish(svc.db, view.id, "go")
    detail = f"*{escape(target.group_name)}* added to policy {known.policy.policy_id}'s scope.{moved}"
    parallel([lambda: _replace_card(ctx, view, "go", ctx.user, detail=detail),
              lambda: notify_decision(ctx, view, "go", None, issue, watchers)])
    audit(ctx, "jamf.rollout.go", key, decision=view.id, ring=target.name, scope=scope, numbers=view.numbers)
    ctx.done(f"Go: *{key}* now rolls out to *{escape(target.label)}*.{moved}")


def _expand(ctx: JobContext, view: DecisionView, known: RemediationView, scope: list[int]) -> tuple[Issue | None, str]:
    """Widen both policies' scope and, leaving the pilot, move the ticket: Jamf's two writes and Jira's
    walk touch different things, so they go side by side (each absolute, safe to repeat on a rerun).
    The ticket as moved (for the notification) and the sentence saying so."""
    svc, key, policy = ctx.services, view.ticket_key, known.policy
    assert policy is not None
    rollback, target = policy.rollback_policy_id, view.numbers.get("moves_to")

    def walk() -> tuple[Issue | None, str]:
        if not target:
            return None, ""
        issue, result = moves.move(svc.jira, key, target, svc.templates, svc.actions, ctx.job_id)
        return issue, f" Ticket moved to *{escape(result.target)}*." if result.moved else ""

    found, *_ = parallel([walk, lambda: scope_to(svc.jamf, policy.policy_id, scope),
                          lambda: scope_to(svc.jamf, rollback, scope) if rollback is not None else None])
    issue, moved = found
    return issue, moved


def _recheck(ctx: JobContext, view: DecisionView, known: RemediationView, source: RingView,
             target: RingView) -> str:
    if source.status != "active" or target.status != "pending":
        return f"the rollout moved on since the card was posted ({escape(source.label)} is {source.status})"
    fresh = _measure(ctx, known, source, target)
    age = ctx.services.clock() - view.created_at
    limit = timedelta(hours=ctx.services.settings.REMEDY_DECISION_MAX_AGE_HOURS)
    return changed(view.numbers, fresh, age, limit) or "ok"


def _stale(ctx: JobContext, view: DecisionView, known: RemediationView, source: RingView, target: RingView,
           why: str) -> None:
    svc = ctx.services
    decisions.finish(svc.db, view.id, "stale", reason=why)
    _replace_card(ctx, view, "stale", ctx.user, reason=why)
    audit(ctx, "rollout.stale", view.ticket_key, decision=view.id, why=why)
    fresh = known.active is not None and known.active.name == source.name and target.status == "pending"
    if fresh:
        new_id = _post_card(ctx, known, source, target, "recheck-card")
        line = f"♻️ Not expanded: {escape(why)}. A fresh card (decision {new_id}) is in the thread; decide again."
    else:
        line = f"♻️ Not expanded: {escape(why)}."
    ctx.show(line, [blocks.section(line)])


def _no_go(ctx: JobContext, view: DecisionView, reason: str) -> None:
    svc, key = ctx.services, view.ticket_key
    decisions.finish(svc.db, view.id, "no-go", reason=reason)
    n = view.numbers
    text = (f"No-go for {n['next_label']} by {actor_name(ctx)}: {reason}\n"
            f"{n['ring_label']} was at {n['rate']:.1f}% ({n['compliant']}/{n['with_app']} Macs, threshold "
            f"{n['threshold']:g}%), {n['failures']} failures.\n\n— via remedy")
    comment_id = jira_comment(ctx, key, text, ctx.key("nogo-comment"))
    _replace_card(ctx, view, "no-go", ctx.user, reason=reason)
    audit(ctx, "rollout.no-go", key, decision=view.id, ring=view.to_ring, reason=reason, numbers=n,
          comment_id=comment_id)
    ctx.done(f"No-go recorded for *{key}* → *{escape(n['next_label'])}*, and commented on the Jira ticket.")
    notify_decision(ctx, view, "no-go", reason)


def _hold(ctx: JobContext, view: DecisionView) -> None:
    decisions.finish(ctx.services.db, view.id, "hold")
    _replace_card(ctx, view, "hold", ctx.user)
    audit(ctx, "rollout.hold", view.ticket_key, decision=view.id, ring=view.to_ring, numbers=view.numbers)
    ctx.done(f"Hold recorded: *{view.ticket_key}* stays on *{escape(view.numbers['ring_label'])}*.")
    notify_decision(ctx, view, "hold", None)
