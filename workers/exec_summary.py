"""`/remedy exec summary [scope] [week|month|quarter]`: the leadership one-pager in the channel (numbers,
top risks) with its markdown document and coverage chart in the message's thread; and the weekly post to
REMEDY_LEADERSHIP_CHANNEL from cron, once per week however often cron or a retry runs it."""

from __future__ import annotations

from typing import Any

from remedy.bulk.scope import resolve
from remedy.execsummary import render
from remedy.execsummary.facts import ExecFacts, build
from remedy.insights.gather import gather
from remedy.insights.risks import evaluate
from remedy.insights.settings import load_insight_settings
from remedy.jira.jql import in_list
from remedy.jira.models import Issue
from remedy.services import Services
from remedy.slack.poster import Posted
from workers.context import JobContext, audit, job_context

_NOT_REMEDIATIONS = ("epic", "sub-task", "subtask")  # they share statuses but remediate nothing themselves


def exec_summary(origin: dict[str, Any], scope: dict[str, Any] | None = None, period: str = "week",
                 **_: Any) -> None:
    with job_context(origin) as ctx:
        svc = ctx.services
        issues, label = _scoped(ctx, scope or {})
        facts = _facts(svc, issues, label, period)
        posted = _publish(ctx, facts, ctx.channel, ctx.key("summary"))
        ctx.done(f"Executive summary for {label} (last {period}) posted, with its document and chart in the "
                 f"thread (message {posted.ts}).")


def weekly(origin: dict[str, Any], slot: str = "", late: bool = False, **_: Any) -> str | None:
    """Cron: the week's summary of every remediation to the leadership channel (none configured: none)."""
    with job_context(origin) as ctx:
        channel = ctx.services.settings.REMEDY_LEADERSHIP_CHANNEL
        if not channel:
            return None
        facts = _facts(ctx.services, _everything(ctx.services), "all remediations", "week")
        # One per channel and slot: a second cron process or a retried job finds this post and stops.
        return _publish(ctx, facts, channel, f"exec-summary:{channel}:{slot}").ts
    return None


def _everything(svc: Services) -> list[Issue]:
    statuses = svc.templates.statuses()  # every template's: each ticket is counted in its own phases
    return [i for i in svc.jira.search(in_list("status", statuses) + " ORDER BY key ASC", max_results=100)
            if i.issue_type.casefold() not in _NOT_REMEDIATIONS]


def _scoped(ctx: JobContext, scope: dict[str, Any]) -> tuple[list[Issue], str]:
    svc = ctx.services
    if (scope.get("kind") or "default") == "default":
        return _everything(svc), "all remediations"
    found = resolve(svc.jira, scope, ctx.user, svc.db, svc.team, svc.templates)
    return [i for i in found.issues if i.issue_type.casefold() not in _NOT_REMEDIATIONS], found.describe


def _facts(svc: Services, issues: list[Issue], label: str, period: str) -> ExecFacts:
    now = svc.clock()
    open_issues = [i for i in issues if not i.is_done]
    gathered = gather(svc, open_issues, now)
    risks = evaluate(gathered.inputs, load_insight_settings(svc.settings.REMEDY_CONFIG_DIR))
    return build(svc.db, svc.templates, label, period, issues, gathered, risks, now)


def _publish(ctx: JobContext, facts: ExecFacts, channel: str, key: str) -> Posted:
    svc = ctx.services
    words = render.headline(svc.llm, facts)
    text, blks = render.slack(facts, words)
    posted = svc.poster.post_once(channel, text, blks, key)
    stamp = f"{facts.end:%Y%m%d}-{posted.ts.replace('.', '')[-6:]}"
    svc.poster.upload(channel, posted.ts, f"exec-summary-{stamp}.md", render.markdown(facts, words).encode("utf-8"),
                      f"Executive summary {facts.end:%Y-%m-%d}", f"{key}:doc", unique_name=True)
    png = render.chart(facts)
    if png is not None:
        svc.poster.upload(channel, posted.ts, f"exec-summary-{stamp}.png", png, "Fleet coverage per remediation",
                          f"{key}:chart", unique_name=True)
    compliant, total = facts.fleet
    audit(ctx, "report.exec_summary", channel, once_key=f"{key}:audit", scope=facts.scope, period=facts.period,
          fleet=[compliant, total], risks=len(facts.risks), sla_missed=facts.sla_missed,
          worded_by_model=bool(words.by_model))
    return posted
