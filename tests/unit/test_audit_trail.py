"""`audit trail` through the real app: what people did to a ticket, oldest first, with who, when (in the
asker's timezone), what and where (linked to Jira / Jamf); paged with buttons that keep the same range
while new events arrive; `since` in the asker's timezone; the future and past-the-end pages refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from remedy.audit import AuditWriter, verify
from remedy.audit.trail import load_page, since_moment
from remedy.commands.model import When
from remedy.errors import UserError
from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime, Sent
from tests.slackview import block_texts, button
from workers.cron import SCHEDULE, tick

ALICE, JOHN = "U01ALICE", "U03JSMITH"


def _view(rt: Runtime, sent: Sent) -> tuple[str, list[dict[str, object]]]:
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None
    return "\n".join([view.text, block_texts(view.blocks)]), view.blocks


def _run(rt: Runtime, text: str, user: str = ALICE) -> tuple[str, list[dict[str, object]]]:
    return _view(rt, rt.slash(text, user=user))


def test_a_tickets_trail_says_who_did_what_when_and_where(runtime: Runtime) -> None:
    for command in ("work CPE-3222", "move CPE-3222 to investigation", "comment CPE-3222 vendor confirmed the fix",
                    "create jamf policy CPE-3222"):
        assert _run(runtime, command)[0].startswith("✅"), command
    assert _run(runtime, "escalate CPE-3222 sarah because pilot stuck")[0].startswith("✅")
    answer, _ = _run(runtime, "audit trail CPE-3222", user=JOHN)
    lines = [line for line in answer.splitlines() if line.startswith("`")]
    assert "🧾 Audit trail of *CPE-3222* (America/New_York): events 1–" in answer  # John's timezone
    assert lines[0].startswith("`Wed 25 Nov 04:00` *Alice Martin* opened it · _Slack_")  # 09:00 UTC in New York
    assert any("*Alice Martin* moved it Pilot → Investigation · _<http" in line and "/browse/CPE-3222|Jira>_"
               in line for line in lines), lines
    assert any("*Alice Martin* commented in Jira" in line for line in lines)
    assert any("created the Jamf policy · _<" in line and "/policies.html?id=1|Jamf>_" in line for line in lines)
    assert any("*Alice Martin* escalated it to sarah" in line and "|Slack + Jira>_" in line for line in lines)
    assert "`remedy audit verify`" in answer


def test_all_tickets_paged_with_a_stable_range(runtime: Runtime) -> None:
    audit = runtime.services.audit
    for n in range(20):
        audit.append(ALICE, "jira.comment", f"CPE-{3300 + n}", data={"n": n})
    answer, blocks = _run(runtime, "audit trail all since yesterday")
    assert "🧾 Audit trail of all tickets since Tue 24 Nov 2026 00:00 (Europe/Berlin): events 1–15 of 20 · page 1 " \
           "of 2" in answer
    assert "*CPE-3300* *Alice Martin* commented in Jira" in answer and "CPE-3315" not in answer
    audit.append(ALICE, "jira.comment", "CPE-3999", data={})  # arrives while the user reads page 1
    page_two, blocks2 = _view(runtime, runtime.press(button(blocks, "Next ▶"), user=ALICE, ephemeral=True))
    assert "events 16–20 of 20 · page 2 of 2" in page_two and "CPE-3319" in page_two
    assert "CPE-3999" not in page_two and "CPE-3314" not in page_two
    back, _ = _view(runtime, runtime.press(button(blocks2, "◀ Previous"), user=ALICE, ephemeral=True))
    assert "events 1–15 of 20" in back
    with pytest.raises(UserError, match="The trail has 2 pages; page 3 is past its end"):
        load_page(runtime.services.db, None, None, 3, upto=20)


def test_no_events_the_future_and_a_typo(runtime: Runtime) -> None:
    assert _run(runtime, "audit trail CPE-3445")[0].startswith("✅ No audit events for *CPE-3445*")
    future, _ = _run(runtime, "audit trail CPE-3222 since tomorrow")
    assert "“tomorrow” is in the future" in future
    wrong = runtime.slash("audit trail CPE-3222 since whenever", user=ALICE)  # refused in the ack, no job
    assert "Since when?" in wrong.ack_text


def test_since_reads_days_in_the_askers_timezone() -> None:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a Wednesday
    berlin = "Europe/Berlin"
    assert since_moment(When(raw="mon", day="mon"), berlin, now) == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert since_moment(When(raw="wed", day="wed"), berlin, now) == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    early = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)  # Wednesday in Berlin, still Tuesday in Los Angeles
    assert since_moment(When(raw="today", day="today"), "America/Los_Angeles", early) == \
        datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    dated = When(raw="2026-11-01 09:00", date=datetime(2026, 11, 1).date(), time="09:00")
    assert since_moment(dated, berlin, now) == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert since_moment(When(raw="yesterday", day="yesterday"), "UTC", now) == now.replace(hour=0) - timedelta(days=1)


def test_the_daily_prune_job_applies_the_retention_and_the_trail_still_verifies(sandbox: Sandbox,
                                                                               sqlite_url: str) -> None:
    rt = Runtime.start(sandbox, sqlite_url, REMEDY_AUDIT_RETENTION_DAYS=30)
    try:
        old = AuditWriter(rt.services.db, clock=lambda: sandbox.now() - timedelta(days=45))
        for n in range(3):
            old.append(ALICE, "jira.comment", "CPE-3222", data={"n": n})
        rt.services.audit.append(ALICE, "jira.comment", "CPE-3222", data={"n": 3})
        tick(rt.services.queue, sandbox.now().replace(hour=3, minute=30),
             [entry for entry in SCHEDULE if entry.name == "prune-audit"])
        rt.drain()
        assert verify(rt.services.db).describe() == "audit chain intact: 2 events verified"
        answer, _ = _run(rt, "audit trail CPE-3222")
        assert "events 1–1 of 1" in answer  # the kept comment; the prune record names no ticket
    finally:
        rt.stop()
