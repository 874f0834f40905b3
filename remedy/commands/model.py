"""Typed results of parsing: the Command base class, its value types, and Help.

Commands are frozen pydantic models so the bot can hand `args()` (plain JSON) to a queued job and
so tests can compare a parse result with `==`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from remedy.commands.catalog import AVAILABLE_JOBS, CATALOG, Role
from remedy.slack import mrkdwn

KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9]+-\d+")

PersonKind = Literal["mention", "email", "handle", "name", "group", "channel"]

_MARKUP_ID = re.compile(r"<[@#!](?:subteam\^)?([A-Z0-9]+)(?:\|([^<>]*))?>")


def valid_key(value: str | None) -> str | None:
    if value is None:
        return None
    upper = value.upper()
    if not KEY_RE.fullmatch(upper):
        raise ValueError(f"not a ticket key: {value!r}")
    return upper


class PersonRef(BaseModel):
    """Somebody (or a group/channel) as the user wrote them; the team directory resolves it later.

    `raw` is the unescaped text for handles, emails and names, and the Slack markup itself
    (`<@U123|alice>`, `<!subteam^S1|@devs>`, `<#C1|ops>`) for mentions, so `text()` can re-emit it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    raw: str
    kind: PersonKind
    slack_id: str | None = None

    def display(self) -> str:
        """Plain (unescaped) label for people-facing text; never Slack markup, so it cannot ping."""
        match = _MARKUP_ID.fullmatch(self.raw)
        if match is None:
            return self.raw
        label = mrkdwn.unescape(match.group(2) or "").lstrip("@#")
        prefix = "#" if self.kind == "channel" else "@"
        return prefix + (label or match.group(1))

    def text(self) -> str:
        """How to write this reference in command text so it parses back to an equal ref."""
        if self.kind == "name":
            return f'"{self.raw}"'
        return self.raw


class When(BaseModel):
    """A moment as typed (`tomorrow 15:00`, `mon`, `2026-12-01 14:00`) plus its parsed pieces.

    Only the pieces are parsed here; turning `mon` into a date needs the user's timezone and "now",
    which the job has. `day` is today/tomorrow/yesterday/mon…sun; `time` is 24h "HH:MM".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    raw: str
    day: str | None = None
    date: dt.date | None = None
    time: str | None = None


ScopeKind = Literal["default", "epic", "keys", "jql"]


class Scope(BaseModel):
    """Which tickets a bulk command covers.

    default: the user's focus epic if set, else their active tickets (the job decides);
    epic: `epic` (None = focus epic) · keys: explicit list · jql: opaque query text for Jira.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ScopeKind = "default"
    epic: str | None = None
    keys: tuple[str, ...] = ()
    jql: str | None = None

    @field_validator("epic")
    @classmethod
    def _epic(cls, value: str | None) -> str | None:
        return valid_key(value)

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(valid_key(key) or "" for key in value)

    def describe(self) -> str:
        if self.kind == "epic":
            return f"epic {self.epic}" if self.epic else "your focus epic"
        if self.kind == "keys":
            return ", ".join(self.keys) if len(self.keys) <= 5 else f"{len(self.keys)} tickets"
        if self.kind == "jql":
            return "the tickets matching your JQL"
        return "your tickets"


class Command(BaseModel):
    """One parsed `/remedy` command; subclasses add typed fields.

    `text()` is written in the form Slack sends (free text escaped with `mrkdwn.escape`, mentions as
    markup), so `parse(cmd.text()) == cmd` whenever the key was explicit.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ClassVar[str] = ""

    key: str | None = None
    key_from_focus: bool = False

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return valid_key(value)

    def needs(self) -> Role:
        return CATALOG[self.name].role

    def job(self) -> str | None:
        return AVAILABLE_JOBS.get(self.name)

    def args(self) -> dict[str, Any]:
        # key_from_focus is how the key was found, not something a job should act on.
        return self.model_dump(mode="json", exclude={"key_from_focus"})

    def describe(self) -> str:
        return CATALOG[self.name].doing.format(key=self.key or "")

    def text(self) -> str:
        return f"{self.name} {self.key}" if self.key else self.name


_BLOCK_MAX = 50


class Help(BaseModel):
    """An answer instead of a command: explicit help, or why the text could not be understood."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    command: str | None = None
    suggestion: str | None = None
    is_error: bool = False
    # The command needs a ticket and none was typed: the caller may look up the user's focus
    # and parse again (parse first without it, so most commands never pay for the lookup).
    needs_focus: bool = False

    def blocks(self) -> list[dict[str, Any]]:
        """Section blocks within Block Kit limits; paragraphs stay whole when they fit."""
        chunks: list[str] = []
        for paragraph in self.text.split("\n\n"):
            for piece in _split(paragraph, mrkdwn.SECTION_TEXT_MAX):
                if chunks and len(chunks[-1]) + 2 + len(piece) <= mrkdwn.SECTION_TEXT_MAX:
                    chunks[-1] = f"{chunks[-1]}\n\n{piece}"
                else:
                    chunks.append(piece)
        chunks = [chunk for chunk in chunks if chunk.strip()] or ["(no help text)"]
        if len(chunks) > _BLOCK_MAX:
            chunks = [*chunks[: _BLOCK_MAX - 1], "…"]
        return [{"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in chunks]


def _split(paragraph: str, limit: int) -> list[str]:
    if len(paragraph) <= limit:
        return [paragraph]
    pieces: list[str] = []
    for line in paragraph.split("\n"):
        line = mrkdwn.truncate(line, limit)
        if pieces and len(pieces[-1]) + 1 + len(line) <= limit:
            pieces[-1] = f"{pieces[-1]}\n{line}"
        else:
            pieces.append(line)
    return pieces
