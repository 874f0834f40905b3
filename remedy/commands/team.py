"""Memory commands (what was I doing?) and Team commands (escalate, delegate, meet, sync)."""

from __future__ import annotations

from typing import ClassVar, Literal

from remedy.commands.args import ArgError, Args, Parser, code, read_person, simple
from remedy.commands.lexer import as_key, emit_free
from remedy.commands.model import Command, PersonRef, When
from remedy.commands.people import channel, is_separator, split_words
from remedy.commands.ticket import REASON_LEAD, person_or_name, short
from remedy.commands.timespec import read_when
from remedy.slack import mrkdwn

Period = Literal["today", "week"]
_PERIODS: dict[str, Period] = {
    "today": "today", "day": "today", "daily": "today", "24h": "today",
    "week": "week", "weekly": "week", "7d": "week",
}
_HERE = frozenset({"slack", "here", "team", "channel"})
MAX_ATTENDEES = 50


class Resume(Command):
    name: ClassVar[str] = "resume"


class Blocked(Command):
    name: ClassVar[str] = "blocked"


class MyFocus(Command):
    name: ClassVar[str] = "my focus"


class Priorities(Command):
    """The user's open tickets in priority order (the rules in priority.yml, overrides marked)."""

    name: ClassVar[str] = "priorities"


class Progress(Command):
    name: ClassVar[str] = "progress"
    period: Period = "today"

    def describe(self) -> str:
        return "Gathering your progress for " + ("today" if self.period == "today" else "this week")

    def text(self) -> str:
        return f"progress {self.period}"


class Escalate(Command):
    """`to` None: whoever the team's escalation rules name (by default the escalator's manager)."""

    name: ClassVar[str] = "escalate"
    to: PersonRef | None = None
    reason: str | None = None

    def describe(self) -> str:
        why = f" ({short(self.reason)})" if self.reason else ""
        whom = short(self.to.display()) if self.to else "the next person in your escalation path"
        return f"Escalating {self.key} to {whom}{why}"

    def text(self) -> str:
        why = f" because {emit_free(self.reason)}" if self.reason else ""
        whom = f" to {self.to.text()}" if self.to else ""
        return f"escalate {self.key}{whom}{why}"


class Delegate(Command):
    name: ClassVar[str] = "delegate"
    to: PersonRef

    def describe(self) -> str:
        return f"Delegating {self.key} to {short(self.to.display())}"

    def text(self) -> str:
        return f"delegate {self.key} to {self.to.text()}"


class ScheduleDiscussion(Command):
    name: ClassVar[str] = "schedule discussion"
    when: When
    attendees: tuple[PersonRef, ...]

    def describe(self) -> str:
        people = ", ".join(person.display() for person in self.attendees)
        return f"Scheduling a discussion on {self.key} {mrkdwn.escape(self.when.raw)} with {short(people)}"

    def text(self) -> str:
        people = " ".join(person.text() for person in self.attendees)
        return f"schedule discussion {self.key} {self.when.raw} with {people}"


class Sync(Command):
    """Post the ticket's status (the focus ticket when no key is typed) to `channel`, or to the
    team channel when None."""

    name: ClassVar[str] = "sync"
    channel: PersonRef | None = None

    def describe(self) -> str:
        where = short(self.channel.display()) if self.channel else "the team channel"
        return f"Posting the status of {self.key} to {where}"

    def text(self) -> str:
        where = f" {self.channel.raw}" if self.channel else ""
        return f"sync {self.key}{where}"


def _progress(args: Args) -> Command:
    args.skip("for")
    args.skip("this", "the", "last")
    word = args.word()
    if not word:
        return Progress()
    if word not in _PERIODS:
        raise ArgError(f"{code(word)} is not a period; use `today` or `week`.")
    args.take()
    args.end()
    return Progress(period=_PERIODS[word])


def _blocked(args: Args) -> Command:
    if args.word() == "by":
        # "blocked by CPE-3301" records a blocker; `blocked` itself lists what waits on what.
        blocker = as_key(args.peek(1)) or "CPE-3301"
        raise ArgError(f"To record a blocker, use {code('block by ' + blocker)}.", suggestion="add blocker")
    args.end()
    return Blocked()


def _my_focus(args: Args) -> Command:
    token = args.peek()
    key = as_key(token)
    if key:
        raise ArgError(f"To change your focus, use {code('work ' + key)}.", suggestion="work")
    args.end()
    return MyFocus()


def _escalate(args: Args) -> Command:
    explicit = args.key()
    args.skip("to")
    to: PersonRef | None = None
    if not args.done() and args.word() not in REASON_LEAD:
        to = args.person("person to escalate to")
        if explicit is None and (explicit := as_key(args.peek())):
            args.take()  # "escalate sarah CPE-3222 …": the key came after the person
    args.skip(*REASON_LEAD)
    reason = args.free_text() or None
    key, from_focus = args.resolve(explicit)
    return Escalate(key=key, key_from_focus=from_focus, to=to, reason=reason)


def _delegate(args: Args) -> Command:
    explicit = args.key()
    args.skip("to")
    to = person_or_name(args, "person or group")
    key, from_focus = args.resolve(explicit)
    return Delegate(key=key, key_from_focus=from_focus, to=to)


def _schedule(args: Args) -> Command:
    explicit = args.key()
    args.skip("for", "about")
    tokens = split_words(args.tokens[args.i :])
    when: When | None = None
    attendees: list[PersonRef] = []
    j = 0
    while j < len(tokens):
        token = tokens[j]
        found = read_when(tokens, j) if when is None else None
        if found is not None:
            when, j = found
            continue
        if explicit is None and (key := as_key(token)):
            explicit = key
        elif not is_separator(token) and token.low != "with":
            attendees.append(read_person(token))
            if len(attendees) > MAX_ATTENDEES:
                raise ArgError(f"That is more than {MAX_ATTENDEES} people; invite fewer.")
        j += 1
    args.i = len(args.tokens)
    return _scheduled(args, explicit, when, attendees)


def _scheduled(args: Args, explicit: str | None, when: When | None, attendees: list[PersonRef]) -> Command:
    if when is None:
        raise ArgError("When? Add a day and time: `tomorrow 15:00`, `mon 10:00` or `2026-12-01 14:00`.")
    unique = tuple(dict.fromkeys(attendees))
    if not unique:
        raise ArgError("With whom? Add people after `with`, e.g. `with sarah john`.")
    key, from_focus = args.resolve(explicit)
    return ScheduleDiscussion(key=key, key_from_focus=from_focus, when=when, attendees=unique)


def _sync(args: Args) -> Command:
    explicit = args.key()
    args.skip("with", "to", "in", "on", "into")
    found: PersonRef | None = None
    if args.done() or args.word() in _HERE:
        args.skip(*_HERE)
        args.skip("channel")
    else:
        token = args.take()
        found = channel(token)
        if found is None:
            raise ArgError(f"{code(token.value)} is not a channel; use `#channel-name`.")
    args.end()
    key, from_focus = args.resolve(explicit)
    return Sync(key=key, key_from_focus=from_focus, channel=found)


PARSERS: dict[str, Parser] = {
    "resume": simple(Resume),
    "blocked": _blocked,
    "my focus": _my_focus,
    "priorities": simple(Priorities),
    "progress": _progress,
    "escalate": _escalate,
    "delegate": _delegate,
    "schedule discussion": _schedule,
    "sync": _sync,
}
