"""Jamf rollout jobs: `create jamf policy` and `deploy pilot` (with the package-validation gate and its override).

Both are safe to run again: policies are found by their ticket-derived name before anything is
created, scope and enable are absolute settings, and a ring starts once (a conditional update).
"""

from __future__ import annotations

from typing import Any

from remedy.commands.catalog import Role
from remedy.errors import UserError
from remedy.jira.models import Issue
from remedy.notify import notify_phase_change, watchers_later
from remedy.packages import records
from remedy.parallel import parallel
from remedy.remediation import plan, store
from remedy.remediation.facts import Facts, facts_from_issue
from remedy.remediation.policies import Ensured, ensure_policy, scope_to
from remedy.remediation.store import PolicyIds, RemediationView, RingView
from remedy.slack.mrkdwn import escape
from remedy.workflow import moves
from workers.context import JobContext, actor_name, audit, job_context, report, require_role


def create_policy(origin: dict[str, Any], key: str, **_: Any) -> None:
    """`/remedy create jamf policy KEY`: the install policy (disabled, scoped to the pilot ring's
    group) and, when an older package exists, the rollback policy — created once, updated on reruns."""
    with job_context(origin) as ctx:
        require_role(ctx, Role.ENGINEER, "Creating a Jamf policy", key)
        svc = ctx.services
        # Jamf's packages and groups don't depend on the ticket: read beside it.
        issue, packages, groups = parallel([lambda: svc.jira.get_issue(key), svc.jamf.packages,
                                            svc.jamf.computer_groups])
        facts = facts_from_issue(issue)
        chosen = plan.choose_packages(facts, packages)
        rings = plan.ring_plan(svc.workflow_for(issue), facts, groups)
        known = store.load(svc.db, key)
        scope = [r.group_id for r in (known.scoped if known and known.scoped else rings[:1])]
        # One after the other, not side by side: Jamf numbers policies as they arrive, and the install
        # policy before its rollback keeps ids predictable for the people reading them in Jamf.
        main = ensure_policy(svc.jamf, plan.policy_name(facts), chosen.target.id, scope)
        rollback = None
        if chosen.rollback is not None and chosen.rollback_version is not None:
            rollback = ensure_policy(svc.jamf, plan.rollback_policy_name(facts, chosen.rollback_version),
                                     chosen.rollback.id, scope)
        ids = PolicyIds(chosen.target.id, chosen.target.file_name, main.policy_id,
                        chosen.rollback.id if chosen.rollback else None,
                        chosen.rollback.file_name if chosen.rollback else None, chosen.rollback_version,
                        rollback.policy_id if rollback else None)
        store.save_policy(svc.db, facts, ids)
        store.plan_rings(svc.db, key, rings)
        _report_policy(ctx, facts, ids, main, rollback, rings)


def _report_policy(ctx: JobContext, facts: Facts, ids: PolicyIds, main: Ensured, rollback: Ensured | None,
                   rings: list[RingView]) -> None:
    verb = "created" if main.created else "updated"
    state = "enabled" if main.enabled else "disabled until `deploy pilot`"
    lines = [f"🧩 Jamf policy *{escape(plan.policy_name(facts))}* (id {main.policy_id}) {verb}, {state}",
             f"• Installs *{escape(ids.package_name)}* ({escape(facts.app_name)} {escape(facts.target_version)}) "
             "at recurring check-in, once per computer",
             f"• Scope: {_groups(main.group_ids, rings)}",
             "• Rings: " + " → ".join(f"{escape(r.label)} ({escape(r.group_name)}, ≥ {r.threshold:g}%, "
                                      f"soak {r.soak_hours:g} h)" for r in rings)]
    if rollback is not None:
        lines.append(f"• Rollback: *{escape(plan.rollback_policy_name(facts, ids.rollback_version or ''))}* "
                     f"(id {rollback.policy_id}) installs *{escape(ids.rollback_package_name or '')}*, "
                     f"{'enabled ⚠️' if rollback.enabled else 'disabled until needed'}")
    else:
        lines.append("• ⚠️ No rollback: Jamf has no older package of this app. Upload one and run this again.")
    done = f"Jamf policy for *{facts.key}* {verb} (id {main.policy_id})."
    report(ctx, facts.key, "\n".join(lines), done, "jamf.policy", policy_id=main.policy_id, created=main.created,
           package_id=ids.package_id, rollback_policy_id=ids.rollback_policy_id)


def _groups(group_ids: tuple[int, ...], rings: list[RingView]) -> str:
    names = {r.group_id: r.group_name for r in rings}
    return ", ".join(escape(names.get(g, f"group {g}")) for g in group_ids) or "nobody"


def deploy_pilot(origin: dict[str, Any], key: str, override_reason: str | None = None, **_: Any) -> None:
    """`/remedy deploy pilot KEY [override because …]`: the ticket moves to Pilot (its exit checks
    permitting: leaving Build & Test needs a passing `validate package`, which a lead may override with a
    reason), then the policy is scoped to the pilot group and enabled; the pilot ring's clock starts."""
    with job_context(origin) as ctx:
        if override_reason:
            require_role(ctx, Role.LEAD, "Overriding the package validation", key)
        require_role(ctx, Role.ENGINEER, "Deploying to the pilot ring", key)
        svc = ctx.services
        known = _planned(ctx, key)
        assert known.policy is not None
        pilot = known.rings[0]
        if pilot.status != "pending" and not _is_retry(ctx, pilot):
            since = f" since {pilot.started_at:%Y-%m-%d %H:%M} UTC" if pilot.started_at else ""
            raise UserError(f"*{key}* is already deployed to *{escape(pilot.label)}*{since}. "
                            f"Next: `compliance {key}`, then `rollout next {key}`.")
        watchers = watchers_later(ctx, key)
        gates, overridden = _gates(ctx, key, override_reason)
        moved, result = moves.move(svc.jira, key, moves.PILOT, svc.templates, svc.actions, ctx.job_id, gates=gates)
        members = _open_pilot(ctx, known, pilot)
        via = f" (ticket {escape(result.start)} → *{escape(result.target)}*)" if result.moved else ""
        line = (f"🚀 *{key}* deployed to *{escape(pilot.label)}*: policy {known.policy.policy_id} enabled for "
                f"*{escape(pilot.group_name)}* ({members} Macs){via}. They install at their next check-in; "
                f"`compliance {key}` shows progress.{_override_note(ctx, overridden, override_reason)}")
        policy_id = known.policy.policy_id
        parallel([lambda: report(ctx, moved, line, f"*{key}* is deploying to *{escape(pilot.label)}* ({members} Macs).",
                                 "jamf.deploy", ring=pilot.name, group_id=pilot.group_id, policy_id=policy_id),
                  lambda: notify_phase_change(ctx, key, result, moved, watchers)])


def _open_pilot(ctx: JobContext, known: RemediationView, pilot: RingView) -> int:
    """Scope and enable the policy for the pilot group, scope the rollback alike, start the ring's clock;
    the group's size (for the answer). The three Jamf calls touch different things: side by side."""
    svc, policy = ctx.services, known.policy
    assert policy is not None
    rollback = policy.rollback_policy_id
    members, *_ = parallel([
        lambda: len(svc.jamf.group_members(pilot.group_id)),
        lambda: scope_to(svc.jamf, policy.policy_id, [pilot.group_id], enable=True),
        # rollback covers the Macs that got the update
        lambda: scope_to(svc.jamf, rollback, [pilot.group_id]) if rollback is not None else None])
    svc.actions.run_once(ctx.key("ring-start"), "ring.start", known.facts.key,
                         do=lambda: str(store.start_ring(svc.db, known.facts.key, pilot.name, svc.clock())))
    return int(members)


def _gates(ctx: JobContext, key: str, override_reason: str | None) -> tuple[moves.Gates, list[str]]:
    """The exit checks remedy evaluates beyond the ticket. Under a lead's override the package check still
    runs, so the audit records what was overridden (when the move consults it), but it no longer blocks."""
    package = records.gate(ctx.services.db, ctx.services.jamf, early_for=key)
    if not override_reason:
        return {"package_validated": package}, []
    overridden: list[str] = []

    def overriding(issue: Issue) -> list[str]:
        overridden.extend(package(issue) or ["nothing failed: the package had passed"])
        audit(ctx, "jamf.package.override", key, reason=override_reason, overridden=overridden)
        return []

    return {"package_validated": overriding}, overridden


def _override_note(ctx: JobContext, overridden: list[str], reason: str | None) -> str:
    if not overridden:
        return ""
    return (f"\n⚠️ Package validation overridden by *{escape(actor_name(ctx))}* because "
            f"“{escape(reason or '')}”: {' '.join(overridden)}")


def _planned(ctx: JobContext, key: str) -> RemediationView:
    known = store.load(ctx.services.db, key)
    if known is None or known.policy is None or not known.rings:
        raise UserError(f"*{key}* has no Jamf policy yet: run `create jamf policy {key}` first.")
    return known


def _is_retry(ctx: JobContext, ring: RingView) -> bool:
    """This job started the ring before it was interrupted: finish the deploy instead of refusing."""
    return ring.status == "active" and ctx.services.actions.status(ctx.key("ring-start")) is not None
