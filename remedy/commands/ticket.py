"""Ticket commands: work on one Jira ticket (read it, comment, move, assign, prioritize, block)."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Any, ClassVar, Literal, get_args

from pydantic import Field, field_validator, model_validator

from remedy.commands.args import ArgError, Args, Parser, code, read_person, simple
from remedy.commands.lexer import emit_free
from remedy.commands.model import Command, PersonRef, valid_key
from remedy.commands.people import NAME
from remedy.commands.phases import NOT_PHASES, PHASES, Phase, find_phase, suggest_phase
from remedy.commands.timespec import DAYS, duration_minutes, iso_date
from remedy.slack import mrkdwn

# P1..P4 are remedy's levels (the workflow template maps them to Jira priorities); the names are
# Jira's stock priorities, for people who think in those.
Priority = Literal["P1", "P2", "P3", "P4", "Highest", "High", "Medium", "Low", "Lowest"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
_PRIORITY_WORDS: dict[str, Priority] = {level.casefold(): level for level in PRIORITIES}
_PRIORITY_LIST = ", ".join(f"`{level}`" for level in PRIORITIES)
_TRAILING = ".,:;!"
_SUGGEST_MAX = 20
REASON_LEAD = ("because", "-", "—", "–", ":")
DESCRIBE_TEXT_MAX = 80
# An override may expire: `for 3 days`, `for 2 weeks`, `for 3d`, `until 2026-12-01` (after the level).
MAX_OVERRIDE_DAYS = 365
_SPAN = re.compile(r"(\d{1,4})\s*(d|days?|w|wks?|weeks?)")
_DAYS_PER_UNIT = {"d": 1, "w": 7}


def short(text: str) -> str:
    """User text for an ack line: one line, shortened, escaped."""
    return mrkdwn.escape(mrkdwn.truncate(" ".join(text.split()), DESCRIBE_TEXT_MAX))


def find_priority(typed: str) -> Priority | None:
    """The canonical priority for `typed` (`p1`, `HIGH`, `low,`), or None."""
    return _PRIORITY_WORDS.get(typed.casefold().rstrip(_TRAILING))


def suggest_priority(typed: str) -> Priority | None:
    """The priority a typo most likely meant (`hihg` → High), or None."""
    word = typed.casefold().rstrip(_TRAILING)
    if len(word) > _SUGGEST_MAX:
        return None
    match = difflib.get_close_matches(word, list(_PRIORITY_WORDS), n=1, cutoff=0.6)
    return _PRIORITY_WORDS[match[0]] if match else None


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


class SetPriority(Command):
    """`days` / `until`: the override expires after that many days, or at the end of that day (UTC)."""

    name: ClassVar[str] = "priority"
    priority: Priority
    reason: str | None = None
    days: int | None = Field(default=None, ge=1, le=MAX_OVERRIDE_DAYS)
    until: dt.date | None = None

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: object) -> object:
        return _PRIORITY_WORDS.get(value.casefold(), value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_expiry(self) -> SetPriority:
        if self.days is not None and self.until is not None:
            raise ValueError("give `for N days` or `until DATE`, not both")
        return self

    def expiry(self) -> str:
        if self.days is not None:
            return f" for {self.days} day{'s' if self.days != 1 else ''}"
        return f" until {self.until.isoformat()}" if self.until else ""

    def args(self) -> dict[str, Any]:
        # Without an expiry the job gets the arguments it always got (jobs queued before expiry existed too).
        return {k: v for k, v in super().args().items() if k not in ("days", "until") or v is not None}

    def describe(self) -> str:
        why = f" ({short(self.reason)})" if self.reason else ""
        return f"Setting {self.key} to {self.priority}{self.expiry()}{why}"

    def text(self) -> str:
        why = f" because {emit_free(self.reason)}" if self.reason else ""
        return f"priority {self.key} {self.priority}{self.expiry()}{why}"


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


def _priority(args: Args) -> Command:
    explicit = args.key()
    args.skip("to")
    token = args.peek()
    if token is None:
        raise ArgError(f"Which priority? One of {_PRIORITY_LIST}.")
    level = find_priority(token.low) if token.kind == "word" else None
    if level is None:
        raise _priority_error(token.value)
    args.take()
    days, until = _expiry(args)
    args.skip(*REASON_LEAD)
    reason = args.free_text() or None
    key, from_focus = args.resolve(explicit)
    return SetPriority(key=key, key_from_focus=from_focus, priority=level, reason=reason, days=days, until=until)


def _expiry(args: Args) -> tuple[int | None, dt.date | None]:
    """`for 3 days` / `for 2 weeks` / `until 2026-12-01` right after the level. Other words after
    `for`/`until` are the reason (`for the audit`), except a weekday, which is surely a date."""
    lead, first, second = args.word(), args.word(1), args.word(2)
    if lead == "until" and (day := iso_date(first)) is not None:
        args.i += 2
        return None, day
    if lead == "until" and first in DAYS:
        raise ArgError("Until which date? Write it as `until 2026-12-01`.")
    span = (_SPAN.fullmatch(first) or _SPAN.fullmatch(first + second)) if lead == "for" else None
    if span is None and lead == "for" and any(duration_minutes(w) for w in (first, first + second)):
        raise ArgError("An override lasts whole days: `for 3 days`, `for 2 weeks`.")
    if span is None:
        return None, None
    days = int(span.group(1)) * _DAYS_PER_UNIT[span.group(2)[0]]
    if not 1 <= days <= MAX_OVERRIDE_DAYS:
        raise ArgError(f"An override lasts 1 to {MAX_OVERRIDE_DAYS} days.")
    args.i += 2 if _SPAN.fullmatch(first) else 3
    return days, None


def _priority_error(typed: str) -> ArgError:
    guess = suggest_priority(typed)
    if guess:
        return ArgError(f"{code(typed)} is not a priority. Did you mean {mrkdwn.inline_code(guess)}?", guess)
    return ArgError(f"{code(typed)} is not a priority; use one of {_PRIORITY_LIST}.")


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
    "priority": _priority,
    "add blocker": _add_blocker,
}
