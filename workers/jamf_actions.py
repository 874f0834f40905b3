"""Jamf jobs: compliance (the rest of the rollout commands land with the Jamf issue)."""

from __future__ import annotations

from typing import Any

from remedy.parallel import parallel
from remedy.remediation.facts import facts_from_issue
from remedy.remediation.measure import Measured, last_snapshot, measure, record, summary_line
from remedy.slack import blocks
from workers.context import job_context, thread_reply


def compliance(origin: dict[str, Any], key: str, **_: Any) -> None:
    """`/remedy compliance KEY`: devices at the target version now, from Jamf inventory, with the
    trend since the last measurement; the snapshot is kept for trends and daily updates."""
    with job_context(origin) as ctx:
        svc = ctx.services
        facts = facts_from_issue(svc.jira.get_issue(key))
        previous = last_snapshot(svc.db, key, facts.target_version)
        count = measure(svc.jamf, facts)
        svc.actions.run_once(ctx.key("snapshot"), "compliance.snapshot", key, do=lambda: record(svc.db, facts, count))
        line = f"📊 *{key}* {summary_line(Measured(facts, count, previous))}"
        parallel([lambda: thread_reply(ctx, key, line, [blocks.section(line)], "compliance"),
                  lambda: ctx.done(line)])
