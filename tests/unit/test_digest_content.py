"""What a digest says and what the commands answer: the digest's numbers are the ones `compliance KEY`
shows at the same moment, each ticket's daily update is threaded under it with its chart (none from
one measurement) and nothing goes to Jira; the morning DM arrives once at the user's own local time;
bad input gets a clear answer; the schedule arithmetic across DST; Block Kit limits with 60 tickets.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from remedy.digest.schedule import Plan, at, due, next_run, when
from remedy.sandbox.slack_records import Message
from remedy.slack.digest_view import Item, digest_blocks
from remedy.slack.mrkdwn import BLOCKS_MAX, SECTION_TEXT_MAX
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts, button
from tests.unit.test_digest import BERLIN, answer, channels, cron, digests, go_to, utc

SARAH = "U02SARAH"


def _thread(rt: Runtime, digest: Message) -> list[Message]:
    return rt.sandbox.slack_state.thread(BERLIN, digest.ts)


def _from_compliance(text: str) -> tuple[tuple[int, int, str], dict[str, tuple[int, int, str]]]:
    fleet = re.search(r"\*(\d+\.\d)% complete\*, \d+ failures?: (\d+)/(\d+) Macs", text)
    assert fleet is not None, text
    found = re.findall(r"• \*(.+?)\* \(.+?\): (\d+\.\d)% \((\d+)/(\d+)\)", text)
    return (int(fleet[2]), int(fleet[3]), fleet[1]), {label: (int(ok), int(n), rate) for label, rate, ok, n in found}


def _from_digest(text: str) -> tuple[tuple[int, int, str], tuple[str, int, int, str]]:
    fleet = re.search(r"compliance (\d+)/(\d+) \((\d+\.\d)%\)", text)
    ring = re.search(r"· (\w[\w ]*?) ring (\d+\.\d)% \((\d+)/(\d+)\)", text)
    assert fleet is not None and ring is not None, text
    return (int(fleet[1]), int(fleet[2]), fleet[3]), (ring[1], int(ring[3]), int(ring[4]), ring[2])


def test_the_digest_states_what_compliance_shows_threads_the_update_with_its_chart_and_skips_jira(
        runtime: Runtime) -> None:
    channels(runtime, BERLIN)
    answer(runtime, "create jamf policy CPE-3222")
    answer(runtime, "deploy pilot CPE-3222")
    runtime.sandbox.jamf_state.advance(26 * 3600)
    answer(runtime, "rollout next CPE-3222")
    card = [m for m in runtime.sandbox.slack_state.all_messages("C0CPETEAM") if "Go / No-go" in m.text][-1]
    runtime.press(button(card.blocks, "Go"), user=SARAH, message_ts=card.ts)
    runtime.drain()
    before = _from_compliance(answer(runtime, "compliance CPE-3222"))  # Thu 26 Nov, 11:00 UTC
    answer(runtime, "digest here 09:00 Europe/Berlin", channel=BERLIN)
    go_to(runtime, utc(2026, 11, 27, 8, 0))  # a day later: a trend, and a second point for the chart
    comments = len(runtime.sandbox.jira_state.comments("CPE-3222"))

    cron(runtime)
    shown = _from_compliance(answer(runtime, "compliance CPE-3222"))  # the same simulated moment

    [digest] = digests(runtime, BERLIN)
    text = block_texts(digest.blocks)
    fleet, (ring, ok, total, rate) = _from_digest(text)
    assert fleet == shown[0]
    assert ring == "Phase 1" and shown[1]["Phase 1"] == (ok, total, rate)
    assert "*Rollout* · day 1" in text and f"▲ +{fleet[0] - before[0][0]}" in text  # the Go was 21 h ago
    assert "⚠️ 📉 Phase 1 88.3% < 95% · ❗ 1 install failure" in text
    assert "Next: " in text
    [update] = _thread(runtime, digest)[1:2]
    assert update.text.startswith("📅 *Daily update · <") and f"Compliance: {fleet[0]}/{fleet[1]} Macs" in update.text
    files = [m for m in _thread(runtime, digest) if m.files]
    chart = runtime.sandbox.slack_state.files[files[0].files[0]]
    assert len(files) == 1 and chart.content is not None and chart.content.startswith(b"\x89PNG")
    assert len(runtime.sandbox.jira_state.comments("CPE-3222")) == comments  # the digest writes no Jira comment

    # The next morning nothing moved: the section keeps its numbers, the thread says so in one line.
    go_to(runtime, utc(2026, 11, 30, 8, 0))
    cron(runtime)
    monday = digests(runtime, BERLIN)[-1]
    assert re.search(r"compliance \d+/\d+ \(\d+\.\d%\) (▲ \+\d+|▼ −\d+|→ no change)", block_texts(monday.blocks))
    [reply] = _thread(runtime, monday)[1:2]
    assert "since the last update (2026-11-27 08:00 UTC)" in reply.text or "No change since 2026-11-27 08:00 UTC" in \
        reply.text


def test_the_first_digest_of_a_ticket_has_no_chart_from_a_single_measurement(runtime: Runtime) -> None:
    channels(runtime, BERLIN)
    answer(runtime, "create jamf policy CPE-3222")
    answer(runtime, "digest here 09:00 Europe/Berlin", channel=BERLIN)
    go_to(runtime, utc(2026, 11, 26, 8, 0))
    cron(runtime)
    [digest] = digests(runtime, BERLIN)
    assert "deploy to Pilot (`deploy pilot CPE-3222`)" in block_texts(digest.blocks)
    thread = _thread(runtime, digest)
    assert len(thread) == 2 and not any(m.files for m in thread)


def test_the_morning_dm_comes_once_at_each_users_own_local_time(runtime: Runtime) -> None:
    answer(runtime, "create jamf policy CPE-3222")
    said = answer(runtime, "morning on 08:30")  # Alice: Europe/Berlin in her Slack profile
    assert "at 08:30 Europe/Berlin (your Slack timezone). First one: Thu 26 Nov 08:30 Europe/Berlin (07:30 UTC)" in said
    assert "09:00 America/New_York" in answer(runtime, "morning on 9am", user="U03JSMITH")
    assert "Your morning DM: 08:30 Europe/Berlin on weekdays" in answer(runtime, "morning")

    times: dict[str, list[datetime]] = {"U01ALICE": [], "U03JSMITH": []}
    while runtime.sandbox.now() < utc(2026, 11, 27, 6):
        go_to(runtime, runtime.sandbox.now() + (utc(2026, 1, 1, 0, 30) - utc(2026, 1, 1)))
        before = {u: len(runtime.sandbox.slack_state.dms_to(u)) for u in times}
        cron(runtime)
        for user in times:
            times[user] += [runtime.sandbox.now()] * (len(runtime.sandbox.slack_state.dms_to(user)) - before[user])
    # Set on Wed 25 Nov at 09:00 UTC: 08:30 in Berlin had passed (tomorrow), 09:00 in New York had not.
    assert times == {"U01ALICE": [utc(2026, 11, 26, 7, 30)],
                     "U03JSMITH": [utc(2026, 11, 25, 14), utc(2026, 11, 26, 14)]}
    [dm] = runtime.sandbox.slack_state.dms_to("U01ALICE")
    assert dm.text == "Good morning! You have 1 active remediation"
    assert "☀️ Good morning, Alice!" in block_texts(dm.blocks) and "CPE-3222" in block_texts(dm.blocks)

    assert "Morning DM turned off" in answer(runtime, "morning off")
    go_to(runtime, utc(2026, 11, 27, 7, 30))
    cron(runtime)
    assert len(runtime.sandbox.slack_state.dms_to("U01ALICE")) == 1


@pytest.mark.parametrize(("text", "said"), [
    ("digest here 25:00 Europe/Berlin", "is not a time of day"),
    ("digest here 09:00 Mars/Olympus_Mons", "I don't know the timezone"),
    ("digest here 09:00 Europe/Berln", "Did you mean `Europe/Berlin`?"),
    ("digest here Europe/Berlin", "At what time?"),
    ("digest off", "There is no digest scheduled in this channel, so there is nothing to turn off"),
    ("digest show", "No digest is scheduled in this channel"),
    ("morning off", "Your morning DM is not on"),
    ("morning on 7 o'clock", "is not a time of day"),
    ("morning", "Your morning DM is off"),
])
def test_bad_input_and_nothing_set_are_answered_clearly(runtime: Runtime, text: str, said: str) -> None:
    assert said in answer(runtime, text)


def test_the_roles_follow_the_catalog(runtime: Runtime) -> None:
    outsider = "U09NOBODY"  # not in team.yml: a viewer
    runtime.sandbox.slack_state.users[outsider] = {**runtime.sandbox.slack_state.users["U01ALICE"], "id": outsider}
    assert "needs the *engineer* role" in answer(runtime, "digest here 09:00 Europe/Berlin", user=outsider)
    assert "Digest scheduled here at 09:00 Europe/Berlin on weekdays" in answer(runtime, "digest here 09:00 "
                                                                                       "Europe/Berlin")
    assert "needs the *engineer* role" in answer(runtime, "digest off", user=outsider)
    assert "set by <@U01ALICE>" in answer(runtime, "digest show", user=outsider)
    replaced = answer(runtime, "digest here 07:45 UTC daily")
    assert "(it was 09:00 Europe/Berlin on weekdays)" in replaced and "Next digest: Thu 26 Nov 07:45 UTC." in replaced
    assert "Digest turned off here (it was 07:45 UTC every day)" in answer(runtime, "digest off")


# -- the arithmetic --------------------------------------------------------------------------------------------
BERLIN_NINE = Plan("09:00", "Europe/Berlin", True)


@pytest.mark.parametrize(("day", "utc_hour"), [
    (date(2027, 3, 26), 8), (date(2027, 3, 29), 7),  # clocks go forward on Sun 28 Mar
    (date(2027, 10, 29), 7), (date(2027, 11, 1), 8),  # and back on Sun 31 Oct
])
def test_nine_in_berlin_across_both_dst_changes(day: date, utc_hour: int) -> None:
    assert at(BERLIN_NINE, day) == datetime(day.year, day.month, day.day, utc_hour, tzinfo=UTC)


def test_due_today_only_after_the_time_on_run_days_and_not_before_the_schedule_existed() -> None:
    assert due(BERLIN_NINE, utc(2027, 3, 29, 6, 59)) is None
    found = due(BERLIN_NINE, utc(2027, 3, 29, 7, 0))
    assert found is not None and found.local_date == date(2027, 3, 29) and not found.late
    assert due(BERLIN_NINE, utc(2027, 3, 28, 12)) is None  # a Sunday
    late = due(BERLIN_NINE, utc(2027, 3, 29, 9, 30))
    assert late is not None and late.late
    set_after = Plan("09:00", "Europe/Berlin", True, set_at=utc(2027, 3, 29, 8))
    assert due(set_after, utc(2027, 3, 29, 9)) is None
    assert next_run(set_after, utc(2027, 3, 26, 9)) == utc(2027, 3, 29, 7)  # Friday after 09:00 → Monday
    # 02:30 does not exist in Berlin on 28 Mar 2027: it runs at 03:30 summer time, once.
    gap = Plan("02:30", "Europe/Berlin", False)
    assert at(gap, date(2027, 3, 28)) == utc(2027, 3, 28, 1, 30)
    assert when(BERLIN_NINE, utc(2026, 11, 26, 8)) == "Thu 26 Nov 09:00 Europe/Berlin (08:00 UTC)"
    assert when(Plan("09:00", "Asia/Tokyo", False), utc(2026, 11, 26, 0)) == "Thu 26 Nov 09:00 Asia/Tokyo (00:00 UTC)"


def test_sixty_tickets_fit_one_message_without_losing_one() -> None:
    facts = {"phase": "Pilot", "phase_day": 3, "compliance": {"compliant": 847, "macs_with_app": 890, "percent": 95.2},
             "rings": [], "blockers": [{"key": "CPE-3301", "status": "In Progress", "open": True}], "decisions": [],
             "next": "deploy to Pilot (`deploy pilot CPE-1`)", "change": {"delta": 41}}
    items = [Item(f"CPE-{4000 + i}", "Chrome 120 security update " + "x" * 60, f"https://jira/browse/CPE-{4000 + i}",
                  facts) for i in range(60)]
    blks = digest_blocks("📰 Daily digest · Thu 26 Nov", "60 active remediations", items)
    assert len(blks) <= BLOCKS_MAX
    text = block_texts(blks)
    assert all(f"CPE-{4000 + i}" in text for i in range(60))
    assert all(len(b["text"]["text"]) <= SECTION_TEXT_MAX for b in blks if b["type"] == "section")
    assert "▲ +41" in text and "⛔ blocked by CPE-3301 (In Progress)" in text
