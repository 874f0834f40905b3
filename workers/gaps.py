"""`/remedy compliance gaps`: remediations in rollout below their compliance target near their deadline.
The read is audited (``read.compliance_gaps``: which tickets were measured and which were behind)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from remedy.errors import UserError
from remedy.jira.jql import in_list
from remedy.jira.models import Issue
from remedy.parallel import parallel
from remedy.remediation.facts import facts_from_issue
from remedy.remediation.gaps import Gap, line, ordered
from remedy.remediation.measure import measure
from remedy.slack import blocks
from remedy.workflow.templates import rolling_phases
from workers.context import JobContext, audit, job_context

READ_GAPS = "read.compliance_gaps"


def compliance_gaps(origin: dict[str, Any], key: str | None = None, **_: Any) -> None:
    """Tickets from their template's pilot phase on, measured live, below the threshold of that
    template's last ring; the urgent ones (due within a week or overdue) first, with the pace needed
    to make the date."""
    with job_context(origin) as ctx:
        svc, templates = ctx.services, ctx.services.templates
        # Every template's rolling statuses in one search, then each ticket judged by its own template.
        found = svc.jira.search(in_list("status", templates.statuses(rolling_phases)) + " ORDER BY key ASC")
        issues = [i for i in found if templates.in_phases(i, rolling_phases)]
        readable, unclear = _split(issues)
        today = svc.clock().date()
        targets = templates.targets(issues)
        counts = parallel([_measure(ctx, issue) for issue in readable])
        gaps = [Gap(facts_from_issue(i), c, targets[i.key], i.due_date, today)
                for i, c in zip(readable, counts, strict=True)]
        urgent, later = ordered(gaps)
        _answer(ctx, urgent, later, unclear, len(issues), sorted(set(targets.values()), reverse=True)
                or [templates.default.rings[-1].threshold])


def _split(issues: list[Issue]) -> tuple[list[Issue], list[str]]:
    readable, unclear = [], []
    for issue in issues:
        try:
            facts_from_issue(issue)
            readable.append(issue)
        except UserError:
            unclear.append(issue.key)
    return readable, unclear


def _measure(ctx: JobContext, issue: Issue) -> Callable[[], Any]:
    return lambda: measure(ctx.services.jamf, facts_from_issue(issue))


def _answer(ctx: JobContext, urgent: list[Gap], later: list[Gap], unclear: list[str], total: int,
            targets: list[float]) -> None:
    """``targets``: the distinct targets of the tickets in rollout, highest first (one per template)."""
    target: float | list[float] = targets[0] if len(targets) == 1 else targets
    read: dict[str, Any] = {"target_percent": target, "in_rollout": total, "urgent": [g.facts.key for g in urgent],
                            "later": [g.facts.key for g in later], "unclear": unclear}
    if not urgent and not later:
        note = f" ({', '.join(unclear)} don't say what they remediate)" if unclear else ""
        goal = f"{targets[0]:g}%" if len(targets) == 1 else "their targets (" + " / ".join(
            f"{t:g}%" for t in targets) + ")"
        parallel([lambda: audit(ctx, READ_GAPS, "compliance-gaps", **read),
                  lambda: ctx.done(f"No compliance gaps: the {total} remediation(s) in rollout are at or above "
                                   f"{goal}{note}.")])
        return
    parts = []
    if urgent:
        parts.append("*Behind target, due within a week*\n" + "\n".join(line(g) for g in urgent))
    if later:
        parts.append("*Behind target, more time left*\n" + "\n".join(line(g) for g in later))
    if unclear:
        parts.append(f"_Not measured: {', '.join(unclear)} (no Bundle ID / Target version in the description)_")
    head = f"📉 Compliance gaps: {len(urgent)} urgent, {len(later)} more, of {total} in rollout"
    parallel([lambda: audit(ctx, READ_GAPS, "compliance-gaps", **read),
              lambda: ctx.show(head, [blocks.section(head), *(blocks.section(p) for p in parts)])])
