"""The analysis card: summary, risk, priority breakdown, next step, and the phase's suggestions as
buttons (pressing one runs that command about the ticket).

The worded fields arrive as plain text, the model's and the template's alike (the template carries
Jira's summary, statuses and subtask names as Jira holds them), and are escaped here, once, so a
summary such as ``<!channel> <http://evil|x>`` shows as text and pings nobody."""

from __future__ import annotations

from remedy.llm.words import Phrased
from remedy.slack.blocks import Block, actions, command_button, context, header, section
from remedy.slack.mrkdwn import SECTION_TEXT_MAX, escape, truncate
from remedy.workflow.template import Suggestion


def provenance(phrased: Phrased, model: str, fields: int) -> str:
    if len(phrased.by_model) == fields:
        return f"Worded by {escape(model)}; every number, key and name checked against Jira and Jamf data."
    if phrased.by_model:
        return (f"Partly worded by {escape(model)}; the rest is remedy's plain wording because the model's text "
                "stated something the data doesn't.")
    return "Plain wording by remedy (no model text used); the facts are the same."


def analysis_card(key: str, phrased: Phrased, suggestions: list[Suggestion], priority: str | None,
                  note: str) -> tuple[str, list[Block]]:
    """``priority`` is mrkdwn from remedy.workflow.priority_view (its outside text is escaped there)."""
    blocks: list[Block] = [
        header(f"🔎 Analysis · {key}"),
        _field("Summary", phrased["summary"]),
        _field("Risk", phrased["risk"]),
    ]
    if priority:
        blocks.append(section(f"*Priority* {priority}"))  # already mrkdwn, outside text escaped
    blocks.append(_field("Next", phrased["next"]))
    if suggestions:
        blocks.append(actions([command_button(s.label, s.command, key, style="primary" if i == 0 else None)
                               for i, s in enumerate(suggestions)]))
    blocks.append(context(note))
    return f"Analysis of {key}: {escape(phrased['summary'])}", blocks


def _field(label: str, plain: str) -> Block:
    head = f"*{label}* "
    return section(head + truncate(escape(plain), SECTION_TEXT_MAX - len(head)))
