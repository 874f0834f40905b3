"""How the Slack simulator reads Web API arguments and writes Slack's JSON shapes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from remedy.sandbox import slack_state as st
from remedy.sandbox.slack_records import Blocks, Channel, Message, SlackError
from remedy.sandbox.slack_state import SlackState

# slack_sdk JSON-encodes these when it sends a form; parsing them up front lets the call log and
# the methods see one shape whichever encoding the client chose.
JSON_FIELDS = ("blocks", "attachments", "metadata", "view", "files")
SCOPES = "chat:write,chat:write.public,commands,im:write,im:history,channels:history,users:read,files:write"
WEB = f"https://{st.TEAM_DOMAIN}.slack.com"
_TEXT_LIMITS = {"section": 3000, "header": 150}


class Params:
    """The arguments of one Web API call, whichever way they were encoded."""

    def __init__(self, values: dict[str, Any], base_url: str) -> None:
        self.values, self.base_url = values, base_url

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None or value == "" else str(value)

    def need(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise SlackError("invalid_arguments", f"[ERROR] missing required field: {name}")
        return value

    def flag(self, name: str) -> bool:
        return self.values.get(name) in (True, 1, "1", "true")

    def json(self, name: str, error: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str) and value:
            try:
                return json.loads(value)
            except ValueError:
                raise SlackError(error) from None
        return None if value == "" else value


def parse_blocks(p: Params, limit: int = 50) -> Blocks | None:
    """The Block Kit checks Slack makes before it accepts blocks (limits from the Block Kit reference)."""
    blocks = p.json("blocks", "invalid_blocks_format")
    if blocks is None:
        return None
    if not isinstance(blocks, list) or not all(isinstance(b, dict) and "type" in b for b in blocks):
        raise SlackError("invalid_blocks_format")
    problems = [f"no more than {limit} items allowed [json-pointer:/blocks]"] if len(blocks) > limit else []
    for i, block in enumerate(blocks):
        problems += [f"{msg} [json-pointer:/blocks/{i}{where}]" for where, msg in _block_problems(block)]
    if problems:
        raise SlackError("invalid_blocks", *(f"[ERROR] {problem}" for problem in problems))
    return blocks


def _block_problems(block: dict[str, Any]) -> Iterator[tuple[str, str]]:
    text, most = block.get("text"), _TEXT_LIMITS.get(block["type"], 0)
    if block["type"] == "section" and not text and not block.get("fields"):
        yield "", "must provide either text or fields"
    if most and isinstance(text, dict) and len(str(text.get("text", ""))) > most:
        yield "/text/text", f"must be less than {most + 1} characters"
    elements = list(block.get("elements", [])) if block["type"] == "actions" else []
    elements += [block[k] for k in ("accessory", "element") if isinstance(block.get(k), dict)]
    for j, element in enumerate(e for e in elements if isinstance(e, dict)):
        for key, most in (("action_id", 255), ("value", 2000), ("url", 3000)):
            if len(str(element.get(key, ""))) > most:
                yield f"/elements/{j}/{key}", f"must be less than {most + 1} characters"


def parse_metadata(p: Params) -> dict[str, Any] | None:
    found = p.json("metadata", "invalid_metadata_format")
    metadata: dict[str, Any] | None = found if isinstance(found, dict) else None
    if found is not None and not (metadata and isinstance(metadata.get("event_type"), str)
                                  and isinstance(metadata.get("event_payload"), dict)):
        raise SlackError("invalid_metadata_format")
    return metadata


def parse_text(p: Params) -> str | None:
    text = p.get("text")
    if text is not None and len(text) > 40_000:
        raise SlackError("msg_too_long")
    return text


def _file_json(state: SlackState, file_id: str) -> dict[str, Any]:
    """A shared file as a message lists it (Slack's file object, the fields remedy reads)."""
    upload = state.files.get(file_id)
    if upload is None:
        return {"id": file_id}
    return {"id": file_id, "name": upload.filename, "title": upload.title or upload.filename,
            "size": len(upload.content or b""), "mode": "hosted"}


def message_json(state: SlackState, m: Message, with_metadata: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "message", "user": m.user, "text": m.text, "ts": m.ts, "team": st.TEAM_ID}
    if m.user == st.BOT_USER_ID:
        out.update(bot_id=st.BOT_ID, app_id=st.APP_ID)
    out.update({"blocks": m.blocks} if m.blocks else {})
    if m.files:
        out.update(files=[_file_json(state, f) for f in m.files], upload=False)
    if m.reply_broadcast:
        out["subtype"] = "thread_broadcast"
    if m.edits:
        out["edited"] = {"user": m.user, "ts": m.ts}
    thread = state.thread(m.channel, m.ts)
    if m.thread_ts is not None:
        out.update(thread_ts=m.thread_ts, **({"parent_user_id": thread[0].user} if thread else {}))
    elif replies := thread[1:]:
        users = sorted({r.user for r in replies})
        out.update(thread_ts=m.ts, reply_count=len(replies), reply_users=users,
                   reply_users_count=len(users), latest_reply=replies[-1].ts)
    if with_metadata and m.metadata is not None:
        out["metadata"] = m.metadata
    return out


def channel_json(c: Channel) -> dict[str, Any]:
    if c.user is not None:
        return {"id": c.id, "created": 0, "is_im": True, "user": c.user, "is_open": True}
    empty = {"value": "", "creator": "", "last_set": 0}
    return {"id": c.id, "name": c.name, "name_normalized": c.name, "created": 0, "is_channel": True,
            "is_group": False, "is_im": False, "is_mpim": False, "is_private": False, "is_archived": False,
            "is_general": c.name == "general", "is_member": True, "topic": empty, "purpose": empty}


def page(items: list[Message], p: Params, state: SlackState, default_limit: int) -> dict[str, Any]:
    """Cursor paging as Slack does it: an opaque ``next_cursor``, empty on the last page."""
    asked, cursor = p.get("limit") or "", p.get("cursor")
    limit = max(1, min(int(asked) if asked.isdigit() else default_limit, 1000))
    try:
        start = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
    except (ValueError, IndexError):
        raise SlackError("invalid_cursor") from None
    end, meta = start + limit, p.flag("include_all_metadata")
    next_cursor = base64.b64encode(f"next_ts:{end}".encode()).decode() if end < len(items) else ""
    return {"messages": [message_json(state, m, meta) for m in items[start:end]],
            "has_more": bool(next_cursor), "response_metadata": {"next_cursor": next_cursor}}
