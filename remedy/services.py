"""Everything a process talks to, built once from settings.

RQ job functions only receive JSON arguments, so workers find their clients here
(:func:`get_services`). The embedded demo and the tests install their own with
:func:`set_services`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from redis import Redis
from slack_sdk import WebClient

from remedy.actions import ActionLog
from remedy.audit import AuditWriter
from remedy.circuit import Circuit
from remedy.config import Settings, get_settings
from remedy.db.models import utcnow
from remedy.db.session import Database
from remedy.jamf import JamfClient
from remedy.jira.client import JiraClient
from remedy.jira.models import Issue
from remedy.llm.client import Llm
from remedy.queue import JobQueue, connect
from remedy.slack.client import web_client
from remedy.slack.poster import Poster
from remedy.team import Directory, load_directory
from remedy.workflow import WorkflowTemplate
from remedy.workflow.templates import Workflows, load_workflows


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: Redis
    team: Directory
    workflow: WorkflowTemplate
    # What "now" is for rollouts (soak time, card age, "checked in since the ring started"). The
    # sandbox sets it to the simulators' clock, so moving simulated time moves remedy's too.
    clock: Callable[[], datetime] = utcnow
    # Team templates chosen per ticket (REMEDY_CONFIG_DIR/workflows/); none: `workflow` for every ticket.
    workflows: Workflows | None = None

    @classmethod
    def from_settings(cls, settings: Settings, connection: Redis | None = None) -> Services:
        workflows = load_workflows(settings.REMEDY_CONFIG_DIR)
        return cls(settings=settings, db=Database(settings.DATABASE_URL),
                   redis=connection if connection is not None else connect(settings.REDIS_URL),
                   team=load_directory(settings.REMEDY_CONFIG_DIR), workflow=workflows.default,
                   workflows=workflows)

    @property
    def templates(self) -> Workflows:
        """Every template, to pick the one a ticket follows once it is read (see workflow_for)."""
        return self.workflows if self.workflows is not None else Workflows(self.workflow)

    def workflow_for(self, issue: Issue) -> WorkflowTemplate:
        """The template this ticket follows (by project, issue type or label); the default otherwise."""
        return self.workflows.for_issue(issue) if self.workflows is not None else self.workflow

    @cached_property
    def queue(self) -> JobQueue:
        return JobQueue(self.redis, self.settings.REMEDY_QUEUE,
                        retry_delays=self.settings.REMEDY_RETRY_DELAYS)

    @cached_property
    def slack(self) -> WebClient:
        return web_client(self.settings.secret("SLACK_BOT_TOKEN"), self.settings.SLACK_API_URL,
                          self.settings.REMEDY_HTTP_TIMEOUT)

    @cached_property
    def poster(self) -> Poster:
        return Poster(self.slack, self.db, self.settings.REMEDY_HTTP_TIMEOUT)

    @cached_property
    def actions(self) -> ActionLog:
        return ActionLog(self.db)

    @cached_property
    def audit(self) -> AuditWriter:
        return AuditWriter(self.db, clock=lambda: self.clock())

    @cached_property
    def jira(self) -> JiraClient:
        s = self.settings
        s.require("JIRA_URL", "JIRA_EMAIL", "JIRA_API_TOKEN")
        assert s.JIRA_URL and s.JIRA_EMAIL
        return JiraClient(s.JIRA_URL, s.JIRA_EMAIL, s.secret("JIRA_API_TOKEN"), timeout=s.REMEDY_HTTP_TIMEOUT,
                          max_tries=s.REMEDY_JIRA_TRIES, circuit=self._circuit("Jira"))

    @cached_property
    def jamf(self) -> JamfClient:
        s = self.settings
        s.require("JAMF_URL", "JAMF_CLIENT_ID", "JAMF_CLIENT_SECRET")
        assert s.JAMF_URL and s.JAMF_CLIENT_ID
        return JamfClient(s.JAMF_URL, s.JAMF_CLIENT_ID, s.secret("JAMF_CLIENT_SECRET"), timeout=s.REMEDY_HTTP_TIMEOUT,
                          circuit=self._circuit("Jamf"))

    def _circuit(self, service: str) -> Circuit:
        # One client per service per process (these properties are cached), so one circuit each too.
        return Circuit(service, self.settings.REMEDY_CIRCUIT_FAILURES, self.settings.REMEDY_CIRCUIT_COOLDOWN)

    @cached_property
    def llm(self) -> Llm:
        s = self.settings
        return Llm(s.OLLAMA_HOST, s.OLLAMA_MODEL, s.OLLAMA_TIMEOUT, self.redis, cooldown=s.REMEDY_LLM_COOLDOWN)

    def close(self) -> None:
        for client in ("jira", "jamf"):
            if client in self.__dict__:
                getattr(self, client).close()
        self.db.dispose()


_lock = threading.Lock()
_current: Services | None = None


def get_services() -> Services:
    global _current
    with _lock:
        if _current is None:
            _current = Services.from_settings(get_settings())
        return _current


def set_services(services: Services | None) -> None:
    global _current
    with _lock:
        _current = services
