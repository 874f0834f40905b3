"""Stakeholder notifications (phase changes and go/no-go decisions tell the stakeholder channel and
the ticket's Jira watchers, once) and the App Home list of the user's active remediations (phase,
number, next action, risk flags, buttons; paged within Block Kit limits)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from remedy.commands import Help, parse_button
from remedy.db.models import AuditEvent
from remedy.sandbox.run import HOME_CHANNEL, Sandbox
from remedy.sandbox.seed import BOT_ACCOUNT_ID
from remedy.sandbox.slack_records import Channel, Message
from remedy.slack.home_view import DM_PAGE_SIZE, active_remediations, active_remediations_blocks
from remedy_cli.embedded import Runtime
from tests.crash import crash_and_rerun
from tests.slackview import block_texts, button, buttons, only_thread

ALICE, SARAH, JSMITH, JDOE = "U01ALICE", "U02SARAH", "U03JSMITH", "U04JDOE"
STAKE = "C0STAKEHOLDERS"
HOUR = 3600


def _announcing(sandbox: Sandbox, sqlite_url: str, **overrides: Any) -> Runtime:
    """The embedded runtime with a stakeholder channel configured (and existing in Slack)."""
    sandbox.slack_state.channels[STAKE] = Channel(STAKE, "remediation-stakeholders")
    return Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1,
                         REMEDY_STAKEHOLDER_CHANNEL=STAKE, **overrides)


@pytest.fixture
def announced(sandbox: Sandbox, sqlite_url: str) -> Iterator[Runtime]:
    rt = _announcing(sandbox, sqlite_url)
    yield rt
    rt.stop()


def _run(rt: Runtime, text: str, user: str = ALICE) -> str:
    sent = rt.slash(text, user=user)
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return view.text if view else sent.ack_text


def _job_id(rt: Runtime, text: str, user: str = ALICE) -> str:
    sent = rt.slash(text, user=user)
    rt.drain()
    return sent.ack_text.split("`")[-2]


def _dms(rt: Runtime, who: str, contains: str) -> list[Message]:
    return [m for m in rt.sandbox.slack_state.dms_to(who) if contains in m.text]


def _notices(rt: Runtime) -> list[dict[str, Any]]:
    with rt.services.db.session() as s:
        return [dict(e.data) for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "notify.stakeholders")
                                                .order_by(AuditEvent.seq))]



# -- stakeholder notifications ---------------------------------------------------------------------


def _watched_by_everyone(rt: Runtime) -> None:
    # CPE-3301's reporter (sarah) and assignee (john.smith) watch it already; alice, who will move
    # it, watches too and must not be told about her own move.
    assert _run(rt, "watch CPE-3301 sarah john.doe").startswith("✅")
    assert _run(rt, "watch CPE-3301").startswith("✅")


def test_a_move_tells_the_stakeholder_channel_and_each_watcher_once(announced: Runtime) -> None:
    _watched_by_everyone(announced)
    assert _run(announced, "move CPE-3301 to plan").startswith("✅")
    thread = only_thread(announced.sandbox.slack_state, STAKE)
    assert "CPE-3301" in thread[0].text and "*Plan*" in thread[0].text  # the title line shows the new phase
    assert [m.text for m in thread[1:]] == ["➡️ *CPE-3301* moved Investigation → *Plan* by *Alice Martin*"]
    for who in (SARAH, JSMITH, JDOE):
        [dm] = _dms(announced, who, "moved Investigation → *Plan*")
        assert "Zoom 5.17 audio crash fix" in dm.text and "You watch CPE-3301 in Jira" in block_texts(dm.blocks)
    assert _dms(announced, ALICE, "moved") == []
    [notice] = _notices(announced)
    assert notice["channel"] == STAKE and sorted(notice["recipients"]) == sorted([SARAH, JSMITH, JDOE])

    assert _run(announced, "move CPE-3301 to plan").startswith("✅")  # nothing moved: nobody is told
    assert len(only_thread(announced.sandbox.slack_state, STAKE)) == 2
    assert len(_dms(announced, SARAH, "moved")) == 1 and len(_notices(announced)) == 1


def test_a_rerun_of_the_move_after_a_crash_sends_nothing_twice(announced: Runtime) -> None:
    _watched_by_everyone(announced)
    job_id = _job_id(announced, "move CPE-3301 to plan")
    crash_and_rerun(announced, job_id)  # the rerun finds the ticket moved and its messages posted
    crash_and_rerun(announced, job_id)
    assert len(only_thread(announced.sandbox.slack_state, STAKE)) == 2
    for who in (SARAH, JSMITH, JDOE):
        assert len(_dms(announced, who, "moved")) == 1
    assert len(_notices(announced)) == 1


def test_a_watcher_slack_refuses_or_nobody_knows_does_not_fail_the_move(announced: Runtime) -> None:
    _watched_by_everyone(announced)
    slack, jira = announced.sandbox.slack_state, announced.sandbox.jira_state
    del slack.users[JDOE]  # left the company: Slack refuses to open the DM
    jira.issues["CPE-3301"].watchers.append(BOT_ACCOUNT_ID)  # a Jira account not in team.yml
    assert _run(announced, "move CPE-3301 to plan").startswith("✅")
    assert len(only_thread(slack, STAKE)) == 2
    assert len(_dms(announced, SARAH, "moved")) == 1 and len(_dms(announced, JSMITH, "moved")) == 1
    [notice] = _notices(announced)
    assert notice["failed"] == {JDOE: "user_not_found"} and notice["unknown_watchers"] == 1


def test_without_a_stakeholder_channel_only_the_watchers_are_told(runtime: Runtime) -> None:
    assert _run(runtime, "move CPE-3301 to plan").startswith("✅")
    slack = runtime.sandbox.slack_state
    assert {m.channel for m in slack.all_messages() if not m.channel.startswith("D")} == {HOME_CHANNEL}
    assert len(only_thread(slack)) == 2  # the parent and the move: nothing else in the team channel
    assert len(_dms(runtime, SARAH, "moved")) == 1 and len(_dms(runtime, JSMITH, "moved")) == 1
    assert _notices(runtime)[0]["channel"] is None


def test_a_stakeholder_channel_that_is_the_team_channel_gets_no_second_line(sandbox: Sandbox,
                                                                            sqlite_url: str) -> None:
    rt = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_STAKEHOLDER_CHANNEL=HOME_CHANNEL)
    try:
        assert _run(rt, "move CPE-3301 to plan").startswith("✅")
        assert len(only_thread(sandbox.slack_state)) == 2  # the job's own reply says it already
    finally:
        rt.stop()


def test_deploy_pilot_tells_of_the_move_to_pilot(sandbox: Sandbox, sqlite_url: str, tmp_path: Path) -> None:
    # The package gate of Build & Test is another test's subject: this workflow leaves it out.
    workflow = yaml.safe_load((files("remedy") / "defaults" / "workflow.yml").read_text(encoding="utf-8"))
    for phase in workflow["phases"]:
        phase["exit_checks"] = [c for c in phase.get("exit_checks", []) if c != "package_validated"]
    (tmp_path / "workflow.yml").write_text(yaml.safe_dump(workflow), encoding="utf-8")
    rt = _announcing(sandbox, sqlite_url, REMEDY_CONFIG_DIR=str(tmp_path))
    try:
        assert _run(rt, "create jamf policy CPE-3301").startswith("✅")
        assert _run(rt, "deploy pilot CPE-3301").startswith("✅")
        thread = only_thread(sandbox.slack_state, STAKE)
        assert [m.text for m in thread[1:]] == ["➡️ *CPE-3301* moved Investigation → *Pilot* by *Alice Martin*"]
        assert len(_dms(rt, JSMITH, "→ *Pilot*")) == 1 and _dms(rt, ALICE, "→ *Pilot*") == []
    finally:
        rt.stop()


def _go_card(rt: Runtime) -> Message:
    assert _run(rt, "create jamf policy CPE-3222").startswith("✅")
    assert _run(rt, "deploy pilot CPE-3222").startswith("✅")  # already in Pilot: no phase news
    rt.sandbox.jamf_state.advance(26 * HOUR)
    return _card(rt)


def _card(rt: Runtime) -> Message:
    assert _run(rt, "rollout next CPE-3222").startswith("✅")
    return [m for m in only_thread(rt.sandbox.slack_state)[1:] if "No-go" in block_texts(m.blocks)][-1]


def test_a_go_tells_everyone_once_and_not_the_lead_who_decided(announced: Runtime) -> None:
    card = _go_card(announced)
    assert announced.sandbox.slack_state.messages(STAKE) == []
    go = button(card.blocks, "Go")
    announced.press(go, user=SARAH, message_ts=card.ts)
    announced.press(go, user=SARAH, message_ts=card.ts)  # a double click
    announced.drain()
    [parent, news] = only_thread(announced.sandbox.slack_state, STAKE)
    assert news.text.startswith("✅ *Go* for *Phase 1* on *CPE-3222* by *Sarah Chen*: Pilot at ")
    assert "The ticket moves to *Rollout*." in news.text and "*Rollout*" in parent.text
    [dm] = _dms(announced, ALICE, "*Go* for *Phase 1*")  # alice: assignee, so a watcher
    assert "Chrome 120 security update" in dm.text
    assert _dms(announced, SARAH, "*Go*") == []
    assert [n["event"] for n in _notices(announced)] == ["decision"]


def test_no_go_and_hold_are_told_with_the_reason(announced: Runtime) -> None:
    card = _go_card(announced)
    announced.press(button(card.blocks, "No-go"), user=SARAH, message_ts=card.ts)
    announced.drain()
    values = {"reason": {"text": {"type": "plain_text_input", "value": "Finance Macs crash <on> launch"}}}
    announced.submit_view(announced.sandbox.slack_state.modals[-1], values, user=SARAH)
    announced.drain()
    card = _card(announced)
    announced.press(button(card.blocks, "Hold"), user=SARAH, message_ts=card.ts)
    announced.drain()
    texts = [m.text for m in only_thread(announced.sandbox.slack_state, STAKE)[1:]]
    assert texts[0].startswith("🛑 *No-go* for *Phase 1* on *CPE-3222* by *Sarah Chen*: "
                               "Finance Macs crash &lt;on&gt; launch. Pilot at ")
    assert texts[1].startswith("⏸ *Hold* on *CPE-3222* by *Sarah Chen*: it stays on *Pilot*")
    assert len(texts) == 2 and len(_dms(announced, ALICE, "No-go")) == 1


# -- App Home --------------------------------------------------------------------------------------


def _open_home(rt: Runtime, user: str = ALICE) -> dict[str, Any]:
    rt.event({"type": "app_home_opened", "user": user, "tab": "home"})
    rt.drain()
    return rt.sandbox.slack_state.home_views[user][-1]


def _within_block_kit_limits(view: dict[str, Any]) -> None:
    blocks = view["blocks"]
    assert len(blocks) <= 100
    for block in blocks:
        text = block.get("text") or {}
        assert len(text.get("text", "")) <= (150 if block["type"] == "header" else 3000)
        for element in block.get("elements", []):
            if element.get("type") == "mrkdwn":
                assert len(element["text"]) <= 3000
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
    for btn in buttons(blocks):
        assert len(btn["text"]["text"]) <= 75 and len(btn.get("value", "")) <= 2000


def test_home_shows_phase_number_next_action_flags_and_buttons_that_work(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    assert _run(runtime, "create jamf policy CPE-3222").startswith("✅")
    assert _run(runtime, "deploy pilot CPE-3222").startswith("✅")
    runtime.sandbox.jamf_state.advance(26 * HOUR)
    assert _run(runtime, "compliance CPE-3222").startswith("✅")  # the snapshot Home reads
    assert _run(runtime, "rollout next CPE-3222").startswith("✅")  # a card waits for a lead
    assert _run(runtime, "add blocker CPE-3222 CPE-3301").startswith("✅")
    jira.issues["CPE-3222"].due_date = runtime.sandbox.now().date() + timedelta(days=1)
    jamf_calls = len(runtime.sandbox.jamf_state.requests)

    home = _open_home(runtime)
    _within_block_kit_limits(home)
    shown = block_texts(home["blocks"])
    assert "You have 1 active remediation*" in shown and "Showing" not in shown
    assert "CPE-3222" in shown and "Chrome 120 security update" in shown
    assert "*Pilot* · Pilot ring: " in shown and "Macs)" in shown and "next: `compliance`" in shown
    assert "⛔ blocked by CPE-3301" in shown and "🗳 go/no-go card waiting for a lead" in shown
    assert "⏰ due in 1 day, at " in shown and "(target 95%)" in shown
    assert len(runtime.sandbox.jamf_state.requests) == jamf_calls  # Home reads stored numbers, never Jamf
    [row] = [b["elements"] for b in home["blocks"] if b["type"] == "actions" and len(b["elements"]) > 1]
    labels = [e["text"]["text"] for e in row]
    assert labels[0] == "Pilot success rate" and labels[-1] == "Open card"  # the next action comes first
    assert row[0]["style"] == "primary" and json.loads(row[0]["value"])["ticket"] == "CPE-3222"
    daily = parse_button("daily update", "CPE-3222")
    assert ("Daily update" in labels) == (not isinstance(daily, Help) and daily.job() is not None)  # never a 🚧

    def measured() -> int:
        return sum(m.text.startswith("📊 *CPE-3222*") for m in only_thread(runtime.sandbox.slack_state))

    before = measured()
    assert runtime.press(button(home["blocks"], "Pilot success rate"), channel=None).status == 200
    runtime.drain()
    assert measured() == before + 1  # the button ran `compliance CPE-3222` into the ticket's thread


def test_home_after_a_go_shows_the_new_ring_and_the_failures(runtime: Runtime) -> None:
    card = _go_card(runtime)
    runtime.press(button(card.blocks, "Go"), user=SARAH, message_ts=card.ts)
    runtime.drain()
    runtime.sandbox.jamf_state.advance(30 * HOUR)  # the seeded fleet fails ~3% of installs for good
    found = re.search(r"complete\*, (\d+) failure", _run(runtime, "compliance CPE-3222"))
    assert found is not None and int(found.group(1)) > 0
    shown = block_texts(_open_home(runtime)["blocks"])
    assert "*Rollout* · Phase 1 ring: " in shown and "next: `compliance gaps`" in shown
    assert f"❗ {found.group(1)} install failures at the last measurement" in shown


def _sixty_tickets(rt: Runtime) -> list[str]:
    """60 active remediations for alice (long summaries, some overdue, some blocked), plus five
    not started (To Do) that Home leaves out; her seeded CPE-3222 goes to sarah."""
    jira, team = rt.sandbox.jira_state, rt.services.team
    alice, sarah = (str(team.by_handle(h).jira_account_id) for h in ("alice", "sarah"))  # type: ignore[union-attr]
    phases = ["Investigation", "Plan", "Build & Test", "Pilot", "Rollout", "Verify"]
    today = rt.sandbox.now().date()
    keys: list[str] = []
    with jira.lock:
        jira.issues["CPE-3222"].assignee = sarah
        for n in range(65):
            record = jira.new_issue(summary=f"App {n} update <&> " + "x" * 220, issue_type="Task",
                                    priority=["Highest", "High", "Medium", "Low"][n % 4], reporter=sarah,
                                    assignee=alice, due_date=today + timedelta(days=n % 7 - 2))
            record.status = "To Do" if n >= 60 else phases[n % len(phases)]
            if n < 60:
                keys.append(record.key)
            if n % 5 == 0:
                jira.link("Blocks", jira.issues["CPE-3301"], record)
    return keys


def _shown_keys(view: dict[str, Any]) -> list[str]:
    return [json.loads(b["value"])["ticket"] for b in buttons(view["blocks"]) if b["text"]["text"] == "Open card"]


def test_home_with_sixty_tickets_is_paged_within_block_kit_limits(runtime: Runtime) -> None:
    keys = _sixty_tickets(runtime)
    home = _open_home(runtime)
    _within_block_kit_limits(home)
    shown = block_texts(home["blocks"])
    assert "You have 60 active remediations*" in shown and "Showing 1–15 of 60" in shown
    assert "overdue by" in shown and "blocked by CPE-3301" in shown and "&lt;&amp;&gt;" in shown
    seen = _shown_keys(home)
    assert len(seen) == 15
    labels = [b["text"]["text"] for b in buttons(home["blocks"])]
    assert "Next page" in labels and "Previous page" not in labels

    pages = [home]
    while "Next page" in [b["text"]["text"] for b in buttons(pages[-1]["blocks"])]:
        assert runtime.press(button(pages[-1]["blocks"], "Next page"), channel=None).status == 200
        runtime.drain()
        pages.append(runtime.sandbox.slack_state.home_views[ALICE][-1])
        _within_block_kit_limits(pages[-1])
        seen += _shown_keys(pages[-1])
    assert len(pages) == 4 and "Showing 16–30 of 60" in block_texts(pages[1]["blocks"])
    assert "Showing 46–60 of 60" in block_texts(pages[3]["blocks"])
    assert sorted(seen) == sorted(keys)  # every ticket on exactly one page: nothing cut silently

    runtime.press(button(pages[3]["blocks"], "Previous page"), channel=None)
    runtime.drain()
    assert "Showing 31–45 of 60" in block_texts(runtime.sandbox.slack_state.home_views[ALICE][-1]["blocks"])


def test_a_malformed_page_button_shows_the_first_page(runtime: Runtime) -> None:
    _sixty_tickets(runtime)
    runtime.press({"action_id": "remedy_home_page:next", "value": "{not json"}, channel=None)
    runtime.drain()
    assert "Showing 1–15 of 60" in block_texts(runtime.sandbox.slack_state.home_views[ALICE][-1]["blocks"])


def test_the_same_list_fits_a_morning_dm(runtime: Runtime) -> None:
    _sixty_tickets(runtime)
    account = runtime.services.team.by_handle("alice").jira_account_id  # type: ignore[union-attr]
    page = active_remediations(runtime.services, str(account), size=DM_PAGE_SIZE)
    blks = active_remediations_blocks(page, pager=False)
    posted = runtime.services.poster.dm(ALICE, "Good morning!", blks, "test:morning")  # Slack checks ≤ 50 blocks
    dm = runtime.sandbox.slack_state.message(posted.channel, posted.ts)
    text = block_texts(dm.blocks)
    assert "Showing 1–10 of 60 · the rest are in my App Home" in text
    assert "Next page" not in [b["text"]["text"] for b in buttons(dm.blocks)]


def test_home_without_a_jira_account_still_publishes(runtime: Runtime) -> None:
    runtime.sandbox.slack_state.users["U0STRANGER"] = {**runtime.sandbox.slack_state.users[ALICE],
                                                       "id": "U0STRANGER", "profile": {"email": None}}
    home = _open_home(runtime, "U0STRANGER")
    assert "can't match you to a Jira account" in block_texts(home["blocks"])
    assert button(home["blocks"], "Run a command…")  # the rest of the tab is there
