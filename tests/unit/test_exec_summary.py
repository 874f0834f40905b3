"""`exec summary` through the real app: one message for leadership whose numbers are the ones
`compliance` and `risks` show (one source of truth), its markdown document and coverage chart in the
thread, SLA met/missed from due and resolution dates, decisions of the period, a model's wording kept
only when grounded; and the weekly post to the leadership channel once, however many cron processes."""

from __future__ import annotations

import re
from datetime import timedelta

from remedy.sandbox import seed
from remedy.sandbox.run import Sandbox
from remedy.updates.chart import PNG_SIGNATURE
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts
from tests.unit.test_daily_update import _from_compliance, _rolled_to_phase1, _run
from workers.cron import SCHEDULE, tick

WEEKLY = [e for e in SCHEDULE if e.name == "exec-summary"]


def _summaries(rt: Runtime, channel: str = "C0CPETEAM") -> list[str]:
    return [block_texts(m.blocks) for m in rt.sandbox.slack_state.messages(channel)
            if m.text.startswith("📊 Executive summary")]


def _files(rt: Runtime, suffix: str) -> list[bytes]:
    return [f.content for f in rt.sandbox.slack_state.files.values()
            if f.completed and f.filename.startswith("exec-summary-") and f.filename.endswith(suffix) and f.content]


def _closed(rt: Runtime, key: str, days_late: int) -> None:
    """``key`` resolved now, its due date ``days_late`` days before (negative: before the due date)."""
    jira = rt.sandbox.jira_state
    with jira.lock:
        issue = jira.issues[key]
        issue.status, issue.resolution = "Done", seed.RESOLUTION_DONE["name"]
        issue.resolution_date = rt.sandbox.now()
        issue.due_date = (rt.sandbox.now() - timedelta(days=days_late)).date()


def test_the_summary_shows_what_compliance_and_risks_show(runtime: Runtime) -> None:
    _rolled_to_phase1(runtime)
    (fleet_ok, fleet_total, fleet_pct), _ = _from_compliance(_run(runtime, "compliance CPE-3222"))
    _closed(runtime, "CPE-3301", days_late=-1)  # closed a day before its due date
    risks = _run(runtime, "risks")
    answer = _run(runtime, "exec summary")
    assert answer.startswith("✅ Executive summary for all remediations (last week) posted"), answer
    [summary] = _summaries(runtime)
    assert "Executive summary · all remediations · last week" in summary
    assert "Go/no-go" not in summary and "1 go" in summary  # Sarah's Go on the pilot
    doc = _files(runtime, ".md")[0].decode("utf-8")
    row = re.search(r"\| CPE-3222 \| .+? \| (\d+)/(\d+) \| (\d+\.\d)% \|", doc)
    assert row is not None and (int(row[1]), int(row[2]), row[3]) == (fleet_ok, fleet_total, fleet_pct)
    first_risk = re.search(r"⚠️ \*(CPE-\d+)\* ([^\n]+)", risks)
    assert first_risk is not None and f"⚠️ *{first_risk[1]}* {first_risk[2]}" in summary
    assert "SLA: 1 met" in doc and "CPE-3301" not in doc.split("Missed:")[1].split("\n")[0]
    assert _files(runtime, ".png")[0].startswith(PNG_SIGNATURE)


def test_a_late_close_is_a_missed_sla_and_a_scope_narrows_it(runtime: Runtime) -> None:
    _closed(runtime, "CPE-3301", days_late=2)
    assert _run(runtime, "exec summary month CPE-3301 CPE-3445").startswith("✅ Executive summary for "
                                                                          "CPE-3301, CPE-3445 (last month)")
    doc = _files(runtime, ".md")[0].decode("utf-8")
    assert "# Executive summary — CPE-3301, CPE-3445, last month" in doc
    assert "## SLA: 0 met, 1 missed" in doc and "Missed: CPE-3301" in doc
    assert "CPE-3222" not in doc


def test_a_model_that_invents_a_number_is_overruled(runtime: Runtime) -> None:
    runtime.sandbox.ollama_state.script_wrong_numbers(times=None)
    _run(runtime, "exec summary")
    [summary] = _summaries(runtime)
    said = runtime.sandbox.ollama_state.calls[-1].outcome
    assert getattr(said, "text", "") and "remediations; fleet coverage" in summary  # the template's words


def test_the_weekly_post_goes_to_the_leadership_channel_once(sandbox: Sandbox, sqlite_url: str) -> None:
    rt = Runtime.start(sandbox, sqlite_url, REMEDY_LEADERSHIP_CHANNEL="C0GENERAL")
    try:
        monday = sandbox.now() + timedelta(days=(7 - sandbox.now().weekday()) % 7)
        at = monday.replace(hour=8, minute=0, second=30)
        tick(rt.services.queue, at, WEEKLY)
        tick(rt.services.queue, at + timedelta(seconds=20), WEEKLY)  # a second cron process
        rt.drain()
        assert len(_summaries(rt, "C0GENERAL")) == 1 and _summaries(rt) == []
    finally:
        rt.stop()
