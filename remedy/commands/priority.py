"""`priority [KEY] <level> [for N days | until DATE] because <reason>`: a person overriding the computed
priority. The override wins in the queue and on the analysis card, shown beside its reason, so a reason is
required: without one the answer shows the command with a place for it."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Any, ClassVar, Literal, get_args

from pydantic import Field, field_validator, model_validator

from remedy.commands.args import ArgError, Args, Parser, code
from remedy.commands.lexer import emit_free
from remedy.commands.model import Command
from remedy.commands.ticket import REASON_LEAD, short
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
# An override may expire: `for 3 days`, `for 2 weeks`, `for 3d`, `until 2026-12-01` (after the level).
MAX_OVERRIDE_DAYS = 365
_SPAN = re.compile(r"(\d{1,4})\s*(d|days?|w|wks?|weeks?)")
_DAYS_PER_UNIT = {"d": 1, "w": 7}


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
    found = SetPriority(key=key, key_from_focus=from_focus, priority=level, reason=reason, days=days, until=until)
    if found.reason is None:
        raise _no_reason(found, explicit)
    return found


def _no_reason(found: SetPriority, typed_key: str | None) -> ArgError:
    """The command as typed, with the place for the reason the queue will show beside the override."""
    fixed = f"priority {typed_key + ' ' if typed_key else ''}{found.priority}{found.expiry()} because …"
    return ArgError(f"An override needs a reason (the queue shows it beside the priority): {mrkdwn.inline_code(fixed)}",
                    fixed)


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


PARSERS: dict[str, Parser] = {"priority": _priority}
