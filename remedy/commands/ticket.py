"""Ticket commands: work on one Jira ticket (read it, comment, move, assign, prioritize, block)."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import field_validator, model_validator

from remedy.commands.args import ArgError, Args, Parser, code, simple
from remedy.commands.lexer import emit_free
from remedy.commands.model import Command, PersonRef, valid_key
from remedy.commands.people import NAME
from remedy.commands.phases import NOT_PHASES, PHASES, Phase, find_phase, suggest_phase
from remedy.slack import mrkdwn

Priority = Literal["P1", "P2", "P3", "P4"]
_PRIORITY = re.compile(r"p([1-4])[.,:;!]?")
REASON_LEAD = ("because", "-", "—", "–", ":")
DESCRIBE_TEXT_MAX = 80


def short(text: str) -> str:
    """User text for an ack line: one line, shortened, escaped."""
    return mrkdwn.escape(mrkdwn.truncate(" ".join(text.split()), DESCRIBE_TEXT_MAX))


class Work(Command):
    name: ClassVar[str] = "work"


class Analyze(Command):
    name: ClassVar[str] = "analyze"


class DraftComment(Command):
    name: ClassVar[str] = "draft comment"


class PostComment(Command):
    name: ClassVar[str] = "post comment"


class Watch(Command):
    name: ClassVar[str] = "watch"


class Comment(Command):
    name: ClassVar[str] = "comment"
    body: str

    def describe(self) -> str:
        return f"Commenting on {self.key}: “{short(self.body)}”"

    def text(self) -> str:
        return f"comment {self.key} {emit_free(self.body)}"


class Move(Command):
    name: ClassVar[str] = "move"
    phase: Phase

    def describe(self) -> str:
        return f"Moving {self.key} to {mrkdwn.escape(self.phase)}"

    def text(self) -> str:
        return f"move {self.key} to {mrkdwn.escape(self.phase)}"


class Assign(Command):
    name: ClassVar[str] = "assign"
    assignee: PersonRef

    def describe(self) -> str:
        return f"Assigning {self.key} to {short(self.assignee.display())}"

    def text(self) -> str:
        return f"assign {self.key} to {self.assignee.text()}"


class SetPriority(Command):
    name: ClassVar[str] = "priority"
    priority: Priority
    reason: str | None = None

    def describe(self) -> str:
        why = f" ({short(self.reason)})" if self.reason else ""
        return f"Setting {self.key} to {self.priority}{why}"

    def text(self) -> str:
        why = f" because {emit_free(self.reason)}" if self.reason else ""
        return f"priority {self.key} {self.priority}{why}"


class AddBlocker(Command):
    """`blocker` blocks `key`: `key` cannot move on until `blocker` is done."""

    name: ClassVar[str] = "add blocker"
    blocker: str

    @field_validator("blocker")
    @classmethod
    def _blocker(cls, value: str) -> str:
        return valid_key(value) or ""

    @model_validator(mode="after")
    def _check(self) -> AddBlocker:
        if self.blocker == self.key:
            raise ValueError("a ticket cannot block itself")
        return self

    def describe(self) -> str:
        return f"Marking {self.blocker} as blocking {self.key}"

    def text(self) -> str:
        return f"add blocker {self.key} {self.blocker}"


def _comment(args: Args) -> Command:
    explicit = args.key()
    body = args.free_text()
    if not body:
        raise ArgError("What should the comment say? Put it in quotes after the command.")
    key, from_focus = args.resolve(explicit)
    return Comment(key=key, key_from_focus=from_focus, body=body)


def _move(args: Args) -> Command:
    explicit = args.key()
    args.skip("to", "into", "→", "->")
    typed = args.free_text()
    phase = find_phase(typed)
    if phase is None:
        raise _phase_error(typed)
    key, from_focus = args.resolve(explicit)
    return Move(key=key, key_from_focus=from_focus, phase=phase)


def _phase_error(typed: str) -> ArgError:
    listing = ", ".join(mrkdwn.inline_code(phase) for phase in PHASES)
    if not typed:
        return ArgError(f"Which phase? One of {listing}.")
    guess = None if typed.casefold() in NOT_PHASES else suggest_phase(typed)
    if guess:
        return ArgError(f"{code(typed)} is not a phase. Did you mean {mrkdwn.inline_code(guess)}?", guess)
    return ArgError(f"{code(typed)} is not a phase. Phases: {listing}.")


def _assign(args: Args) -> Command:
    explicit = args.key()
    args.skip("to")
    assignee = person_or_name(args)
    key, from_focus = args.resolve(explicit)
    return Assign(key=key, key_from_focus=from_focus, assignee=assignee)


def person_or_name(args: Args, what: str = "person") -> PersonRef:
    """One person ending the command; an unquoted `Sarah Chen` (all capitalised words) is a name."""
    rest = args.tokens[args.i :]
    words = [token.value for token in rest]
    if len(rest) >= 2 and all(t.kind == "word" and t.value[:1].isupper() for t in rest):
        joined = " ".join(words)
        if NAME.fullmatch(joined):
            args.i = len(args.tokens)
            return PersonRef(raw=joined, kind="name")
    found = args.person(what)
    args.end()
    return found


def _priority(args: Args) -> Command:
    explicit = args.key()
    token = args.peek()
    found = _PRIORITY.fullmatch(token.low) if token else None
    if token is None:
        raise ArgError("Which priority? One of `P1`, `P2`, `P3`, `P4`.")
    if found is None:
        raise ArgError(f"{code(token.value)} is not a priority; use `P1`, `P2`, `P3` or `P4`.")
    args.take()
    args.skip(*REASON_LEAD)
    reason = args.free_text() or None
    key, from_focus = args.resolve(explicit)
    level: Priority = ("P1", "P2", "P3", "P4")[int(found.group(1)) - 1]
    return SetPriority(key=key, key_from_focus=from_focus, priority=level, reason=reason)


def _add_blocker(args: Args) -> Command:
    first = args.need_key("ticket is the blocker")
    if args.skip("to", "on", "for", "of"):
        # "add blocker CPE-3301 to CPE-3222": the first key blocks the second.
        key, blocker, from_focus = args.need_key("ticket does it block"), first, False
    elif (second := args.key()) is not None:
        key, blocker, from_focus = first, second, False
    else:
        blocker = first
        args.end()
        key, from_focus = args.resolve(None)
    args.end()
    if key == blocker:
        raise ArgError(f"{key} cannot block itself. Name the ticket that blocks it after {key}.")
    return AddBlocker(key=key, key_from_focus=from_focus, blocker=blocker)


PARSERS: dict[str, Parser] = {
    "work": simple(Work),
    "analyze": simple(Analyze),
    "draft comment": simple(DraftComment),
    "post comment": simple(PostComment),
    "watch": simple(Watch),
    "comment": _comment,
    "move": _move,
    "assign": _assign,
    "priority": _priority,
    "add blocker": _add_blocker,
}
