"""The risks' one-line summary in words: the template (always right) or the model's rewording of it,
kept only if every number and key it states is in the facts. The risk lines themselves are computed
and never reworded: people scan them and buttons act on them."""

from __future__ import annotations

import re
from typing import Any

from remedy.insights.model import Risk
from remedy.llm.client import Llm, Use
from remedy.llm.words import Phrased, phrase
from remedy.slack.mrkdwn import escape

RISKS = Use(
    name="risks_summary", version=1,
    instructions=("You are remedy, the assistant of a macOS client-platform team. Sum up the team's current risks "
                  "in one or two plain sentences for Slack: the most urgent first, ticket keys and numbers exactly "
                  "as the facts give them, no greetings, no markdown."),
    fields={"summary": "how many risks, how many are high severity, and the most urgent one or two"},
)
_MRKDWN = re.compile(r"[*_`]")


def plain(text: str) -> str:
    """The headline without mrkdwn marks, for the model and for plain-text notifications."""
    return _MRKDWN.sub("", text).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def facts(risks: list[Risk]) -> dict[str, Any]:
    high = sum(1 for r in risks if r.severity == "high")
    return {"count": len(risks), "high": high,
            "risks": [{"ticket": r.ticket, "severity": r.severity, "what": plain(r.headline), **r.numbers}
                      for r in risks[:10]]}


def template(risks: list[Risk]) -> str:
    high = sum(1 for r in risks if r.severity == "high")
    top = "; ".join(f"{r.ticket} {plain(r.headline)}" for r in risks[:2])
    return f"{len(risks)} risk{'s' if len(risks) != 1 else ''}, {high} high. Most urgent: {top}."


def summary(llm: Llm | None, risks: list[Risk]) -> Phrased:
    """``llm`` None words from the template only (no model configured)."""
    return phrase(llm if llm is not None and llm.configured else None, RISKS, facts(risks),
                  {"summary": escape(template(risks))})
