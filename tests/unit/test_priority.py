"""Deterministic prioritization: each factor's points from priority.yml, the breakdown line, a total
and stable order, overrides (winning, audited, expiring), and `priorities` / `my queue` end to end."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from remedy.db.models import AuditEvent, ComplianceSnapshot
from remedy.jira.models import Issue, IssueLink
from remedy.workflow import load_workflow
from remedy.workflow.priority import (
    Override,
    PriorityFacts,
    PriorityRulesError,
    Ranked,
    Score,
    breakdown,
    cve_ids_in,
    cvss_in,
    facts_for,
    load_priority_rules,
    order,
    override_expiry,
    score,
)
from remedy.workflow.priority_view import priority_line
from remedy_cli.embedded import Runtime, Sent
from tests.slackview import block_texts

ALICE, SARAH = "U01ALICE", "U02SARAH"  # engineer, lead (remedy/defaults/team.yml)
TODAY = date(2026, 11, 25)  # the sandbox seed's "now"
DAY = 24 * 3600
RULES = load_priority_rules()


def _facts(**changes: Any) -> PriorityFacts:
    """A ticket nothing raises: no CVE, no due date, exposure measured at 0, created today."""
    base = PriorityFacts(key="CPE-1", summary="App update", cvss=None, cve_ids=(), due=None, behind=0,
                         open_blockers=(), phase=None, created=datetime(2026, 11, 25, 8, tzinfo=UTC),
                         jira_priority=None)
    return replace(base, **changes)


def _points(**changes: Any) -> int:
    return score(_facts(**changes), RULES, TODAY).points


# -- pure: factors, bands, breakdown ---------------------------------------------------------------


def test_a_ticket_with_nothing_to_raise_it_is_the_lowest_level() -> None:
    result = score(_facts(), RULES, TODAY)
    assert result == Score("P4", 0, ())
    assert breakdown(result) == "P4: nothing raises it"


@pytest.mark.parametrize(("cvss", "points"), [(10.0, 50), (9.0, 50), (8.9, 40), (7.0, 40), (6.9, 20), (4.0, 20),
                                              (3.9, 5), (0.1, 5), (0.0, 0)])
def test_cvss_bands_at_their_edges(cvss: float, points: int) -> None:
    assert _points(cvss=cvss) == points


def test_a_cve_without_a_score_counts_and_a_score_beats_it() -> None:
    result = score(_facts(cve_ids=("CVE-2023-6702", "CVE-2024-0001")), RULES, TODAY)
    assert breakdown(result) == "P4: CVE-2023-6702 and 1 more without a CVSS score (+15)"
    assert _points(cve_ids=("CVE-2023-6702",), cvss=8.8) == 40


@pytest.mark.parametrize(("behind", "points"), [(900, 25), (500, 25), (499, 15), (100, 15), (99, 5), (1, 5), (0, 0)])
def test_exposure_bands_at_their_edges(behind: int, points: int) -> None:
    assert _points(behind=behind) == points


def test_unknown_exposure_is_said_without_points() -> None:
    result = score(_facts(behind=None), RULES, TODAY)
    assert result.points == 0
    assert breakdown(result) == "P4: exposure unknown — run `compliance CPE-1`"


@pytest.mark.parametrize(("days_left", "points", "label"), [
    (-3, 35, "SLA overdue by 3 days"), (-1, 35, "SLA overdue by 1 day"), (0, 20, "SLA due today"),
    (2, 20, "SLA in 2 days"), (3, 10, "SLA in 3 days"), (7, 10, "SLA in 7 days"), (8, 0, None),
])
def test_sla_bands_at_their_edges(days_left: int, points: int, label: str | None) -> None:
    result = score(_facts(due=TODAY + timedelta(days=days_left)), RULES, TODAY)
    assert result.points == points
    assert (breakdown(result) == f"{result.level}: {label} ({points:+d})") if label else result.parts == ()


@pytest.mark.parametrize(("age_days", "points"), [(0, 0), (6, 0), (7, 1), (13, 1), (14, 2), (70, 10), (400, 10)])
def test_age_adds_a_point_a_week_up_to_a_cap(age_days: int, points: int) -> None:
    created = datetime(2026, 11, 25, 8, tzinfo=UTC) - timedelta(days=age_days)
    assert _points(created=created) == points


def test_blockers_phase_and_jira_priority() -> None:
    blocked = score(_facts(open_blockers=("CPE-3301",)), RULES, TODAY)
    assert breakdown(blocked) == "P4: blocked by CPE-3301 (-10)"
    assert _points(phase="Rollout") == _points(phase="pilot") == 10
    assert _points(phase="Investigation") == 0
    assert [_points(jira_priority=name) for name in ("Highest", "high", "Medium", "Low", "Lowest", "Odd")] == [
        10, 5, 0, -5, -10, 0]


@pytest.mark.parametrize(("points", "level"), [(80, "P1"), (79, "P2"), (50, "P2"), (49, "P3"), (25, "P3"),
                                               (24, "P4"), (-10, "P4")])
def test_levels_at_their_edges(points: int, level: str) -> None:
    assert RULES.level_for(points) == level


def test_breakdown_shape() -> None:
    facts = _facts(cvss=8.8, behind=812, due=TODAY + timedelta(days=2))
    assert breakdown(score(facts, RULES, TODAY)) == "P1: CVE 8.8 (+40), 812 devices exposed (+25), SLA in 2 days (+20)"


def test_same_facts_same_score() -> None:
    first = _facts(cvss=7.5, behind=120, due=TODAY, open_blockers=("CPE-9",), phase="Pilot", jira_priority="High")
    again = _facts(cvss=7.5, behind=120, due=TODAY, open_blockers=("CPE-9",), phase="Pilot", jira_priority="High")
    assert score(first, RULES, TODAY) == score(again, RULES, TODAY)
    assert breakdown(score(first, RULES, TODAY)) == breakdown(score(again, RULES, TODAY))


def _ranked(key: str, points_from: dict[str, Any], override: str | None = None) -> Ranked:
    facts = _facts(key=key, **points_from)
    chosen = Override(key, override, "why", "Sarah Chen", datetime(2026, 11, 25, tzinfo=UTC)) if override else None
    return Ranked(facts, score(facts, RULES, TODAY), chosen)


def test_order_is_total_and_stable() -> None:
    soon, later = TODAY + timedelta(days=10), TODAY + timedelta(days=20)
    items = [
        _ranked("CPE-7", {"cvss": 9.8, "behind": 600}),         # 75 P2
        _ranked("CPE-2", {"cvss": 7.0, "due": soon}),            # 40 P3, due sooner
        _ranked("CPE-3", {"cvss": 7.0, "due": later}),           # 40 P3
        _ranked("CPE-10", {"cvss": 7.0}),                        # 40 P3, no due date: after dated ones
        _ranked("CPE-4", {"cvss": 7.0}),                         # ties with CPE-10 but for the key
        _ranked("CPE-5", {"behind": None}),                      # 0 P4
        _ranked("CPE-6", {"cvss": 9.0, "behind": 500, "due": TODAY}),  # 95 P1
        _ranked("CPE-8", {}, override="P1"),                     # 0, but a person said P1
        _ranked("CPE-9", {"cvss": 9.8, "behind": 600}, override="Lowest"),  # a Jira name: ranks last
    ]
    expected = ["CPE-6", "CPE-8", "CPE-7", "CPE-2", "CPE-3", "CPE-10", "CPE-4", "CPE-5", "CPE-9"]
    assert [r.facts.key for r in order(items, RULES)] == expected
    shuffler = random.Random(20261125)
    for _ in range(100):
        shuffler.shuffle(items)
        assert [r.facts.key for r in order(items, RULES)] == expected


def test_override_line_keeps_the_computed_priority_beside_it() -> None:
    facts = _facts(cvss=8.8, due=TODAY + timedelta(days=5))
    result = score(facts, RULES, TODAY)
    assert priority_line(result, None) == "P2: CVE 8.8 (+40), SLA in 5 days (+10)"
    mine = Override("CPE-1", "P1", "exploited in the wild <!channel>", "Sarah Chen", datetime(2026, 11, 25, tzinfo=UTC))
    assert priority_line(result, mine) == ("P1 (override by Sarah Chen: exploited in the wild &lt;!channel&gt;; "
                                           "computed P2: CVE 8.8 (+40), SLA in 5 days (+10))")
    ends = override_expiry(datetime(2026, 11, 25, 9, tzinfo=UTC), until=date(2026, 11, 28))
    assert ends == datetime(2026, 11, 29, tzinfo=UTC)
    assert "until 2026-11-29 00:00 UTC: exploited" in priority_line(result, replace(mine, expires_at=ends))
    assert mine.active(ends) and not replace(mine, expires_at=ends).active(ends)


# -- pure: reading the ticket ------------------------------------------------------------------------


def _issue(**fields: Any) -> Issue:
    base: dict[str, Any] = {"key": "CPE-3222", "id": "1", "summary": "Chrome 120 security update", "status": "Pilot",
                            "status_category": "indeterminate", "issue_type": "Task",
                            "created": datetime(2026, 11, 10, 8, 42, tzinfo=UTC),
                            "updated": datetime(2026, 11, 24, tzinfo=UTC)}
    return Issue(**{**base, **fields})


def test_facts_come_from_the_ticket() -> None:
    issue = _issue(description_text="Fix **CVE-2023-6702** (type confusion in V8, CVSS 8.8).", priority="High",
                   due_date=date(2026, 11, 30), labels=["cve-2023-7024", "cvss-9.1"],
                   links=[IssueLink(type="Blocks", direction="inward", other_key="CPE-3301", phrase="is blocked by",
                                    other_status="Investigation"),
                          IssueLink(type="Blocks", direction="inward", other_key="CPE-3000", phrase="is blocked by",
                                    other_status="Done")])
    facts = facts_for(issue, 812, load_workflow())
    assert (facts.cvss, facts.cve_ids) == (9.1, ("CVE-2023-6702", "CVE-2023-7024"))
    assert (facts.due, facts.behind, facts.open_blockers) == (date(2026, 11, 30), 812, ("CPE-3301",))
    assert (facts.phase, facts.jira_priority) == ("Pilot", "High")
    assert facts_for(_issue(status="Someone's status"), None, load_workflow()).phase is None


@pytest.mark.parametrize(("text", "cvss"), [
    ("CVSS 8.8", 8.8), ("cvss: 9.8", 9.8), ("CVSS v3.1 7.5", 7.5), ("CVSS score 6.1", 6.1),
    ("CVSS v3 base score 9.1", 9.1), ("cvss-10", 10.0), ("CVSS 14.0", None), ("no score here", None),
])
def test_cvss_spellings(text: str, cvss: float | None) -> None:
    assert cvss_in([text]) == cvss
    assert cve_ids_in(["cve-2023-6702, CVE-2023-6702 and CVE-2024-12345"]) == ("CVE-2023-6702", "CVE-2024-12345")


# -- the rules file ----------------------------------------------------------------------------------


def _shipped() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((files("remedy") / "defaults" / "priority.yml").read_text(encoding="utf-8"))
    return data


def test_rules_in_config_dir_change_the_result(tmp_path: Path) -> None:
    facts = _facts(cvss=8.8, due=TODAY + timedelta(days=5))
    assert score(facts, load_priority_rules(tmp_path), TODAY).level == "P2"  # no file there: the shipped rules
    rules = _shipped()
    rules["cvss"]["bands"][1]["points"] = 70
    (tmp_path / "priority.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    custom = score(facts, load_priority_rules(tmp_path), TODAY)
    assert (custom.level, custom.points) == ("P1", 80)
    assert breakdown(custom) == "P1: CVE 8.8 (+70), SLA in 5 days (+10)"


@pytest.mark.parametrize(("change", "needle"), [
    (lambda r: r["cvss"]["bands"][0].update(points="lots"), "cvss.bands.0.points: Input should be a valid integer"),
    (lambda r: r["exposure"]["bands"].reverse(), "exposure: Value error, bands must go from the highest"),
    (lambda r: r["levels"].reverse(), "levels: Value error, every level but the last needs min_points"),
    (lambda r: r.pop("blocked"), "blocked: Field required"),
    (lambda r: r.update(surprise=1), "surprise: Extra inputs are not permitted"),
    (lambda r: r["age"].update(every_days=0), "age.every_days: Input should be greater than 0"),
])
def test_invalid_rules_name_the_file_and_the_field(tmp_path: Path, change: Any, needle: str) -> None:
    rules = _shipped()
    change(rules)
    (tmp_path / "priority.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    with pytest.raises(PriorityRulesError) as caught:
        load_priority_rules(tmp_path)
    assert str(caught.value).startswith(str(tmp_path / "priority.yml")) and needle in str(caught.value)


def test_rules_that_are_not_yaml(tmp_path: Path) -> None:
    (tmp_path / "priority.yml").write_text("cvss: [unclosed\n", encoding="utf-8")
    with pytest.raises(PriorityRulesError, match=r"priority\.yml: not valid YAML"):
        load_priority_rules(tmp_path)


def test_priority_code_never_asks_a_model() -> None:
    root = Path(__file__).resolve().parents[2]
    for module in ("remedy/workflow/priority.py", "remedy/workflow/priority_view.py", "workers/priorities.py"):
        source = (root / module).read_text(encoding="utf-8")
        assert "remedy.llm" not in source and "ollama" not in source, module


# -- through the real path: Slack → Bolt → queue → job → Jira simulator → Slack simulator ---------


def _answer(rt: Runtime, sent: Sent) -> str:
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return block_texts(view.blocks) if view else sent.ack_text


def _run(rt: Runtime, text: str, user: str = ALICE) -> str:
    sent = rt.slash(text, user=user)
    rt.drain()
    return _answer(rt, sent)


def _queue(rt: Runtime, text: str = "priorities") -> list[str]:
    """The numbered lines of the user's queue."""
    return [line for line in _run(rt, text).splitlines() if line[:1].isdigit()]


def _alice_has_three(rt: Runtime) -> None:
    # The seed gives alice only CPE-3222; two more make the order visible.
    for key in ("CPE-3445", "CPE-3301"):
        assert _run(rt, f"assign {key} to alice", user=SARAH).startswith("✅")


CHROME_LINE = ("1. *CPE-3222* Chrome 120 security update — P2: CVE 8.8 (+40), exposure unknown — run "
               "`compliance CPE-3222`, SLA in 5 days (+10), in Pilot (+10), 15 days old (+2), Jira High (+5)")


def test_my_queue_lists_my_open_tickets_in_order_with_why(runtime: Runtime) -> None:
    _alice_has_three(runtime)
    lines = _queue(runtime)
    assert lines == [
        CHROME_LINE,
        "2. *CPE-3445* Slack 4.36 update — P3: exposure unknown — run `compliance CPE-3445`, SLA in 2 days (+20), "
        "blocked by CPE-3301 (-10), in Rollout (+10), 13 days old (+1), Jira High (+5)",
        "3. *CPE-3301* Zoom 5.17 audio crash fix — P4: exposure unknown — run `compliance CPE-3301`, 11 days old (+1)",
    ]
    assert _queue(runtime, "my queue") == _queue(runtime, "my priorities") == lines
    assert "no open tickets" in _run(runtime, "priorities", user="U03JSMITH")  # his CPE-3301 went to alice


def _audit(rt: Runtime, action: str) -> list[AuditEvent]:
    with rt.services.db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_override_wins_is_marked_and_audited(runtime: Runtime) -> None:
    _alice_has_three(runtime)
    assert _run(runtime, "priority CPE-3301 P1 because exploited in the wild", user=SARAH).startswith("✅")
    lines = _queue(runtime)
    assert lines[0] == ("1. *CPE-3301* Zoom 5.17 audio crash fix — P1 (override by Sarah Chen: exploited in the "
                        "wild; computed P4: exposure unknown — run `compliance CPE-3301`, 11 days old (+1), "
                        "Jira Highest (+10))")
    assert [line[3:12] for line in lines[1:]] == ["*CPE-3222", "*CPE-3445"]
    [event] = _audit(runtime, "jira.priority")
    assert (event.actor, event.target) == (SARAH, "CPE-3301")
    assert (event.data["priority"], event.data["reason"], event.data["expires"]) == ("Highest", "exploited in the wild",
                                                                                     None)
    assert runtime.sandbox.jira_state.priority_of("CPE-3301") == "Highest"


def test_an_override_without_a_reason_is_refused_with_the_syntax(runtime: Runtime) -> None:
    answer = _run(runtime, "priority CPE-3301 P1", user=SARAH)
    assert "An override needs a reason" in answer and "`priority CPE-3301 P1 because …`" in answer
    answer = _run(runtime, "priority CPE-3301 P1 for 3 days because", user=SARAH)  # "because" and nothing after
    assert "`priority CPE-3301 P1 for 3 days because …`" in answer
    assert runtime.sandbox.jira_state.priority_of("CPE-3301") == "Medium" and _audit(runtime, "jira.priority") == []
    shown = _run(runtime, "help priority")
    assert "[for N days | until DATE] because &lt;reason&gt;`" in shown and "The reason is required" in shown


def test_an_expired_override_no_longer_wins(runtime: Runtime) -> None:
    _alice_has_three(runtime)
    assert _run(runtime, "priority CPE-3301 P1 for 1 day because exploited", user=SARAH).startswith("✅")
    [event] = _audit(runtime, "jira.priority")
    assert event.data["expires"] == "2026-11-26T09:00:00+00:00"
    first = _queue(runtime)[0]
    assert "*CPE-3301*" in first and "override by Sarah Chen until 2026-11-26 09:00 UTC: exploited" in first
    runtime.sandbox.jamf_state.advance(2 * DAY)
    lines = _queue(runtime)
    assert "*CPE-3222*" in lines[0] and not any("override" in line for line in lines)
    assert lines[2].startswith("3. *CPE-3301*") and "Jira Highest (+10)" in lines[2]  # Jira keeps what was set


def test_an_override_until_a_past_date_is_refused(runtime: Runtime) -> None:
    assert "has passed" in _run(runtime, "priority CPE-3301 P1 until 2026-11-01 because late", user=SARAH)
    assert runtime.sandbox.jira_state.priority_of("CPE-3301") == "Medium"


def test_a_compliance_snapshot_gives_the_exposure_points(runtime: Runtime) -> None:
    assert _queue(runtime) == [CHROME_LINE]
    assert _run(runtime, "compliance CPE-3222").startswith("✅")
    with runtime.services.db.session() as s:
        snap = s.scalars(select(ComplianceSnapshot).where(ComplianceSnapshot.ring.is_(None))).one()
        behind = snap.total - snap.compliant
    assert behind >= 500  # the seeded fleet is mostly behind on Chrome
    [line] = _queue(runtime)
    assert line.startswith(f"1. *CPE-3222* Chrome 120 security update — P1: CVE 8.8 (+40), {behind} devices "
                           "exposed (+25), SLA in 5 days (+10)")
