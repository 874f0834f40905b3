"""`rollback status` and `validate rollback` through the whole path (signed Slack request → Bolt → RQ →
Jira and Jamf simulators → Slack simulator), and the checks themselves as pure functions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from remedy.db.models import AuditEvent
from remedy.jamf.models import Package, Policy
from remedy.remediation import rollback
from remedy.remediation.facts import Facts
from remedy.remediation.rollback import Found
from remedy.remediation.store import PolicyIds
from remedy.sandbox.run import HOME_CHANNEL
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts, button, only_thread
from tests.unit.test_rollout import HOUR, PHASE1, PILOT, SARAH, _run

MAIN, ROLLBACK = "CPE-3222 Chrome 120.0.6099.109", "CPE-3222 Chrome rollback to 119.0.6045.199"


def _policy(rt: Runtime, name: str) -> Any:
    return next(p for p in rt.sandbox.jamf_state.policies.values() if p.name == name)


def _validations(rt: Runtime) -> list[dict[str, Any]]:
    with rt.services.db.session() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "jamf.rollback.validate")
                           .order_by(AuditEvent.seq))
        return [dict(e.data) for e in events]


def _thread(rt: Runtime) -> str:
    return "\n".join(block_texts(m.blocks) for m in only_thread(rt.sandbox.slack_state))


def test_ready_after_create_policy_and_validated_in_the_thread(runtime: Runtime) -> None:
    assert _run(runtime, "create jamf policy CPE-3222").startswith("✅")
    status = _run(runtime, "rollback status CPE-3222")
    assert status.startswith("*CPE-3222*: Rollback ready ✅")
    assert status.count("✅") == 6 and "❌" not in status  # the summary and five checks
    assert "Installs *GoogleChrome-119.0.6045.199.pkg* (119.0.6045.199), older than the target" in status
    assert "Scoped like install policy 1: Pilot - Chrome (group 1)" in status
    assert "is disabled until needed" in status

    answer = _run(runtime, "validate rollback CPE-3222")
    assert answer.startswith("✅ Rollback of *CPE-3222* is ready: all 6 checks pass.")
    assert "Install policy 1 *CPE-3222 Chrome 120.0.6099.109* is a different policy" in answer
    assert "🧪 *Alice" in _thread(runtime) and "validated the rollback of *CPE-3222*: Rollback ready ✅" in _thread(
        runtime)
    (event,) = _validations(runtime)
    assert (event["ok"], event["problems"], len(event["checks"]), event["rollback_policy_id"]) == (True, 0, 6, 2)


def test_scope_still_matches_after_the_go_step(runtime: Runtime) -> None:
    assert _run(runtime, "create jamf policy CPE-3222").startswith("✅")
    assert _run(runtime, "deploy pilot CPE-3222").startswith("✅")
    runtime.sandbox.jamf_state.advance(26 * HOUR)
    assert _run(runtime, "rollout next CPE-3222").startswith("✅")
    card = next(m for m in reversed(only_thread(runtime.sandbox.slack_state)) if "Go" in block_texts(m.blocks))
    runtime.press(button(card.blocks, "Go"), user=SARAH, message_ts=card.ts)
    runtime.drain()
    assert _policy(runtime, MAIN).group_ids == [PILOT, PHASE1]

    status = _run(runtime, "rollback status CPE-3222")
    assert status.startswith("*CPE-3222*: Rollback ready ✅")
    assert "Scoped like install policy 1: Pilot - Chrome (group 1), Phase 1 (group 2)" in status

    _policy(runtime, ROLLBACK).group_ids = [PILOT]  # someone narrowed it in Jamf by hand
    drifted = _run(runtime, "rollback status CPE-3222")
    assert "Rollback NOT ready ❌: 1 problem" in drifted
    assert "❌ Scope differs from install policy 1: missing Phase 1 (group 2)" in drifted


def test_an_enabled_rollback_is_called_out_by_both_commands(runtime: Runtime) -> None:
    assert _run(runtime, "create jamf policy CPE-3222").startswith("✅")
    _policy(runtime, ROLLBACK).enabled = True
    status = _run(runtime, "rollback status CPE-3222")
    assert status.startswith("*CPE-3222*: Rollback NOT ready ❌: 1 problem\n")
    assert "❌ Rollback policy 2 is enabled: it would downgrade Macs now" in status

    answer = _run(runtime, "validate rollback CPE-3222")
    assert answer.startswith("❌ Rollback of *CPE-3222* is NOT ready: 1 problem\n")
    assert "❌ Rollback policy 2 is enabled: it would downgrade Macs now" in answer
    # Both answers are in the thread: rollback status's, then validate rollback's.
    assert _thread(runtime).count("Rollback NOT ready ❌: 1 problem") == 2
    (event,) = _validations(runtime)
    assert (event["ok"], event["problems"]) == (False, 1)


def test_a_rollback_deleted_in_jamf_is_named(runtime: Runtime) -> None:
    assert _run(runtime, "create jamf policy CPE-3222").startswith("✅")
    runtime.sandbox.jamf_state.delete_policy(_policy(runtime, ROLLBACK).id)
    status = _run(runtime, "rollback status CPE-3222")
    assert "Rollback NOT ready ❌: 1 problem" in status
    assert "❌ Rollback policy 2 was deleted in Jamf: run `create jamf policy CPE-3222`" in status
    answer = _run(runtime, "validate rollback CPE-3222")
    assert answer.startswith("❌") and "was deleted in Jamf" in answer
    assert "✅ Install policy 1" in answer  # the install policy is still fine


def test_a_ticket_without_an_older_package_is_told_what_to_upload(runtime: Runtime) -> None:
    # Slack has no "Pilot - Slack" group: its pilot ring is the team's static "Pilot" group.
    created = _run(runtime, "create jamf policy CPE-3445")
    assert created.startswith("✅") and "No rollback" in _thread(runtime)
    status = _run(runtime, "rollback status CPE-3445")
    assert status.startswith("*CPE-3445*: Rollback NOT ready ❌: 1 problem")
    assert ("❌ No rollback policy recorded for *CPE-3445*: run `create jamf policy CPE-3445` after uploading an "
            "older package of Slack (older than 4.36.140)") in status
    answer = _run(runtime, "validate rollback CPE-3445")
    assert answer.startswith("❌") and "✅ Install policy" in answer


def test_a_ticket_never_planned_reads_its_facts_from_jira(runtime: Runtime) -> None:
    status = _run(runtime, "rollback status CPE-3301")
    assert "No rollback policy recorded for *CPE-3301*" in status and "Zoom (older than 5.17.5)" in status


def test_validating_needs_an_engineer(runtime: Runtime) -> None:
    assert _run(runtime, "validate rollback CPE-3222", user="U0STRANGER").startswith("🔒")
    assert runtime.sandbox.slack_state.messages(HOME_CHANNEL) == []


# -- the checks, without servers ------------------------------------------------------------------------
FACTS = Facts("CPE-1", "Chrome", "com.google.Chrome", "120.0")
IDS = PolicyIds(10, "Chrome-120.0.pkg", 1, 11, "Chrome-119.0.pkg", "119.0", 2)
OLD = Package(id=11, name="Chrome-119.0", file_name="Chrome-119.0.pkg")
INSTALL = Policy(id=1, name="CPE-1 Chrome 120.0", package_ids=(10,), group_ids=(5, 6))
BACK = Policy(id=2, name="CPE-1 Chrome rollback to 119.0", package_ids=(11,), group_ids=(5, 6))


def _lines(found: Found, ids: PolicyIds | None = IDS, validate: bool = True) -> list[str]:
    return [str(c) for c in rollback.checks(FACTS, ids, found, validate=validate)]


def test_all_checks_pass_for_a_good_rollback() -> None:
    results = rollback.checks(FACTS, IDS, Found(BACK, OLD, INSTALL, {5: "Pilot"}), validate=True)
    assert len(results) == 6 and rollback.summary(results) == "Rollback ready ✅"
    assert "Pilot (group 5), group 6" in results[3].line


def test_no_rollback_recorded_names_the_app_and_target() -> None:
    no_rollback = PolicyIds(10, "Chrome-120.0.pkg", 1)
    lines = _lines(Found(install=INSTALL), no_rollback)
    assert lines[0].startswith("❌ No rollback policy recorded for *CPE-1*: run `create jamf policy CPE-1` after "
                               "uploading an older package of Chrome (older than 120.0)")
    assert lines[1].startswith("✅ Install policy 1") and len(lines) == 2
    assert len(_lines(Found(), None)) == 2 and len(_lines(Found(), None, validate=False)) == 1


def test_a_package_not_older_than_the_target_is_named() -> None:
    newer = Package(id=11, name="Chrome-121.0", file_name="Chrome-121.0.pkg")
    assert "❌ Installs *Chrome-121.0.pkg* (121.0), which is not older than the target 120.0" in _lines(
        Found(BACK, newer, INSTALL))
    unversioned = Package(id=11, name="Chrome", file_name="Chrome.pkg")
    assert any("Can't tell the version of *Chrome.pkg*" in line for line in _lines(Found(BACK, unversioned, INSTALL)))
    assert any("installs package 11, which Jamf no longer has" in line for line in _lines(Found(BACK, None, INSTALL)))
    empty = BACK.model_copy(update={"package_ids": ()})
    assert any("installs no packages; it must install exactly one" in line for line in _lines(Found(empty, None,
                                                                                                      INSTALL)))


def test_scope_differences_name_missing_and_extra_groups() -> None:
    narrowed = BACK.model_copy(update={"group_ids": (5, 7)})
    lines = _lines(Found(narrowed, OLD, INSTALL, {5: "Pilot", 6: "Phase 1", 7: "Finance"}))
    assert "❌ Scope differs from install policy 1: missing Phase 1 (group 6); extra Finance (group 7)" in lines
    gone = _lines(Found(BACK, OLD, None))
    assert "❌ Scope can't be compared: install policy 1 was deleted in Jamf" in gone
    assert "❌ Install policy 1 was deleted in Jamf" in gone


def test_the_install_policy_must_differ_from_the_rollback() -> None:
    same_package = INSTALL.model_copy(update={"package_ids": (11,)})
    assert "❌ Install policy 1 installs the rollback's package too (11)" in _lines(Found(BACK, OLD, same_package))
    itself = BACK.model_copy(update={"id": 1})
    assert "❌ Install policy 1 is the rollback policy itself" in _lines(Found(itself, OLD, itself))
    results = rollback.checks(FACTS, IDS, Found(BACK.model_copy(update={"enabled": True}), OLD, same_package),
                              validate=True)
    assert rollback.summary(results) == "Rollback NOT ready ❌: 2 problems"
