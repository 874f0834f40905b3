"""`/remedy risks`, `/remedy team impact`, and the hourly post of new or changed risks to each team's channel.

Rules compute every risk and number (remedy.insights); the model, when one is configured, only words
the one-line summary and is checked against the facts. Jira is needed (an outage ends in ❌ with a
Retry button after the job's own retry); Jamf is not (the compliance rule is skipped and said so).
"""

from __future__ import annotations

import logging
from typing import Any

from remedy.insights import posting
from remedy.insights.gather import gather, open_issues
from remedy.insights.impact import impact
from remedy.insights.model import Risk
from remedy.insights.risks import evaluate
from remedy.insights.settings import InsightSettings, load_insight_settings
from remedy.insights.wording import summary
from remedy.jira.jql import in_list
from remedy.jira.models import Issue
from remedy.llm.words import Phrased
from remedy.services import Services
from remedy.slack.risk_view import compact, impact_blocks, risk_blocks
from workers.context import JobContext, audit, job_context

log = logging.getLogger("remedy.insights")
_FOOT = "Rules and thresholds: insights.yml · a button runs the obvious next step about its ticket"


def _settings(svc: Services) -> InsightSettings:
    return load_insight_settings(svc.settings.REMEDY_CONFIG_DIR)


def _how(phrased: Phrased) -> str:
    return "summary worded by the model, numbers checked" if phrased.by_model else "worded from the template"


def find_risks(svc: Services) -> tuple[list[Risk], list[str], bool]:
    """(risks, what could not be looked at, whether every rule saw all it needs)."""
    found = gather(svc, open_issues(svc), svc.clock())
    return evaluate(found.inputs, _settings(svc)), found.notes, found.complete


def risks(origin: dict[str, Any], **_: Any) -> None:
    """The team's risks now, high severity first, then the most urgent; each with its evidence and a
    button for the obvious next step. Shown only to the user who asked."""
    with job_context(origin) as ctx:
        svc = ctx.services
        found, notes, _complete = find_risks(svc)
        note = "".join(f" · ⚠️ {n}" for n in notes)
        if not found:
            ctx.done(f"No risks: no SLA near, no old blocker, no overdue vendor, rollouts on track, "
                     f"no ring or go/no-go waiting.{note}")
            return
        phrased = summary(svc.llm, found)
        high = sum(1 for r in found if r.severity == "high")
        head = f"*Risks*: {len(found)} found, {high} high"
        ctx.show(f"Risks: {compact(found)}",
                 risk_blocks(head, phrased["summary"], found, f"{_FOOT} · {_how(phrased)}{note}"))


def team_impact(origin: dict[str, Any], **_: Any) -> None:
    """Blocking links across teams, cycles among them, and people over the open high-priority limit."""
    with job_context(origin) as ctx:
        svc = ctx.services
        settings = _settings(svc)
        issues = _with_linked(svc, open_issues(svc))
        found = impact(issues, settings, svc.team)
        text, blks = impact_blocks(found, settings.overload.max_open, settings.overload.priorities)
        ctx.show(text, blks)


def _with_linked(svc: Services, issues: list[Issue]) -> list[Issue]:
    """The open tickets and the tickets they link to outside that set (another project's, one in a
    status outside the workflow), so that a cycle through them is seen whole."""
    known = {i.key for i in issues}
    outside = sorted({ln.other_key for i in issues for ln in i.links} - known)
    if not outside:
        return issues
    return [*issues, *(i for i in svc.jira.search(in_list("key", outside)) if not i.is_done)]


def post_risks(origin: dict[str, Any], slot: str = "", late: bool = False, **_: Any) -> int:
    """Cron: post each team channel the risks it has not heard of, or whose evidence changed since
    (as updates). Returns how many channel posts it made."""
    with job_context(origin) as ctx:
        svc = ctx.services
        found, notes, complete = find_risks(svc)
        by_channel = posting.routed(found, svc.team, svc.settings.REMEDY_HOME_CHANNEL)
        posted = 0
        for due in posting.plan(svc.db, by_channel):
            posted += _post(ctx, due)
        if complete:
            posting.clear_gone(svc.db, by_channel)
        if notes:
            log.warning("risk post at %s saw part of the picture: %s", slot, "; ".join(notes))
        return posted
    return 0


def _post(ctx: JobContext, due: posting.Due) -> int:
    svc = ctx.services
    new = len(due.risks) - len(due.updates)
    head = (f"*New risks*: {new} new" + (f", {len(due.updates)} changed" if due.updates else "")
            if new else f"*Risks changed*: {len(due.updates)}")
    phrased = summary(svc.llm, due.risks)
    blks = risk_blocks(head, phrased["summary"], due.risks, f"{_FOOT} · {_how(phrased)} · `risks` lists all",
                       due.updates)
    line = f"{'New risks' if new else 'Risks changed'}: {compact(due.risks)}"
    sent = svc.poster.post_once(due.channel, line, blks, due.idempotency_key)
    posting.record(svc.db, due, sent.ts, svc.clock())
    audit(ctx, "risks.post", due.channel, once_key=f"{due.idempotency_key}:audit",
          risks=[{"id": r.ident, "revision": due.revisions[r.ident], "severity": r.severity} for r in due.risks])
    return 0 if sent.reused else 1

