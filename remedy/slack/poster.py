"""Post results where people look: one home thread per ticket per channel, replies under it.

* The parent message of a ticket's thread carries a one-line status that is edited in place.
* Every reply carries an idempotency key in its message metadata, so a retried job that
  crashed right after posting finds its reply instead of posting it twice.
* The "⏳" answer a user got when Slack acked is edited through the response_url.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from remedy.actions import ActionLog
from remedy.db.models import SlackThread
from remedy.db.session import Database
from remedy.parallel import parallel
from remedy.slack.client import webhook_client
from remedy.slack.mrkdwn import MESSAGE_TEXT_MAX, truncate

log = logging.getLogger("remedy.slack")
METADATA_EVENT = "remedy_result"
# Errors that mean "Slack will never accept this": tell the user instead of retrying.
PERMANENT_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "invalid_blocks",
                    "msg_too_long", "no_text", "restricted_action", "invalid_auth", "account_inactive",
                    "user_not_found", "cannot_dm_bot", "user_disabled"}
THREAD_CLAIM_WAIT = 5.0
Status = str | Callable[[], str]


class SlackPostError(Exception):
    """Slack refused a post for good (``error`` is Slack's code)."""

    refused = True  # Slack answered ok=false: nothing was posted

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str
    thread_ts: str | None = None
    reused: bool = False


class Poster:
    def __init__(self, client: WebClient, db: Database, timeout: float = 10.0) -> None:
        self.client = client
        self.db = db
        self.timeout = timeout
        self.actions = ActionLog(db)
        self._dm_channels: dict[str, str] = {}

    # -- the ⏳ message -------------------------------------------------------------------
    def respond(self, response_url: str | None, text: str, blocks: list[dict[str, Any]] | None = None,
                replace: bool = True) -> None:
        """Edit (or add to) the ephemeral answer the user got when the command was acked."""
        if not response_url:
            return
        resp = webhook_client(response_url, self.timeout).send(
            text=truncate(text, MESSAGE_TEXT_MAX), blocks=blocks, replace_original=replace,
            response_type="ephemeral")
        if resp.status_code != 200:  # used 5 times or older than 30 min: the user won't see it
            log.warning("response_url refused the answer (%s %s)", resp.status_code, resp.body[:60])

    # -- the home thread --------------------------------------------------------------------
    def home_thread(self, channel: str, ticket: str, status: Status) -> str:
        """The ts of the ticket's thread parent in ``channel``, created or re-titled.

        ``status`` is the new status line, or a function that makes one: then the line last shown
        is kept (re-sent, which also proves the parent still exists) and the function is only
        called when a thread must be created, so a reply needs no fresh read of the ticket."""
        row = self._thread_row(channel, ticket)
        if row is not None and row.ts:
            line = status if isinstance(status, str) else (row.status_line or status())
            if self._update_status(channel, row.ts, line):
                if isinstance(status, str) and status != row.status_line:
                    self._remember_status(channel, ticket, status)
                return row.ts
            self._forget_thread(channel, ticket)  # parent deleted in Slack: start a new thread
        return self._create_thread(channel, ticket, status if isinstance(status, str) else status())

    def thread_ts(self, channel: str, ticket: str) -> str | None:
        """The ticket's home thread in ``channel`` as remedy knows it (no Slack call), or None."""
        row = self._thread_row(channel, ticket)
        return row.ts if row is not None and row.ts else None

    def _remember_status(self, channel: str, ticket: str, line: str) -> None:
        with self.db.session() as s:
            row = s.scalar(_thread_query(channel, ticket))
            if row is not None:
                row.status_line = line

    def _thread_row(self, channel: str, ticket: str) -> SlackThread | None:
        with self.db.session() as s:
            return s.scalar(_thread_query(channel, ticket))

    def _update_status(self, channel: str, ts: str, status_line: str) -> bool:
        try:
            self.client.chat_update(channel=channel, ts=ts, text=status_line,
                                    blocks=_status_blocks(status_line))
            return True
        except SlackApiError as exc:
            if exc.response.get("error") == "message_not_found":
                return False
            raise _as_post_error(exc) from exc

    def _forget_thread(self, channel: str, ticket: str) -> None:
        with self.db.session() as s:
            row = s.scalar(_thread_query(channel, ticket))
            if row is not None:
                s.delete(row)

    def _create_thread(self, channel: str, ticket: str, status_line: str, adopt: bool = False) -> str:
        # Claim the (channel, ticket) row first so that two jobs never create two parents.
        try:
            with self.db.session() as s:
                s.add(SlackThread(channel_id=channel, ticket_key=ticket, ts=""))
        except IntegrityError:
            return self._wait_for_thread(channel, ticket, status_line)
        # Taking over a claim: its job may have died after posting the parent, before recording it.
        key = f"home:{ticket}"
        ts = self._find_posted(channel, None, key) if adopt else None
        if ts is None:
            try:
                resp = self.client.chat_postMessage(
                    channel=channel, text=status_line, blocks=_status_blocks(status_line),
                    metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}})
            except SlackApiError as exc:
                self._forget_thread(channel, ticket)
                raise _as_post_error(exc) from exc
            ts = str(resp["ts"])
        with self.db.session() as s:
            row = s.scalar(_thread_query(channel, ticket))
            if row is not None:
                row.ts, row.status_line = ts, status_line
        return ts

    def _wait_for_thread(self, channel: str, ticket: str, status_line: str) -> str:
        deadline = time.monotonic() + THREAD_CLAIM_WAIT
        while time.monotonic() < deadline:
            row = self._thread_row(channel, ticket)
            if row is None:
                return self._create_thread(channel, ticket, status_line)
            if row.ts:
                return row.ts
            time.sleep(0.1)
        # The claimant died between claim and record: take the claim over (and its parent, if it posted one).
        self._forget_thread(channel, ticket)
        return self._create_thread(channel, ticket, status_line, adopt=True)

    # -- replies ----------------------------------------------------------------------------
    def reply(self, channel: str, ticket: str, status: Status, text: str,
              blocks: list[dict[str, Any]] | None, idempotency_key: str) -> Posted:
        """Post ``blocks`` as a reply in the ticket's home thread, at most once per key.

        When the thread exists, the reply and the status-line re-send go out side by side (one
        round trip, not two). The re-send also proves the parent still exists: if it was deleted,
        the reply went to a thread nobody sees, so the ticket gets a new home and the reply is
        posted there."""
        row = self._thread_row(channel, ticket)
        if row is None or not row.ts:
            thread_ts = self.home_thread(channel, ticket, status)
            return self.post_once(channel, text, blocks, idempotency_key, thread_ts=thread_ts)
        line = status if isinstance(status, str) else (row.status_line or status())
        alive, posted = parallel([lambda: self._update_status(channel, row.ts, line),
                                  lambda: self.post_once(channel, text, blocks, idempotency_key, thread_ts=row.ts)])
        if alive:
            if isinstance(status, str) and status != row.status_line:
                self._remember_status(channel, ticket, status)
            return posted  # type: ignore[no-any-return]
        self._forget_thread(channel, ticket)
        thread_ts = self._create_thread(channel, ticket, status if isinstance(status, str) else status())
        return self.post_once(channel, text, blocks, f"{idempotency_key}:rehomed", thread_ts=thread_ts)

    def post_once(self, channel: str, text: str, blocks: list[dict[str, Any]] | None,
                  idempotency_key: str, thread_ts: str | None = None) -> Posted:
        def post() -> str:
            try:
                resp = self.client.chat_postMessage(
                    channel=channel, text=truncate(text, MESSAGE_TEXT_MAX), blocks=blocks, thread_ts=thread_ts,
                    metadata={"event_type": METADATA_EVENT, "event_payload": {"key": idempotency_key}})
            except SlackApiError as exc:
                raise _as_post_error(exc) from exc
            return str(resp["ts"])

        outcome = self.actions.run_once(idempotency_key, "slack.post", channel, post,
                                        recover=lambda: self._find_posted(channel, thread_ts, idempotency_key))
        return Posted(channel, outcome.external_id, thread_ts, reused=outcome.reused)

    def upload(self, channel: str, thread_ts: str | None, filename: str, content: bytes, title: str,
               idempotency_key: str, unique_name: bool = False) -> str:
        """Share a file in ``channel`` (under ``thread_ts`` when given), at most once per key; returns
        the file id. A run that died mid-upload looks for the file in the thread when its name is
        ``unique_name`` (made for this one upload); otherwise Slack keeps nothing to find it by, and
        it uploads again: a duplicate file beats a missing one."""
        def send() -> str:
            try:
                resp = self.client.files_upload_v2(channel=channel, thread_ts=thread_ts, filename=filename,
                                                   content=content, title=title)
            except SlackApiError as exc:
                raise _as_post_error(exc) from exc
            files: list[dict[str, Any]] = resp.get("files") or [resp.get("file") or {}]
            return str(files[0]["id"])

        thread = thread_ts if unique_name else None
        return self.actions.run_once(idempotency_key, "slack.upload", channel, send,
                                     recover=(lambda: self._find_file(channel, thread, filename))
                                     if thread is not None else None).external_id

    def _find_file(self, channel: str, thread_ts: str, filename: str) -> str | None:
        try:
            resp = self.client.conversations_replies(channel=channel, ts=thread_ts, limit=200)
        except SlackApiError:
            return None  # can't tell: upload again rather than lose the file
        messages: list[dict[str, Any]] = resp.get("messages", [])
        for message in messages:
            for shared in message.get("files") or []:
                if shared.get("name") == filename:
                    return str(shared["id"])
        return None

    def dm_channel(self, user_id: str) -> str:
        """The DM conversation with ``user_id`` (opening it is idempotent on Slack's side, and a DM
        channel never changes, so it is remembered per process). Raises SlackPostError naming the
        problem (user_not_found, cannot_dm_bot, …)."""
        known = self._dm_channels.get(user_id)
        if known is not None:
            return known
        try:
            resp = self.client.conversations_open(users=[user_id])
        except SlackApiError as exc:
            raise _as_post_error(exc) from exc
        channel = str(resp["channel"]["id"])
        self._dm_channels[user_id] = channel
        return channel

    def dm(self, user_id: str, text: str, blocks: list[dict[str, Any]] | None, idempotency_key: str) -> Posted:
        """A direct message to ``user_id``, at most once per key."""
        return self.post_once(self.dm_channel(user_id), text, blocks, idempotency_key)

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None) -> None:
        """Replace a message we posted (a decided go/no-go card). Editing to the same content again
        is harmless, so a retried job may repeat it."""
        try:
            self.client.chat_update(channel=channel, ts=ts, text=truncate(text, MESSAGE_TEXT_MAX), blocks=blocks)
        except SlackApiError as exc:
            raise _as_post_error(exc) from exc

    def _find_posted(self, channel: str, thread_ts: str | None, key: str) -> str | None:
        """Look for a message carrying our key in the thread (or the channel's recent history)."""
        try:
            if thread_ts is not None:
                resp = self.client.conversations_replies(channel=channel, ts=thread_ts,
                                                         include_all_metadata=True, limit=200)
            else:
                resp = self.client.conversations_history(channel=channel, include_all_metadata=True,
                                                         limit=100)
        except SlackApiError:
            return None
        messages: list[dict[str, Any]] = resp.get("messages", [])
        for msg in messages:
            payload = (msg.get("metadata") or {}).get("event_payload") or {}
            if payload.get("key") == key:
                return str(msg["ts"])
        return None


def _thread_query(channel: str, ticket: str) -> Select[SlackThread]:
    return select(SlackThread).where(SlackThread.channel_id == channel, SlackThread.ticket_key == ticket)


def _status_blocks(status_line: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(status_line, 3000)}}]


def _as_post_error(exc: SlackApiError) -> Exception:
    error = str(exc.response.get("error", "unknown_error"))
    if error in PERMANENT_ERRORS:
        hint = " (invite me with `/invite @remedy`)" if error in {"not_in_channel", "channel_not_found"} else ""
        return SlackPostError(error, f"Slack refused the message: {error}{hint}")
    return exc

