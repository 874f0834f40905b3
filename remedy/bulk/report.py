"""`compliance report`: one row per ticket, measured exactly as `compliance KEY` measures it
(:func:`remedy.bulk.scope.progress_of` → :func:`remedy.remediation.progress.measure_progress`),
as Slack lines, CSV and markdown."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from remedy.jira.models import Issue
from remedy.remediation.progress import Progress
from remedy.remediation.report import cell

COLUMNS = ("ticket", "app", "target version", "devices", "compliant %", "failures", "deadline", "status")


@dataclass(frozen=True)
class Row:
    ticket: str
    app: str
    target: str
    devices: int | None
    percent: float | None
    failures: int | None
    deadline: str
    status: str

    @classmethod
    def of(cls, issue: Issue, progress: Progress | None) -> Row:
        deadline = issue.due_date.isoformat() if issue.due_date else ""
        if progress is None:  # the ticket doesn't say what it remediates: nothing to measure
            return cls(issue.key, "", "", None, None, None, deadline, issue.status)
        return cls(issue.key, progress.facts.app_name, progress.facts.target_version,
                   progress.fleet.total_with_app, round(progress.percent, 1), progress.failures, deadline,
                   issue.status)

    def cells(self) -> list[str]:
        def shown(value: object) -> str:
            return "" if value is None else str(value)
        percent = "" if self.percent is None else f"{self.percent:.1f}"
        return [self.ticket, self.app, self.target, shown(self.devices), percent, shown(self.failures),
                self.deadline, self.status]


def to_csv(rows: Sequence[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(row.cells() for row in rows)
    return out.getvalue()


def to_markdown(rows: Sequence[Row], title: str) -> str:
    lines = [f"# {title}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(c) or "—" for c in row.cells()) + " |" for row in rows]
    unmeasured = [row.ticket for row in rows if row.percent is None]
    if unmeasured:
        lines += ["", f"Not measured (no Bundle ID / Target version in the description): {', '.join(unmeasured)}"]
    return "\n".join(lines) + "\n"


def summary(rows: Sequence[Row], targets: Mapping[str, float]) -> str:
    """``targets``: each ticket's compliance target (its own template's last ring threshold)."""
    measured = [r for r in rows if r.percent is not None]
    behind = [r for r in measured if r.percent is not None and r.percent < targets[r.ticket]]
    goals = sorted({targets[r.ticket] for r in rows}, reverse=True)
    below = (f"{goals[0]:g}%" if len(goals) == 1 else "their target (" + " / ".join(f"{g:g}%" for g in goals) + ")"
             if goals else "target")
    return (f"{len(rows)} ticket{'s' if len(rows) != 1 else ''}, {len(measured)} measured, "
            f"{len(behind)} below {below}")
