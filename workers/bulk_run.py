"""A confirmed bulk write, run: comments or closes, paced to Jira's rate, progress on the card.

Each ticket's write is once-only on its own (an Action row keyed by operation and ticket, plus the
comment's marker property in Jira for a run that died between the write and the row), so an RQ retry
of the run, or the Retry button, redoes exactly the tickets without a success.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from remedy.bulk import closing, scope, store
from remedy.bulk.runner import Outcome, RatePacer, run_paced
from remedy.jira.errors import JiraError
from remedy.jira.jql import in_list
from remedy.jira.models import Issue
from remedy.parallel import parallel
from remedy.slack import bulk_card
from workers.context import JobContext, actor_name, audit

BULK_POLL = 0.5  # seconds between polls of a Jira bulk task
RATE_MARGIN = 0.95
_SEARCH_CHUNK = 100  # keys per `key in (…)` query
_pacers: dict[float, RatePacer] = {}
_pacers_lock = threading.Lock()


def pacer(rate: float) -> RatePacer:
    """One pacer per process and rate: two bulk runs in one worker share Jira's budget, not double it.
    It runs a little under the rate: requests leave on time but arrive with a few ms of jitter, and
    one arriving early in Jira's window costs a whole-second Retry-After."""
    with _pacers_lock:
        return _pacers.setdefault(rate, RatePacer(rate * RATE_MARGIN))


def run_operation(ctx: JobContext, op_id: int) -> None:
    view = store.get(ctx.services.db, op_id)
    assert view is not None
    todo = view.failed()  # on a first run every ticket; on Retry (or an RQ retry) those without success
    issues, missing = _fresh(ctx, todo)
    outcomes = _comment_all(ctx, view, issues) if view.kind == "comment" else _close_all(ctx, view, issues)
    outcomes.update({k: Outcome(k, False, "not found in Jira (deleted, or not visible to remedy)", "404")
                     for k in missing})
    store.record(ctx.services.db, op_id, {k: o.as_json() for k, o in outcomes.items()})
    _finish(ctx, op_id)


def _fresh(ctx: JobContext, keys: list[str]) -> tuple[list[Issue], list[str]]:
    """The tickets as Jira has them now (assignee and phase for the template, status for closing)."""
    jira, found = ctx.services.jira, {}
    for start in range(0, len(keys), _SEARCH_CHUNK):
        chunk = keys[start:start + _SEARCH_CHUNK]
        try:
            found.update({i.key: i for i in jira.search(in_list("key", chunk), max_results=100)})
        except JiraError:  # e.g. a key deleted since the card: Jira refuses the whole query
            for key in chunk:
                try:
                    found[key] = jira.get_issue(key)
                except JiraError:
                    continue
    return [found[k] for k in keys if k in found], [k for k in keys if k not in found]


def _progress(ctx: JobContext, view: store.OpView, already: int) -> Callable[[int], None]:
    def show(done: int) -> None:
        if view.channel_id and view.message_ts:
            text, blks = bulk_card.progress(view.kind, already + done, len(view.keys))
            try:
                ctx.services.poster.update(view.channel_id, view.message_ts, text, blks)
            except Exception:  # progress is a courtesy: never let it stop the writes
                return
    return show


def _comment_once(ctx: JobContext, op_id: int, texts: dict[str, str], kind: str) -> Callable[[str], str]:
    jira, actions = ctx.services.jira, ctx.services.actions

    def work(key: str) -> str:
        marker = f"bulk:{op_id}:{kind}:{key}"
        return actions.run_once(
            marker, "jira.comment", key, do=lambda: jira.add_comment(key, texts[key], marker=marker).id,
            recover=lambda: getattr(jira.find_comment(key, marker), "id", None)).external_id
    return work


def _audit_each(ctx: JobContext, op_id: int, action: str) -> Callable[[Outcome], None]:
    def each(outcome: Outcome) -> None:
        if outcome.ok:
            audit(ctx, action, outcome.key, once_key=f"bulk:{op_id}:{action}:{outcome.key}:audit", op=op_id,
                  result=outcome.detail)
    return each


def _run(ctx: JobContext, view: store.OpView, keys: list[str], work: Callable[[str], str], action: str,
         already: int | None) -> dict[str, Outcome]:
    """``already``: tickets done before this run, for the card's "9/14"; None shows no progress."""
    settings = ctx.services.settings
    shown = _progress(ctx, view, already) if already is not None else None
    return run_paced(keys, work, pacer(settings.REMEDY_BULK_JIRA_RATE), settings.REMEDY_BULK_WORKERS,
                     progress=shown, each=_audit_each(ctx, view.id, action))


def _comment_all(ctx: JobContext, view: store.OpView, issues: list[Issue]) -> dict[str, Outcome]:
    svc, body = ctx.services, view.body or ""
    progress: list[Any] = [None] * len(issues)
    if scope.uses(body, "compliance"):
        now = svc.clock()
        progress = parallel([lambda i=i: scope.progress_of(svc.jamf, svc.db, i, now) for i in issues])  # type: ignore[misc]
    sign = f"\n\n— {actor_name(ctx)}, via remedy"
    texts = {i.key: scope.fill(body, scope.values_for(i, svc.templates, p)) + sign
             for i, p in zip(issues, progress, strict=True)}
    work = _comment_once(ctx, view.id, texts, "comment")
    return _run(ctx, view, [i.key for i in issues], work, "jira.comment", len(view.keys) - len(view.failed()))


def _close_all(ctx: JobContext, view: store.OpView, issues: list[Issue]) -> dict[str, Outcome]:
    svc = ctx.services
    already = len(view.keys) - len(view.failed())
    own = {i.key: svc.workflow_for(i) for i in issues}  # Done is the last phase of each ticket's template
    moved = {i.key: Outcome(i.key, True, "already closed") for i in issues if closing.is_closed(i, own[i.key])}
    still = [i for i in issues if i.key not in moved]
    groups, outcomes = closing.plan(svc.jira, [i.key for i in still], own)
    ids, one_by_one = {i.key: i.id for i in still}, []
    for transition, keys in groups.items():
        bulk = closing.bulk_close(svc.jira, keys, transition, ids, BULK_POLL) if len(keys) > 1 else None
        if bulk is None:
            one_by_one += keys
        else:
            outcomes.update(bulk)
    outcomes.update(_run(ctx, view, one_by_one, closing.transition_one(svc.jira, own), "jira.close",
                         already))
    moved.update({k: o for k, o in outcomes.items() if o.ok})
    whys: dict[str, str] = json.loads(view.body or "{}")
    texts = {k: f"Closed: the remediation is verified ({whys.get(k, 'resolved')}). Closed by {actor_name(ctx)} "
                f"with `close all resolved`, via remedy." for k in moved}
    said = _run(ctx, view, list(moved), _comment_once(ctx, view.id, texts, "close"), "jira.comment", None)
    for key, note in said.items():
        outcomes[key] = note if note.ok else Outcome(key, False, f"closed, but the comment failed: {note.detail}",
                                                      note.code)
    return outcomes


def _finish(ctx: JobContext, op_id: int) -> None:
    final = store.finish(ctx.services.db, op_id)
    ok = len(final.keys) - len(final.failed())
    failed = [(k, str((final.results.get(k) or {}).get("code") or "error")) for k in final.failed()]
    reasons = [f"{k}: {(final.results.get(k) or {}).get('detail', '')}" for k, _ in failed[:5]]
    text, blks = bulk_card.result(final.kind, final.id, ok, failed, ctx.user, reasons)
    if final.channel_id and final.message_ts:
        ctx.services.poster.update(final.channel_id, final.message_ts, text, blks)
    audit(ctx, f"bulk.{final.kind}.run", f"bulk:{op_id}", once_key=ctx.key(f"bulk:{op_id}:run:{final.runs}"),
          ok=ok, failed=dict(failed))
    if failed:
        ctx.done(f"{ok} {'posted' if final.kind == 'comment' else 'closed'}, {len(failed)} failed: "
                 f"{bulk_card.failure_list(failed)}. The card has a Retry button for those.")
    else:
        ctx.done(f"All {ok} done.")

