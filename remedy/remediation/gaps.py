"""Compliance gaps: remediations in rollout whose fleet compliance is below target as their due
date nears — and how many Macs a day it would take to close the gap in time.

Numbers only; the target is the last ring's threshold of the workflow (what "done" means for the
rollout), the deadline the Jira due date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from remedy.jamf.models import ComplianceCount
from remedy.remediation.facts import Facts
from remedy.slack.mrkdwn import escape

NEAR_DAYS = 7


@dataclass(frozen=True)
class Gap:
    facts: Facts
    count: ComplianceCount
    target: float  # percent
    due: date | None
    today: date

    @property
    def percent(self) -> float:
        return 100.0 * self.count.ratio

    @property
    def short_by(self) -> int:
        """Macs still to update to reach the target."""
        needed = math.ceil(self.target / 100 * self.count.total_with_app)
        return max(0, needed - self.count.compliant)

    @property
    def days_left(self) -> int | None:
        return (self.due - self.today).days if self.due else None

    @property
    def is_gap(self) -> bool:
        return self.short_by > 0

    @property
    def is_urgent(self) -> bool:
        left = self.days_left
        return self.is_gap and left is not None and left <= NEAR_DAYS


def _when(days: int | None, due: date | None) -> str:
    if due is None or days is None:
        return "no due date"
    if days < 0:
        return f"*overdue* since {due:%Y-%m-%d} ({-days} day{'s' if days != -1 else ''})"
    if days == 0:
        return f"due *today* ({due:%Y-%m-%d})"
    return f"due {due:%Y-%m-%d} (in {days} day{'s' if days != 1 else ''})"


def line(gap: Gap) -> str:
    c, f = gap.count, gap.facts
    pace = ""
    if gap.days_left is not None and gap.days_left > 0:
        pace = f" · needs {math.ceil(gap.short_by / gap.days_left)} Macs/day"
    mark = "🔴" if gap.days_left is not None and gap.days_left <= 2 else "⚠️"
    return (f"{mark} *{f.key}* {escape(f.app_name)} {escape(f.target_version)}: {gap.percent:.1f}% of "
            f"{gap.target:g}% target ({c.compliant}/{c.total_with_app}, {gap.short_by} Macs to go), "
            f"{_when(gap.days_left, gap.due)}{pace}")


def ordered(gaps: list[Gap]) -> tuple[list[Gap], list[Gap]]:
    """(urgent gaps, soonest due first; other gaps below target)."""
    urgent = sorted((g for g in gaps if g.is_urgent), key=lambda g: (g.days_left, g.facts.key))
    later = sorted((g for g in gaps if g.is_gap and not g.is_urgent),
                   key=lambda g: (g.days_left is None, g.days_left or 0, g.facts.key))
    return urgent, later
