"""The records the Slack simulator keeps (messages, ephemerals, response posts, files, calls)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Blocks = list[dict[str, Any]]


class SlackError(Exception):
    """A Web API failure: Slack answers these with HTTP 200 and ``{"ok": false, "error": …}``."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error, self.messages = error, list(messages)


@dataclass
class Message:
    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: Blocks
    user: str
    metadata: dict[str, Any] | None = None
    edits: int = 0
    history: list[tuple[str, Blocks]] = field(default_factory=list)
    reply_broadcast: bool = False
    files: list[str] = field(default_factory=list)


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: Blocks
    source: str  # "postEphemeral" or "response_url"
    ts: str = ""
    thread_ts: str | None = None


@dataclass
class ResponsePost:
    rid: str
    text: str
    blocks: Blocks
    replace_original: bool
    delete_original: bool
    response_type: str
    thread_ts: str | None
    at: float


@dataclass
class UploadedFile:
    id: str
    filename: str
    title: str = ""
    content: bytes | None = None  # None until the bytes reach the upload URL
    completed: bool = False
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float


@dataclass
class Channel:
    id: str
    name: str
    user: str | None = None  # the person in a one-to-one DM; everyone is in the other channels


@dataclass
class _ResponseUrl:
    channel: str
    user: str
    message_ts: str | None
    created: float
    posts: list[ResponsePost] = field(default_factory=list)
