"""`daily update KEY` and `daily updates` through the real app: the numbers are the ones `compliance`
shows at the same moment (one code path), a Jira comment once (none with --no-jira), "No change" in one
line when nothing moved, the change and resolved blockers stated when something did, a model that
invents a number overruled by the template, and the compliance chart: a real PNG with one line per
ring that has data plus the fleet, none from a single measurement, nothing twice after a crash."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from PIL import Image
from sqlalchemy import func, select

from remedy.audit import verify
from remedy.db.models import AuditEvent, ComplianceSnapshot
from remedy.remediation import store
from remedy.sandbox.slack_records import Message
from remedy.slack.mrkdwn import escape
from remedy.updates.chart import PNG_SIGNATURE, compliance_chart
from remedy.updates.wording import templates
from remedy_cli.embedded import Runtime, Sent
from tests.crash import crash_and_rerun
from tests.slackview import block_texts, button, only_thread

SARAH = "U02SARAH"
HOUR = 3600
# matplotlib's first colours (tab10), in the order it gives them to the lines of a chart.
LINE_COLOURS = [(0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E), (0x2C, 0xA0, 0x2C), (0xD6, 0x27, 0x28)]


def _answer(rt: Runtime, sent: Sent) -> str:
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return "\n".join([view.text, block_texts(view.blocks)]) if view else ""


def _run(rt: Runtime, text: str, user: str = "U01ALICE") -> str:
    sent = rt.slash(text, user=user)
    rt.drain()
    return _answer(rt, sent)


def _deployed(rt: Runtime, hours: float = 26) -> None:
    _run(rt, "create jamf policy CPE-3222")
    _run(rt, "deploy pilot CPE-3222")
    rt.sandbox.jamf_state.advance(hours * HOUR)


def _rolled_to_phase1(rt: Runtime) -> None:
    _deployed(rt)
    _run(rt, "rollout next CPE-3222")
    card = [m for m in rt.sandbox.slack_state.all_messages("C0CPETEAM") if "Go / No-go" in m.text][-1]
    rt.press(button(card.blocks, "Go"), user=SARAH, message_ts=card.ts)
    rt.drain()
    rt.sandbox.jamf_state.advance(30 * HOUR)


def _updates(rt: Runtime, key: str = "CPE-3222") -> list[Message]:
    said = [m for m in rt.sandbox.slack_state.all_messages("C0CPETEAM")
            if m.thread_ts and ("Daily update · " in m.text or "No change since" in m.text)]
    return [m for m in said if key in _thread_of(rt, m)]


def _thread_of(rt: Runtime, m: Message) -> str:
    parent = next(p for p in rt.sandbox.slack_state.messages("C0CPETEAM") if p.ts == m.thread_ts)
    return parent.text


def _files(rt: Runtime) -> list[Message]:
    return [m for m in rt.sandbox.slack_state.all_messages("C0CPETEAM") if m.files]


def _daily_comments(rt: Runtime, key: str = "CPE-3222") -> list[dict[str, Any]]:
    return [c for c in rt.sandbox.jira_state.comments(key) if c["text"].startswith("Daily update")]


def _events(rt: Runtime, action: str) -> list[AuditEvent]:
    with rt.services.db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


# -- reading the numbers as a person would --------------------------------------------------------------
def _from_compliance(text: str) -> tuple[tuple[int, int, str], dict[str, tuple[int, int, str]]]:
    fleet = re.search(r"\*(\d+\.\d)% complete\*, \d+ failures?: (\d+)/(\d+) Macs", text)
    assert fleet is not None, text
    found = re.findall(r"• \*(.+?)\* \(.+?\): (\d+\.\d)% \((\d+)/(\d+)\)", text)
    rings = {label: (int(ok), int(total), rate) for label, rate, ok, total in found}
    return (int(fleet[2]), int(fleet[3]), fleet[1]), rings


def _from_update(text: str) -> tuple[tuple[int, int, str], dict[str, tuple[int, int, str]]]:
    fleet = re.search(r"Compliance: (\d+)/(\d+) Macs \((\d+\.\d)%\)", text)
    assert fleet is not None, text
    found = re.findall(r"(?:: |; )([A-Z][\w ]*?) (\d+\.\d)% \((\d+)/(\d+)\) [✅⏳]", text)
    rings = {label: (int(ok), int(total), rate) for label, rate, ok, total in found}
    return (int(fleet[1]), int(fleet[2]), fleet[3]), rings



# -- the update ---------------------------------------------------------------------------------------------
def test_the_update_states_what_compliance_shows_and_comments_once(runtime: Runtime) -> None:
    _rolled_to_phase1(runtime)
    shown = _from_compliance(_run(runtime, "compliance CPE-3222"))
    comments = len(runtime.sandbox.jira_state.comments("CPE-3222"))

    answer = _run(runtime, "daily update CPE-3222")
    assert answer.startswith("✅ Daily update for *CPE-3222* posted in its thread and as a Jira comment")
    [post] = _updates(runtime)
    assert _from_update(post.text) == shown
    assert set(shown[1]) == {"Pilot", "Phase 1"}  # the started rings; the pending ones have no rate yet
    assert "Day 2 of Rollout:" in post.text  # the Go moved the ticket into Rollout 30 h ago
    assert "Go for Phase 1 by Sarah Chen" in post.text
    assert "Next: expand to Phase 2 after a lead's go (`rollout next CPE-3222`)." in post.text
    assert "counted from the move into Rollout (audit trail)" in block_texts(post.blocks)

    [comment] = _daily_comments(runtime)
    assert len(runtime.sandbox.jira_state.comments("CPE-3222")) == comments + 1
    assert f"Compliance: {shown[0][0]}/{shown[0][1]} Macs ({shown[0][2]}%)" in comment["text"]
    [event] = _events(runtime, "daily.update")
    assert event.data["facts"]["compliance"]["compliant"] == shown[0][0] and event.data["jira_comment"] is True


def test_no_jira_posts_in_the_thread_only(runtime: Runtime) -> None:
    _deployed(runtime)
    before = len(runtime.sandbox.jira_state.comments("CPE-3222"))
    answer = _run(runtime, "daily update CPE-3222 --no-jira")
    assert answer.startswith("✅ Daily update for *CPE-3222* posted in its thread.")
    assert len(_updates(runtime)) == 1
    assert len(runtime.sandbox.jira_state.comments("CPE-3222")) == before


def test_a_second_update_with_nothing_new_says_so_in_one_line(runtime: Runtime) -> None:
    _deployed(runtime)
    _run(runtime, "daily update CPE-3222")
    comments, files = len(runtime.sandbox.jira_state.comments("CPE-3222")), len(_files(runtime))

    answer = _run(runtime, "daily update CPE-3222")
    first, second = _updates(runtime)
    since = re.search(r"Jamf inventory at (\S+ \S+ UTC)", block_texts(first.blocks))
    assert since is not None
    assert second.text.startswith(f"💤 No change since {since[1]}: day 2 of Pilot") and "\n" not in second.text
    assert "nothing was posted to Jira" in answer
    assert len(runtime.sandbox.jira_state.comments("CPE-3222")) == comments and len(_files(runtime)) == files


def test_after_time_passes_the_change_since_the_last_update_is_stated(runtime: Runtime) -> None:
    _deployed(runtime, hours=2)  # the pilot Macs are still checking in
    _run(runtime, "daily update CPE-3222")
    runtime.sandbox.jamf_state.advance(24 * HOUR)
    _run(runtime, "daily update CPE-3222")
    first, second = _updates(runtime)
    (was, _, _), _ = _from_update(first.text)
    (now, _, _), _ = _from_update(second.text)
    assert now > was
    at = re.search(r"Jamf inventory at (\S+ \S+ UTC)", block_texts(first.blocks))
    assert at is not None and f"▲ +{now - was} since the last update ({at[1]})" in second.text
    assert len(_daily_comments(runtime)) == 2


def test_a_blocker_resolved_between_updates_is_reported(runtime: Runtime) -> None:
    _deployed(runtime)
    _run(runtime, "add blocker CPE-3222 CPE-3301")
    _run(runtime, "daily update CPE-3222")
    runtime.sandbox.jira_state.issues["CPE-3301"].status = "Done"  # Zoom's fix shipped; closed in Jira
    _run(runtime, "daily update CPE-3222")
    first, second = _updates(runtime)
    assert "Blocked by CPE-3301 (Investigation)" in first.text
    assert "1 blocker resolved (CPE-3301)" in second.text and "No change" not in second.text
    assert "1 blocker resolved (CPE-3301)" in _daily_comments(runtime)[-1]["text"]


def test_daily_updates_covers_every_active_remediation_side_by_side(runtime: Runtime) -> None:
    _deployed(runtime)
    _run(runtime, "create jamf policy CPE-3445")  # a policy, no pilot yet: still an active remediation
    _run(runtime, "create jamf policy CPE-3301")
    ollama = runtime.sandbox.ollama_state
    ollama.set_latency(1.0)
    asked = len(ollama.calls)

    answer = _run(runtime, "daily updates")
    assert answer.startswith("📅 Daily updates for 3 active remediations: each in its ticket's thread, 3 also as a "
                             "Jira comment")
    for key in ("CPE-3222", "CPE-3301", "CPE-3445"):
        assert f"• *{key}* day " in answer
        assert len(_updates(runtime, key)) == 1 and len(_daily_comments(runtime, key)) == 1
    assert "Next: deploy to Pilot (`deploy pilot CPE-3445`)." in _updates(runtime, "CPE-3445")[0].text
    starts = [c.at for c in ollama.calls[asked:]]
    assert len(starts) == 3 and max(starts) - min(starts) < 1.0  # wording asked side by side, not one by one


def test_a_model_that_invents_a_number_is_overruled_by_the_template(runtime: Runtime) -> None:
    _rolled_to_phase1(runtime)
    shown = _from_compliance(_run(runtime, "compliance CPE-3222"))
    runtime.sandbox.ollama_state.script_wrong_numbers(times=None)
    _run(runtime, "daily update CPE-3222")
    [post] = _updates(runtime)
    assert _from_update(post.text) == shown
    [event] = _events(runtime, "daily.update")
    plain = templates(event.data["facts"])
    assert escape(plain["progress"]) in post.text
    said = runtime.sandbox.ollama_state.calls[-1].outcome
    invented = json.loads(getattr(said, "text", "{}"))["progress"]  # the model's line, with a number changed
    assert invented != plain["progress"] and escape(invented) not in post.text
    note = block_texts(post.blocks[1:])
    assert "partly worded by the model" in note or "worded from the template" in note


# -- the chart ----------------------------------------------------------------------------------------------
def _colours(png: bytes) -> list[tuple[int, int, int]]:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (800, 450)
    seen = {c[:3] for _, c in image.convert("RGBA").getcolors(maxcolors=1 << 20) or [] if isinstance(c, tuple)}
    return [c for c in LINE_COLOURS if c in seen]


def test_compliance_attaches_a_chart_once_there_are_two_measurements(runtime: Runtime) -> None:
    _deployed(runtime, hours=2)
    _run(runtime, "compliance CPE-3222")
    assert _files(runtime) == []  # one measurement is no trend
    runtime.sandbox.jamf_state.advance(24 * HOUR)
    _run(runtime, "compliance CPE-3222")

    [shared] = _files(runtime)
    upload = runtime.sandbox.slack_state.files[shared.files[0]]
    assert upload.content is not None and upload.content.startswith(PNG_SIGNATURE)
    assert upload.filename == "CPE-3222-compliance.png" and shared.thread_ts == only_thread(
        runtime.sandbox.slack_state)[0].ts
    known = store.load(runtime.services.db, "CPE-3222")
    assert known is not None
    chart = compliance_chart(runtime.services.db, known.facts, known.rings)
    assert chart is not None and chart.png == upload.content  # the same drawing, so its labels are the file's
    assert chart.labels == ("Fleet", "Pilot")  # the rings with data, and the fleet
    assert len(_colours(upload.content)) == 2


def test_the_chart_has_a_line_per_ring_with_data_plus_the_fleet(runtime: Runtime) -> None:
    _deployed(runtime)
    _run(runtime, "rollout next CPE-3222")
    card = [m for m in runtime.sandbox.slack_state.all_messages("C0CPETEAM") if "Go / No-go" in m.text][-1]
    runtime.press(button(card.blocks, "Go"), user=SARAH, message_ts=card.ts)
    runtime.drain()
    _run(runtime, "compliance CPE-3222")  # Phase 1's first measurement, as it starts
    runtime.sandbox.jamf_state.advance(30 * HOUR)
    _run(runtime, "daily update CPE-3222")
    upload = runtime.sandbox.slack_state.files[_files(runtime)[-1].files[0]]
    assert upload.content is not None
    known = store.load(runtime.services.db, "CPE-3222")
    assert known is not None
    chart = compliance_chart(runtime.services.db, known.facts, known.rings)
    assert chart is not None and chart.labels == ("Fleet", "Pilot", "Phase 1")
    assert len(_colours(upload.content)) == 3


def test_a_rerun_after_a_crash_posts_comments_and_uploads_nothing_twice(runtime: Runtime) -> None:
    _deployed(runtime, hours=2)
    _run(runtime, "compliance CPE-3222")
    runtime.sandbox.jamf_state.advance(24 * HOUR)
    sent = runtime.slash("daily update CPE-3222")
    runtime.drain()
    job_id = sent.ack_text.split("`")[-2]
    counts = (len(_daily_comments(runtime)), len(_updates(runtime)), len(_files(runtime)))
    assert counts == (1, 1, 1)  # the update's chart: the second measurement
    with runtime.services.db.session() as s:
        snapshots = s.scalar(select(func.count()).select_from(ComplianceSnapshot))

    crash_and_rerun(runtime, job_id)
    assert (len(_daily_comments(runtime)), len(_updates(runtime)), len(_files(runtime))) == counts
    with runtime.services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ComplianceSnapshot)) == snapshots
    assert len(_events(runtime, "daily.update")) == 1 and verify(runtime.services.db).ok
