"""Memory through the whole path (signed Slack request → Bolt → RQ → simulators → Slack): `resume`,
`progress`, `blocked`, and the analysis kept per ticket — across simulated days and a restart."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from remedy.db.models import TicketMemory
from remedy.sandbox import seed
from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime, Sent
from tests.slackview import block_texts

ALICE, SARAH, JDOE = "U01ALICE", "U02SARAH", "U04JDOE"  # alice's timezone is Europe/Berlin (team.yml)
HOUR = 3600


def _run(rt: Runtime, text: str, user: str = ALICE) -> Sent:
    sent = rt.slash(text, user=user)
    rt.drain()
    return sent


def _view(rt: Runtime, sent: Sent) -> tuple[str, list[dict[str, Any]]]:
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None, f"no answer to {sent.text!r}"
    return view.text, view.blocks


def _ok(rt: Runtime, text: str, user: str = ALICE) -> None:
    answer, _ = _view(rt, _run(rt, text, user))
    assert answer.startswith("✅"), (text, answer)


def _section(blocks: list[dict[str, Any]], title: str) -> list[str]:
    """The lines under the section that starts with ``title`` (empty when there is none)."""
    for block in blocks:
        text = str((block.get("text") or {}).get("text", ""))
        if text.startswith(title):
            return text.split("\n")[1:]
    return []


def _live_jira_clock(rt: Runtime) -> None:
    # The Jira simulator's clock is frozen at the seed's "now" unless told otherwise; real Jira's moves.
    rt.sandbox.jira_state.clock = rt.sandbox.now


def _someone_comments_in_jira(sb: Sandbox, key: str, handle: str, text: str) -> None:
    """A comment typed into Jira itself (not through remedy) by a teammate."""
    jira = sb.jira_state
    with jira.lock:
        issue = jira.issues[key]
        ids = [int(c.id) for i in jira.issues.values() for c in i.comments]
        body = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": text}]}]}
        issue.comments.append(seed.CommentRecord(str(max(ids) + 1), seed.team()[handle].account_id, sb.now(), body))
        issue.updated = sb.now()


def _alice_works_a_session(rt: Runtime) -> None:
    for text in ("work CPE-3222", "create jamf policy CPE-3222", "deploy pilot CPE-3222",
                 'comment CPE-3222 "Pilot is rolling out"'):
        _ok(rt, text)
    for text in ("compliance CPE-3222", "draft comment CPE-3301"):  # a measurement, a draft left unposted
        _run(rt, text)


def test_resume_tells_what_you_did_and_exactly_what_others_changed(runtime: Runtime) -> None:
    _live_jira_clock(runtime)
    _alice_works_a_session(runtime)
    runtime.sandbox.jamf_state.advance(14 * HOUR)  # overnight: the pilot Macs check in
    _ok(runtime, 'comment CPE-3222 "Looks good from here"', user=SARAH)
    _run(runtime, "compliance CPE-3222", user=SARAH)
    _someone_comments_in_jira(runtime.sandbox, "CPE-3301", "john.smith", "Zoom support replied: 5.17.5 ships Friday.")
    _someone_comments_in_jira(runtime.sandbox, "CPE-3445", "john.doe", "Not alice's ticket: not her news.")

    head, blocks = _view(runtime, _run(runtime, "resume"))
    assert "Wed 25 Nov 10:00 CET" in head and "14 hours ago" in head  # Berlin time, not UTC
    last_time = _section(blocks, "*Last time*")
    assert last_time == ["• *CPE-3222* opened it, created the Jamf policy, deployed it to the pilot ring, "
                         "commented in Jira"]
    assert [line.split(" “")[0] for line in _section(blocks, "*Drafts not posted*")] == ["• *CPE-3301*"]
    since = _section(blocks, "*Since then on your tickets*")
    assert len(since) == 4, since
    assert since[0].startswith("• *CPE-3222* Sarah Chen commented in Jira: “Looks good from here”")
    assert since[1].startswith("• *CPE-3222* fleet compliance ") and "→" in since[1]
    assert since[2].startswith("• *CPE-3222* Pilot ring ") and "→" in since[2]
    assert since[3].startswith("• *CPE-3301* John Smith commented in Jira: “Zoom support replied: 5.17.5 ships")
    assert "focus *CPE-3222*" in block_texts(blocks)

    again, blocks = _view(runtime, _run(runtime, "resume"))  # right after: nothing new
    assert again.startswith("🧭 Nothing changed on your tickets since you were last here") and "just now" in again
    assert _section(blocks, "*Since then on your tickets*") == []
    assert _section(blocks, "*Drafts not posted*")  # the draft is still there to post

    jira = runtime.sandbox.jira_state
    with jira.lock:  # someone moves the Zoom ticket in Jira itself, not through remedy
        jira.transition(jira.issues["CPE-3301"], "21")
    _, blocks = _view(runtime, _run(runtime, "resume"))
    assert _section(blocks, "*Since then on your tickets*") == [
        "• *CPE-3301* is now in Plan (was Investigation), changed in Jira · just now"]


def test_first_resume_explains_itself(runtime: Runtime) -> None:
    head, blocks = _view(runtime, _run(runtime, "resume", user=SARAH))
    assert head == "Nothing to resume yet" and "haven't seen you before" in block_texts(blocks)
    again, _ = _view(runtime, _run(runtime, "resume", user=SARAH))
    assert again.startswith("🧭 Nothing changed on your tickets since you were last here")


def test_progress_groups_by_ticket_in_the_users_timezone(runtime: Runtime) -> None:
    clock = runtime.sandbox.jamf_state
    for text in ('comment CPE-3222 "one"', 'comment CPE-3222 "two"', "move CPE-3301 to plan"):  # 10:00 Berlin
        _ok(runtime, text)
    clock.advance(13.5 * HOUR)  # 22:30 UTC = 23:30 in Berlin, still Wednesday
    _ok(runtime, 'comment CPE-3301 "late"')
    head, blocks = _view(runtime, _run(runtime, "progress today"))
    assert head.startswith("📈 *Your progress today* (since Wed 25 Nov 00:00 CET): 4 actions on 2 tickets")
    assert _section(blocks, "📈") == ["• *CPE-3222* (2): commented in Jira ×2",
                                      "• *CPE-3301* (2): moved it Investigation → Plan, commented in Jira"]

    clock.advance(1 * HOUR)  # 23:30 UTC: still the 25th in UTC, already Thursday in Berlin
    _ok(runtime, 'comment CPE-3222 "after midnight"')
    head, blocks = _view(runtime, _run(runtime, "progress today"))
    assert head.startswith("📈 *Your progress today* (since Thu 26 Nov 00:00 CET): 1 action on 1 ticket")
    assert _section(blocks, "📈") == ["• *CPE-3222* (1): commented in Jira"]
    head, blocks = _view(runtime, _run(runtime, "progress this week"))  # the week began Monday 23 Nov
    assert "since Mon 23 Nov 00:00 CET): 5 actions on 2 tickets" in head
    assert _section(blocks, "📈")[0] == "• *CPE-3222* (3): commented in Jira ×3"
    assert _view(runtime, _run(runtime, "progress", user=SARAH))[0].startswith("📈 Nothing recorded for you today")


def test_blocked_lists_links_vendor_waits_and_pending_cards_oldest_first(runtime: Runtime) -> None:
    _ok(runtime, "create jamf policy CPE-3222")
    _ok(runtime, "deploy pilot CPE-3222")
    runtime.sandbox.jamf_state.advance(26 * HOUR)
    _ok(runtime, "rollout next CPE-3222")  # a go/no-go card now waits for a lead
    _run(runtime, "draft comment CPE-3301")  # alice touches the vendor-blocked Zoom ticket
    runtime.sandbox.jamf_state.advance(1 * HOUR)
    _ok(runtime, "add blocker CPE-3222 CPE-3301")

    _, blocks = _view(runtime, _run(runtime, "blocked"))
    lines = _section(blocks, "*What waits on what*")
    assert len(lines) == 4, lines
    # The seed's link (made in Jira, no date): counted from CPE-3301's creation, an upper bound.
    assert lines[0].startswith("⛔ *CPE-3445* Slack 4.36 update waits on *CPE-3301* (Investigation) · up to 11d 23h")
    assert lines[1].startswith("⏳ *CPE-3301* Zoom 5.17 audio crash fix waits on the vendor: “Sent crash logs to "
                               "Zoom support") and lines[1].endswith("· 3d 21h (since Sun 22 Nov 15:30 CET)")
    assert lines[2] == ("✋ *CPE-3222* Chrome 120 security update waits on a lead's go/no-go for Pilot → Phase 1 "
                        "· 1h 0m (since Thu 26 Nov 12:00 CET)")
    assert lines[3] == ("⛔ *CPE-3222* Chrome 120 security update waits on *CPE-3301* (Investigation) "
                        "· 0m (since Thu 26 Nov 13:00 CET)")

    _, blocks = _view(runtime, _run(runtime, "resume"))  # resume reminds her of the card too
    assert _section(blocks, "*Go/no-go cards waiting for a lead*") == [
        "• *CPE-3222* Pilot → Phase 1: waiting 1h 0m (asked by Alice Martin)"]

    # john.doe's own CPE-3445 waits on CPE-3301 (the seed's link).
    _, blocks = _view(runtime, _run(runtime, "blocked", user=JDOE))
    assert [line.split(" waits on ")[0] for line in _section(blocks, "*What waits on what*")] == [
        "⛔ *CPE-3445* Slack 4.36 update"]
    assert _view(runtime, _run(runtime, "blocked", user=SARAH))[0].startswith("✅ Nothing you work on is waiting")


def _model_calls(rt: Runtime) -> int:
    return len(rt.sandbox.ollama_state.calls)


def _memory_row(rt: Runtime, key: str) -> tuple[str | None, Any]:
    with rt.services.db.session() as s:
        row = s.scalar(select(TicketMemory).where(TicketMemory.ticket_key == key))
        assert row is not None
        return row.facts_hash, row.analysed_at


def test_analysis_is_reused_until_the_ticket_changes(runtime: Runtime) -> None:
    _live_jira_clock(runtime)
    before = _model_calls(runtime)
    first, _ = _view(runtime, _run(runtime, "analyze CPE-3222"))
    assert _model_calls(runtime) == before + 1
    stored = _memory_row(runtime, "CPE-3222")

    runtime.services.redis.flushdb()  # the model's cache is gone (a restart, an eviction)
    again, card_again = _view(runtime, _run(runtime, "analyze CPE-3222"))
    assert _model_calls(runtime) == before + 1 and again == first  # no model call, same words
    assert "Remembered from" in block_texts(card_again) and _memory_row(runtime, "CPE-3222") == stored

    runtime.sandbox.jamf_state.advance(HOUR)
    _someone_comments_in_jira(runtime.sandbox, "CPE-3222", "sarah", "Security asks for a date.")
    _run(runtime, "analyze CPE-3222")  # same facts, but the ticket changed: analysed afresh
    assert _model_calls(runtime) == before + 2 and _memory_row(runtime, "CPE-3222")[0] != stored[0]
    _ok(runtime, "move CPE-3222 to build & test")
    moved, _ = _view(runtime, _run(runtime, "analyze CPE-3222"))
    assert _model_calls(runtime) == before + 3 and "Build &amp; Test" in moved


def test_memory_survives_a_restart(sandbox: Sandbox, sqlite_url: str) -> None:
    settings: dict[str, Any] = {"REMEDY_RETRY_DELAYS": [0], "REMEDY_JIRA_TRIES": 1}
    first = Runtime.start(sandbox, sqlite_url, **settings)
    try:
        _live_jira_clock(first)
        _ok(first, "work CPE-3222")
        _run(first, "draft comment CPE-3301")
        _run(first, "analyze CPE-3222")
    finally:
        first.stop()
    sandbox.jamf_state.advance(2 * HOUR)
    _someone_comments_in_jira(sandbox, "CPE-3301", "john.smith", "Vendor replied with a beta build.")

    second = Runtime.start(sandbox, sqlite_url, **settings)  # new process: empty Redis, same database
    try:
        head, blocks = _view(second, _run(second, "resume"))
        assert "2 hours ago" in head
        assert _section(blocks, "*Last time*") == ["• *CPE-3222* opened it"]
        assert [line.split(" “")[0] for line in _section(blocks, "*Drafts not posted*")] == ["• *CPE-3301*"]
        assert [line.split(":")[0] for line in _section(blocks, "*Since then on your tickets*")] == [
            "• *CPE-3301* John Smith commented in Jira"]
        calls = _model_calls(second)
        _, blocks = _view(second, _run(second, "analyze CPE-3222"))
        assert _model_calls(second) == calls and "Remembered from" in block_texts(blocks)
    finally:
        second.stop()
