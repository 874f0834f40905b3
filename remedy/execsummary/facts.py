"""The numbers of an executive summary, each from the code the team's own commands use: compliance as
`compliance`/`risks` measure it (one Jamf pass per rollout), risks as `risks` finds them, time in phase
as the daily update counts it, decisions from the go/no-go records. Nothing here is worded by a model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from remedy.db.models import RolloutDecision
from remedy.db.session import Database
from remedy.insights.gather import Gathered
from remedy.insights.model import Risk
from remedy.jira.models import Issue
from remedy.remediation.store import aware
from remedy.updates.history import phase_day, phase_start
from remedy.workflow.templates import Workflows

PERIODS = {"week": 7, "month": 30, "quarter": 91}


@dataclass(frozen=True)
class Coverage:
    key: str
    summary: str
    compliant: int
    with_app: int
    target: float

    @property
    def percent(self) -> float:
        return 100.0 * self.compliant / self.with_app if self.with_app else 100.0


@dataclass(frozen=True)
class ExecFacts:
    scope: str
    period: str
    start: datetime
    end: datetime
    by_phase: list[tuple[str, int]]
    coverage: list[Coverage]
    in_phase: list[tuple[str, str, int]]  # (key, phase, days in it), longest first
    sla_met: list[str]
    sla_missed: list[str]  # closed late, or open past their due date
    risks: list[Risk]
    decisions: Counter[str] = field(default_factory=Counter)  # go / no-go / hold in the period
    notes: list[str] = field(default_factory=list)

    @property
    def fleet(self) -> tuple[int, int]:
        return sum(c.compliant for c in self.coverage), sum(c.with_app for c in self.coverage)


def _phases(issues: list[Issue], templates: Workflows) -> list[tuple[str, int]]:
    """Tickets per phase, each named by its own template; phases at the same step of their templates
    side by side (the default's first), in workflow order."""
    counted = Counter(phase.name if (phase := templates.phase_of(i)) else None for i in issues)
    order: dict[str, tuple[int, int]] = {}
    for t_no, template in enumerate(templates.all()):
        for p_no, p in enumerate(template.phases):
            order.setdefault(p.name, (p_no, t_no))
    shown = [(name, counted[name]) for name in sorted(order, key=order.__getitem__) if counted[name]]
    other = counted[None]
    return shown + ([("Other status", other)] if other else [])


def _in_phase(db: Database, open_issues: list[Issue], templates: Workflows,
              now: datetime) -> list[tuple[str, str, int]]:
    found = []
    for issue in open_issues:
        workflow = templates.for_issue(issue)
        phase = workflow.phase_for_status(issue.status)
        if phase is None:
            continue
        start = phase_start(db, issue.key, phase.name, workflow.pilot_phase, issue.created)
        found.append((issue.key, phase.name, phase_day(start.at, now)))
    return sorted(found, key=lambda row: (-row[2], row[0]))


def _sla(issues: list[Issue], start: datetime, now: datetime) -> tuple[list[str], list[str]]:
    met: list[str] = []
    missed: list[str] = []
    for issue in issues:
        if issue.due_date is None:
            continue
        closed = aware(issue.resolved)
        if issue.is_done and closed is not None and start <= closed <= now:
            (met if closed.date() <= issue.due_date else missed).append(issue.key)
        elif not issue.is_done and issue.due_date < now.date():
            missed.append(issue.key)
    return met, missed


def _decisions(db: Database, keys: set[str], start: datetime, now: datetime) -> Counter[str]:
    with db.session() as s:
        rows = s.scalars(select(RolloutDecision).where(RolloutDecision.decided_at.is_not(None),
                                                       RolloutDecision.ticket_key.in_(keys)))
        return Counter(r.status for r in rows if start <= (aware(r.decided_at) or now) <= now
                       and r.status in ("go", "no-go", "hold"))


def build(db: Database, templates: Workflows, scope: str, period: str, issues: list[Issue],
          gathered: Gathered, risks: list[Risk], now: datetime) -> ExecFacts:
    """``issues``: the scope's tickets, open and closed, each counted in its own template's phases;
    ``gathered``: what `risks` reads for the open ones."""
    start = now - timedelta(days=PERIODS[period])
    open_issues = [i for i in issues if not i.is_done]
    coverage = [Coverage(r.issue.key, r.issue.summary, r.count.compliant, r.count.total_with_app, r.target)
                for r in gathered.inputs.rollouts]
    met, missed = _sla(issues, start, now)
    return ExecFacts(scope, period, start, now, _phases(issues, templates), coverage,
                     _in_phase(db, open_issues, templates, now), met, missed, risks,
                     _decisions(db, {i.key for i in issues}, start, now), list(gathered.notes))
