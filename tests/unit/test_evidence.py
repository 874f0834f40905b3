"""`evidence KEY` through the real app after a real rollout (policy, pilot, measurements, a Go by the
lead): one zip in the thread and on the Jira ticket whose manifest holds the SHA-256 of every file, an
audit timeline whose hashes are the chain's, the Go with the numbers the lead saw, compliance per ring as
CSV and a PNG chart, the policies as Jamf holds them; nothing twice after a crash; viewers may build it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

from sqlalchemy import select

from remedy.audit import verify
from remedy.db.models import AuditEvent
from remedy.updates.chart import PNG_SIGNATURE
from remedy_cli.embedded import Runtime
from tests.crash import crash_and_rerun
from tests.unit.test_daily_update import HOUR, _rolled_to_phase1, _run

ZIP_NAME = "CPE-3222-evidence-"


def _packs(rt: Runtime) -> tuple[list[bytes], list[bytes]]:
    slack = [f.content for f in rt.sandbox.slack_state.files.values()
             if f.completed and f.filename.startswith(ZIP_NAME) and f.content is not None]
    jira = [a.content for a in rt.sandbox.jira_state.attachments_of("CPE-3222") if a.filename.startswith(ZIP_NAME)]
    return slack, jira


def _read(pack: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(pack)) as archive:
        return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_the_pack_holds_what_an_auditor_asks_for_with_a_manifest(runtime: Runtime) -> None:
    _rolled_to_phase1(runtime)
    _run(runtime, "compliance CPE-3222")
    runtime.sandbox.jamf_state.advance(6 * HOUR)
    _run(runtime, "compliance CPE-3222")
    answer = _run(runtime, "evidence CPE-3222", user="U03JSMITH")  # a viewer may build it: it only reads
    assert answer.startswith("✅ Evidence pack for *CPE-3222* is in its thread and attached to Jira"), answer
    (slack,), (jira,) = _packs(runtime)
    assert slack == jira
    files = _read(slack)
    manifest = json.loads(files.pop("manifest.json"))
    assert sorted(files) == ["audit-trail.csv", "compliance.csv", "compliance.png", "decisions.csv",
                             "exceptions.csv", "jamf-policies.json", "report.md"]
    assert {f["name"]: f["sha256"] for f in manifest["files"]} == \
        {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    assert manifest["audit_chain_ok"] is True and manifest["ticket"] == "CPE-3222"

    trail = _rows(files["audit-trail.csv"])
    with runtime.services.db.session() as s:
        chained = {e.seq: e.hash for e in s.scalars(select(AuditEvent).where(AuditEvent.target == "CPE-3222"))}
    assert {int(r["seq"]): r["hash"] for r in trail}.items() <= chained.items()
    assert manifest["newest_audit_event"] == {"seq": int(trail[-1]["seq"]), "hash": trail[-1]["hash"]}
    assert any(r["action"] == "jamf.rollout.go" and r["name"] == "Sarah Chen" for r in trail)

    (go,) = [d for d in _rows(files["decisions.csv"]) if d["status"] == "go"]
    assert go["decided_by"] == "Sarah Chen" and go["from_ring"] == "pilot" and go["to_ring"] == "phase1"
    assert float(go["rate"]) >= float(go["threshold"]) and int(go["compliant"]) <= int(go["with_app"])

    measured = _rows(files["compliance.csv"])
    assert {"pilot", "phase1"} <= {m["ring"] for m in measured}
    assert all(m["percent"] == f"{100 * int(m['compliant']) / int(m['total']):.1f}"
               for m in measured if m["total"] != "0")
    assert files["compliance.png"].startswith(PNG_SIGNATURE)
    policies = json.loads(files["jamf-policies.json"])
    assert policies["install_policy_in_jamf"]["enabled"] is True
    assert policies["recorded_by_remedy"]["policy_id"] == policies["install_policy_in_jamf"]["id"]
    assert "# Audit report — CPE-3222" in files["report.md"].decode("utf-8")


def test_a_rerun_after_a_crash_shares_and_attaches_nothing_twice(runtime: Runtime) -> None:
    _rolled_to_phase1(runtime)
    sent = runtime.slash("evidence CPE-3222")
    runtime.drain()
    job_id = sent.ack_text.split("`")[-2]
    crash_and_rerun(runtime, job_id)
    slack, jira = _packs(runtime)
    assert len(slack) == 1 and len(jira) == 1 and verify(runtime.services.db).ok


def test_a_ticket_without_a_rollout_still_gets_its_timeline(runtime: Runtime) -> None:
    assert _run(runtime, "comment CPE-3445 waiting on the vendor").startswith("✅")
    assert _run(runtime, "evidence CPE-3445").startswith("✅ Evidence pack for *CPE-3445*")
    pack = next(a.content for a in runtime.sandbox.jira_state.attachments_of("CPE-3445")
                if a.filename.startswith("CPE-3445-evidence-"))
    files = _read(pack)
    assert "compliance.png" not in files  # no measurements, no chart
    assert json.loads(files["jamf-policies.json"])["install_policy_in_jamf"] is None
    assert [r["action"] for r in _rows(files["audit-trail.csv"])] == ["jira.comment"]
    assert _run(runtime, "evidence CPE-9999").startswith("❌")
