"""What the Slack simulator remembers. Tests assert on :class:`SlackState`; :mod:`remedy.sandbox.slack`
only turns HTTP requests into calls here. Every method takes the lock: each request has its own thread."""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from importlib import resources
from typing import Any

import yaml

from remedy.sandbox.slack_records import (  # re-exported: tests and the HTTP layer use them
    Blocks,
    Call,
    Channel,
    Ephemeral,
    Message,
    ResponsePost,
    SlackError,
    UploadedFile,
    _ResponseUrl,
)

TEAM_ID, TEAM_NAME, TEAM_DOMAIN = "T0SANDBOX", "Sandbox Corp", "sandbox"
BOT_USER_ID, BOT_ID, APP_ID, BOT_NAME = "U0REMEDYBOT", "B0REMEDY", "A0REMEDY", "remedy"
CPE_CHANNEL, GENERAL_CHANNEL = "C0CPETEAM", "C0GENERAL"
RESPONSE_URL_MAX_USES, RESPONSE_URL_TTL = 5, 30 * 60.0



def user_object(person: dict[str, Any]) -> dict[str, Any]:
    """A Slack user object for one ``people:`` entry of ``team.yml``."""
    name, handle = person["name"], person["handle"]
    profile = {"email": person.get("email"), "real_name": name, "display_name": handle, "team": TEAM_ID}
    return {"id": person["slack_id"], "team_id": TEAM_ID, "name": handle, "real_name": name, "deleted": False,
            "tz": person.get("timezone", "UTC"), "is_bot": False, "is_app_user": False, "profile": profile}


class SlackState:
    """One simulated workspace. Query helpers return snapshots, safe to read while the server runs."""

    def __init__(self, bot_token: str = "xoxb-sandbox-token", app_token: str = "xapp-sandbox-token",
                 clock: Callable[[], float] = time.time) -> None:
        self.bot_token, self.app_token, self.clock = bot_token, app_token, clock
        self.base_url: str | None = None  # set by whoever serves the app; response URLs are built on it
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, Channel] = {}
        self._lock = threading.RLock()
        self._messages: defaultdict[str, list[Message]] = defaultdict(list)
        # Append-only records, read directly by tests (appends are atomic, so reading needs no lock).
        self.ephemerals: list[Ephemeral] = []
        self.files: dict[str, UploadedFile] = {}  # by file id, including uploads never completed
        self.home_views: dict[str, list[dict[str, Any]]] = {}  # per user, the view shown now last
        self.modals: list[dict[str, Any]] = []  # every modal opened, in order
        self._responses: dict[str, _ResponseUrl] = {}
        self._calls: list[Call] = []
        self._failures: dict[str, list[tuple[int, int, str]]] = {}
        self._latency: dict[str | None, float] = {}
        self._last_us, self._serial = 0, itertools.count(1)  # count() is atomic under the GIL
        bot = user_object({"slack_id": BOT_USER_ID, "handle": BOT_NAME, "name": "Remedy"})
        self.users[BOT_USER_ID] = {**bot, "is_bot": True}

    @classmethod
    def seeded(cls, bot_token: str = "xoxb-sandbox-token") -> SlackState:
        """The sandbox workspace: the people of the default ``team.yml`` and two public channels."""
        state = cls(bot_token=bot_token)
        team = yaml.safe_load((resources.files("remedy") / "defaults/team.yml").read_text(encoding="utf-8"))
        state.users.update({p["slack_id"]: user_object(p) for p in team.get("people", [])})
        for channel in (Channel(CPE_CHANNEL, "cpe-remediation"), Channel(GENERAL_CHANNEL, "general")):
            state.channels[channel.id] = channel  # tests may add more the same way
        return state

    def next_ts(self) -> str:
        """Timestamps double as message ids, so they must never repeat, even with a frozen clock."""
        with self._lock:
            self._last_us = max(int(self.clock() * 1_000_000), self._last_us + 1)
            return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def user_id(self, who: str) -> str:
        """Accept a user id, handle or email, so tests can say ``dms_to("sarah")``."""
        with self._lock:
            if who in self.users:
                return who
            for user in self.users.values():
                if who == user["name"] or who.lower() == (user["profile"]["email"] or "").lower():
                    return str(user["id"])
            raise SlackError("user_not_found")

    def open_dm(self, user_ids: list[str]) -> tuple[str, bool]:
        """A stable ``D…`` id per person (group DMs are not simulated); True if it was open already."""
        with self._lock:
            if any(uid not in self.users for uid in user_ids):
                raise SlackError("user_not_found")
            others = sorted(set(user_ids) - {BOT_USER_ID}) or [BOT_USER_ID]
            if len(others) > 1:
                raise SlackError("invalid_arguments", "[ERROR] the sandbox opens one-to-one DMs only")
            channel = Channel("D" + others[0][1:], others[0], user=others[0])
            existed = channel.id in self.channels
            self.channels.setdefault(channel.id, channel)
            return channel.id, existed

    def resolve_channel(self, ident: str) -> str:
        """The channel id for a channel id or a user id (Slack posts those into the bot's DM)."""
        with self._lock:
            if ident not in self.channels and ident in self.users:
                return self.open_dm([ident])[0]
            if ident not in self.channels:
                raise SlackError("channel_not_found")
            return ident

    def post_message(self, channel: str, *, text: str = "", blocks: Blocks | None = None,
                     user: str = BOT_USER_ID, thread_ts: str | None = None,
                     metadata: dict[str, Any] | None = None, reply_broadcast: bool = False,
                     files: list[str] | None = None) -> Message:
        """Record a message; a ``user`` other than the bot stands for a person typing in Slack."""
        if not (text or blocks or files):
            raise SlackError("no_text")
        with self._lock:
            channel_id = self.resolve_channel(channel)
            parent = self._find(channel_id, thread_ts)
            # Slack files a reply to a reply under its thread. An unknown thread_ts is no error there: the
            # post succeeds as an orphan reply nobody sees, so it keeps its thread_ts, out of thread().
            if parent is not None and parent.thread_ts is not None:
                thread_ts = parent.thread_ts
            msg = Message(channel_id, self.next_ts(), thread_ts, text, list(blocks or []), user, metadata,
                          reply_broadcast=reply_broadcast and thread_ts is not None, files=list(files or []))
            self._messages[channel_id].append(msg)
            return msg

    def _find(self, channel: str, ts: str | None) -> Message | None:
        return next((m for m in self._messages.get(channel, []) if m.ts == ts), None)

    def get_message(self, channel: str, ts: str) -> Message:
        with self._lock:
            if channel not in self.channels:
                raise SlackError("channel_not_found")
            msg = self._find(channel, ts)
            if msg is None:
                raise SlackError("message_not_found")
            return msg

    def update_message(self, channel: str, ts: str, *, text: str | None = None, blocks: Blocks | None = None,
                       metadata: dict[str, Any] | None = None, by: str = BOT_USER_ID) -> Message:
        """Apply an edit; as with ``chat.update``, a field left out (None) keeps its value."""
        with self._lock:
            msg = self.get_message(channel, ts)
            if msg.user != by:  # a bot token may only edit the bot's own messages
                raise SlackError("cant_update_message")
            msg.history.append((msg.text, msg.blocks))
            msg.text = msg.text if text is None else text
            msg.blocks = msg.blocks if blocks is None else list(blocks)
            msg.metadata = msg.metadata if metadata is None else metadata
            msg.edits += 1
            return msg

    def delete_message(self, channel: str, ts: str, by: str = BOT_USER_ID) -> None:
        with self._lock:
            msg = self.get_message(channel, ts)
            if msg.user != by:
                raise SlackError("cant_delete_message")
            self._messages[channel].remove(msg)

    def post_ephemeral(self, channel: str, user: str, *, text: str = "", blocks: Blocks | None = None,
                       thread_ts: str | None = None) -> Ephemeral:
        if not (text or blocks):
            raise SlackError("no_text")
        with self._lock:
            channel_id = self.resolve_channel(channel)
            if user not in self.users or self.channels[channel_id].user not in (None, user):
                raise SlackError("user_not_in_channel")  # what Slack says for an unknown user too
            self.ephemerals.append(Ephemeral(channel_id, user, text, list(blocks or []), "postEphemeral",
                                              self.next_ts(), thread_ts))
            return self.ephemerals[-1]

    def messages(self, channel: str) -> list[Message]:
        """Top-level messages of a channel, oldest first; thread replies (even broadcast) excluded."""
        with self._lock:
            return [m for m in self._messages.get(channel, []) if m.thread_ts is None]

    def message(self, channel: str, ts: str) -> Message:
        """The message ``ts`` as it reads now (after any chat.update)."""
        with self._lock:
            found = self._find(channel, ts)
        if found is None:
            raise KeyError(f"no message {ts} in {channel}")
        return found

    def replies(self, channel: str, ts: str) -> list[Message]:
        """The replies of the thread ``ts`` starts or belongs to, without the parent."""
        return self.thread(channel, ts)[1:]

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Parent first, then its replies in ts order; [] if ``ts`` is in no thread here."""
        with self._lock:
            msg = self._find(channel, ts)
            root = self._find(channel, msg.thread_ts or msg.ts) if msg else None
            return [root, *(m for m in self._messages[channel] if m.thread_ts == root.ts)] if root else []

    def all_messages(self, channel: str | None = None) -> list[Message]:
        """Every message (of ``channel``, or everywhere), replies included, oldest first."""
        with self._lock:
            found = [m for c, ms in self._messages.items() if channel in (None, c) for m in ms]
            return sorted(found, key=lambda m: float(m.ts))  # a double still tells microseconds apart

    def find(self, contains: str) -> list[Message]:
        """Messages whose text or blocks contain ``contains``."""
        return [m for m in self.all_messages() if contains in m.text or contains in str(m.blocks)]

    def dms_to(self, user: str) -> list[Message]:
        """Everything in the bot's DM with ``user`` (id, handle or email), replies included."""
        with self._lock:
            return list(self._messages.get("D" + self.user_id(user)[1:], []))

    def new_response_url(self, channel: str, user: str, message_ts: str | None = None) -> str:
        """Register a response URL as Slack sends in payloads; ``message_ts`` is the message an
        interaction came from, which ``replace_original`` and ``delete_original`` then act on."""
        if self.base_url is None:
            raise RuntimeError("set state.base_url to the served URL before making response URLs")
        with self._lock:
            rid = f"R{next(self._serial):05d}"
            self._responses[rid] = _ResponseUrl(self.resolve_channel(channel), user, message_ts, self.clock())
            return f"{self.base_url}/response/{rid}"

    def response_posts(self, rid_or_url: str) -> list[ResponsePost]:
        with self._lock:
            url = self._responses.get(rid_or_url.rstrip("/").rsplit("/", 1)[-1])
            return list(url.posts) if url else []

    def response_view(self, rid_or_url: str) -> ResponsePost | None:
        """What the user sees now: the latest post, or nothing once ``delete_original`` was sent."""
        posts = self.response_posts(rid_or_url)
        return None if not posts or posts[-1].delete_original else posts[-1]

    def deliver_response(self, rid: str, payload: dict[str, Any]) -> tuple[int, str]:
        """A POST to a response URL: returns (HTTP status, "ok" or the error Slack names)."""
        with self._lock:
            url, now = self._responses.get(rid), self.clock()
            if url is None:
                return 404, "no_service"
            if now - url.created > RESPONSE_URL_TTL:
                return 404, "expired_url"
            if len(url.posts) >= RESPONSE_URL_MAX_USES:
                return 404, "used_url"
            replace, delete = (payload.get(f"{k}_original") in (True, "true") for k in ("replace", "delete"))
            post = ResponsePost(rid, str(payload.get("text") or ""), list(payload.get("blocks") or []),
                                replace, delete, str(payload.get("response_type") or "ephemeral"),
                                payload.get("thread_ts"), now)
            if not (post.text or post.blocks or post.delete_original):
                return 400, "no_text"
            self._apply_response(url, post)
            url.posts.append(post)
            return 200, "ok"

    def _apply_response(self, url: _ResponseUrl, post: ResponsePost) -> None:
        original = self._find(url.channel, url.message_ts)
        if original is not None and post.delete_original:
            self.delete_message(url.channel, original.ts, by=original.user)
        elif original is not None and post.replace_original:
            self.update_message(url.channel, original.ts, text=post.text, blocks=post.blocks,
                                by=original.user)
        elif post.response_type == "in_channel" and not (post.replace_original or post.delete_original):
            self.post_message(url.channel, text=post.text, blocks=post.blocks, thread_ts=post.thread_ts)
        elif not (post.replace_original or post.delete_original):
            self.ephemerals.append(Ephemeral(url.channel, url.user, post.text, post.blocks, "response_url",
                                              self.next_ts(), post.thread_ts))

    def start_upload(self, filename: str) -> UploadedFile:
        with self._lock:
            upload = UploadedFile(f"F0UPLOAD{next(self._serial):04d}", filename, title=filename)
            self.files[upload.id] = upload
            return upload

    def receive_upload(self, file_id: str, content: bytes) -> bool:
        with self._lock:
            upload = self.files.get(file_id)
            if upload is not None and not upload.completed:
                upload.content = content
            return upload is not None and not upload.completed

    def complete_upload(self, files: list[tuple[str, str | None]], channel: str | None,
                        thread_ts: str | None, initial_comment: str | None) -> list[UploadedFile]:
        """Finish uploads ``(file_id, title)``; sharing them posts one message holding them all."""
        with self._lock:
            ready = {u.id: u for u in self.files.values() if u.content is not None and not u.completed}
            done = [ready[f] for f, _ in files if f in ready]
            if len(done) != len(files):
                raise SlackError("file_not_found")
            channel_id = self.resolve_channel(channel) if channel else None
            for upload, (_, title) in zip(done, files, strict=True):
                upload.title, upload.completed, upload.channel = title or upload.filename, True, channel_id
                upload.thread_ts, upload.initial_comment = thread_ts, initial_comment
            if channel_id is not None:
                self.post_message(channel_id, text=initial_comment or "", thread_ts=thread_ts,
                                  files=[u.id for u in done])
            return done

    def publish_home(self, user: str, view: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if user not in self.users:
                raise SlackError("user_not_found")
            versions, serial = self.home_views.setdefault(user, []), next(self._serial)
            versions.append({**view, "id": versions[0]["id"] if versions else f"V0HOME{serial:04d}",
                             "team_id": TEAM_ID, "app_id": APP_ID, "bot_id": BOT_ID, "hash": f"{serial}.sbx"})
            return versions[-1]

    def open_modal(self, trigger_id: str, view: dict[str, Any]) -> dict[str, Any]:
        """views.open: a trigger id is good for one modal (Slack: within 3 s of the interaction)."""
        with self._lock:
            if any(m["trigger_id"] == trigger_id for m in self.modals):
                raise SlackError("expired_trigger_id")
            shown = {**view, "id": f"V0MODAL{next(self._serial):04d}", "team_id": TEAM_ID, "app_id": APP_ID,
                     "bot_id": BOT_ID, "trigger_id": trigger_id}
            self.modals.append(shown)
            return shown

    def begin_call(self, method: str, params: dict[str, Any]) -> tuple[float, tuple[int, int, str] | None]:
        """Log a Web API call; return its planned delay and failure (status, retry_after, error), if any."""
        with self._lock:
            self._calls.append(Call(method, params, self.clock()))
            queue, delay = self._failures.get(method), self._latency.get(method, self._latency.get(None, 0.0))
            return delay, queue.pop(0) if queue else None

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method in (None, c.method)]

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def fail_next(self, method: str, status: int = 429, retry_after: int = 1, error: str | None = None,
                  times: int = 1) -> None:
        """Fail the next ``times`` calls: 429 + Retry-After, 200 + ``error``, or 5xx (internal_error)."""
        failure = (status, retry_after, error or ("internal_error" if status >= 500 else "ratelimited"))
        with self._lock:
            self._failures.setdefault(method, []).extend([failure] * times)

    def set_latency(self, method: str | None, seconds: float) -> None:
        """Delay answers to ``method`` (None: every method that has no delay of its own)."""
        with self._lock:
            self._latency[method] = seconds

