"""Rollback jobs: `rollback status` (a read-only answer, also shown in the ticket's thread) and `validate
rollback` (the same checks plus the install policy's, recorded as a validation). Both are audited.

Both only read Jamf, so a retried job asks again and answers the same; the thread reply and the
audit event are once per command. The checks themselves live in :mod:`remedy.remediation.rollback`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from remedy.commands.catalog import Role
from remedy.jamf.client import JamfClient
from remedy.jamf.errors import JamfError, JamfNotFound
from remedy.parallel import parallel
from remedy.remediation import rollback, store
from remedy.remediation.facts import Facts, facts_from_issue
from remedy.remediation.rollback import Check, Found
from remedy.remediation.store import PolicyIds
from remedy.slack import blocks
from remedy.slack.mrkdwn import escape
from workers.context import JobContext, actor_name, audit, job_context, require_role, thread_reply

log = logging.getLogger("remedy.jobs")
T = TypeVar("T")


def rollback_status(origin: dict[str, Any], key: str, **_: Any) -> None:
    """`/remedy rollback status KEY`: "Rollback ready ✅" or what is missing, one line per check, to
    the user and in the ticket's thread; the read is audited (``read.rollback_status``)."""
    with job_context(origin) as ctx:
        require_role(ctx, Role.VIEWER, "Checking rollback readiness", key)
        facts, ids, results = _check(ctx, key, validate=False)
        text = f"*{key}*: {rollback.summary(results)}\n{rollback.lines(results)}"
        thread = f"🔁 *{escape(actor_name(ctx))}* checked the rollback of {text}"
        parallel([
            lambda: thread_reply(ctx, key, thread, [blocks.section(thread)], "rollback-status"),
            lambda: audit(ctx, "read.rollback_status", key, ok=rollback.problems(results) == 0,
                          problems=rollback.problems(results), app=facts.app_name,
                          target_version=facts.target_version,
                          rollback_policy_id=ids.rollback_policy_id if ids else None),
            lambda: ctx.show(text, [blocks.section(text)]),
        ])


def validate_rollback(origin: dict[str, Any], key: str, **_: Any) -> None:
    """`/remedy validate rollback KEY`: the readiness checks plus the install policy's, posted in the
    ticket's thread and audited. A failed check is a result, not a crash: the job ends ❌ with the lines."""
    with job_context(origin) as ctx:
        require_role(ctx, Role.ENGINEER, "Validating the rollback", key)
        facts, ids, results = _check(ctx, key, validate=True)
        verdict, detail = rollback.summary(results), rollback.lines(results)
        thread = f"🧪 *{escape(actor_name(ctx))}* validated the rollback of *{key}*: {verdict}\n{detail}"
        ok = rollback.problems(results) == 0
        answer = (f"Rollback of *{key}* is ready: all {len(results)} checks pass.\n{detail}" if ok else
                  f"Rollback of *{key}* is NOT ready: {verdict.split(': ', 1)[-1]}\n{detail}")
        parallel([
            lambda: thread_reply(ctx, key, thread, [blocks.section(thread)], "jamf.rollback.validate"),
            lambda: audit(ctx, "jamf.rollback.validate", key, ok=ok, problems=rollback.problems(results),
                          checks=[{"ok": c.ok, "line": c.line} for c in results], app=facts.app_name,
                          target_version=facts.target_version, policy_id=ids.policy_id if ids else None,
                          rollback_policy_id=ids.rollback_policy_id if ids else None),
            lambda: ctx.done(answer) if ok else ctx.fail(answer),
        ])


def _check(ctx: JobContext, key: str, validate: bool) -> tuple[Facts, PolicyIds | None, list[Check]]:
    svc = ctx.services
    known = store.load(svc.db, key)
    # What `create jamf policy` recorded is what its policies were made for; without it, the ticket says.
    facts = known.facts if known is not None else facts_from_issue(svc.jira.get_issue(key))
    ids = known.policy if known is not None else None
    found = _read_jamf(svc.jamf, ids) if ids is not None else Found()
    return facts, ids, rollback.checks(facts, ids, found, validate=validate)


def _read_jamf(jamf: JamfClient, ids: PolicyIds) -> Found:
    rollback_id = ids.rollback_policy_id
    policy, install, names = parallel([
        lambda: _unless_missing(jamf.get_policy, rollback_id) if rollback_id is not None else None,
        lambda: _unless_missing(jamf.get_policy, ids.policy_id),
        lambda: _group_names(jamf),
    ])
    package = None
    if policy is not None and len(policy.package_ids) == 1:
        package = _unless_missing(jamf.package, policy.package_ids[0])
    return Found(policy, package, install, names)


def _unless_missing(read: Callable[[int], T], ident: int) -> T | None:
    """What Jamf has under ``ident``, or None when it has nothing there (deleted in Jamf)."""
    try:
        return read(ident)
    except JamfNotFound:
        return None


def _group_names(jamf: JamfClient) -> dict[int, str]:
    # Names only make the scope line friendlier: without them it still names the group ids.
    try:
        return {g.id: g.name for g in jamf.computer_groups()}
    except JamfError as exc:
        log.info("smart group names unavailable for the rollback check: %s", exc)
        return {}
