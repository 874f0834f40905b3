"""`schedule discussion` and `sync` through the whole path: signed Slack request → Bolt → RQ → Jira and
Slack simulators. Timezone tests for scheduling: the sandbox clock is Wed 2026-11-25 09:00 UTC; Alice and
Sarah are in Europe/Berlin, John Smith in America/New_York, John Doe in America/Chicago (team.yml)."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from remedy.commands.model import When
from remedy.db.models import AuditEvent, Discussion, SlackThread
from remedy.errors import UserError
from remedy.sandbox.slack_records import Message, UploadedFile
from remedy.team.when import Local, outside_hours, resolve
from remedy_cli.embedded import Runtime, Sent
from tests.crash import crash_and_rerun
from tests.slackview import block_texts, only_thread

CHANNEL, GENERAL = "C0CPETEAM", "C0GENERAL"
JOHN_SMITH = "U03JSMITH"
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
CHROME, TARGET = "com.google.Chrome", "120.0.6099.109"


def _run(rt: Runtime, text: str, user: str = "U01ALICE") -> tuple[Sent, str]:
    sent = rt.slash(text, user=user)
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return sent, view.text if view else ""


def _job_id(sent: Sent) -> str:
    return sent.ack_text.split("`")[-2]



def _ics_files(rt: Runtime) -> list[UploadedFile]:
    return [f for f in rt.sandbox.slack_state.files.values() if f.completed and f.filename.endswith(".ics")]


def _event(upload: UploadedFile) -> Any:
    assert upload.content is not None
    return Calendar.from_ical(upload.content).walk("VEVENT")[0]


def _events(rt: Runtime, action: str) -> list[AuditEvent]:
    with rt.services.db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _comments(rt: Runtime, key: str = "CPE-3222") -> list[str]:
    return [json.dumps(c["body"], ensure_ascii=False) for c in rt.sandbox.jira_state.comments(key)]


def _dm_texts(rt: Runtime, who: str) -> list[Message]:
    return rt.sandbox.slack_state.dms_to(who)


def _nothing_sent(rt: Runtime, comments_before: int) -> None:
    assert not _ics_files(rt) and not _dm_texts(rt, "sarah") and not _events(rt, "team.schedule")
    assert len(_comments(rt)) == comments_before


# -- schedule discussion ------------------------------------------------------------------------------------
def test_invitation_reaches_thread_dms_and_jira_once(runtime: Runtime) -> None:
    slack, comments_before = runtime.sandbox.slack_state, len(_comments(runtime))
    started = time.monotonic()
    sent, answer = _run(runtime, "schedule discussion CPE-3222 tomorrow 15:00 with sarah john.smith")
    assert time.monotonic() - started < 10
    assert answer.startswith("✅") and "Thu 26 Nov 15:00–15:30 Europe/Berlin" in answer

    thread = only_thread(slack)
    shared = [m for m in thread[1:] if m.files]
    assert len(shared) == 1 and "scheduled a discussion of *CPE-3222*" in thread[-2].text
    in_thread = slack.files[shared[0].files[0]]
    event = _event(in_thread)
    assert event.decoded("dtstart").astimezone(dt.UTC) == dt.datetime(2026, 11, 26, 14, 0, tzinfo=dt.UTC)
    assert event["dtstart"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("dtend") - event.decoded("dtstart") == dt.timedelta(minutes=30)
    assert str(event["uid"]) == "cpe-3222-20261126T140000Z@remedy"
    assert str(event["url"]).endswith("/browse/CPE-3222") and str(event["url"]) in str(event["description"])
    assert sorted(str(a) for a in event["attendee"]) == ["mailto:john.smith@example.com",
                                                         "mailto:sarah.chen@example.com"]
    assert str(event["organizer"]) == "mailto:alice@example.com"
    assert Calendar.from_ical(in_thread.content or b"").walk("VTIMEZONE")[0]["TZID"] == "Europe/Berlin"

    sarah, john = _dm_texts(runtime, "sarah"), _dm_texts(runtime, "john.smith")
    assert "*Thu 26 Nov 15:00–15:30 Europe/Berlin*" in sarah[0].text
    assert "*Thu 26 Nov 09:00–09:30 America/New_York*" in john[0].text
    assert "(Thu 26 Nov 15:00–15:30 Europe/Berlin for Alice Martin)" in john[0].text
    for dms in (sarah, john):
        assert len(dms) == 2 and slack.files[dms[1].files[0]].content == in_thread.content
    assert len(_comments(runtime)) == comments_before + 1
    assert ("Discussion scheduled for Thu 26 Nov 2026 15:00–15:30 Europe/Berlin (14:00 UTC) by Alice Martin "
            "with Sarah Chen, John Smith.") in _comments(runtime)[-1]
    [audited] = _events(runtime, "team.schedule")
    assert audited.target == "CPE-3222" and audited.data["start"] == "2026-11-26T14:00:00+00:00"

    crash_and_rerun(runtime, _job_id(sent))
    assert len(_ics_files(runtime)) == 3 and len(slack.files) == 3
    assert [len(_dm_texts(runtime, who)) for who in ("sarah", "john.smith")] == [2, 2]
    assert len([m for m in only_thread(slack) if "scheduled a discussion" in m.text]) == 1
    assert len(_comments(runtime)) == comments_before + 1 and len(_events(runtime, "team.schedule")) == 1


def test_the_same_meeting_again_updates_it_and_an_overlap_is_refused(runtime: Runtime) -> None:
    _run(runtime, "schedule discussion CPE-3222 tomorrow 15:00 with sarah")
    _, again = _run(runtime, "schedule discussion CPE-3222 tomorrow 15:00 with sarah john.smith")
    assert again.startswith("✅")
    files = sorted(_ics_files(runtime), key=lambda f: f.id)
    first, second = files[0], files[-1]
    assert str(_event(first)["uid"]) == str(_event(second)["uid"])  # calendars update, not duplicate
    assert (_event(first)["sequence"], _event(second)["sequence"]) == (0, 1)

    files = len(_ics_files(runtime))
    _, clash = _run(runtime, "schedule discussion CPE-3222 tomorrow 15:15 with john.smith")
    assert clash.startswith("❌") and "CPE-3222 already has a discussion then" in clash
    assert "Thu 26 Nov 15:00–15:30 Europe/Berlin" in clash and len(_ics_files(runtime)) == files
    _, other_ticket = _run(runtime, "schedule discussion CPE-3301 tomorrow 15:15 with john.smith")
    assert other_ticket.startswith("✅")


def test_across_the_spring_clock_change_in_berlin(runtime: Runtime) -> None:
    # Europe moves its clocks on Sun 28 Mar 2027, the US on 14 Mar: in the week between, New York is 5 hours
    # behind Berlin instead of 6, and 15:00 in Berlin is 14:00 UTC before the change and 13:00 UTC after.
    _, before = _run(runtime, "schedule discussion CPE-3222 2027-03-26 15:00 with sarah john.smith")
    _, after = _run(runtime, "schedule discussion CPE-3222 2027-03-29 15:00 with sarah john.smith")
    assert before.startswith("✅") and after.startswith("✅")
    starts = sorted(_event(f).decoded("dtstart").astimezone(dt.UTC) for f in _ics_files(runtime))
    assert starts[0] == dt.datetime(2027, 3, 26, 14, 0, tzinfo=dt.UTC)
    assert starts[-1] == dt.datetime(2027, 3, 29, 13, 0, tzinfo=dt.UTC)
    john = [m.text for m in _dm_texts(runtime, "john.smith") if not m.files]
    assert "*Fri 26 Mar 10:00–10:30 America/New_York*" in john[0]
    assert "*Mon 29 Mar 09:00–09:30 America/New_York*" in john[1]


def test_fri_10am_is_read_in_the_requesters_timezone(runtime: Runtime) -> None:
    # For John Smith it is Wed 04:00 in New York: "fri 10am" is Fri 27 Nov 10:00 EST = 15:00 UTC.
    _, answer = _run(runtime, "schedule discussion CPE-3222 fri 10am with sarah", user=JOHN_SMITH)
    assert answer.startswith("✅") and "Fri 27 Nov 10:00–10:30 America/New_York" in answer
    upload = _ics_files(runtime)[0]  # in the thread; Sarah's DM holds the same file
    assert _event(upload).decoded("dtstart").astimezone(dt.UTC) == dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)
    assert _event(upload)["dtstart"].params["TZID"] == "America/New_York"
    assert "*Fri 27 Nov 16:00–16:30 Europe/Berlin*" in _dm_texts(runtime, "sarah")[0].text


def test_a_past_time_is_refused_in_the_requesters_zone(runtime: Runtime) -> None:
    before = len(_comments(runtime))
    _, answer = _run(runtime, "schedule discussion CPE-3222 today 09:00 with sarah")
    assert answer.startswith("❌") and "in the past for you (Europe/Berlin)" in answer
    assert "Wed 25 Nov 09:00" in answer and "Wed 25 Nov 10:00 there now" in answer
    _nothing_sent(runtime, before)


def test_three_in_the_morning_for_an_attendee_is_refused_naming_them(runtime: Runtime) -> None:
    before = len(_comments(runtime))
    _, answer = _run(runtime, "schedule discussion CPE-3222 tomorrow 10:00 with sarah john.doe")
    assert answer.startswith("❌") and "outside working hours (07:00–20:00 local)" in answer
    assert "John Doe: 03:00 on Thu 26 Nov (America/Chicago)" in answer and "Sarah" not in answer
    _nothing_sent(runtime, before)


def test_unknown_or_ambiguous_attendees_are_asked_about_before_anything_is_sent(runtime: Runtime) -> None:
    before = len(_comments(runtime))
    _, unknown = _run(runtime, "schedule discussion CPE-3222 tomorrow 15:00 with sarah nobody.here")
    assert unknown.startswith("❌") and "can't find “nobody.here”" in unknown
    _, ambiguous = _run(runtime, "schedule discussion CPE-3222 tomorrow 15:00 with sarah john")
    assert "John Smith (john.smith)" in ambiguous and "John Doe (john.doe)" in ambiguous
    _nothing_sent(runtime, before)
    with runtime.services.db.session() as s:
        assert s.scalar(select(Discussion.id)) is None


def test_a_group_and_a_mention_expand_to_people(runtime: Runtime) -> None:
    _, answer = _run(runtime, "schedule discussion CPE-3222 tomorrow 16:00 with cpe-leads <@U03JSMITH>")
    assert answer.startswith("✅") and "Sarah Chen, John Smith" in answer


@pytest.mark.parametrize(("raw", "day", "date", "clock", "tz", "utc"), [
    ("monday 9:30", "mon", None, "09:30", "Europe/Berlin", dt.datetime(2026, 11, 30, 8, 30, tzinfo=dt.UTC)),
    ("wed 08:00", "wed", None, "08:00", "Europe/Berlin", dt.datetime(2026, 12, 2, 7, 0, tzinfo=dt.UTC)),
    ("wed 11:00", "wed", None, "11:00", "Europe/Berlin", dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)),
    ("2026-11-27 14:00", None, dt.date(2026, 11, 27), "14:00", "America/New_York",
     dt.datetime(2026, 11, 27, 19, 0, tzinfo=dt.UTC)),
    ("in 2 hours", None, None, None, "Asia/Tokyo", dt.datetime(2026, 11, 25, 11, 0, tzinfo=dt.UTC)),
    ("11:00", None, None, "11:00", "Europe/Berlin", dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)),
])
def test_resolving_times_in_a_timezone(raw: str, day: str | None, date: dt.date | None, clock: str | None,
                                       tz: str, utc: dt.datetime) -> None:
    slot = resolve(When(raw=raw, day=day, date=date, time=clock), tz, NOW)
    assert (slot.start, slot.end - slot.start, slot.tz) == (utc, dt.timedelta(minutes=30), tz)


@pytest.mark.parametrize(("when", "says"), [
    (When(raw="2027-03-28 02:30", date=dt.date(2027, 3, 28), time="02:30"), "does not exist on Sun 28 Mar"),
    (When(raw="tomorrow", day="tomorrow"), "At what time?"),
    (When(raw="yesterday 15:00", day="yesterday", time="15:00"), "in the past for you"),
    (When(raw="2028-01-10 10:00", date=dt.date(2028, 1, 10), time="10:00"), "more than a year away"),
])
def test_times_that_cannot_be_a_meeting(when: When, says: str) -> None:
    with pytest.raises(UserError, match=says):
        resolve(when, "Europe/Berlin", NOW)


def test_working_hours_are_each_persons_own() -> None:
    slot = resolve(When(raw="fri 19:30", day="fri", time="19:30"), "Europe/Berlin", NOW)  # ends 20:00 Berlin
    people = [Local("Sarah", "Europe/Berlin"), Local("Kenji", "Asia/Tokyo"), Local("John", "America/New_York")]
    assert outside_hours(slot, people) == ["Kenji: 03:30 on Sat 28 Nov (Asia/Tokyo)"]


# -- sync ---------------------------------------------------------------------------------------------------
def test_sync_posts_the_measured_numbers_under_the_home_message_once(runtime: Runtime) -> None:
    slack = runtime.sandbox.slack_state
    expected = runtime.sandbox.jamf_state.compliance(CHROME, TARGET)
    _run(runtime, "work CPE-3222")  # the focus ticket, which `sync` reports on
    _run(runtime, "compliance CPE-3222")
    started = time.monotonic()
    sent, answer = _run(runtime, "sync")  # Alice's group (dev-team) posts in C0CPETEAM
    assert time.monotonic() - started < 10
    assert answer.startswith("✅") and f"<#{CHANNEL}>" in answer

    thread = only_thread(slack)
    post = thread[-1]
    assert post.thread_ts == thread[0].ts and "Status of" in post.text and "synced by Alice Martin" in post.text
    percent = round(100 * expected.compliant / expected.total, 1)
    assert f"{percent}% compliant ({expected.compliant}/{expected.total} Macs" in post.text
    assert "CPE-3222 is in Pilot" in post.text and "Priority P" in block_texts(post.blocks)
    [audited] = _events(runtime, "team.sync")
    assert audited.data["channel"] == CHANNEL
    assert audited.data["compliance"]["compliant_macs"] == expected.compliant
    assert audited.data["worded_by_model"] == ["next", "status"]  # the model's words, checked against the facts

    crash_and_rerun(runtime, _job_id(sent))
    assert len([m for m in only_thread(slack) if "Status of" in m.text]) == 1
    assert len(_events(runtime, "team.sync")) == 1


def test_sync_to_another_channel_starts_the_tickets_thread_there(runtime: Runtime) -> None:
    slack = runtime.sandbox.slack_state
    _, answer = _run(runtime, "sync CPE-3222 <#C0GENERAL|general>")
    assert answer.startswith("✅")
    [parent] = slack.messages(GENERAL)
    assert "CPE-3222" in parent.text  # the ticket's home message in #general, with its status line
    [reply] = slack.replies(GENERAL, parent.ts)
    assert "Status of" in reply.text and "No blockers" in reply.text


def test_sync_where_remedy_cannot_post_says_how_to_fix_it(runtime: Runtime) -> None:
    _, answer = _run(runtime, "sync CPE-3222 <#C0NOTJOINED|random>")
    assert answer.startswith("❌") and "I can't post in <#C0NOTJOINED>" in answer and "/invite @remedy" in answer
    with runtime.services.db.session() as s:  # no half-made home thread left to trip the next try
        assert s.scalar(select(SlackThread.id).where(SlackThread.channel_id == "C0NOTJOINED")) is None
    _, named = _run(runtime, "sync CPE-3222 #no-such-channel")
    assert named.startswith("❌") and "I don't know a channel called #no-such-channel" in named


def test_sync_without_a_ticket_asks_for_one(runtime: Runtime) -> None:
    sent, _ = _run(runtime, "sync", user="U04JDOE")  # no key typed and no focus ticket: asked at once
    assert "Which ticket?" in sent.ack_text and runtime.services.queue.rq.count == 0


def test_sync_keeps_the_facts_when_the_model_invents_a_number(runtime: Runtime) -> None:
    runtime.sandbox.ollama_state.script_wrong_numbers(times=None)
    _, answer = _run(runtime, "sync CPE-3222")
    assert answer.startswith("✅")
    post = only_thread(runtime.sandbox.slack_state)[-1]
    assert "CPE-3222 is in Pilot, priority P" in post.text and "Next: Pilot success rate (`compliance`)" in post.text
    [audited] = _events(runtime, "team.sync")
    assert audited.data["worded_by_model"] == ["next"]  # the field with the invented number is the template's
