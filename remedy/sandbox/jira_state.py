"""What the Jira simulator remembers, and the changes Jira's rules allow.

:mod:`remedy.sandbox.jira` turns HTTP into calls here; tests read the query helpers (``comments``,
``status_of``, ``writes``…) and steer the simulator (``fail_next``, ``set_latency``, ``forbid``). A
rule Jira enforces (a transition not allowed from this status, a self-link) raises
:class:`JiraProblem`, which the HTTP layer answers with Jira's error body.
"""

from __future__ import annotations

import copy
import dataclasses
import hmac
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request

from remedy.jira.adf import adf_to_text
from remedy.sandbox import seed
from remedy.sandbox.faults import Faults, InjectedFailure
from remedy.sandbox.seed import CommentRecord, IssueRecord, LinkRecord, Person, Transition

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
# The environ key where handlers note the issues a request touched (beyond the one in its path).
TOUCHED = "remedy.jira.issues"
_ISSUE_PATH = re.compile(r"^/rest/api/3/issue/([^/]+)")


class JiraProblem(Exception):
    """A request Jira refuses: ``status`` plus Jira's ``errorMessages`` and field ``errors``."""

    def __init__(self, status: int, *messages: str, errors: dict[str, str] | None = None) -> None:
        super().__init__("; ".join([*messages, *(errors or {}).values()]))
        self.status, self.messages, self.errors = status, list(messages), dict(errors or {})


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    status: int
    at: float  # time.monotonic(): lets pacing tests measure gaps between writes
    body: Any = None  # the parsed JSON body, if any
    issues: tuple[str, ...] = ()  # keys of the issues the request named or changed


@dataclass
class BulkTask:
    """A bulk transition: done at once, but reported RUNNING on the first poll so clients must poll."""

    task_id: str
    submitted_by: str
    total: int
    processed: list[int] = field(default_factory=list)  # issue ids, as Jira reports them
    failed: dict[str, list[str]] = field(default_factory=dict)  # issue id -> reasons
    polls: int = 0


@dataclass
class RateLimit:
    """Jira Cloud's budget, simplified: at most ``max_requests`` in any ``per_seconds`` (writes only
    by default); beyond it, 429 with a whole-second Retry-After, and the refused request costs nothing."""

    max_requests: int
    per_seconds: float = 1.0
    writes_only: bool = True
    sent: deque[float] = field(default_factory=deque)
    refused: int = 0

    def admit(self, method: str, now: float) -> int | None:
        """None when the request may run (it takes a slot); else the Retry-After to answer with."""
        if self.writes_only and method.upper() not in WRITE_METHODS:
            return None
        while self.sent and self.sent[0] + self.per_seconds <= now:
            self.sent.popleft()
        if len(self.sent) < self.max_requests:
            self.sent.append(now)
            return None
        self.refused += 1
        return max(1, math.ceil(self.sent[0] + self.per_seconds - now))


@dataclass(frozen=True)
class AttachmentRecord:
    """A file attached to an issue; ids are site-wide, as comment ids are."""

    id: str
    author: str  # accountId
    created: datetime
    filename: str
    mime_type: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class JiraState(Faults):
    email: str
    api_token: str
    myself_id: str
    users: dict[str, Person]  # by accountId
    issues: dict[str, IssueRecord]  # by key, upper case
    links: list[LinkRecord]
    # The seed story is told relative to seed.NOW; a frozen clock keeps "3 days ago" true.
    clock: Callable[[], datetime] = field(default=lambda: seed.NOW)
    latency: float = 0.0
    failures: list[InjectedFailure] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    forbidden: dict[str, frozenset[str]] = field(default_factory=dict)  # issue key -> refused methods
    bulk_tasks: dict[str, BulkTask] = field(default_factory=dict)
    attachments: dict[str, list[AttachmentRecord]] = field(default_factory=dict)  # by issue key, oldest first
    rate_limit: RateLimit | None = None  # off unless a test or benchmark asks for it
    # The workflow's transitions; an admin republishing it may renumber them (see renumber_transition).
    workflow: tuple[seed.Transition, ...] = seed.TRANSITIONS
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @classmethod
    def seeded(cls, email: str = "remedy@example.com", api_token: str = "sandbox-jira-token") -> JiraState:
        users = {person.account_id: person for person in seed.team().values()}
        me = next((u for u in users.values() if u.email.lower() == email.lower()), None)
        if me is None:
            # The token belongs to a service account that is not on the team roster.
            me = Person("remedy", seed.BOT_ACCOUNT_ID, seed.BOT_DISPLAY_NAME, email, "UTC")
            users[me.account_id] = me
        issues = {record.key: record for record in copy.deepcopy(seed.issues())}
        return cls(email, api_token, me.account_id, users, issues, copy.deepcopy(seed.links()))

    # -- steering, for tests ------------------------------------------------------------------
    def forbid(self, key: str, methods: Iterable[str] = WRITE_METHODS) -> None:
        """Refuse ``methods`` on issue ``key`` as Jira does without the project permission.

        Writes get the status the spec documents for that operation (mostly 403); ``GET`` makes the
        issue invisible (404), as a missing *Browse projects* permission does.
        """
        with self.lock:
            self.forbidden[self._key(key)] = frozenset(m.upper() for m in methods)

    def limit_rate(self, max_requests: int | None, per_seconds: float = 1.0, writes_only: bool = True) -> None:
        """Enforce a Jira Cloud-like rate limit (429 + Retry-After); ``None`` turns it off."""
        with self.lock:
            self.rate_limit = None if max_requests is None else RateLimit(max_requests, per_seconds, writes_only)

    def throttle(self, method: str) -> int | None:
        """The Retry-After to refuse this request with, or None to serve it."""
        with self.lock:
            return self.rate_limit.admit(method, time.monotonic()) if self.rate_limit else None

    def allow(self, key: str) -> None:
        """Lift :meth:`forbid`."""
        with self.lock:
            self.forbidden.pop(self._key(key), None)

    def _key(self, id_or_key: str) -> str:
        found = self.find_issue(id_or_key)
        return found.key if found else id_or_key.strip().upper()

    # -- lookups --------------------------------------------------------------------------------
    def find_issue(self, id_or_key: str) -> IssueRecord | None:
        # Jira resolves keys case-insensitively and also accepts the numeric id.
        wanted = str(id_or_key).strip().upper()
        return self.issues.get(wanted) or next((i for i in self.issues.values() if i.id == wanted), None)

    def is_forbidden(self, issue: IssueRecord, method: str) -> bool:
        return method.upper() in self.forbidden.get(issue.key, frozenset())

    def require(self, id_or_key: str, method: str = "GET", denied: tuple[int, str] | None = None) -> IssueRecord:
        """The issue, or what Jira answers instead: 404 when it is unknown or not browsable (Jira does
        not tell the two apart), ``denied`` (status, message) when ``method`` is refused on it."""
        issue = self.find_issue(id_or_key)
        if issue is None or self.is_forbidden(issue, "GET"):
            raise JiraProblem(404, "Issue does not exist or you do not have permission to see it.")
        if method != "GET" and self.is_forbidden(issue, method):
            status, message = denied or (403, "You do not have permission to perform this operation.")
            raise JiraProblem(status, message)
        return issue

    def transitions_from(self, issue: IssueRecord) -> list[Transition]:
        """The transitions allowed now; none without the Transition issues permission, as in Jira."""
        if self.is_forbidden(issue, "POST"):
            return []
        return [t for t in self.workflow if t.source == issue.status]

    def renumber_transition(self, old_id: str, new_id: str) -> None:
        """As when an admin edits and republishes the workflow: the same move under a new id."""
        with self.lock:
            self.workflow = tuple(dataclasses.replace(t, id=new_id) if t.id == old_id else t for t in self.workflow)

    # -- query helpers, for tests ---------------------------------------------------------------
    def _issue(self, key: str) -> IssueRecord:
        issue = self.find_issue(key)
        if issue is None:
            raise KeyError(f"no issue {key} in the Jira simulator")
        return issue

    def comments(self, key: str) -> list[dict[str, Any]]:
        """The issue's comments, oldest first, with plain ``text`` and ``properties`` as a dict."""
        with self.lock:
            return [
                {"id": c.id, "author": c.author, "text": adf_to_text(c.body), "body": copy.deepcopy(c.body),
                 "created": c.created, "properties": {p["key"]: copy.deepcopy(p.get("value")) for p in c.properties}}
                for c in self._issue(key).comments
            ]  # fmt: skip

    def subtasks(self, key: str) -> list[IssueRecord]:
        parent = self._issue(key).key
        with self.lock:
            return [i for i in self.issues.values() if i.parent_key == parent and i.issue_type == "Sub-task"]

    def links_of(self, key: str) -> list[tuple[str, str]]:
        """``(phrase, other key)`` as the issue shows them, e.g. ``("blocks", "CPE-3445")``."""
        me, shown = self._issue(key).key, []
        with self.lock:
            for link in (lk for lk in self.links if me in (lk.inward_key, lk.outward_key)):
                _, inward, outward = seed.LINK_TYPES[link.type_name]
                mine = link.inward_key == me
                shown.append((outward, link.outward_key) if mine else (inward, link.inward_key))
        return shown

    def attachments_of(self, key: str) -> list[AttachmentRecord]:
        """The issue's attachments, oldest first (content included, for tests to read)."""
        with self.lock:
            return list(self.attachments.get(self._issue(key).key, []))

    def watchers(self, key: str) -> list[str]:
        return list(self._issue(key).watchers)

    def status_of(self, key: str) -> str:
        return self._issue(key).status

    def set_status(self, key: str, status: str) -> None:
        """As when someone moves the ticket in Jira's own UI (tests set the scene with it)."""
        with self.lock:
            self._issue(key).status = status

    def priority_of(self, key: str) -> str:
        return self._issue(key).priority

    def assignee_of(self, key: str) -> str | None:
        return self._issue(key).assignee

    def writes(self, key: str) -> list[RecordedRequest]:
        """Every POST/PUT/DELETE that named or changed issue ``key``, whatever its answer (429s too)."""
        wanted = self._issue(key).key
        return [r for r in list(self.requests) if r.method in WRITE_METHODS and wanted in r.issues]

    # -- the HTTP layer's bookkeeping -----------------------------------------------------------
    def authenticated(self, request: Request) -> bool:
        auth = request.authorization
        if auth is None or auth.type != "basic":
            return False
        user_ok = hmac.compare_digest((auth.username or "").lower().encode(), self.email.lower().encode())
        return hmac.compare_digest((auth.password or "").encode(), self.api_token.encode()) and user_ok

    def record(self, rq: Request, status: int) -> None:
        named = _ISSUE_PATH.match(rq.path)
        found = self.find_issue(named.group(1)) if named else None
        keys = [found.key] if found else []
        body = rq.get_json(force=True, silent=True) if rq.content_length else None
        issues = tuple(dict.fromkeys([*keys, *rq.environ.get(TOUCHED, [])]))
        entry = RecordedRequest(rq.method, rq.path, rq.query_string.decode(), status, time.monotonic(), body, issues)
        with self.lock:
            self.requests.append(entry)

    # -- changes, with Jira's rules ----------------------------------------------------------------
    def transition(self, issue: IssueRecord, transition_id: str) -> Transition:
        chosen = next((t for t in self.transitions_from(issue) if t.id == str(transition_id)), None)
        if chosen is None:
            raise JiraProblem(400, f"Transition id '{transition_id}' is not valid for this issue.")
        now = self.clock()
        issue.status, issue.updated = chosen.target, now
        if seed.status(chosen.target).category == "done":
            issue.resolution, issue.resolution_date = seed.RESOLUTION_DONE["name"], now
        else:  # reopening clears the resolution, or JQL "resolution = Unresolved" would miss it
            issue.resolution, issue.resolution_date = None, None
        return chosen

    def add_comment(self, issue: IssueRecord, body: dict[str, Any], properties: list[dict[str, Any]]) -> CommentRecord:
        numbers = [int(c.id) for i in self.issues.values() for c in i.comments]
        now = self.clock()
        # Comment ids are site-wide in Jira, not per issue.
        comment = CommentRecord(str(max([10000, *numbers]) + 1), self.myself_id, now, body, now, properties)
        issue.comments.append(comment)
        issue.updated = now
        return comment

    def attach(self, issue: IssueRecord, filename: str, mime_type: str, content: bytes) -> AttachmentRecord:
        numbers = [int(a.id) for files in self.attachments.values() for a in files]
        now = self.clock()
        record = AttachmentRecord(str(max([10000, *numbers]) + 1), self.myself_id, now, filename, mime_type, content)
        self.attachments.setdefault(issue.key, []).append(record)
        issue.updated = now
        return record

    def new_issue(self, **values: Any) -> IssueRecord:
        """Create an issue in To Do with the next key; ``values`` are IssueRecord fields."""
        number = max(int(key.split("-")[1]) for key in self.issues) + 1
        ident = max(int(i.id) for i in self.issues.values()) + 1
        now = self.clock()
        record = IssueRecord(id=str(ident), key=f"{seed.PROJECT['key']}-{number}", status="To Do",
                             created=now, updated=now, **values)  # fmt: skip
        record.watchers = list(dict.fromkeys(a for a in (record.reporter, record.assignee) if a))
        self.issues[record.key] = record
        return record

    def assign(self, issue: IssueRecord, account_id: str | None) -> None:
        user = self.users.get(account_id or "")
        if account_id is not None and (user is None or not user.active):
            raise JiraProblem(400, errors={"assignee": f"User '{account_id}' cannot be assigned issues."})
        issue.assignee, issue.updated = account_id, self.clock()
        if account_id is not None and account_id not in issue.watchers:
            issue.watchers.append(account_id)  # autowatch: assignees start watching

    def link(self, type_name: str, inward: IssueRecord, outward: IssueRecord) -> LinkRecord:
        """``inward`` *blocks* ``outward`` for "Blocks"; a duplicate request returns the existing link."""
        if inward.key == outward.key:
            raise JiraProblem(400, "You cannot link an issue to itself.")
        for existing in self.links:
            if (existing.type_name, existing.inward_key, existing.outward_key) == (type_name, inward.key, outward.key):
                return existing  # Jira answers 201 again without a second link
        ident = max([30000, *(int(lk.id) for lk in self.links)]) + 1
        created = LinkRecord(str(ident), type_name, inward.key, outward.key)
        self.links.append(created)
        inward.updated = outward.updated = self.clock()
        return created

    def unlink(self, link: LinkRecord) -> None:
        self.links.remove(link)
        now = self.clock()
        for key in (link.inward_key, link.outward_key):
            self.issues[key].updated = now

    def watch(self, issue: IssueRecord, account_id: str) -> None:
        # Watching is not an edit: Jira leaves "updated" alone and writes no history for it.
        if account_id not in issue.watchers:
            issue.watchers.append(account_id)

    def unwatch(self, issue: IssueRecord, account_id: str) -> None:
        if account_id in issue.watchers:
            issue.watchers.remove(account_id)

    def bulk_transition(self, inputs: list[tuple[list[IssueRecord], str]]) -> BulkTask:
        """Run a bulk transition now; per-issue refusals go to ``failed`` as Jira reports them."""
        task_id = str(10000 + len(self.bulk_tasks))
        task = BulkTask(task_id, self.myself_id, total=sum(len(issues) for issues, _ in inputs))
        for issues, transition_id in inputs:
            for issue in issues:
                try:
                    if self.is_forbidden(issue, "POST"):
                        raise JiraProblem(403, "You do not have permission to transition this issue.")
                    self.transition(issue, transition_id)
                    task.processed.append(int(issue.id))
                except JiraProblem as problem:
                    task.failed[issue.id] = problem.messages
        self.bulk_tasks[task_id] = task
        return task
