"""`remedy demo`: the CPE-3222 story in the embedded sandbox, printed as the Slack thread.

`remedy demo --scenario cpe-3222` runs the roadmap's whole workflow instead (:data:`WORKFLOW`), from the
first look at the ticket to the evidence pack; the e2e test and benchmarks/workflow.py run the very
same lines through :func:`perform`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from remedy.config import load_settings
from remedy.sandbox.run import HOME_CHANNEL, Sandbox
from remedy_cli.console import ConsoleSession, resolve_user
from remedy_cli.embedded import Runtime, Sent, wording_settings
from remedy_cli.render import message_lines, styled

SCRIPT: list[tuple[str, str, str]] = [
    ("alice", "/remedy help work", "Alice asks how `work` is used"),
    ("alice", "/remedy work CPE-3222", "Alice opens CPE-3222: card in its thread, focus set"),
    ("alice", "/remedy my focus", "remedy remembers her focus"),
    ("alice", "/remedy analyze", "analysis: summary, risk, the priority breakdown, the phase's next steps as buttons"),
    ("alice", "/remedy my queue", "her tickets in priority order, each with its reasons"),
    ("alice", '/remedy comment "Pilot at 94%, no regressions so far"', "a comment goes to Jira (ADF) and the thread"),
    ("alice", "/remedy wrok CPE-3301", "a typo gets a 'did you mean'"),
    ("john.smith", "/remedy work CPE-3301", "John opens the ticket that waits on the vendor"),
    ("john.smith", "/remedy move to plan", "moving creates the Plan subtasks (once)"),
    ("john.smith", "/remedy assign to john", "an ambiguous name gets a question, not a guess"),
    ("alice", "/remedy work CPE-9999", "a wrong ticket key gets a clear answer"),
    ("alice", "/remedy escalate CPE-3222 sarah", "a command whose job lands later says so"),
    ("alice", "/remedy create jamf policy CPE-3222", "the Jamf policy and its rollback come from the ticket, disabled"),
    ("alice", "/remedy deploy pilot CPE-3222", "the pilot ring gets the policy"),
    ("alice", ":wait 26h", "a simulated day passes"),
    ("alice", "/remedy compliance CPE-3222", "compliance per ring, with failures counted"),
    ("alice", "/remedy rollout next CPE-3222", "a go/no-go card for the next ring"),
    ("alice", ":press Go", "an engineer can ask, but not approve"),
    ("sarah", ":press Go", "the lead approves: Phase 1 joins the scope, the ticket moves to Rollout"),
    ("alice", "/remedy jobs", "Alice's recent jobs"),
]


# The roadmap's workflow. CPE-3222 is seeded in Pilot, so it is first taken back to Investigation to walk
# every phase. Lines starting with ":" are sandbox-only: `:wait` moves simulated time, `:press` presses the
# newest button with that label, `:subtasks done` stands in for the engineers doing their work.
WORKFLOW: list[tuple[str, str, str]] = [
    ("alice", "/remedy work CPE-3222", "Alice opens CPE-3222: card in its thread, focus set"),
    ("alice", "/remedy analyze", "analysis: summary, risk, priority, the phase's next steps"),
    ("alice", "/remedy draft comment", "a status comment drafted from the ticket, only Alice sees it"),
    ("alice", "/remedy post comment", "the draft goes to Jira as a comment and into the thread"),
    ("alice", "/remedy move CPE-3222 to investigation", "back to Investigation: its subtasks are created"),
    ("alice", "/remedy move CPE-3222 to plan", "on to Plan: the Plan subtasks are created"),
    ("alice", "/remedy create jamf policy CPE-3222", "the Jamf policy and its rollback, disabled"),
    ("alice", "/remedy deploy pilot CPE-3222", "the exit checks hold: open subtasks keep the ticket in Plan"),
    ("alice", ":subtasks done CPE-3222",
     "the engineers do their work (simulated: their subtasks are marked Done in the Jira simulator)"),
    ("alice", "/remedy validate package CPE-3222", "the package on the distribution point passes all 8 checks"),
    ("alice", "/remedy deploy pilot CPE-3222", "Plan → Build & Test → Pilot: the pilot ring gets the policy"),
    ("alice", ":wait 26h", "a simulated day passes"),
    ("alice", "/remedy compliance CPE-3222", "compliance per ring, from Jamf's inventory"),
    ("alice", "/remedy rollout next CPE-3222", "a go/no-go card for the next ring"),
    ("alice", ":press Go", "an engineer can ask, but not approve"),
    ("sarah", ":press Go", "the lead approves: Phase 1 joins the scope, the ticket moves to Rollout"),
    ("alice", "/remedy daily update CPE-3222", "the daily update: thread, chart and Jira comment"),
    ("alice", "/remedy escalate CPE-3222 sarah because Phase 1 must finish before the CVE deadline",
     "an escalation: Sarah gets a DM, Jira a comment and a watcher"),
    ("alice", "/remedy audit report CPE-3222", "the audit report, generated from the audit trail"),
    ("alice", "/remedy evidence CPE-3222", "the evidence pack for an auditor: a zip in the thread and on Jira"),
]
SCENARIOS = {"cpe-3222": WORKFLOW}


def finish_subtasks(runtime: Runtime, key: str) -> list[str]:
    """Mark the ticket's open subtasks Done in the Jira simulator, as the engineers would by doing the work;
    the keys it closed."""
    jira = runtime.sandbox.jira_state
    closed = []
    with jira.lock:
        for subtask in jira.subtasks(key):
            if subtask.status != "Done":
                subtask.status = "Done"
                closed.append(subtask.key)
    return closed


def newest_button(runtime: Runtime, label: str, channel: str = HOME_CHANNEL) -> tuple[str, dict[str, Any]] | None:
    """The newest message in ``channel`` with a button labelled ``label``: its ts and the button."""
    for msg in reversed(runtime.sandbox.slack_state.all_messages(channel)):
        for block in msg.blocks:
            for element in block.get("elements", []):
                if element.get("type") == "button" and element.get("text", {}).get("text") == label:
                    return msg.ts, element
    return None


def perform(runtime: Runtime, user: str, line: str) -> Sent | None:
    """Run one scenario line as ``user`` (a team handle) and wait until its jobs are done; the request
    Slack sent, or None for a sandbox line that sends none."""
    user_id = resolve_user(runtime, user)
    word, _, rest = line.removeprefix("/remedy").strip().partition(" ")
    sent: Sent | None = None
    if line.startswith(":subtasks done"):
        finish_subtasks(runtime, rest.removeprefix("done").strip())
    elif word == ":wait":
        runtime.sandbox.jamf_state.advance(float(rest.rstrip("h")) * 3600)
    elif word == ":press":
        found = newest_button(runtime, rest)
        if found is None:
            raise LookupError(f"no button “{rest}” in the channel")
        sent = runtime.press(found[1], user=user_id, message_ts=found[0])
    else:
        sent = runtime.slash(line.removeprefix("/remedy").strip(), user=user_id)
    runtime.drain(timeout=120)
    return sent


def run_demo(redis_url: str | None = None, scenario: str | None = None) -> int:
    out = Console(highlight=False, soft_wrap=True)
    out.print(Rule("remedy demo — embedded sandbox (simulated Slack, Jira, Jamf Pro; in-process queue)"))
    sandbox = Sandbox.start()
    with tempfile.TemporaryDirectory(prefix="remedy-demo-") as scratch:
        # A scenario tells one story from its start: a database of its own, so no earlier run's audit events
        # or decisions end up in its audit report and evidence pack.
        database_url = f"sqlite:///{Path(scratch) / 'remedy.db'}" if scenario else load_settings().DATABASE_URL
        runtime = Runtime.start(sandbox, database_url, redis_url, threaded_worker=True, **wording_settings())
        try:
            _play(runtime, SCENARIOS[scenario] if scenario else SCRIPT, out)
            _show_threads(runtime, out)
        finally:
            runtime.stop()
            sandbox.stop()
    return 0


def _play(runtime: Runtime, script: list[tuple[str, str, str]], out: Console) -> None:
    for user, line, caption in script:
        out.print(Text(f"\n# {caption}", style="italic magenta"))
        if line.startswith(":subtasks done"):
            closed = finish_subtasks(runtime, line.removeprefix(":subtasks done").strip())
            out.print(Text(f"\n✔  marked Done in Jira: {', '.join(closed) or 'nothing open'}", style="yellow"))
            continue
        session = ConsoleSession(runtime, resolve_user(runtime, user), HOME_CHANNEL, out)
        session.run_line(line)


def _show_threads(runtime: Runtime, out: Console) -> None:
    state = runtime.sandbox.slack_state
    out.print(Rule("#cpe-remediation as the team sees it"))
    for parent in state.messages(HOME_CHANNEL):
        for i, msg in enumerate(state.thread(HOME_CHANNEL, parent.ts)):
            prefix = "" if i == 0 else "    ↳ "
            for line in message_lines(msg.text, msg.blocks):
                out.print(Text(prefix) + styled(line))
                prefix = "" if i == 0 else "      "
        out.print()
