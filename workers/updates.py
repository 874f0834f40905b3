"""`/remedy daily update KEY [--no-jira]` and `/remedy daily updates`.

An update is decided once, then published: the facts are computed (Jira, Jamf inventory through the
same code as `compliance`, remedy's records), the compliance snapshot is kept, and the `daily.update`
audit event stores the facts. A rerun of the job finds that event and publishes the very same facts,
so nothing is measured or recorded twice. Publishing is the reply in the ticket's thread (found again
by its key), the Jira comment (found again by its marker) and the chart (once per reply).

An update where nothing moved since the previous one (same phase, numbers and blockers, no decision)
is one "No change since …" line in the thread, with no Jira comment and no chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remedy.commands.catalog import Role
from remedy.jira.models import Issue
from remedy.parallel import parallel
from remedy.remediation import decisions, store
from remedy.remediation.facts import Facts, facts_from_issue
from remedy.remediation.progress import Early, keep, measure_early, measured
from remedy.remediation.store import RemediationView
from remedy.slack import blocks
from remedy.slack.cards import browse_url, phase_name
from remedy.slack.mrkdwn import SECTION_TEXT_MAX, escape, truncate
from remedy.updates import daily, wording
from remedy.updates.chart import compliance_chart, share
from remedy.updates.history import (
    ACTION,
    StoredUpdate,
    active_remediations,
    own_and_previous,
    phase_start,
    stored_updates,
)
from workers.context import PERMANENT, JobContext, audit, jira_comment, job_context, require_role, thread_reply


@dataclass(frozen=True)
class Published:
    key: str
    facts: dict[str, Any] | None  # None: the update could not be made (``error`` says why)
    comment_id: str | None = None
    file_id: str | None = None
    error: str | None = None


def daily_update(origin: dict[str, Any], key: str, no_jira: bool = False, **_: Any) -> None:
    with job_context(origin) as ctx:
        require_role(ctx, Role.ENGINEER, "Writing a daily update", key)
        done = publish(ctx, key, no_jira)
        assert done.facts is not None
        if done.facts.get("unchanged"):
            ctx.done(f"No change on *{key}* since {done.facts['unchanged_since']}: said so in its thread "
                     "in one line, and nothing was posted to Jira.")
            return
        where = "" if no_jira else " and as a Jira comment"
        ctx.done(f"Daily update for *{key}* posted in its thread{where}.")


def daily_updates(origin: dict[str, Any], **_: Any) -> None:
    """Every active remediation, side by side; each update in its own ticket's thread and on its Jira
    ticket (this command has no --no-jira: it is the team's daily round), one summary for the user."""
    with job_context(origin) as ctx:
        require_role(ctx, Role.ENGINEER, "Writing the daily updates", "daily-updates")
        keys = active_remediations(ctx.services.db)
        if not keys:
            ctx.done("No active remediations: nothing has a Jamf policy or a ring in progress.")
            return
        results: list[Published] = parallel([lambda k=k: _guarded(ctx, k) for k in keys])  # type: ignore[misc]
        text = _summary(results)
        ctx.show(text, [blocks.section(truncate(text, SECTION_TEXT_MAX))])


def _guarded(ctx: JobContext, key: str) -> Published:
    """One ticket's refusal (no app facts in its description, Jira forbids a comment…) is told in the
    summary; anything a retry may cure propagates after all tickets ran, and the retried job publishes
    what is missing (the others find their work done)."""
    try:
        return publish(ctx, key, no_jira=False)
    except PERMANENT as exc:
        return Published(key, None, error=str(exc))


def publish(ctx: JobContext, key: str, no_jira: bool) -> Published:
    svc = ctx.services
    known = store.load(svc.db, key)
    own, previous = own_and_previous(stored_updates(svc.db, key), ctx.job_id)
    early = measure_early(svc.jamf, svc.db, known, svc.clock()) if own is None else None
    issue = svc.jira.get_issue(key)
    facts = own.facts if own is not None else decide_facts(ctx, issue, known, previous, no_jira, early)
    if facts.get("unchanged"):
        line = "💤 " + escape(wording.no_change_line(facts, facts["unchanged_since"]))
        thread_reply(ctx, issue, line, [blocks.section(line)], f"daily:{key}:reply")
        return Published(key, facts)
    return _publish_changed(ctx, issue, known, facts, no_jira)


def decide_facts(ctx: JobContext, issue: Issue, known: RemediationView | None, previous: StoredUpdate | None,
                 no_jira: bool, early: Early | None = None) -> dict[str, Any]:
    """Measure (or take ``early``'s measurement when the ticket names the same app and version), keep the
    snapshot, compute the facts, and record them in the audit trail."""
    svc, key = ctx.services, issue.key
    now = svc.clock()
    progress = measured(svc.jamf, svc.db, facts_from_issue(issue), known, now, early)
    svc.actions.run_once(ctx.key(f"daily:{key}:snapshot"), "compliance.snapshot", key,
                         do=lambda: keep(svc.db, progress))
    workflow = svc.workflow_for(issue)
    phase = phase_name(issue, workflow)
    start = phase_start(svc.db, key, phase, workflow.pilot_phase, issue.created)
    inputs = daily.Inputs(issue, phase, start, known, progress, previous, decisions.for_ticket(svc.db, key),
                          lambda user: _name(ctx, user), _suggestion(ctx, issue), now)
    facts = daily.build(inputs)
    if daily.unchanged(facts, previous):
        assert previous is not None
        facts |= {"unchanged": True, "unchanged_since": daily.unchanged_since(previous)}
    audit(ctx, ACTION, key, facts=facts, jira_comment=not (no_jira or facts.get("unchanged")))
    return facts


def _publish_changed(ctx: JobContext, issue: Issue, known: RemediationView | None, facts: dict[str, Any],
                     no_jira: bool) -> Published:
    svc, key = ctx.services, issue.key
    url = browse_url(svc.settings.JIRA_URL, key)
    head = f"📅 *Daily update · {f'<{url}|{key}>' if url else key}* {escape(issue.summary)}"
    drawn = Facts(key, str(facts["app"]), "", str(facts["target_version"]))
    worded, chart = parallel([
        lambda: wording.word(svc.llm, facts, head, f"Daily update, {facts['as_of']}"),
        lambda: compliance_chart(svc.db, drawn, known.rings if known is not None else ())])
    blks = wording.slack_blocks(worded.slack, facts, worded.by_model)
    comment_id, file_id = parallel([  # Jira's comment and Slack's thread (then its chart) side by side
        lambda: None if no_jira else jira_comment(ctx, key, worded.jira, ctx.key(f"daily:{key}:comment")),
        lambda: share(svc.poster, thread_reply(ctx, issue, worded.slack, blks, f"daily:{key}:reply"), chart)])
    return Published(key, facts, comment_id, file_id)


def _name(ctx: JobContext, slack_id: str) -> str:
    person = ctx.services.team.by_slack_id(slack_id)
    return person.name if person else slack_id


def _suggestion(ctx: JobContext, issue: Issue) -> tuple[str, str] | None:
    """The phase's first suggested step, for a ticket without a rollout (as `sync` picks it)."""
    phase = ctx.services.workflow_for(issue).phase_for_status(issue.status)
    if phase is None:
        return None
    if phase.analysis:
        return phase.analysis[0].label, phase.analysis[0].command
    return (phase.suggest[0], phase.suggest[0]) if phase.suggest else None


def _summary(results: list[Published]) -> str:
    made = [r for r in results if r.facts is not None]
    commented = sum(1 for r in made if r.comment_id)
    head = (f"📅 Daily updates for {len(results)} active remediation{'s' if len(results) != 1 else ''}: each in its "
            f"ticket's thread, {commented} also as a Jira comment")
    lines = [head]
    for r in results:
        if r.facts is None:
            lines.append(f"• ❌ *{r.key}*: {r.error}")
        else:
            lines.append(f"• *{r.key}* {escape(wording.summary_line(r.facts))}")
    return "\n".join(lines)
