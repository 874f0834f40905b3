"""`remedy demo`: the CPE-3222 story in the embedded sandbox, printed as the Slack thread."""

from __future__ import annotations

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from remedy.config import load_settings
from remedy.sandbox.run import HOME_CHANNEL, Sandbox
from remedy_cli.console import ConsoleSession, resolve_user
from remedy_cli.embedded import Runtime, wording_settings
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


def run_demo(redis_url: str | None = None) -> int:
    out = Console(highlight=False, soft_wrap=True)
    out.print(Rule("remedy demo — embedded sandbox (simulated Slack, Jira, Jamf Pro; in-process queue)"))
    sandbox = Sandbox.start()
    runtime = Runtime.start(sandbox, load_settings().DATABASE_URL, redis_url, threaded_worker=True,
                            **wording_settings())
    try:
        for user, line, caption in SCRIPT:
            out.print(Text(f"\n# {caption}", style="italic magenta"))
            session = ConsoleSession(runtime, resolve_user(runtime, user), HOME_CHANNEL, out)
            session.run_line(line)
        _show_threads(runtime, out)
    finally:
        runtime.stop()
        sandbox.stop()
    return 0


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
