"""The evidence pack of one remediation: a zip an auditor can check on its own.

Files (under ``{KEY}-evidence/``): ``report.md`` (the audit report), ``audit-trail.csv`` (the ticket's
hash-chained events, with their hashes), ``decisions.csv`` (each go/no-go with the numbers the approver
saw), ``compliance.csv`` (every snapshot per ring) and ``compliance.png`` (when there are two or more),
``exceptions.csv``, ``jamf-policies.json`` (install and rollback policy as Jamf holds them now, and as
remedy recorded them) and ``manifest.json``: the SHA-256 and size of every other file, the state of the
audit chain and the hash of the newest audit event the pack includes, which ties the pack to the chain.

Everything comes from stored records and live reads; nothing is worded by a model. Entries carry the
pack's generation time, so rebuilding from the same records gives the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from remedy.audit.phrases import where
from remedy.jamf.models import Policy
from remedy.remediation.report import Event, ReportData, describe, markdown
from remedy.updates.chart import Chart


@dataclass(frozen=True)
class Live:
    """What Jamf holds now (None: the policy is gone or was never made)."""

    install: Policy | None
    rollback: Policy | None


@dataclass(frozen=True)
class Pack:
    filename: str
    content: bytes
    files: dict[str, str]  # name → SHA-256 of every file but the manifest


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue().encode("utf-8")


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _trail(r: ReportData) -> bytes:
    rows = [(e.seq, _iso(e.at), e.actor, r.name_of(e.actor), e.action, describe(e), where(e.action),
             json.dumps(e.data, sort_keys=True, ensure_ascii=False), e.prev_hash, e.hash) for e in r.events]
    return _csv(("seq", "at_utc", "actor", "name", "action", "what", "where", "data", "prev_hash", "hash"), rows)


def _decisions(r: ReportData) -> bytes:
    keys = ("rate", "compliant", "with_app", "threshold", "failures", "soak_hours", "soak_needed")
    rows = [(d.id, _iso(d.created_at), d.from_ring, d.to_ring, d.status, r.name_of(d.requested_by),
             r.name_of(d.decided_by) if d.decided_by else "", _iso(d.decided_at), d.reason or "",
             *(d.numbers.get(k) for k in keys), "; ".join(d.numbers.get("blockers") or []))
            for d in r.decisions]
    return _csv(("decision", "asked_at", "from_ring", "to_ring", "status", "asked_by", "decided_by", "decided_at",
                 "reason", *keys, "blockers"), rows)


def _compliance(r: ReportData) -> bytes:
    rows = [(s.ring or "whole fleet", _iso(s.at), s.compliant, s.total,
             f"{100.0 * s.compliant / s.total:.1f}" if s.total else "", s.failures) for s in r.snapshots]
    return _csv(("ring", "measured_at", "compliant", "total", "percent", "failures"), rows)


def _exceptions(r: ReportData) -> bytes:
    rows = [(e.id, e.name, e.ring_label, e.version, e.reason, _iso(e.last_contact)) for e in r.exceptions]
    return _csv(("computer_id", "name", "ring", "version", "reason", "last_check_in"), rows)


def _policies(r: ReportData, live: Live) -> bytes:
    def shown(policy: Policy | None) -> dict[str, Any] | None:
        return policy.model_dump(mode="json") if policy is not None else None

    recorded = asdict(r.known.policy) if r.known.policy is not None else None
    body = {"recorded_by_remedy": recorded, "install_policy_in_jamf": shown(live.install),
            "rollback_policy_in_jamf": shown(live.rollback),
            "rings": [{**asdict(ring), "started_at": _iso(ring.started_at)} for ring in r.known.rings]}
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")


def build(r: ReportData, live: Live, chart: Chart | None, filename: str) -> Pack:
    """The zip of ``r`` (records read by the caller), the policies as Jamf holds them and the chart."""
    newest = r.events[-1] if r.events else None
    files: dict[str, bytes] = {"report.md": markdown(r).encode("utf-8"), "audit-trail.csv": _trail(r),
                               "decisions.csv": _decisions(r), "compliance.csv": _compliance(r),
                               "exceptions.csv": _exceptions(r), "jamf-policies.json": _policies(r, live)}
    if chart is not None:
        files["compliance.png"] = chart.png
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    manifest = {"ticket": r.known.facts.key, "generated_at": _iso(r.generated_at),
                "audit_chain": r.chain.describe(), "audit_chain_ok": r.chain.ok,
                "newest_audit_event": {"seq": newest.seq, "hash": newest.hash} if newest else None,
                "files": [{"name": n, "bytes": len(files[n]), "sha256": digests[n]} for n in sorted(files)]}
    files["manifest.json"] = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
    return Pack(filename, _zip(files, filename.removesuffix(".zip"), r.generated_at), digests)


def _zip(files: dict[str, bytes], folder: str, when: datetime) -> bytes:
    out = io.BytesIO()
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return out.getvalue()


__all__ = ["Event", "Live", "Pack", "build"]
