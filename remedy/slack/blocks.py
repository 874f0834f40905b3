"""Block Kit builders. Every piece of outside text (Jira, users, LLM) goes through ``escape``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from remedy.slack.mrkdwn import BUTTON_TEXT_MAX, BUTTON_VALUE_MAX, HEADER_TEXT_MAX, SECTION_TEXT_MAX, truncate

Block = dict[str, Any]
CMD_ACTION_PREFIX = "remedy_cmd"
RETRY_ACTION = "remedy_retry"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_MAX)}}


def packed_sections(lines: Sequence[str], max_sections: int, title: str | None = None) -> list[Block]:
    """Lines (after ``title``) packed into as few sections as Slack's 3000 characters allow; past
    ``max_sections`` the rest is counted ("…and 12 more") rather than cut silently."""
    chunks: list[str] = [title] if title else []
    for i, line in enumerate(lines):
        if chunks and len(chunks[-1]) + 1 + len(line) <= SECTION_TEXT_MAX:
            chunks[-1] += "\n" + line
        elif len(chunks) < max_sections - 1:
            chunks.append(line)
        else:
            chunks.append(f"…and {len(lines) - i} more")
            break
    return [section(chunk) for chunk in chunks]


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_MAX)}]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, HEADER_TEXT_MAX)}}


def fields(pairs: Sequence[tuple[str, str]]) -> Block:
    # Slack allows 10 fields of 2000 chars each.
    return {"type": "section", "fields": [
        {"type": "mrkdwn", "text": truncate(f"*{label}*\n{value}", 2000)} for label, value in pairs[:10]]}


def button_value(action: str, ticket: str | None, ref: str = "") -> str:
    """The compact value a button carries: ``{action, ticket, ref}`` (re-checked when pressed)."""
    value = json.dumps({"action": action, "ticket": ticket, "ref": ref}, separators=(",", ":"))
    if len(value) > BUTTON_VALUE_MAX:
        raise ValueError("button value too long")
    return value


def command_button(label: str, action: str, ticket: str | None, ref: str = "",
                   style: str | None = None) -> Block:
    btn: Block = {"type": "button", "text": {"type": "plain_text", "text": truncate(label, BUTTON_TEXT_MAX)},
                  "action_id": f"{CMD_ACTION_PREFIX}:{action}"[:255], "value": button_value(action, ticket, ref)}
    if style:
        btn["style"] = style
    return btn


def link_button(label: str, url: str) -> Block:
    return {"type": "button", "text": {"type": "plain_text", "text": truncate(label, BUTTON_TEXT_MAX)},
            "action_id": "remedy_link", "url": url}


def actions(elements: list[Block]) -> Block:
    return {"type": "actions", "elements": elements[:25]}


def retry_button(job_id: str) -> Block:
    return {"type": "button", "text": {"type": "plain_text", "text": "Retry"},
            "action_id": RETRY_ACTION, "value": button_value("retry", None, job_id), "style": "primary"}


def progress(text: str) -> tuple[str, list[Block]]:
    line = f"⏳ {text}"
    return line, [section(line)]


def done(text: str) -> tuple[str, list[Block]]:
    line = f"✅ {text}"
    return line, [section(line)]


def failed(reason: str, job_id: str | None = None) -> tuple[str, list[Block]]:
    """❌ with a one-line reason, and a Retry button when the job can be run again."""
    line = f"❌ {reason}"
    blocks: list[Block] = [section(line)]
    if job_id:
        blocks.append(actions([retry_button(job_id)]))
    return line, blocks



PALETTE_CALLBACK = "remedy_palette"
PALETTE_OPEN_ACTION = "remedy_palette_open"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def palette_modal() -> Block:
    """A modal to type a /remedy command where there is no message box (App Home); the answer
    goes to the chosen conversation, through a response URL Slack makes for the select."""
    return {
        "type": "modal", "callback_id": PALETTE_CALLBACK, "title": _plain("Run a command"),
        "submit": _plain("Run"), "close": _plain("Cancel"),
        "blocks": [
            {"type": "input", "block_id": "cmd", "label": _plain("/remedy"),
             "element": {"type": "plain_text_input", "action_id": "text",
                         "placeholder": _plain("work CPE-3222")}},
            {"type": "input", "block_id": "where", "label": _plain("Answer in"),
             "element": {"type": "conversations_select", "action_id": "channel",
                         "response_url_enabled": True, "default_to_current_conversation": True}},
            context("`help` lists every command; `help <command>` explains one."),
        ],
    }


def info_modal(title: str, blocks: list[Block]) -> Block:
    return {"type": "modal", "title": _plain(truncate(title, 24)), "close": _plain("Close"),
            "blocks": blocks[:100]}


DRAFT_EDIT_ACTION = "remedy_draft_edit"
DRAFT_EDIT_CALLBACK = "remedy_draft_edit_submit"
MODAL_TEXT_MAX = 3000  # plain_text_input max_length


def draft_edit_modal(key: str, draft_id: int, text: str, response_url: str | None) -> Block:
    """Edit a draft comment; the draft card it came from is replaced when the edit is saved."""
    meta = json.dumps({"key": key, "draft": draft_id, "response_url": response_url or ""})
    return {
        "type": "modal", "callback_id": DRAFT_EDIT_CALLBACK, "private_metadata": meta,
        "title": _plain(truncate(f"Draft for {key}", 24)), "submit": _plain("Save"), "close": _plain("Cancel"),
        "blocks": [{"type": "input", "block_id": "body", "label": _plain("Comment"),
                    "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                                "max_length": MODAL_TEXT_MAX, "initial_value": text[:MODAL_TEXT_MAX]}}],
    }
