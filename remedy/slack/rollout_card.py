"""The go/no-go card for the next rollout ring, and what replaces it once someone decides.

The card shows the numbers a lead decides on (the current ring's success rate against its
threshold, failures, open blockers, soak time) and Go / No-go / Hold buttons carrying the
decision id, the ticket and the ring, which the job checks against the stored decision.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from remedy.slack import blocks
from remedy.slack.blocks import Block
from remedy.slack.mrkdwn import escape

DECIDE_ACTION = "remedy_decide"  # action ids are f"{DECIDE_ACTION}:{choice}"
NOGO_CALLBACK = "remedy_nogo"
CHOICES = ("go", "no-go", "hold")


def ready(numbers: dict[str, Any]) -> bool:
    return bool(numbers["rate_ok"] and numbers["soak_met"] and not numbers["blockers"])


def _mark(ok: bool) -> str:
    return "✅" if ok else "⚠️"


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _button(label: str, choice: str, decision_id: int, numbers: dict[str, Any], style: str | None) -> Block:
    value = json.dumps({"decision": decision_id, "ticket": numbers["ticket"], "ring": numbers["next"]},
                       separators=(",", ":"))
    btn: Block = {"type": "button", "text": {"type": "plain_text", "text": label},
                  "action_id": f"{DECIDE_ACTION}:{choice}", "value": value}
    if style:
        btn["style"] = style
    return btn


def _go_confirm(numbers: dict[str, Any]) -> dict[str, Any]:
    text = (f"{numbers['next_label']} ({numbers['next_members']} Macs in “{numbers['next_group']}”) will get "
            f"the policy at their next check-in.")
    return {"title": {"type": "plain_text", "text": "Expand the rollout?"},
            "text": {"type": "plain_text", "text": text[:300]},
            "confirm": {"type": "plain_text", "text": "Go"}, "deny": {"type": "plain_text", "text": "Cancel"}}


def summary(numbers: dict[str, Any]) -> str:
    n = numbers
    return (f"*{escape(n['ring_label'])}* ({escape(n['group'])}) is at *{n['rate']:.1f}%* "
            f"({n['compliant']}/{n['with_app']} Macs at ≥ {escape(n['target'])}) — threshold {n['threshold']:g}% "
            f"{_mark(n['rate_ok'])}")


def card(decision_id: int, numbers: dict[str, Any], requested_by: str, now: datetime) -> tuple[str, list[Block]]:
    n = numbers
    blockers = ", ".join(f"*{escape(k)}*" for k in n["blockers"]) or "none"
    title = f"🚦 Go / No-go · {n['ticket']} → {n['next_label']}"
    verdict = "All checks pass." if ready(n) else "⚠️ Not every check passes: decide with care."
    move = f" and moves the ticket to *{escape(n['moves_to'])}*" if n.get("moves_to") else ""
    body = [
        blocks.header(title),
        blocks.section(summary(n)),
        blocks.fields([
            ("Failures", f"{n['failures']} (policy ran, app still behind)"),
            ("Waiting / offline", f"{n['waiting']} not checked in yet · {n['offline']} offline 30+ days"),
            ("Open blockers", f"{blockers} {_mark(not n['blockers'])}"),
            ("Soak time", f"{n['soak_hours']:.0f} h of {n['soak_needed']:g} h {_mark(n['soak_met'])}"),
        ]),
        blocks.section(f"{verdict} *Go* adds *{escape(n['next_label'])}* ({escape(n['next_group'])}, "
                       f"{n['next_members']} Macs) to the policy's scope{move}."),
        blocks.context(f"Requested by <@{requested_by}> · numbers as of {_when(now)} · "
                       "only leads and admins can decide"),
        blocks.actions([
            {**_button("Go", "go", decision_id, n, "primary"), "confirm": _go_confirm(n)},
            _button("No-go", "no-go", decision_id, n, "danger"),
            _button("Hold", "hold", decision_id, n, None),
        ]),
    ]
    return title, body


def decided(numbers: dict[str, Any], status: str, user: str, at: datetime, reason: str | None = None,
            detail: str = "") -> tuple[str, list[Block]]:
    """What the card becomes: the decision, who, when, and the numbers it was taken on."""
    n = numbers
    heads = {
        "go": f"✅ *Go* for *{escape(n['next_label'])}* by <@{user}> at {_when(at)}",
        "no-go": f"🛑 *No-go* for *{escape(n['next_label'])}* by <@{user}> at {_when(at)}",
        "hold": f"⏸ *Hold* on *{escape(n['next_label'])}* by <@{user}> at {_when(at)} — "
                f"run `rollout next {n['ticket']}` when ready",
        "stale": f"♻️ The numbers changed since this card was posted; <@{user}> pressed Go at {_when(at)} "
                 "and a fresh card was posted below",
        "replaced": "♻️ Replaced by a newer go/no-go card below",
    }
    line = heads[status]
    if reason:
        line += f": {escape(reason)}"
    if detail:
        line += f"\n{detail}"
    text = f"{n['ticket']} → {n['next_label']}: {status}"
    return text, [blocks.section(line), blocks.context(f"Decided on: {summary(n)}")]


def nogo_modal(decision_id: int, numbers: dict[str, Any], response_url: str | None,
               channel: str | None = None) -> Block:
    meta = json.dumps({"decision": decision_id, "ticket": numbers["ticket"], "ring": numbers["next"],
                       "response_url": response_url, "channel": channel}, separators=(",", ":"))
    return {
        "type": "modal", "callback_id": NOGO_CALLBACK, "private_metadata": meta[:3000],
        "title": {"type": "plain_text", "text": "No-go"},
        "submit": {"type": "plain_text", "text": "Record No-go"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            blocks.section(f"Stop *{escape(numbers['ticket'])}* from reaching *{escape(numbers['next_label'])}*. "
                           "The reason goes on the Jira ticket and in the thread."),
            {"type": "input", "block_id": "reason",
             "label": {"type": "plain_text", "text": "Why not?"},
             "element": {"type": "plain_text_input", "action_id": "text", "multiline": True,
                         "min_length": 3, "max_length": 2000}},
        ],
    }
