"""Ticket commands: work on one Jira ticket (read it, comment, move, assign, block); prioritizing is in
remedy.commands.priority."""

from __future__ import annotations

from typing import ClassVar

from pydantic import field_validator, model_validator

from remedy.commands.args import ArgError, Args, Parser, code, read_person, simple
from remedy.commands.lexer import emit_free
from remedy.commands.model import Command, PersonRef, valid_key
from remedy.commands.people import NAME
from remedy.commands.phases import NOT_PHASES, PHASES, Phase, find_phase, suggest_phase
from remedy.slack import mrkdwn

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
    """`about` steers the draft (`draft comment about the pilot results`); None lets it choose."""

    name: ClassVar[str] = "draft comment"
    about: str | None = None

    def describe(self) -> str:
        base = super().describe()
        return f"{base} about “{short(self.about)}”" if self.about else base

    def text(self) -> str:
        base = super().text()
        return f"{base} about {emit_free(self.about)}" if self.about else base


class PostComment(Command):
    name: ClassVar[str] = "post comment"


class DiscardDraft(Command):
    name: ClassVar[str] = "discard draft"


class EditDraft(Command):
    """Replace the text of the user's latest draft comment on the ticket with `body`."""

    name: ClassVar[str] = "edit draft"
    body: str

    def describe(self) -> str:
        return f"Updating your draft comment on {self.key}: “{short(self.body)}”"

    def text(self) -> str:
        return f"edit draft {self.key} {emit_free(self.body)}"


class Watch(Command):
    """The user watches the ticket; with people named, they are added as watchers instead."""

    name: ClassVar[str] = "watch"
    people: tuple[PersonRef, ...] = ()

    def describe(self) -> str:
        if not self.people:
            return f"Watching {self.key}"
        return f"Adding {short(', '.join(p.display() for p in self.people))} as watchers of {self.key}"

    def text(self) -> str:
        who = "".join(f" {p.text()}" for p in self.people)
        return f"watch {self.key}{who}"


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


def _draft_comment(args: Args) -> Command:
    explicit = args.key()
    about = None
    if args.skip("about"):
        about = args.free_text()
        if not about:
            raise ArgError("About what? Add a topic, like `draft comment about the pilot results`.")
    args.end()
    key, from_focus = args.resolve(explicit)
    return DraftComment(key=key, key_from_focus=from_focus, about=about)


def _edit_draft(args: Args) -> Command:
    explicit = args.key()
    body = args.free_text()
    if not body:
        raise ArgError("What should the draft say instead? Put the new text in quotes after the command.")
    key, from_focus = args.resolve(explicit)
    return EditDraft(key=key, key_from_focus=from_focus, body=body)


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


def _add_blocker(args: Args) -> Command:
    if args.phrase == "block":
        key, blocker, from_focus = _block_by(args)
        hint = "Name the ticket that blocks it after `by`."
    else:
        key, blocker, from_focus = _blocker_first(args)
        hint = f"Name the ticket that blocks it after {key}."
    if key == blocker:
        raise ArgError(f"{key} cannot block itself. {hint}")
    return AddBlocker(key=key, key_from_focus=from_focus, blocker=blocker)


def _blocker_first(args: Args) -> tuple[str, str, bool]:
    """`add blocker [KEY] BLOCKER` or `add blocker BLOCKER to KEY` → (key, blocker, key_from_focus)."""
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
    return key, blocker, from_focus


def _block_by(args: Args) -> tuple[str, str, bool]:
    """`block [KEY] by BLOCKER`: BLOCKER blocks KEY (the focus ticket when KEY is left out)."""
    explicit = args.key()
    if not args.skip("by"):
        example = f"block {explicit or 'CPE-3222'} by CPE-3301"
        raise ArgError(f"Blocked by which ticket? Say it after `by`, like {code(example)}.")
    blocker = args.need_key("ticket blocks it")
    args.end()
    key, from_focus = args.resolve(explicit)
    return key, blocker, from_focus



MAX_WATCHERS = 20


def _watch(args: Args) -> Command:
    explicit = args.key()
    args.skip("by", "with", "for")
    people: list[PersonRef] = []
    while not args.done():
        token = args.take()
        if token.low in ("and", ",", "&amp;"):
            continue
        people.append(read_person(token))
        if len(people) > MAX_WATCHERS:
            raise ArgError(f"That is more than {MAX_WATCHERS} people; add fewer watchers at once.")
    key, from_focus = args.resolve(explicit)
    return Watch(key=key, key_from_focus=from_focus, people=tuple(dict.fromkeys(people)))

PARSERS: dict[str, Parser] = {
    "work": simple(Work),
    "analyze": simple(Analyze),
    "draft comment": _draft_comment,
    "post comment": simple(PostComment),
    "discard draft": simple(DiscardDraft),
    "edit draft": _edit_draft,
    "watch": _watch,
    "comment": _comment,
    "move": _move,
    "assign": _assign,
    "add blocker": _add_blocker,
}
