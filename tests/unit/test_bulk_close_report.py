"""`close all resolved` (verified tickets only, after Confirm, through Jira's bulk transition task or
one call at a time when the bulk API is not there), `compliance report` (the numbers `compliance KEY`
shows, as a table and parseable CSV and markdown files), and the role limits of bulk writes."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from sqlalchemy import select

from remedy.db.models import AuditEvent
from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts
from tests.unit.test_bulk_support import (
    ALICE,
    CHANNEL,
    SARAH,
    VIEWER,
    card_text,
    last_card,
    marked,
    new_epic,
    new_story,
    press,
    rt,
    run,
    start,
)

__all__ = ["rt"]  # the fixture, imported for these tests


def _verified_epic(rt: Runtime) -> tuple[str, dict[str, str]]:
    jira = rt.sandbox.jira_state
    epic = new_epic(jira)
    keys = {
        "resolved": new_story(jira, epic, 1, status="Verify", resolution="Done"),
        "compliant": new_story(jira, epic, 2, status="Verify", target="1.0"),  # every Mac is past 1.0
        "behind": new_story(jira, epic, 3, status="Verify"),  # Chrome 120 is on few Macs yet
        "rolling": new_story(jira, epic, 4, status="Rollout", target="1.0"),
        "closed": new_story(jira, epic, 5, status="Done", resolution="Done"),
    }
    return epic, keys


def _bulk_calls(rt: Runtime) -> tuple[int, int, int]:
    paths = [(r.method, r.path) for r in rt.sandbox.jira_state.requests]
    submit = sum(1 for m, p in paths if m == "POST" and p.endswith("/bulk/issues/transition"))
    polls = sum(1 for m, p in paths if m == "GET" and "/bulk/queue/" in p)
    single = sum(1 for m, p in paths if m == "POST" and p.endswith("/transitions"))
    return submit, polls, single


def test_close_all_resolved_confirms_then_uses_the_bulk_task(rt: Runtime) -> None:
    jira = rt.sandbox.jira_state
    epic, keys = _verified_epic(rt)
    said = run(rt, f"close all resolved in epic {epic}")
    assert "Close 2 tickets?" in said
    text = card_text(rt, last_card(rt))
    assert keys["resolved"] in text and "Jira resolution “Done”" in text
    assert keys["compliant"] in text and "Verify done, 100.0% ≥ 95% compliant" in text
    for other in ("behind", "rolling", "closed"):
        assert keys[other] not in text
    assert jira.status_of(keys["resolved"]) == "Verify"  # nothing before Confirm
    press(rt, last_card(rt), "Confirm")
    assert "✅ 2 closed" in card_text(rt, last_card(rt))
    for name in ("resolved", "compliant"):
        assert jira.status_of(keys[name]) == "Done"
        notes = marked(jira, keys[name])
        assert len(notes) == 1 and notes[0]["text"].startswith("Closed: the remediation is verified")
    assert jira.status_of(keys["behind"]) == "Verify" and jira.status_of(keys["rolling"]) == "Rollout"
    submit, polls, single = _bulk_calls(rt)
    assert submit == 1 and polls >= 2 and single == 0  # one task, polled until COMPLETE


def test_close_falls_back_to_one_call_per_ticket_without_the_bulk_api(rt: Runtime) -> None:
    jira = rt.sandbox.jira_state
    epic, keys = _verified_epic(rt)
    run(rt, f"close all resolved in epic {epic}")
    jira.fail_next(404, path_contains="/bulk/issues/transition")  # Data Center has no such endpoint
    press(rt, last_card(rt), "Confirm")
    assert "✅ 2 closed" in card_text(rt, last_card(rt))
    assert jira.status_of(keys["resolved"]) == jira.status_of(keys["compliant"]) == "Done"
    submit, polls, single = _bulk_calls(rt)
    assert submit == 1 and polls == 0 and single == 2  # the refused bulk call, then one move each


def test_nothing_to_close_says_why(rt: Runtime) -> None:
    said = run(rt, "close all resolved on CPE-3222 CPE-3445")
    assert "Nothing to close" in said and "Verify" in said
    assert not [m for m in rt.sandbox.slack_state.messages(CHANNEL) if m.text.startswith("📦")]


def test_compliance_report_numbers_equal_compliance_and_files_parse(rt: Runtime) -> None:
    said = run(rt, "compliance report on CPE-3222 CPE-3445 CPE-3301", user=VIEWER)
    assert "Compliance report for 3 tickets" in said
    single = run(rt, "compliance CPE-3445")
    percent, compliant, total = re.search(r"\*([\d.]+)% compliant\*: (\d+)/(\d+)", single).groups()  # type: ignore[union-attr]
    files = {f.filename.rsplit(".", 1)[1]: f for f in rt.sandbox.slack_state.files.values()}
    assert set(files) == {"csv", "md"}
    rows = list(csv.DictReader(io.StringIO(files["csv"].content.decode())))  # type: ignore[union-attr]
    assert [r["ticket"] for r in rows] == ["CPE-3222", "CPE-3301", "CPE-3445"]
    slack = rows[2]
    assert (slack["app"], slack["target version"], slack["deadline"], slack["status"]) == (
        "Slack", "4.36.140", "2026-11-27", "Rollout")
    assert slack["compliant %"] == percent and slack["devices"] == total and slack["failures"] == "0"
    markdown = files["md"].content.decode()  # type: ignore[union-attr]
    assert f"| CPE-3445 | Slack | 4.36.140 | {total} | {percent} | 0 | 2026-11-27 | Rollout |" in markdown
    table = [m for m in rt.sandbox.slack_state.messages(CHANNEL) if "Compliance report" in m.text][-1]
    assert f"CPE-3445    Slack           4.36.140        {total}" in block_texts(table.blocks)
    assert files["csv"].thread_ts == table.ts and int(compliant) <= int(total)


def test_role_limits(sandbox: Sandbox, tmp_path: Path) -> None:
    rt = start(sandbox, tmp_path, REMEDY_BULK_LEAD_OVER=2)
    try:
        refused_at_once = rt.slash('batch comment "x" on CPE-3222', user=VIEWER).ack_text
        assert "needs the *engineer* role" in refused_at_once
        said = run(rt, 'batch comment "x" on epic CPE-123')
        assert "needs the *lead* role" in said and "3 tickets at once (more than 2)" in said
        epic = new_epic(rt.sandbox.jira_state)
        for n in range(3):
            new_story(rt.sandbox.jira_state, epic, n, status="Verify", resolution="Done")
        assert "needs the *lead* role" in run(rt, f"close all resolved in epic {epic}")
        assert "Post to 3 tickets?" in run(rt, 'batch comment "x" on epic CPE-123', user=SARAH)
        card = last_card(rt)
        assert "a lead (it is a large batch)" in card_text(rt, card)
        assert "needs the *lead* role" in press(rt, card, "Confirm", user=ALICE)
        assert not marked(rt.sandbox.jira_state, "CPE-3222")
        press(rt, card, "Confirm", user=SARAH)
        assert "✅ 3 posted" in card_text(rt, card)
        with rt.services.db.session() as s:
            refused = s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "auth.refused")).all()
        assert refused == [ALICE, ALICE, ALICE]
    finally:
        rt.stop()
