"""`compliance gaps`: remediations in rollout below target, soonest deadline first, with the pace
needed — numbers equal to the fleet's own count."""

from __future__ import annotations

from datetime import date

from remedy.jamf.models import ComplianceCount
from remedy.remediation.facts import Facts
from remedy.remediation.gaps import Gap, line, ordered
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts

TODAY = date(2026, 11, 25)


def _gap(key: str, compliant: int, total: int, due: date | None) -> Gap:
    facts = Facts(key, "Slack", "com.tinyspeck.slackmacgap", "4.36.140")
    return Gap(facts, ComplianceCount(total_with_app=total, compliant=compliant, behind=[], missing_app=0), 95, due,
               TODAY)


def test_gap_arithmetic_and_order() -> None:
    soon, later, fine, undated = (_gap("CPE-1", 774, 890, date(2026, 11, 27)), _gap("CPE-2", 10, 100, date(2027, 1, 5)),
                                  _gap("CPE-3", 95, 100, date(2026, 11, 26)), _gap("CPE-4", 0, 10, None))
    assert soon.short_by == 72 and "needs 36 Macs/day" in line(soon) and "in 2 days" in line(soon)
    assert not fine.is_gap  # exactly at target
    urgent, rest = ordered([later, fine, undated, soon])
    assert [g.facts.key for g in urgent] == ["CPE-1"] and [g.facts.key for g in rest] == ["CPE-2", "CPE-4"]
    overdue = _gap("CPE-5", 1, 10, date(2026, 11, 20))
    assert "*overdue* since 2026-11-20 (5 days)" in line(overdue) and overdue.is_urgent


def test_compliance_gaps_lists_rollouts_by_deadline(runtime: Runtime) -> None:
    jamf = runtime.sandbox.jamf_state
    slack = jamf.compliance("com.tinyspeck.slackmacgap", "4.36.140")
    sent = runtime.slash("compliance gaps")
    runtime.drain()
    view = runtime.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None
    text = block_texts(view.blocks)
    assert "2 urgent" in view.text
    assert text.index("CPE-3445") < text.index("CPE-3222")  # due 11-27 before 11-30
    assert f"({slack.compliant}/{slack.total}," in text and "due 2026-11-27 (in 2 days)" in text
    assert "CPE-3301" not in text  # still in Investigation: not rolling out
