"""A channel's digest, built from the daily-update facts of every active remediation.

1. Facts: the tickets are read from Jira in one search, the Jamf inventory once for all of them
   (SharedInventory), and each ticket's facts are decided by the daily update's own code (``decide``,
   given by the worker), four tickets side by side (remedy.parallel: the services' connection limits).
   A ticket measured earlier by the same digest run (a retry) gets the facts that run recorded.
2. Words: one model call per changed ticket, each sent as soon as its facts are known — the model
   answers in seconds, the rest of the digest in milliseconds, so the calls must overlap; the model's
   cache answers a rerun — while the charts are drawn.
3. Posting: the digest message (the worker), then each ticket's update threaded under it as soon as it
   is worded, each at most once (the poster's idempotency keys).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Any

from remedy.jira.errors import JiraNotFound
from remedy.jira.jql import in_list
from remedy.jira.models import Issue
from remedy.parallel import parallel
from remedy.remediation import store
from remedy.remediation.facts import Facts
from remedy.remediation.store import RemediationView
from remedy.services import Services
from remedy.slack import blocks
from remedy.slack.blocks import Block
from remedy.slack.cards import browse_url
from remedy.slack.digest_view import Item, risk_flags
from remedy.slack.mrkdwn import escape
from remedy.slack.poster import Posted
from remedy.updates import wording
from remedy.updates.chart import Chart, render, series, share
from remedy.updates.history import StoredUpdate, own_and_previous, stored_updates

# A model that takes 2 s a text would take 50 × 2 s for 50 tickets one after another: every ticket's
# call goes out at once (bounded, so a runaway list cannot open hundreds of threads). A model server
# that runs fewer at a time queues them; one slower than OLLAMA_TIMEOUT leaves the template's words.
MODEL_PARALLEL = 64
# Charts in one digest's thread: people read a few, Slack rate-limits uploads, and each takes ~0.1 s of
# CPU to draw. The tickets most at risk (then the biggest movers) get theirs; `compliance KEY` has any other.
MAX_CHARTS = 10
# Replies in one thread go out this many at a time: Slack paces a channel's posts (429 + Retry-After,
# which the client honours), so more would only queue there.
SLACK_PARALLEL = 8
_SEARCH_CHUNK = 100  # keys per JQL search: a JQL text stays far below Jira's limits

Decide = Callable[[Services, Issue, RemediationView | None, StoredUpdate | None], dict[str, Any]]


@dataclass(frozen=True)
class Ticket:
    key: str
    issue: Issue | None
    known: RemediationView | None
    facts: dict[str, Any] | None
    error: str | None = None
    worded: Future[tuple[str, list[Block]]] | None = None  # its update's words, on their way


def with_jamf(svc: Services, jamf: Any) -> Services:
    """The same services (one poster, one audit writer, one database) with another Jamf client."""
    clone = copy.copy(svc)  # the cached clients live in the instance dict: the copy shares them
    clone.__dict__["jamf"] = jamf
    return clone


def issues(svc: Services, keys: Sequence[str]) -> dict[str, Issue]:
    """Every ticket in one search (per hundred keys) instead of one read each."""
    chunks = [list(keys[i:i + _SEARCH_CHUNK]) for i in range(0, len(keys), _SEARCH_CHUNK)]
    found: dict[str, Issue] = {}
    for chunk in chunks:
        found |= {issue.key: issue for issue in svc.jira.search(in_list("key", chunk), max_results=100)}
    return found


def word_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=MODEL_PARALLEL, thread_name_prefix="digest-words")


def gather(svc: Services, keys: Sequence[str], run_key: str, decide: Decide,
           refused: tuple[type[Exception], ...], words: ThreadPoolExecutor | None = None) -> list[Ticket]:
    """Each ticket's facts, in ``keys`` order; with ``words``, a changed ticket's model call starts as
    soon as its facts are known, while the other tickets are still measured. A ticket that cannot be
    measured for good (``refused``: no app facts in its description, Jira forbids it…) is told in the
    digest; anything a retry may cure propagates after all tickets ran, and the retried job measures
    only what is missing."""
    found = issues(svc, keys)

    def one(key: str) -> Ticket:
        issue = found.get(key)
        if issue is None:
            return Ticket(key, None, None, None, "Jira does not show this ticket to remedy (deleted or no access)")
        try:
            known = store.load(svc.db, key)
            own, previous = own_and_previous(stored_updates(svc.db, key), run_key)
            facts = own.facts if own is not None else decide(svc, issue, known, previous)
        except (*refused, JiraNotFound) as exc:  # type: ignore[misc]
            return Ticket(key, issue, None, None, str(exc))
        ticket = Ticket(key, issue, known, facts)
        if words is None or facts.get("unchanged"):
            return ticket
        return replace(ticket, worded=words.submit(_worded, svc, ticket))

    return parallel([lambda k=k: one(k) for k in keys])  # type: ignore[misc]


def item(svc: Services, t: Ticket) -> Item:
    summary = t.issue.summary if t.issue is not None else ""
    return Item(t.key, summary, browse_url(svc.settings.JIRA_URL, t.key), t.facts, t.error)


def post_replies(svc: Services, channel: str, thread_ts: str, tickets: Sequence[Ticket], prefix: str,
                 words: ThreadPoolExecutor) -> int:
    """Each measured ticket's update threaded under the digest, each at most once (``prefix:KEY``): an
    unchanged ticket's one "no change" line at once, a changed one's as soon as the model has worded it
    (the calls finish in the order they started, so posting overlaps the wait), then the charts of the
    tickets that deserve one, drawn meanwhile. Returns the number of replies."""
    measured = [t for t in tickets if t.facts is not None]
    changed = [t for t in measured if not t.facts.get("unchanged")]  # type: ignore[union-attr]
    charts = words.submit(_charts, svc, changed)
    pending = {(t.worded or words.submit(_worded, svc, t)): t for t in changed}
    with ThreadPoolExecutor(max_workers=SLACK_PARALLEL, thread_name_prefix="digest-post") as slack:
        def post(key: str, text: str, blks: list[Block]) -> Future[Posted]:
            return slack.submit(svc.poster.post_once, channel, text, blks, f"{prefix}:{key}", thread_ts)

        moved = {t.key for t in changed}
        posts = {t.key: post(t.key, *_no_change(svc, t)) for t in measured if t.key not in moved}
        for done in as_completed(pending):
            posts[pending[done].key] = post(pending[done].key, *done.result())
        posted = {key: future.result() for key, future in posts.items()}
        drawn = charts.result()
        shared = [slack.submit(share, svc.poster, posted[key], chart) for key, chart in drawn.items()]
        for future in shared:
            future.result()
    return len(posted)


def _no_change(svc: Services, t: Ticket) -> tuple[str, list[Block]]:
    assert t.facts is not None
    line = f"💤 *{_link(svc, t.key)}* " + escape(wording.no_change_line(t.facts, t.facts["unchanged_since"]))
    return line, [blocks.section(line)]


def _link(svc: Services, key: str) -> str:
    url = browse_url(svc.settings.JIRA_URL, key)
    return f"<{url}|{key}>" if url else key


def _worded(svc: Services, t: Ticket) -> tuple[str, list[Block]]:
    assert t.facts is not None and t.issue is not None
    head = f"📅 *Daily update · {_link(svc, t.key)}* {escape(t.issue.summary)}"
    # No Jira comment from a digest (see workers.digest): the Jira text the model also writes is unused.
    done = wording.word(svc.llm, t.facts, head, f"Daily update, {t.facts['as_of']}")
    return done.slack, wording.slack_blocks(done.slack, t.facts, done.by_model)


def _charts(svc: Services, changed: Sequence[Ticket]) -> dict[str, Chart]:
    """Charts for up to MAX_CHARTS tickets with two measurements or more, most at risk first."""
    def rank(t: Ticket) -> tuple[int, int]:
        assert t.facts is not None
        change = t.facts.get("change") or {}
        return -len(risk_flags(t.facts)), -abs(int(change.get("delta", 0)))

    drawn: dict[str, Chart] = {}
    for t in sorted(changed, key=rank):
        if len(drawn) >= MAX_CHARTS:
            break
        assert t.facts is not None
        facts = Facts(t.key, str(t.facts["app"]), "", str(t.facts["target_version"]))
        rings = t.known.rings if t.known is not None else ()
        chart = render(facts, series(svc.db, facts, rings))  # None: one point is no trend
        if chart is not None:
            drawn[t.key] = chart
    return drawn
