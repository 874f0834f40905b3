"""The commands the chaos scenarios run, and the effects each must leave behind exactly once — counted
in the simulators (Jira comments carrying remedy's marker property, subtasks, watchers, the Jamf policy's
scope, Slack DMs and cards) and in the audit trail, so a scenario reports duplicates and losses the way a
user would find them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from remedy.sandbox import seed
from remedy.sandbox.jira_state import JiraState
from remedy.sandbox.run import HOME_CHANNEL
from tests.chaos.conftest import ChaosReport
from tests.chaos.procs import ALICE, SARAH, Proc, Said, Stack, slack_duplicates, wait_for
from tests.slackview import button, buttons

PHASE_GROUPS = {"phase1": 2, "phase2": 3}  # the Jamf simulator's group ids, after Pilot (1)


def new_ticket(jira: JiraState, n: int, status: str) -> str:
    with jira.lock:
        record = jira.new_issue(summary=f"Chaos app {n} update", issue_type="Story", priority="Medium",
                                reporter=seed.team()["sarah"].account_id, assignee=seed.team()["alice"].account_id)
        record.status = status
        return record.key


def go_card(st: Stack) -> tuple[str, dict[str, object]]:
    slack = st.sandbox.slack_state
    parent = next(m for m in slack.messages(HOME_CHANNEL) if "CPE-3222" in m.text and m.text.startswith("🧩"))
    cards = [m for m in slack.replies(HOME_CHANNEL, parent.ts) if any(
        b["text"]["text"] == "Go" for b in buttons(m.blocks))]
    return cards[-1].ts, button(cards[-1].blocks, "Go")


def finished(st: Stack, said: Said) -> str:
    wait_for(f"{said.text!r} to end", lambda: st.view(said.response_url)[:1] in ("✅", "❌"), 60)
    return st.view(said.response_url)


@dataclass(frozen=True)
class Run:
    name: str
    i: int
    said: Said
    user: str
    keys: tuple[str, ...]


def start_comment(st: Stack, i: int) -> Run:
    return Run("comment", i, st.slash(f'comment CPE-3222 "chaos note {i}"'), ALICE, ("CPE-3222",))


def start_move(st: Stack, i: int) -> Run:
    key = new_ticket(st.sandbox.jira_state, i, "Investigation")
    return Run("move", i, st.slash(f"move {key} to plan"), ALICE, (key,))


def start_escalate(st: Stack, i: int) -> Run:
    key = new_ticket(st.sandbox.jira_state, 100 + i, "Investigation")
    return Run("escalate", i, st.slash(f"escalate {key} sarah because chaos {i}"), ALICE, (key,))


def start_go(st: Stack, i: int) -> Run:
    assert finished(st, st.slash("rollout next CPE-3222")).startswith("✅")
    ts, go = go_card(st)
    return Run("go", i, st.press(go, SARAH, message_ts=ts), SARAH, ("CPE-3222",))


def start_batch(st: Stack, i: int) -> Run:
    keys = tuple(new_ticket(st.sandbox.jira_state, 200 + 3 * i + n, "Pilot") for n in range(3))
    assert "Post to 3 tickets?" in finished(st, st.slash(f'batch comment "chaos batch {i}" on {" ".join(keys)}'))
    slack = st.sandbox.slack_state
    card = [m for m in slack.messages(HOME_CHANNEL) if (m.history[0][0] if m.history else m.text).startswith("📦")][-1]
    return Run("batch comment", i, st.press(button(card.blocks, "Confirm"), ALICE, message_ts=card.ts), ALICE, keys)


Start = Callable[[Stack, int], Run]


STARTS: dict[str, Start] = {"comment": start_comment, "move": start_move, "escalate": start_escalate,
                            "go": start_go, "batch comment": start_batch}


# -- the effects, counted ------------------------------------------------------------------------------------
def _audits(st: Stack, action: str, run: Run, target: str) -> int:
    return sum(1 for e in st.audited(action) if e.target == target and e.data.get("job") == run.said.job_id)


def _comments(jira: JiraState, key: str, starts: str) -> int:
    return sum(1 for c in jira.comments(key) if c["text"].startswith(starts) and "remedy" in c["properties"])


def effects(st: Stack, run: Run) -> dict[str, int]:
    """Each effect the command must have had, with how many times it is there (1 is right)."""
    jira, slack = st.sandbox.jira_state, st.sandbox.slack_state
    key, i = run.keys[0], run.i
    if run.name == "comment":
        return {"jira comment": _comments(jira, key, f"chaos note {i}"),
                "thread reply": len(slack.find(f"chaos note {i}")),
                "audit": _audits(st, "jira.comment", run, key)}
    if run.name == "move":
        subtasks = [s.summary for s in jira.subtasks(key)]
        return {"in Plan": int(jira.status_of(key) == "Plan"),
                **{f"subtask {s}": subtasks.count(s) for s in ("Draft rollout timeline", "Prepare user communication")},
                "audit": _audits(st, "jira.move", run, key)}
    if run.name == "escalate":
        sarah = seed.team()["sarah"].account_id
        return {"DM to sarah": sum(1 for m in slack.dms_to(SARAH) if key in m.text),
                "jira comment": sum(1 for c in jira.comments(key)
                                    if "chaos" in c["text"] and "remedy" in c["properties"]),
                "watcher": jira.watchers(key).count(sarah),
                "audit": _audits(st, "team.escalate", run, key)}
    if run.name == "go":
        policy = next(p for p in st.sandbox.jamf_state.policies.values() if p.name.startswith("CPE-3222 Chrome 120"))
        group = PHASE_GROUPS["phase1" if i == 0 else "phase2"]
        return {"group in scope": policy.group_ids.count(group),
                "audit": _audits(st, "jamf.rollout.go", run, key),
                "card decided": sum(1 for m in slack.all_messages(HOME_CHANNEL)
                                    if m.text == f"CPE-3222 → {'Phase 1' if i == 0 else 'Phase 2'}: go")}
    return {**{f"comment {k}": _comments(jira, k, f"chaos batch {i}") for k in run.keys},
            **{f"audit {k}": _audits(st, "jira.comment", run, k) for k in run.keys}}



def report(st: Stack, runs: list[Run], chaos: ChaosReport, scenario: str, per_command: bool = False) -> list[str]:
    """Count the runs' effects into ``chaos`` (one row for the scenario, or one per command kind); returns
    what is wrong: an effect missing or doubled, a message shown twice, a ⏳ that ended neither ✅ nor
    ❌ with a Retry button."""
    problems = slack_duplicates(st.sandbox.slack_state)
    for name in dict.fromkeys(r.name for r in runs):
        mine = [r for r in runs if r.name == name]
        counted = [effects(st, r) for r in mine]
        dups = sum(n - 1 for c in counted for n in c.values() if n > 1)
        lost = sum(1 for c in counted for n in c.values() if n == 0)
        applied = sum(all(n == 1 for n in c.values()) for c in counted)
        chaos.add(f"{scenario}: {name}" if per_command else scenario, runs=len(mine), applied=applied,
                  duplicates=dups, lost=lost)
        problems += [f"{r.name} #{r.i} ({r.said.job_id}): {c}" for r, c in zip(mine, counted, strict=True)
                     if any(n != 1 for n in c.values())]
        problems += [f"{r.name} #{r.i}: ⏳ ended {st.view(r.said.response_url)[:80]!r} after "
                     f"{[p.text[:30] for p in st.sandbox.slack_state.response_posts(r.said.response_url)]}"
                     for r in mine if not ended_well(st, r)]
    return problems


def ended_well(st: Stack, run: Run) -> bool:
    """The user's ⏳ ends ✅, or ❌ with a Retry button (see ``retry_after_done``)."""
    return st.view(run.said.response_url).startswith("✅") or st.retry_button(run.said.response_url) is not None


def retry_after_done(st: Stack, runs: list[Run]) -> int:
    """Runs whose ⏳ showed ✅ and then ended ❌ + Retry: killed after answering ✅, the job was retried,
    and its last ✅ found the response URL used up (Slack takes 5 answers per URL)."""
    return sum(1 for r in runs if not st.view(r.said.response_url).startswith("✅")
               and any(p.text.startswith("✅") for p in st.sandbox.slack_state.response_posts(r.said.response_url)))


def settle(st: Stack, runs: list[Run], worker: Proc, timeout: float = 90.0) -> tuple[Proc, int, int]:
    """Keep remedy going until every run's job has finished, as operations would: a worker that died is
    restarted (its dead runs expired, as RQ's heartbeat wait would), and a ❌ with a Retry button is
    pressed by the user who ran the command. Returns the worker, restarts made and Retry presses."""
    restarts, pressed = 0, set()
    deadline = time.monotonic() + timeout
    while True:
        if not worker.alive:
            for run in runs:
                st.expire_started(run.said.job_id)
            worker, restarts = st.worker(), restarts + 1
        states = {run.said.job_id: st.status(run.said.job_id) for run in runs}
        for run in runs:
            # Each ❌ is pressed once: it is known by how many answers the user had got when it came.
            seen = (run.said.job_id, len(st.sandbox.slack_state.response_posts(run.said.response_url)))
            retry = st.retry_button(run.said.response_url) if states[run.said.job_id] == "failed" else None
            if retry is not None and seen not in pressed:
                st.press(retry, run.user, ephemeral=True)
                pressed.add(seen)
        if all(s == "finished" for s in states.values()):
            return worker, restarts, len(pressed)
        assert time.monotonic() < deadline, f"jobs not finished after {timeout:.0f} s: {states}"
        time.sleep(0.2)
