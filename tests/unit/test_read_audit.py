"""Reads leave a trace too: `compliance`, `exceptions`, `rollback status` and `compliance gaps` each
write one audit event (who looked, at what, what they saw), however often their job runs; the first
three also answer in the ticket's thread. A command the bot refuses for the caller's role is audited
at the bot, as a refused button press is, and nothing is queued for it."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from remedy.audit import verify
from remedy.db.models import AuditEvent
from remedy_cli.embedded import Runtime, Sent
from tests.crash import crash_and_rerun
from tests.slackview import block_texts, only_thread
from tests.unit.test_exceptions import _rolled_to_phase1

ALICE, STRANGER = "U01ALICE", "U0STRANGER"  # an engineer; someone not in team.yml (a viewer)
READS = ("read.compliance", "read.exceptions", "read.rollback_status", "read.compliance_gaps")


def _slash(rt: Runtime, text: str, user: str = ALICE) -> tuple[str, str]:
    """(the answer the user sees, the job's id)"""
    sent = rt.slash(text, user=user)
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return (view.text if view else ""), _job_id(sent)


def _job_id(sent: Sent) -> str:
    return sent.ack_text.split("`")[-2]


def _events(rt: Runtime, *actions: str) -> list[AuditEvent]:
    with rt.services.db.session() as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.seq)))
        s.expunge_all()
        return rows



def _thread_texts(rt: Runtime) -> list[str]:
    return [block_texts(m.blocks) for m in only_thread(rt.sandbox.slack_state)[1:]]


def test_reads_are_audited_once_and_answered_in_the_thread(runtime: Runtime) -> None:
    _rolled_to_phase1(runtime)
    compliance, compliance_job = _slash(runtime, "compliance CPE-3222")
    exceptions, exceptions_job = _slash(runtime, "exceptions CPE-3222")
    status, status_job = _slash(runtime, "rollback status CPE-3222")
    assert compliance.startswith("✅ 📊 *CPE-3222*") and status.startswith("*CPE-3222*: Rollback ready ✅")
    head = re.search(r"exceptions 1–(\d+) of (\d+) \((\d+) failed, (\d+) offline\)", exceptions)
    assert head is not None, exceptions

    thread = _thread_texts(runtime)
    assert any(t.startswith("📊 *CPE-3222*") for t in thread)
    listed = next(t for t in thread if t.startswith("🧰 *CPE-3222* exceptions 1–"))
    assert head.group(0) in listed and listed.count("· last check-in") == int(head.group(1))
    assert "Next" not in listed  # the page's button stays with the user who asked
    assert any(t.startswith("🔁 *Alice Martin* checked the rollback of *CPE-3222*: Rollback ready ✅") for t in thread)

    events = {e.action: e for e in _events(runtime, *READS)}
    assert sorted(events) == ["read.compliance", "read.exceptions", "read.rollback_status"]
    assert all((e.actor, e.target) == (ALICE, "CPE-3222") for e in events.values())
    seen = events["read.compliance"].data
    assert f"*{seen['percent']:.1f}% complete*" in compliance
    assert f"{seen['compliant']}/{seen['total']} Macs" in compliance
    assert events["read.exceptions"].data["total"] == int(head.group(2))
    assert len(events["read.exceptions"].data["shown"]) == int(head.group(1))
    assert (events["read.rollback_status"].data["ok"], events["read.rollback_status"].data["problems"]) == (True, 0)

    posted = len(thread)
    for job_id in (compliance_job, exceptions_job, status_job):
        crash_and_rerun(runtime, job_id)
    assert len(_events(runtime, *READS)) == 3  # a rerun neither audits nor answers in the thread again
    assert len(_thread_texts(runtime)) == posted
    assert verify(runtime.services.db).ok


def test_compliance_gaps_is_audited_once(runtime: Runtime) -> None:
    answer, job_id = _slash(runtime, "compliance gaps")
    head = re.search(r"(\d+) urgent, (\d+) more, of (\d+) in rollout", answer)
    assert head is not None and head.group(1) == "2", answer
    crash_and_rerun(runtime, job_id)
    (event,) = _events(runtime, "read.compliance_gaps")
    data: dict[str, Any] = event.data
    assert (event.actor, data["urgent"], data["target_percent"]) == (ALICE, ["CPE-3445", "CPE-3222"], 95)
    assert (len(data["later"]), data["in_rollout"]) == (int(head.group(2)), int(head.group(3)))


def test_a_command_refused_at_the_bot_is_audited_and_nothing_is_queued(runtime: Runtime) -> None:
    refused = runtime.slash("deploy pilot CPE-3222", user=STRANGER)
    assert refused.ack_text.startswith("🔒 `deploy pilot` needs the *engineer* role; you are a *viewer*")
    assert runtime.services.queue.rq.count == 0
    (event,) = _events(runtime, "command.refused")
    assert (event.actor, event.target, event.source) == (STRANGER, "CPE-3222", "slack")
    assert {k: event.data[k] for k in ("command", "needed", "role", "source", "why")} == {
        "command": "deploy pilot", "needed": "engineer", "role": "viewer", "source": "slash", "why": "role"}

    allowed, _ = _slash(runtime, "rollback status CPE-3222", user=STRANGER)  # a viewer may read
    assert allowed.startswith("*CPE-3222*: Rollback NOT ready")
    assert len(_events(runtime, "command.refused", "auth.refused")) == 1
    assert verify(runtime.services.db).ok
