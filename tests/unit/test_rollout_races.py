"""Go/no-go races through the whole path (signed Slack requests → Bolt → RQ → Jamf/Jira simulators →
Slack simulator): two different approvers press Go on the same card at the same moment, their jobs
running side by side in two workers — one scope change, one `jamf.rollout.go`, and the other approver
told who decided first; and a card whose ring fell below its threshold after it was posted is
re-checked instead of obeyed."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

import remedy
from remedy.db.models import AuditEvent, RolloutDecision
from remedy.jamf.versions import is_compliant
from remedy.sandbox.run import HOME_CHANNEL, Sandbox
from remedy_cli.embedded import Runtime, Sent
from tests.slackview import block_texts, button
from tests.unit.test_rollout import PHASE1, PILOT, SARAH, _ask, _deployed, _policies
from workers.inprocess import InProcessWorker

JDOE = "U04JDOE"  # an engineer in the shipped team.yml; a second lead in this test's own
CHROME, TARGET = "com.google.Chrome", "120.0.6099.109"
MAIN = "CPE-3222 Chrome 120.0.6099.109"
ALREADY = re.compile(r"Already decided by <@(\w+)> at \d\d:\d\d")


@pytest.fixture
def two_leads(sandbox: Sandbox, sqlite_url: str, tmp_path: Path) -> Iterator[tuple[Runtime, InProcessWorker]]:
    """The team with John Doe promoted to lead, and two workers taking jobs from the queue at once."""
    team = yaml.safe_load((Path(remedy.__file__).parent / "defaults" / "team.yml").read_text(encoding="utf-8"))
    for person in team["people"]:
        if person["slack_id"] == JDOE:
            person["role"] = "lead"
    (tmp_path / "team.yml").write_text(yaml.safe_dump(team), encoding="utf-8")
    rt = Runtime.start(sandbox, sqlite_url, threaded_worker=True, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1,
                       REMEDY_CONFIG_DIR=str(tmp_path))
    second = InProcessWorker(rt.services.queue)
    second.start()
    yield rt, second
    second.stop()
    rt.stop()


def _answers(rt: Runtime, sent: Sent) -> str:
    # Every post to the press's response URL: the ⏳ (from a lazy listener) may land after the job's answer.
    return "\n".join(p.text for p in rt.sandbox.slack_state.response_posts(sent.response_url))


def _policy_puts(rt: Runtime, policy_id: int) -> int:
    return sum(1 for r in rt.sandbox.jamf_state.requests
               if r.method == "PUT" and r.path == f"/JSSResource/policies/id/{policy_id}")


def _gos(rt: Runtime) -> list[str]:
    with rt.services.db.session() as s:
        return list(s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "jamf.rollout.go")))


def _press_together(rt: Runtime, go: dict[str, Any], ts: str, users: tuple[str, str]) -> dict[str, Sent]:
    """Two approvers' clicks reach the app at the same moment, each on its own request thread."""
    start, sent = threading.Barrier(len(users)), {}

    def click(user: str) -> None:
        start.wait()
        sent[user] = rt.press(go, user=user, message_ts=ts)

    threads = [threading.Thread(target=click, args=(user,)) for user in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sent


def test_two_approvers_press_go_at_once_and_one_decision_is_made(two_leads: tuple[Runtime, InProcessWorker]) -> None:
    rt, second = two_leads
    _deployed(rt)
    card = _ask(rt)
    main = _policies(rt)[MAIN]
    puts = _policy_puts(rt, main.id)
    rt.sandbox.jamf_state.set_latency(0.1)  # every Jamf call takes a while: the Go job is long, the jobs overlap
    sent = _press_together(rt, button(card.blocks, "Go"), card.ts, (SARAH, JDOE))
    rt.drain()
    second.drain()
    rt.sandbox.jamf_state.set_latency(0.0)

    jobs = [j for user in (SARAH, JDOE) for j in rt.services.queue.recent_for(user, 1)]
    assert [j.func_name for j in jobs] == ["workers.decisions.decide"] * 2
    first, other = sorted(jobs, key=lambda j: j.started_at)
    assert other.started_at < first.ended_at, "the two decide jobs did not run at the same time"

    answers = {user: _answers(rt, s) for user, s in sent.items()}
    winner = next(user for user, text in answers.items() if "✅ Go: *CPE-3222* now rolls out to *Phase 1*" in text)
    loser = JDOE if winner == SARAH else SARAH
    told = ALREADY.search(answers[loser])
    assert told is not None and told.group(1) == winner, answers[loser]
    assert "✅ Go" not in answers[loser]

    assert _policies(rt)[MAIN].group_ids == [PILOT, PHASE1]
    assert _policy_puts(rt, main.id) == puts + 1  # one scope change in Jamf, not two
    assert _gos(rt) == [winner]
    with rt.services.db.session() as s:
        row = s.scalars(select(RolloutDecision).where(RolloutDecision.status != "replaced")).one()
        assert (row.status, row.decided_by) == ("go", winner)
    decided = block_texts(rt.sandbox.slack_state.message(HOME_CHANNEL, card.ts).blocks)
    assert f"✅ *Go* for *Phase 1* by <@{winner}>" in decided


def _drop_pilot_below_threshold(rt: Runtime) -> tuple[int, int]:
    """A fifth of the pilot's updated Macs go back to an older Chrome (a user reinstalls it); the next
    inventory shows them behind. Returns the pilot's (compliant, with app) after the drop."""
    state = rt.sandbox.jamf_state
    with state.lock:
        pilot = [state.fleet.devices[i] for i in state.groups[PILOT].members]
        having = [d for d in pilot if CHROME in d.apps]
        updated = [d for d in having if is_compliant(d.apps[CHROME], TARGET)]
        for device in updated[: -(-len(updated) // 5)]:
            device.apps[CHROME] = "119.0.6045.199"
        return sum(1 for d in having if is_compliant(d.apps[CHROME], TARGET)), len(having)


def test_a_card_whose_ring_fell_below_its_threshold_is_rechecked(runtime: Runtime) -> None:
    _deployed(runtime)
    card = _ask(runtime)
    assert "threshold 90% ✅" in block_texts(card.blocks)  # the pilot met its threshold when asked
    with runtime.services.db.session() as s:
        seen = s.scalars(select(RolloutDecision)).one().numbers["rate"]
    main = _policies(runtime)[MAIN]
    puts = _policy_puts(runtime, main.id)
    compliant, having = _drop_pilot_below_threshold(runtime)
    rate = 100 * compliant / having
    assert rate < 90

    sent = runtime.press(button(card.blocks, "Go"), user=SARAH, message_ts=card.ts)  # no time has passed
    runtime.drain()
    answer = _answers(runtime, sent)
    assert f"Not expanded: Pilot dropped from {seen:.1f}% to {rate:.1f}%, below its 90% threshold" in answer
    assert _policies(runtime)[MAIN].group_ids == [PILOT] and _policy_puts(runtime, main.id) == puts
    assert _gos(runtime) == []
    old = block_texts(runtime.sandbox.slack_state.message(HOME_CHANNEL, card.ts).blocks)
    assert "numbers changed" in old and f"dropped from {seen:.1f}% to {rate:.1f}%" in old
    fresh = [m for m in runtime.sandbox.slack_state.all_messages(HOME_CHANNEL) if "Go / No-go" in m.text][-1]
    shown = block_texts(fresh.blocks)
    assert fresh.ts != card.ts and f"*{rate:.1f}%* ({compliant}/{having} Macs" in shown
    assert "Not every check passes" in shown  # the fresh card says the pilot is below its threshold
