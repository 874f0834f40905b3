"""Start every simulator together; `remedy sandbox` runs them over HTTP in one process, so that
`serve`, `worker` and `cron` started as separate processes share one sandbox state."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from remedy.config import Settings, load_settings
from remedy.sandbox.jamf import JamfState
from remedy.sandbox.jamf import create_app as jamf_app
from remedy.sandbox.jira import JiraState
from remedy.sandbox.jira import create_app as jira_app
from remedy.sandbox.ollama import OllamaState
from remedy.sandbox.ollama import create_app as ollama_app
from remedy.sandbox.seed import NOW
from remedy.sandbox.server import RunningSim, start
from remedy.sandbox.slack import SlackState
from remedy.sandbox.slack import create_app as slack_app
from remedy.sandbox.xarbuild import seed_package_files

BOT_TOKEN = "xoxb-sandbox-token"
JIRA_EMAIL = "remedy@example.com"
JIRA_TOKEN = "sandbox-jira-token"
HOME_CHANNEL = "C0CPETEAM"


@dataclass
class Sandbox:
    """Every simulator, each on its own 127.0.0.1 port."""

    slack: RunningSim
    jira: RunningSim
    jamf: RunningSim
    ollama: RunningSim

    @classmethod
    def start(cls, port: int = 0, fleet_size: int = 900, llm_latency: float = 0.0) -> Sandbox:
        slack_state = SlackState.seeded(bot_token=BOT_TOKEN)
        slack = start(slack_app(slack_state), slack_state, port=port)
        slack_state.base_url = slack.url
        jira_state = JiraState.seeded(email=JIRA_EMAIL, api_token=JIRA_TOKEN)
        jira = start(jira_app(jira_state), jira_state, port=port + 1 if port else 0)
        jamf_state = JamfState.seeded(n=fleet_size)
        seed_package_files(jamf_state)  # real signed packages on the distribution point, for `validate package`
        jamf = start(jamf_app(jamf_state), jamf_state, port=port + 2 if port else 0)
        # No model latency by default: tests and the demo stay fast; benchmarks pass the measured 2 s.
        ollama_state = OllamaState(latency=llm_latency)
        ollama = start(ollama_app(ollama_state), ollama_state, port=port + 3 if port else 0)
        return cls(slack=slack, jira=jira, jamf=jamf, ollama=ollama)

    @property
    def slack_state(self) -> SlackState:
        state: SlackState = self.slack.state
        return state

    @property
    def jira_state(self) -> JiraState:
        state: JiraState = self.jira.state
        return state

    @property
    def jamf_state(self) -> JamfState:
        state: JamfState = self.jamf.state
        return state

    @property
    def ollama_state(self) -> OllamaState:
        state: OllamaState = self.ollama.state
        return state

    def now(self) -> datetime:
        """The simulators' wall clock: the seed's "now" plus the simulated time tests advance."""
        return NOW + timedelta(seconds=self.jamf_state.now())

    def env(self, signing_secret: str) -> dict[str, str]:
        """The settings a process needs to talk to this sandbox."""
        return {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": signing_secret,
                "SLACK_API_URL": self.slack.url + "/api/", "JIRA_URL": self.jira.url,
                "JIRA_EMAIL": JIRA_EMAIL, "JIRA_API_TOKEN": JIRA_TOKEN,
                "JAMF_URL": self.jamf.url, "JAMF_CLIENT_ID": self.jamf_state.client_id,
                "JAMF_CLIENT_SECRET": self.jamf_state.client_secret,
                "OLLAMA_HOST": self.ollama.url, "OLLAMA_MODEL": self.ollama_state.models[0],
                "REMEDY_PACKAGE_SOURCE": self.jamf.url + "/CasperShare/Packages",  # the distribution point
                "REMEDY_HOME_CHANNEL": HOME_CHANNEL}

    def settings(self, database_url: str, signing_secret: str, **extra: Any) -> Settings:
        return load_settings(**{**self.env(signing_secret), "DATABASE_URL": database_url, **extra})

    def stop(self) -> None:
        self.slack.stop()
        self.jira.stop()
        self.jamf.stop()
        self.ollama_state.release()  # a scripted hang must not outlive the sandbox
        self.ollama.stop()


def run_sandbox(port: int = 0, stop: threading.Event | None = None) -> None:
    sandbox = Sandbox.start(port)
    print("remedy sandbox is running. Export these in the shells of serve / worker / cron:\n")
    for name, value in sandbox.env(secrets.token_hex(16)).items():
        print(f"export {name}={value}")
    print(f"\nSlack simulator: {sandbox.slack.url}   Jira simulator: {sandbox.jira.url}   "
          f"Jamf Pro simulator: {sandbox.jamf.url}   Ollama simulator: {sandbox.ollama.url}   "
          "(Ctrl-C to stop)", flush=True)
    try:
        (stop or threading.Event()).wait()
    finally:
        sandbox.stop()
