"""Helpers for the bulk tests (tickets under a new epic, the card, pressing it), and the pieces that
need no app: the pacer keeps its rate and pauses everyone on a 429, the runner keeps outcomes apart,
the template fills only what it knows."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remedy.bulk.runner import RatePacer, run_paced
from remedy.bulk.scope import check_template, fill
from remedy.errors import UserError
from remedy.jira.errors import JiraForbidden, JiraRateLimited
from remedy.sandbox import seed
from remedy.sandbox.jira_state import JiraState
from remedy.sandbox.run import Sandbox
from remedy.sandbox.slack_records import Message
from remedy_cli.embedded import Runtime, Sent
from tests.slackview import block_texts, button

CHANNEL = "C0CPETEAM"
ALICE, SARAH, JOHN, VIEWER = "U01ALICE", "U02SARAH", "U03JSMITH", "U09NOBODY"


def start(sandbox: Sandbox, tmp_path: Path, **settings: Any) -> Runtime:
    """The real app with a fast pace (the benchmark measures the real one) and one try per Jira call,
    so the bulk runner itself must handle every 429."""
    values: dict[str, Any] = {"REMEDY_RETRY_DELAYS": [0], "REMEDY_JIRA_TRIES": 1, "REMEDY_BULK_JIRA_RATE": 400.0}
    return Runtime.start(sandbox, f"sqlite:///{tmp_path / 'remedy.db'}", **{**values, **settings})


@pytest.fixture
def rt(sandbox: Sandbox, tmp_path: Path) -> Iterator[Runtime]:
    """The embedded runtime as the bulk tests use it (see :func:`start`)."""
    runtime = start(sandbox, tmp_path)
    yield runtime
    runtime.stop()


@pytest.fixture
def bulk_rt(sandbox: Sandbox, tmp_path: Path) -> Iterator[Runtime]:
    rt = start(sandbox, tmp_path)
    yield rt
    rt.stop()


def _adf(*lines: str) -> dict[str, Any]:
    return {"type": "doc", "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in lines]}


def new_epic(jira: JiraState, summary: str = "Bulk test epic") -> str:
    with jira.lock:
        return jira.new_issue(summary=summary, issue_type="Epic", priority="High", reporter=seed.team()["sarah"]
                              .account_id, assignee=None).key


def new_story(jira: JiraState, epic: str | None, n: int, status: str = "Pilot", assignee: str = "alice",
              bundle: str = "com.google.Chrome", target: str = "120.0.6099.109", resolution: str | None = None,
              ) -> str:
    with jira.lock:
        record = jira.new_issue(summary=f"App {n} update", issue_type="Story", priority="Medium",
                                reporter=seed.team()["sarah"].account_id, assignee=seed.team()[assignee].account_id,
                                parent_key=epic, description=_adf(f"Bundle ID: {bundle}", f"Target version: {target}"))
        record.status, record.resolution = status, resolution
        return record.key


def answer(rt: Runtime, sent: Sent) -> str:
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return "\n".join([view.text, block_texts(view.blocks)]) if view else ""


def run(rt: Runtime, text: str, user: str = ALICE) -> str:
    sent = rt.slash(text, user=user)
    rt.drain()
    return answer(rt, sent)


def last_card(rt: Runtime) -> Message:
    cards = [m for m in rt.sandbox.slack_state.messages(CHANNEL) if (m.history[0][0] if m.history else m.text)
             .startswith("📦")]
    assert cards, "no bulk card was posted"
    return rt.sandbox.slack_state.message(CHANNEL, cards[-1].ts)


def press(rt: Runtime, card: Message, label: str | dict[str, Any], user: str = ALICE) -> str:
    """Press a button of the card as it reads now (or ``label`` as a button kept from an older version
    of it); returns every ephemeral answer the presser got, joined."""
    before = len(rt.sandbox.slack_state.ephemerals)
    now = rt.sandbox.slack_state.message(CHANNEL, card.ts)
    rt.press(button(now.blocks, label) if isinstance(label, str) else label, user=user, message_ts=card.ts)
    rt.drain()
    return "\n".join(e.text for e in rt.sandbox.slack_state.ephemerals[before:])


def card_text(rt: Runtime, card: Message) -> str:
    now = rt.sandbox.slack_state.message(CHANNEL, card.ts)
    return "\n".join([now.text, block_texts(now.blocks)])


def comment_posts(jira: JiraState, key: str) -> int:
    return sum(1 for r in jira.writes(key) if r.method == "POST" and r.path.endswith("/comment") and r.status == 201)


def marked(jira: JiraState, key: str) -> list[dict[str, Any]]:
    return [c for c in jira.comments(key) if "remedy" in c["properties"]]


# -- no app needed ------------------------------------------------------------------------------------
def test_pacer_spaces_calls_at_the_rate_and_a_hold_pauses_everyone() -> None:
    pacer = RatePacer(50.0)
    times: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        pacer.wait()
        with lock:
            times.append(time.monotonic())

    threads = [threading.Thread(target=call) for _ in range(20)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started >= 19 / 50 - 0.01
    pacer.hold(0.3)
    held = time.monotonic()
    pacer.wait()
    assert time.monotonic() - held >= 0.29


def test_runner_retries_429s_and_keeps_refusals_apart() -> None:
    tries: dict[str, int] = {}
    lock = threading.Lock()

    def work(key: str) -> str:
        with lock:
            tries[key] = tries.get(key, 0) + 1
        if key == "CPE-2":
            raise JiraForbidden("No permission to comment on CPE-2")
        if key == "CPE-3" and tries[key] < 3:
            raise JiraRateLimited("Jira rate limit reached", retry_after=0.01)
        return f"c-{key}"

    seen: list[str] = []
    results = run_paced(["CPE-1", "CPE-2", "CPE-3"], work, RatePacer(1000.0), 4, each=lambda o: seen.append(o.key))
    assert results["CPE-1"].ok and results["CPE-1"].detail == "c-CPE-1"
    assert not results["CPE-2"].ok and results["CPE-2"].code == "403" and tries["CPE-2"] == 1
    assert results["CPE-3"].ok and tries["CPE-3"] == 3
    assert sorted(seen) == ["CPE-1", "CPE-2", "CPE-3"]


def test_template_fills_known_variables_and_refuses_unknown_ones() -> None:
    assert fill("{phase} · {assignee} · {compliance} · {x", {"phase": "Pilot", "assignee": "Alice",
                                                            "compliance": "87.2%"}) == "Pilot · Alice · 87.2% · {x"
    with pytest.raises(UserError, match=r"`\{owner\}`"):
        check_template("Hello {owner}")


def test_simulator_rate_limit_answers_429_with_retry_after() -> None:
    jira = JiraState.seeded()
    jira.limit_rate(2, per_seconds=10.0)
    assert jira.throttle("POST") is None and jira.throttle("PUT") is None
    assert jira.throttle("GET") is None  # reads are not counted by default
    wait = jira.throttle("POST")
    assert wait is not None and 1 <= wait <= 10
    jira.limit_rate(None)
    assert jira.throttle("POST") is None
