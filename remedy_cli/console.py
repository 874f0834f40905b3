"""`remedy console`: type `/remedy …` lines as a team member; see what Slack would show."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from remedy.config import load_settings
from remedy.sandbox.run import Sandbox
from remedy.sandbox.slack_records import Message
from remedy_cli.embedded import Runtime, Sent, wording_settings
from remedy_cli.render import message_lines, styled

PROMPT_HINT = "Type /remedy commands (e.g. `/remedy work CPE-3222`, `/remedy help`); Ctrl-D to quit."


class ConsoleSession:
    def __init__(self, runtime: Runtime, user_id: str, channel: str, out: Console) -> None:
        self.rt, self.user_id, self.channel, self.out = runtime, user_id, channel, out
        self._seen: dict[str, tuple[int, int]] = {}
        self._mark()

    def _mark(self) -> None:
        self._seen = {m.ts: (m.edits, len(m.text)) for m in self.rt.sandbox.slack_state.all_messages()}

    def run_line(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        if text.startswith(":"):
            self._directive(text)
            return
        if text.lower().startswith("/remedy"):
            text = text[len("/remedy"):].strip()
        self.out.print(Text(f"\n{self._who()} › /remedy {text}", style="bold cyan"))
        self._settle(self.rt.slash(text, user=self.user_id, channel=self.channel))

    def _directive(self, text: str) -> None:
        """Sandbox-only lines: `:wait 26h` moves simulated time (Macs check in), `:press Go` presses
        the newest button with that label in the channel, as this session's user."""
        word, _, rest = text[1:].partition(" ")
        if word == "wait" and rest.strip().rstrip("h").replace(".", "", 1).isdigit():
            hours = float(rest.strip().rstrip("h"))
            self.rt.sandbox.jamf_state.advance(hours * 3600)
            self.out.print(Text(f"\n⏱  {hours:g} simulated hours pass: Macs in scope check in", style="yellow"))
            return
        if word == "press" and rest.strip():
            found = self._button(rest.strip())
            if found is None:
                self.out.print(Text(f"  no button “{rest.strip()}” in the channel", style="red"))
                return
            msg, button = found
            self.out.print(Text(f"\n{self._who()} › presses [{rest.strip()}]", style="bold cyan"))
            self._settle(self.rt.press(button, user=self.user_id, channel=msg.channel, message_ts=msg.ts))
            return
        self.out.print(Text("  sandbox lines: `:wait 26h`, `:press <button label>`", style="red"))

    def _button(self, label: str) -> tuple[Message, dict[str, Any]] | None:
        for msg in reversed(self.rt.sandbox.slack_state.all_messages(self.channel)):
            for block in msg.blocks:
                for element in block.get("elements", []):
                    if element.get("type") == "button" and element.get("text", {}).get("text") == label:
                        return msg, element
        return None

    def _settle(self, sent: Sent) -> None:
        try:
            self.rt.drain(timeout=120)
        except TimeoutError:
            self.out.print(Text("  (still working in the background…)", style="yellow"))
        self._show_ephemeral(sent)
        self._show_channel()
        self._mark()

    def _who(self) -> str:
        person = self.rt.services.team.by_slack_id(self.user_id)
        return person.handle if person else self.user_id

    def _show_ephemeral(self, sent: Sent) -> None:
        if sent.status != 200:
            self.out.print(Text(f"  Slack: the app answered HTTP {sent.status}", style="red"))
            return
        view = self.rt.sandbox.slack_state.response_view(sent.response_url)
        text, blocks = (view.text, view.blocks) if view else (sent.ack_text, sent.body.get("blocks"))
        for i, line in enumerate(message_lines(text, blocks)):
            self.out.print(Text("  👁 only you │ " if i == 0 else "             │ ", style="dim") + styled(line))

    def _show_channel(self) -> None:
        state = self.rt.sandbox.slack_state
        changed = [m for m in state.all_messages() if self._seen.get(m.ts) != (m.edits, len(m.text))]
        for msg in changed:
            self._show_message(msg, new=msg.ts not in self._seen)

    def _show_message(self, msg: Message, new: bool) -> None:
        chan = self.rt.sandbox.slack_state.channels.get(msg.channel)
        where = f"#{chan.name}" if chan else msg.channel
        if msg.thread_ts and msg.thread_ts != msg.ts:
            head = f"  {where} › thread reply"
        else:
            head = f"  {where}" + ("" if new else " (edited)")
        self.out.print(Text(head, style="bold green"))
        for line in message_lines(msg.text, msg.blocks):
            self.out.print(Text("    │ ") + styled(line))


def _lines(stream: TextIO, interactive: bool, out: Console) -> Iterable[str]:
    if not interactive:
        yield from stream
        return
    out.print(Text(PROMPT_HINT, style="dim"))
    while True:
        try:
            yield input("remedy> ")
        except EOFError:
            return


def resolve_user(runtime: Runtime, user: str) -> str:
    person = runtime.services.team.by_handle(user) or runtime.services.team.by_slack_id(user)
    return person.slack_id if person and person.slack_id else user


def run_console(user: str = "alice", channel: str = "C0CPETEAM", redis_url: str | None = None,
                stream: TextIO | None = None) -> int:
    stream = stream or sys.stdin
    out = Console(highlight=False, soft_wrap=True)
    database_url = load_settings().DATABASE_URL
    sandbox = Sandbox.start()
    runtime = Runtime.start(sandbox, database_url, redis_url, threaded_worker=True,
                            **wording_settings())
    try:
        session = ConsoleSession(runtime, resolve_user(runtime, user), channel, out)
        for line in _lines(stream, stream.isatty() and os.environ.get("CI") is None, out):
            session.run_line(line)
    finally:
        runtime.stop()
        sandbox.stop()
    return 0
