"""Wording a text: the model's version if it passes the grounding check, else the template's.

Callers build a facts object and a template text per field (the template is always correct,
only plainer); ``phrase`` asks the model once for every field, keeps each field that states
nothing beyond the facts, escapes it for Slack and cuts it to Block Kit's limits.

Who escapes what: the model's text is escaped here when ``for_slack``; a template is the caller's
own text and is returned as given, because only the caller knows whether it is already mrkdwn. So a
caller that puts Jira or user text in a template either escapes the template itself (exec summary,
risks), escapes the template fields it posts (sync), or asks for plain text (``for_slack=False``)
and escapes every field where it builds the message (analysis card, daily update, session update).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from remedy.llm.client import Llm, Use
from remedy.llm.grounding import check, known
from remedy.slack.mrkdwn import SECTION_TEXT_MAX, escape, truncate

log = logging.getLogger("remedy.llm")


@dataclass(frozen=True)
class Phrased:
    fields: dict[str, str]  # safe to post
    by_model: frozenset[str]  # the fields the model's words were kept for
    rejected: dict[str, list[str]]  # field → what the model invented

    def __getitem__(self, name: str) -> str:
        return self.fields[name]


def phrase(llm: Llm | None, use: Use, facts: dict[str, Any], templates: dict[str, str],
           limit: int = SECTION_TEXT_MAX, for_slack: bool = True) -> Phrased:
    """``for_slack`` escapes the model's text for mrkdwn (templates are returned as the caller wrote
    them: see the module's note); a Jira comment (plain text → ADF) is not escaped, since Jira would
    show the entities literally."""
    answer = llm.ask(use, facts, templates) if llm is not None else None
    ground = known(facts)
    out: dict[str, str] = {}
    kept: set[str] = set()
    rejected: dict[str, list[str]] = {}
    for name, fallback in templates.items():
        text = (answer or {}).get(name)
        if text is not None:
            verdict = check(text, ground)
            if verdict.ok:
                out[name] = truncate(escape(text) if for_slack else text, limit)
                kept.add(name)
                continue
            rejected[name] = verdict.invented
            log.warning("llm %s.%s rejected: not in the facts: %s", use.name, name, ", ".join(verdict.invented)[:200])
        out[name] = truncate(fallback, limit)
    return Phrased(out, frozenset(kept), rejected)
