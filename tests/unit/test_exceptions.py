"""Per-ring compliance and the exceptions list on a fleet where ~3% of Macs fail for good: the
failures remedy counts equal the Macs whose last run of the policy failed (the simulator's own
logs), offline Macs are listed as such, and each exception says why, from Jamf's data — for every
Mac, the cause the simulator recorded (no disk space, another failed install, offline)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from remedy.jamf import JamfClient
from remedy.jamf.versions import is_compliant
from remedy.remediation import rings
from remedy.remediation.facts import Facts
from remedy.remediation.rings import Flagged
from remedy.remediation.store import RingView
from remedy.sandbox.fleet import DISK_SPACE_REASON
from remedy.sandbox.jamf import create_app
from remedy.sandbox.jamf_state import JamfState, Policy
from remedy.sandbox.seed import NOW
from remedy_cli.embedded import Runtime, Sent
from tests.slackview import block_texts, button

SARAH = "U02SARAH"
CHROME, TARGET = "com.google.Chrome", "120.0.6099.109"
HOUR = 3600


def _answer(rt: Runtime, sent: Sent) -> str:
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return "\n".join([view.text, block_texts(view.blocks)]) if view else ""


def _run(rt: Runtime, text: str) -> str:
    sent = rt.slash(text)
    rt.drain()
    return _answer(rt, sent)


def _rolled_to_phase1(rt: Runtime) -> None:
    _run(rt, "create jamf policy CPE-3222")
    _run(rt, "deploy pilot CPE-3222")
    rt.sandbox.jamf_state.advance(26 * HOUR)
    _run(rt, "rollout next CPE-3222")
    card = [m for m in rt.sandbox.slack_state.all_messages("C0CPETEAM") if "Go / No-go" in m.text][-1]
    rt.press(button(card.blocks, "Go"), user=SARAH, message_ts=card.ts)
    rt.drain()
    rt.sandbox.jamf_state.advance(30 * HOUR)


_ROW = re.compile(r"^• \*MAC-\d+\* \(id (\d+), [^,]+, [^)]+\): (.+?) · last check-in (.+)$")
_SAID = {"not enough disk space": "disk space", "install failed": "failed install", "offline:": "offline"}


def _causes(state: JamfState) -> dict[int, str]:
    """Why each Mac of the two started rings is still behind, from the simulator's records: offline for
    30+ days, or its latest run of the install policy failed for want of disk space or for another cause."""
    policy = next(p for p in state.policies.values() if "rollback" not in p.name)
    latest = {log.device_id: log for log in sorted(state.policy_logs(policy.id), key=lambda entry: entry.at)}
    found = {}
    for index in (i for g in (1, 2) for i in state.groups[g].members):
        device = state.fleet.devices[index]
        if CHROME not in device.apps or is_compliant(device.apps[CHROME], TARGET):
            continue
        log = latest.get(device.id)
        if device.offline:
            found[int(device.id)] = "offline"
        elif log is not None and log.status == "Failed":
            found[int(device.id)] = "disk space" if log.reason == DISK_SPACE_REASON else "failed install"
    return found


def _said(reason: str) -> str:
    return next(cause for start, cause in _SAID.items() if reason.startswith(start))


def _pages(rt: Runtime, per_page: int = 20) -> list[str]:
    """Every page of `exceptions CPE-3222`, following the Next button as a person would."""
    sent = rt.slash("exceptions CPE-3222")
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    pages = []
    while view is not None:
        pages.append(block_texts(view.blocks))
        if not [b for b in view.blocks if b["type"] == "actions"]:
            break
        pressed = rt.press(button(view.blocks, f"Next {per_page}"), ephemeral=True)
        rt.drain()
        view = rt.sandbox.slack_state.response_view(pressed.response_url)
    return pages


def _truth(state: JamfState) -> tuple[int, int]:
    """(Macs with Chrome behind whose latest run of the install policy failed, offline Macs behind) in the
    two rings. A Mac without Chrome is not exposed: an install that failed there is no Chrome failure."""
    causes = _causes(state).values()
    offline = sum(1 for cause in causes if cause == "offline")
    return len(causes) - offline, offline


def test_failures_and_exceptions_match_the_fleet(runtime: Runtime) -> None:
    _rolled_to_phase1(runtime)
    failed, offline = _truth(runtime.sandbox.jamf_state)
    assert failed > 0  # the seeded fleet fails ~3% of installs for good

    answer = _run(runtime, "compliance CPE-3222")
    assert f"complete*, {failed} failure" in answer
    assert "*Pilot* (Pilot - Chrome)" in answer and "*Phase 1* (Phase 1)" in answer
    assert "Phase 2 (Phase 2): not started" in answer

    page = _run(runtime, "exceptions CPE-3222")
    head = re.search(r"exceptions 1–(\d+) of (\d+) \((\d+) failed, (\d+) offline\)", page)
    assert head is not None, page
    assert (int(head.group(3)), int(head.group(4))) == (failed, offline)
    assert "not enough disk space" in page or "install failed" in page
    assert "last check-in" in page


def test_exceptions_before_a_rollout_say_what_to_run(runtime: Runtime) -> None:
    answer = _run(runtime, "exceptions CPE-3222")
    assert answer.startswith("❌") and "deploy pilot CPE-3222" in answer


def test_exceptions_are_paged_with_a_next_button(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("workers.jamf_actions.PAGE_SIZE", 2)  # a few exceptions in the seeded fleet
    _rolled_to_phase1(runtime)
    total = len(_causes(runtime.sandbox.jamf_state))
    assert total > 2
    pages = _pages(runtime, per_page=2)
    assert len(pages) == -(-total // 2)  # the last page has no Next
    for number, page in enumerate(pages):
        first, last = 2 * number + 1, min(2 * number + 2, total)
        assert f"exceptions {first}–{last} of {total}" in page


# -- each reason is the simulator's own cause for that Mac --------------------------------------------
def test_each_exception_gives_the_simulators_cause_for_that_mac(runtime: Runtime) -> None:
    state = runtime.sandbox.jamf_state
    _run(runtime, "create jamf policy CPE-3222")
    _run(runtime, "deploy pilot CPE-3222")
    state.advance(26 * HOUR)
    _run(runtime, "rollout next CPE-3222")
    card = [m for m in runtime.sandbox.slack_state.all_messages("C0CPETEAM") if "Go / No-go" in m.text][-1]
    state.fleet.failure_rate = 0.3  # a bad package for Phase 1: many Macs fail for good, for either cause
    runtime.press(button(card.blocks, "Go"), user=SARAH, message_ts=card.ts)
    runtime.drain()
    state.advance(30 * HOUR)
    truth = _causes(state)
    assert set(truth.values()) == {"disk space", "failed install", "offline"}

    pages = _pages(runtime)
    rows = [found.groups() for page in pages for line in page.splitlines() if (found := _ROW.match(line))]
    listed = {int(mac): _said(reason) for mac, reason, _ in rows}
    assert len(rows) == len(listed) == len(truth) > 20  # several pages, no Mac twice, none left out
    assert listed == truth  # every Mac's reason is its own cause
    failed = sum(1 for cause in truth.values() if cause != "offline")
    assert f"of {len(truth)} ({failed} failed, {len(truth) - failed} offline)" in pages[0]
    kinds = [cause == "offline" for cause in listed.values()]
    assert kinds == sorted(kinds)  # the Macs that need a fix first, the unreachable ones after
    thread = [m.text for m in runtime.sandbox.slack_state.all_messages("C0CPETEAM")
              if m.text.startswith("🧰 *CPE-3222* exceptions")]
    assert len(thread) == len(pages)  # each page asked for is also in the ticket's thread


def test_a_page_keeps_only_the_macs_it_shows_but_counts_them_all() -> None:
    # Memory stays flat however many Macs fail: a page of `exceptions` keeps its own Macs (the first in
    # order), a count keeps none, and each ring only names a few of the Macs behind it.
    state = JamfState.seeded(n=900, failure_rate=0.5)
    state.save_policy(Policy(0, "Chrome", enabled=True, trigger_checkin=True, group_ids=[1, 2],
                             packages=[(1, "Install")]))
    state.advance(48 * HOUR)
    now = NOW + timedelta(seconds=state.now())
    plan = [RingView(i, name, name, group, name, 90.0, 24.0, "active" if group < 3 else "pending",
                     NOW if group < 3 else None)
            for i, (group, name) in enumerate([(1, "Pilot"), (2, "Phase 1"), (3, "Phase 2"), (4, "All")])]
    facts = Facts("CPE-3222", "Chrome", CHROME, TARGET)
    transport = httpx.WSGITransport(app=create_app(state))
    with JamfClient("http://jamf.test", state.client_id, state.client_secret, transport=transport) as jamf:
        every, page, count = (rings.count(jamf, facts, plan, now, flagged_upto=keep) for keep in (None, 5, 0))
    assert every.flagged_total == len(every.flagged) > 2 * 5 + 64  # enough that the page was trimmed as it grew
    assert page.flagged == every.flagged[:5] and count.flagged == []
    totals = {(c.flagged_failed, c.flagged_offline) for c in (every, page, count)}
    assert len(totals) == 1 and every.flagged == sorted(every.flagged, key=Flagged.order)
    assert [len(r.behind) for r in every.rings] == [min(rings.BEHIND_KEPT, r.behind_total) for r in every.rings]
    assert max(r.behind_total for r in every.rings) > 10 * rings.BEHIND_KEPT
    assert sum(r.behind_total for r in every.rings) == len(every.fleet.behind)  # "All" holds every Mac
