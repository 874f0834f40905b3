"""`audit report KEY`: a markdown document from the audit trail, the go/no-go decisions (with the
numbers seen), compliance per ring and the exceptions — shared in the thread and attached to Jira."""

from __future__ import annotations

from remedy_cli.embedded import Runtime
from tests.unit.test_exceptions import _rolled_to_phase1, _run


def test_audit_report_is_shared_and_attached_once(runtime: Runtime) -> None:
    _rolled_to_phase1(runtime)
    _run(runtime, "compliance CPE-3222")
    answer = _run(runtime, "audit report CPE-3222")
    assert answer.startswith("✅") and "attached to Jira" in answer

    attached = runtime.sandbox.jira_state.attachments_of("CPE-3222")
    assert len(attached) == 1 and attached[0].filename.startswith("CPE-3222-audit-report-")
    report = attached[0].content.decode()
    assert report.startswith("# Audit report — CPE-3222: Chrome 120.0.6099.109")
    assert "## Timeline" in report and "| Sarah Chen | **Go** for ring phase1" in report
    assert "deployed policy 1 to ring pilot" in report and "created Jamf policy 1 (rollback policy 2)" in report
    assert "## Go/no-go decisions" in report and "| pilot → phase1 | go | Sarah Chen |" in report
    assert "Pilot 100.0% (45/45) vs 90.0%" in report  # the numbers the lead saw on the card
    assert "| Pilot | Pilot - Chrome | done |" in report and "| Phase 1 | Phase 1 | active |" in report
    assert "## Exceptions (4 Macs need a hand)" in report and "not enough disk space" in report
    assert "Audit chain: intact" in report

    shared = [f for f in runtime.sandbox.slack_state.files.values() if f.completed]
    assert len(shared) == 1 and shared[0].content == attached[0].content and shared[0].thread_ts


def test_audit_report_before_any_rollout_still_documents_the_ticket(runtime: Runtime) -> None:
    _run(runtime, 'comment CPE-3222 "Pilot group chosen"')
    assert _run(runtime, "audit report CPE-3222").startswith("✅")
    report = runtime.sandbox.jira_state.attachments_of("CPE-3222")[0].content.decode()
    assert "commented on the Jira ticket" in report and "none yet" in report
    assert "## Exceptions (0 Macs need a hand)" in report
