"""`/remedy analyze KEY`: the analysis card, worded once per ticket state — kept in the ticket's
memory (DB) with the hash of what it was drawn from, so until the ticket changes the card is shown
again with no model call, even after a restart — with the phase's suggestions as buttons."""

from __future__ import annotations

import logging
from typing import Any

from remedy.llm.words import Phrased, phrase
from remedy.parallel import parallel
from remedy.remediation import store
from remedy.remediation.measure import latest_for
from remedy.slack.analysis_card import analysis_card, provenance
from remedy.tickets import memory
from remedy.tickets.analysis import ANALYSIS, analyse
from remedy.workflow.priority import breakdown
from remedy.workflow.priority_view import priority_line, ticket_priority
from workers.context import JobContext, job_context

log = logging.getLogger("remedy.jobs")


def analyze(origin: dict[str, Any], key: str, **_: Any) -> None:
    with job_context(origin) as ctx:
        svc = ctx.services
        issue, known = parallel([lambda: svc.jira.get_issue(key), lambda: store.load(svc.db, key)])
        snapshot = latest_for(svc.db, issue, known)
        score, override = ticket_priority(svc, issue)
        plain = breakdown(score)
        if override is not None:
            plain = f"{override.level} (override: {override.reason or 'no reason given'}); computed {plain}"
        result = analyse(issue, svc.workflow_for(issue), known, snapshot, plain, svc.clock().date())
        model = svc.settings.OLLAMA_MODEL if svc.llm.configured else "templates"
        wording = f"{model}:{ANALYSIS.name}:v{ANALYSIS.version}"
        fhash = memory.analysis_hash(result.facts, issue.updated, wording)
        remembered = memory.recall_analysis(svc.db, issue.key, fhash)
        # Plain text, the model's and the template's alike: the card escapes all of it for Slack.
        phrased = remembered.phrased if remembered else phrase(svc.llm, ANALYSIS, result.facts, result.templates,
                                                               for_slack=False)
        note = provenance(phrased, svc.settings.OLLAMA_MODEL, len(ANALYSIS.fields))
        if remembered is not None:
            note += f" Remembered from {remembered.analysed_at:%Y-%m-%d %H:%M} UTC: nothing changed since."
        else:
            _remember(ctx, issue.key, fhash, phrased, str(result.facts["phase"]))
        text, blocks = analysis_card(issue.key, phrased, result.suggestions, priority_line(score, override), note)
        ctx.show(text, blocks)


def _remember(ctx: JobContext, key: str, fhash: str, phrased: Phrased, phase: str) -> None:
    """Keep the wording for next time — unless the model was asked and did not answer (down,
    cooling down): then the template words would stand in for the model's until the ticket changes."""
    svc = ctx.services
    if svc.llm.configured and not phrased.by_model and not phrased.rejected:
        return
    try:
        memory.remember_analysis(svc.db, key, fhash, phrased, phase, svc.clock())
    except Exception:  # memory saves a model call next time; failing to keep it must not fail the card
        log.warning("could not remember the analysis of %s", key, exc_info=True)
