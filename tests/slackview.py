"""Read the Slack simulator the way a person reads Slack (texts, buttons, threads)."""

from __future__ import annotations

from typing import Any

from remedy.sandbox.slack_records import Message
from remedy.sandbox.slack_state import SlackState


def block_texts(blocks: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for b in blocks:
        if "text" in b and isinstance(b["text"], dict):
            out.append(str(b["text"].get("text", "")))
        for f in b.get("fields", []):
            out.append(str(f.get("text", "")))
        for e in b.get("elements", []):
            if isinstance(e.get("text"), dict):
                out.append(str(e["text"].get("text", "")))
            elif isinstance(e.get("text"), str):
                out.append(e["text"])
        if b.get("accessory"):
            out.append(str(b["accessory"].get("text", {}).get("text", "")))
    return "\n".join(out)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for b in blocks:
        found.extend(e for e in b.get("elements", []) if e.get("type") == "button")
        if (b.get("accessory") or {}).get("type") == "button":
            found.append(b["accessory"])
    return found


def button(blocks: list[dict[str, Any]], label: str) -> dict[str, Any]:
    for btn in buttons(blocks):
        if btn["text"]["text"] == label:
            return btn
    raise AssertionError(f"no button {label!r} in {[b['text']['text'] for b in buttons(blocks)]}")


def only_thread(slack: SlackState, channel: str = "C0CPETEAM") -> list[Message]:
    parents = slack.messages(channel)
    assert len(parents) == 1, [p.text for p in parents]
    return slack.thread(channel, parents[0].ts)
