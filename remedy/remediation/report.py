"""The audit report of one remediation, as a markdown document an auditor can read on its own.

Everything in it comes from stored records — the hash-chained audit trail, the go/no-go
decisions with the numbers the approver saw, the compliance snapshots per ring — plus the
exceptions measured when the report is made. Nothing is summarised by a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from remedy.audit.chain import VerifyResult
from remedy.db.models import AuditEvent, ComplianceSnapshot
from remedy.db.session import Database
from remedy.remediation import decisions
from remedy.remediation.decisions import DecisionView
from remedy.remediation.exceptions import DeviceException
from remedy.remediation.store import RemediationView, aware


@dataclass(frozen=True)
class Event:
    at: datetime
    actor: str
    action: str
    source: str
    data: dict[str, Any]
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""  # its link in the audit chain (the evidence pack lists them)


@dataclass(frozen=True)
class Snapshot:
    ring: str | None
    at: datetime
    compliant: int
    total: int
    failures: int | None


@dataclass(frozen=True)
class ReportData:
    known: RemediationView
    events: list[Event]
    decisions: list[DecisionView]
    snapshots: list[Snapshot]
    exceptions: list[DeviceException]
    exceptions_total: int
    chain: VerifyResult
    generated_at: datetime
    name_of: Callable[[str], str]


def gather_records(db: Database, key: str) -> tuple[list[Event], list[DecisionView], list[Snapshot]]:
    with db.session() as s:
        events = [Event(aware(e.ts) or e.ts, e.actor, e.action, e.source, dict(e.data or {}), e.seq, e.prev_hash,
                        e.hash) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.target == key).order_by(AuditEvent.seq))]
        snaps = [Snapshot(r.ring, aware(r.taken_at) or r.taken_at, r.compliant, r.total, r.failures) for r in s.scalars(
            select(ComplianceSnapshot).where(ComplianceSnapshot.ticket_key == key).order_by(ComplianceSnapshot.id))]
    return events, decisions.for_ticket(db, key), snaps


def cell(value: object) -> str:
    """A markdown table cell: pipes and line breaks would break the table."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _time(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "—"


def _numbers(n: dict[str, Any]) -> str:
    if not n:
        return "—"
    blockers = ", ".join(n.get("blockers") or []) or "none"
    return (f"{n.get('ring_label')} {n.get('rate')}% ({n.get('compliant')}/{n.get('with_app')}) vs "
            f"{n.get('threshold')}%; {n.get('failures')} failures; blockers: {blockers}; "
            f"soak {n.get('soak_hours')} h of {n.get('soak_needed')} h")


_ACTIONS: dict[str, Callable[[dict[str, Any]], str]] = {
    "jira.comment": lambda d: "commented on the Jira ticket",
    "jira.move": lambda d: f"moved the ticket {d.get('start')} → {d.get('to')}",
    "jira.assign": lambda d: f"assigned the ticket to {d.get('name')}",
    "jira.priority": lambda d: f"set priority {d.get('priority')}" + (f" ({d['reason']})" if d.get("reason") else ""),
    "jamf.policy": lambda d: f"{'created' if d.get('created') else 'updated'} Jamf policy {d.get('policy_id')}"
                             + (f" (rollback policy {d['rollback_policy_id']})" if d.get("rollback_policy_id") else ""),
    "jamf.deploy": lambda d: f"deployed policy {d.get('policy_id')} to ring {d.get('ring')} "
                             f"(group {d.get('group_id')})",
    "rollout.card": lambda d: "asked for go/no-go: " + _numbers(d.get("numbers") or {}),
    "jamf.rollout.go": lambda d: f"**Go** for ring {d.get('ring')}; scope now groups {d.get('scope')}",
    "rollout.no-go": lambda d: f"**No-go** for ring {d.get('ring')}: {d.get('reason')}",
    "rollout.hold": lambda d: f"**Hold** before ring {d.get('ring')}",
    "rollout.stale": lambda d: f"Go not applied, numbers re-checked: {d.get('why')}",
    "rollout.refused": lambda d: f"refused a rollout decision ({d.get('why')})",
    "auth.refused": lambda d: f"refused: {d.get('doing')} needs {d.get('needed')}, had {d.get('role')}",
    "command.refused": lambda d: f"refused: {d.get('doing')} needs {d.get('needed')}, had {d.get('role')}",
    "read.compliance": lambda d: f"read compliance: {d.get('compliant')}/{d.get('total')} ({d.get('percent')}%), "
                                 f"{d.get('failures')} failures",
    "read.exceptions": lambda d: f"read exceptions, page {d.get('page')} of {d.get('total')} Macs",
    "read.rollback_status": lambda d: f"read rollback status: {d.get('problems')} problem(s)",
}


def describe(event: Event) -> str:
    known = _ACTIONS.get(event.action)
    if known is not None:
        return known(event.data)
    shown = {k: v for k, v in event.data.items() if k != "job"}
    return event.action + (f" {shown}" if shown else "")


def _header(r: ReportData) -> list[str]:
    f, p = r.known.facts, r.known.policy
    lines = [f"# Audit report — {f.key}: {cell(f.app_name)} {cell(f.target_version)}", "",
             f"Generated {_time(r.generated_at)} by remedy from its audit trail, decisions and compliance records.",
             "", f"- App: {cell(f.app_name)} (`{cell(f.bundle_id)}`), target version **{cell(f.target_version)}**"]
    if p is not None:
        lines.append(f"- Jamf policy {p.policy_id} installs {cell(p.package_name)} (package {p.package_id})")
        if p.rollback_policy_id is not None:
            lines.append(f"- Rollback policy {p.rollback_policy_id} installs {cell(p.rollback_package_name)} "
                         f"({cell(p.rollback_version)})")
        else:
            lines.append("- Rollback policy: **none** (no older package in Jamf)")
    integrity = ("intact" if r.chain.ok else "**BROKEN** — " + cell(r.chain.describe()))
    lines.append(f"- Audit chain: {integrity} ({r.chain.checked} events verified across all tickets)")
    return lines


def _timeline(r: ReportData) -> list[str]:
    lines = ["", "## Timeline", "", "| When | Who | What | Where |", "|---|---|---|---|"]
    lines += [f"| {_time(e.at)} | {cell(r.name_of(e.actor))} | {cell(describe(e))} | {cell(e.source)} |"
              for e in r.events]
    if not r.events:
        lines.append("| — | — | no recorded actions | — |")
    return lines


def _decisions(r: ReportData) -> list[str]:
    lines = ["", "## Go/no-go decisions", "",
             "| Asked | Ring | Decision | By | At | Numbers seen | Reason |", "|---|---|---|---|---|---|---|"]
    for d in r.decisions:
        who = r.name_of(d.decided_by) if d.decided_by else "—"
        lines.append(f"| {_time(d.created_at)} | {cell(d.from_ring)} → {cell(d.to_ring)} | {cell(d.status)} | "
                     f"{cell(who)} | {_time(d.decided_at)} | {cell(_numbers(d.numbers))} | {cell(d.reason or '')} |")
    if not r.decisions:
        lines.append("| — | — | none yet | — | — | — | — |")
    return lines


def _compliance(r: ReportData) -> list[str]:
    lines = ["", "## Compliance by ring", "",
             "| Ring | Group | Status | Started | First measured | Latest | Threshold | Failures |",
             "|---|---|---|---|---|---|---|---|"]
    for ring in r.known.rings:
        mine = [s for s in r.snapshots if s.ring == ring.name]
        first, last = (mine[0], mine[-1]) if mine else (None, None)
        lines.append(f"| {cell(ring.label)} | {cell(ring.group_name)} | {ring.status} | {_time(ring.started_at)} | "
                     f"{_snap(first)} | {_snap(last)} | {ring.threshold:g}% | "
                     f"{last.failures if last and last.failures is not None else '—'} |")
    fleet = [s for s in r.snapshots if s.ring is None]
    if fleet:
        times = f"{len(fleet)} measurement{'s' if len(fleet) != 1 else ''}"
        lines += ["", f"Whole fleet: {_snap(fleet[0])} → {_snap(fleet[-1])} ({times})."]
    return lines


def _snap(s: Snapshot | None) -> str:
    if s is None:
        return "—"
    pct = 100.0 * s.compliant / s.total if s.total else 100.0
    return f"{pct:.1f}% ({s.compliant}/{s.total}) at {_time(s.at)}"


def _exceptions(r: ReportData) -> list[str]:
    lines = ["", f"## Exceptions ({r.exceptions_total} Macs need a hand)", ""]
    if not r.exceptions:
        return [*lines, "None: every Mac in the started rings is updated or still due to check in."]
    lines += ["| Mac | Ring | Version | Reason | Last check-in |", "|---|---|---|---|---|"]
    lines += [f"| {cell(e.name)} (id {e.id}) | {cell(e.ring_label)} | {cell(e.version)} | {cell(e.reason)} | "
              f"{_time(e.last_contact)} |" for e in r.exceptions]
    if r.exceptions_total > len(r.exceptions):
        lines.append(f"\n… and {r.exceptions_total - len(r.exceptions)} more (`exceptions {r.known.facts.key}`).")
    return lines


def markdown(r: ReportData) -> str:
    return "\n".join([*_header(r), *_timeline(r), *_decisions(r), *_compliance(r), *_exceptions(r), ""])
