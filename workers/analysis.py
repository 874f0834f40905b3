"""`/remedy analyze KEY`: the analysis card, worded once per ticket state (the model's answer is
cached by facts), with the phase's suggestions as buttons."""

from __future__ import annotations

from typing import Any

from remedy.llm.words import phrase
from remedy.parallel import parallel
from remedy.remediation import store
from remedy.remediation.measure import latest_for
from remedy.slack.analysis_card import analysis_card, provenance
from remedy.tickets.analysis import ANALYSIS, analyse
from remedy.workflow.priority import breakdown
from remedy.workflow.priority_view import priority_line, ticket_priority
from workers.context import job_context


def analyze(origin: dict[str, Any], key: str, **_: Any) -> None:
    with job_context(origin) as ctx:
        svc = ctx.services
        issue, known = parallel([lambda: svc.jira.get_issue(key), lambda: store.load(svc.db, key)])
        snapshot = latest_for(svc.db, issue, known)
        score, override = ticket_priority(svc, issue)
        plain = breakdown(score)
        if override is not None:
            plain = f"{override.level} (override: {override.reason or 'no reason given'}); computed {plain}"
        result = analyse(issue, svc.workflow, known, snapshot, plain, svc.clock().date())
        phrased = phrase(svc.llm, ANALYSIS, result.facts, result.templates)
        note = provenance(phrased, svc.settings.OLLAMA_MODEL, len(ANALYSIS.fields))
        text, blocks = analysis_card(issue.key, phrased, result.suggestions, priority_line(score, override), note)
        ctx.show(text, blocks)
