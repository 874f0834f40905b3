"""The roadmap's whole CPE-3222 workflow as one scenario — the very lines `remedy demo --scenario cpe-3222`
plays (remedy_cli.demo.WORKFLOW) — through the real app: signed Slack requests → Bolt → RQ → the Jira,
Jamf, Slack and Ollama simulators. After every step: what Jira, Jamf and Slack now hold.

The scenario runs in every wording mode, and passes the same assertions in each: the model words the
texts; templates word them (no OLLAMA_HOST); the model is down (the simulator hangs past
OLLAMA_TIMEOUT) or not pulled (404): one failed call, then the cool-down keeps remedy on templates.
Only the number of model calls differs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from remedy.audit import verify
from remedy.sandbox.jamf_state import Policy
from remedy.sandbox.run import HOME_CHANNEL, Sandbox
from remedy_cli.demo import WORKFLOW, perform
from remedy_cli.embedded import Runtime
from tests.conftest import ROOT
from tests.slackview import block_texts, only_thread

pytestmark = pytest.mark.e2e

KEY, PILOT, PHASE1 = "CPE-3222", 1, 2  # the simulator's group ids: "Pilot - Chrome", "Phase 1"
MAIN, ROLLBACK = "CPE-3222 Chrome 120.0.6099.109", "CPE-3222 Chrome rollback to 119.0.6045.199"
SARAH_ACCOUNT = "5b10ac8d82e05b22cc7d4ef5"
PACKAGE_FILE = "/CasperShare/Packages/GoogleChrome-120.0.6099.109.pkg"


@dataclass(frozen=True)
class Wording:
    rt: Runtime
    mode: str  # "model", "templates", "model down", "model not pulled"

    def calls(self, asked: int) -> int:
        """The simulator's call count after remedy asked the model ``asked`` times: each ask in model mode;
        none in template mode; only the first when the model fails (the cool-down skips the rest)."""
        return {"model": asked, "templates": 0}.get(self.mode, min(asked, 1))


@pytest.fixture(params=["model", "templates", "model down", "model not pulled"])
def wording(request: pytest.FixtureRequest, sandbox: Sandbox, tmp_path: Path) -> Iterator[Wording]:
    settings: dict[str, object] = {
        "model": {}, "templates": {"OLLAMA_HOST": None}, "model down": {"OLLAMA_TIMEOUT": 0.5},
        "model not pulled": {"OLLAMA_MODEL": "llama3.2:1b"}}[request.param]
    if request.param == "model down":
        sandbox.ollama_state.script_timeout(times=None)  # every call hangs until the client gives up
    rt = Runtime.start(sandbox, f"sqlite:///{tmp_path / 'remedy.db'}", REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1,
                       **settings)
    yield Wording(rt, request.param)
    rt.stop()


class Scenario:
    """Plays WORKFLOW one line at a time; each call names the line it expects next, so the test and the
    demo cannot drift apart unnoticed."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._lines: Iterator[tuple[str, str, str]] = iter(WORKFLOW)

    def step(self, expected: str, user: str = "alice") -> str:
        who, line, _ = next(self._lines)
        assert (who, line) == (user, expected)
        sent = perform(self.rt, who, line)
        if sent is None:
            return ""
        view = self.rt.sandbox.slack_state.response_view(sent.response_url) if sent.response_url else None
        return "\n".join([view.text, block_texts(view.blocks)]) if view else sent.ack_text

    def done(self) -> None:
        assert next(self._lines, None) is None, "the demo's workflow has steps this test does not play"


def _thread(rt: Runtime) -> str:
    return "\n".join(f"{m.text}\n{block_texts(m.blocks)}" for m in only_thread(rt.sandbox.slack_state))


def _dms(rt: Runtime, user: str) -> str:
    return "\n".join(f"{m.text}\n{block_texts(m.blocks)}" for m in rt.sandbox.slack_state.dms_to(user))


def _policies(rt: Runtime) -> dict[str, Policy]:
    return {p.name: p for p in rt.sandbox.jamf_state.policies.values()}


def _jamf_writes(rt: Runtime) -> int:
    """Changes sent to Jamf (a token request is not one)."""
    return sum(1 for r in rt.sandbox.jamf_state.requests if r.method != "GET" and "/oauth/" not in r.path)


def _open_subtasks(rt: Runtime) -> list[str]:
    return [s.summary for s in rt.sandbox.jira_state.subtasks(KEY) if s.status != "Done"]


def test_the_whole_cpe_3222_workflow(wording: Wording) -> None:
    rt, play = wording.rt, Scenario(wording.rt)
    jira, jamf, slack, model = (rt.sandbox.jira_state, rt.sandbox.jamf_state, rt.sandbox.slack_state,
                                rt.sandbox.ollama_state)
    comments = len(jira.comments(KEY))
    _before_the_pilot(wording, play)
    _policy_and_exit_checks(rt, play)
    _the_pilot(rt, play)

    # rollout next: a go/no-go card; an engineer may ask but not approve; the lead's Go widens the scope.
    writes = _jamf_writes(rt)
    answer = play.step("/remedy rollout next CPE-3222")
    assert answer.startswith("✅ Go/no-go card for *Phase 1* posted in the *CPE-3222* thread")
    assert "Go / No-go" in _thread(rt) and jira.status_of(KEY) == "Pilot" and _jamf_writes(rt) == writes
    assert play.step(":press Go").startswith("🔒 Only leads and admins can decide a rollout")
    main = _policies(rt)[MAIN]
    assert main.group_ids == [PILOT] and jira.status_of(KEY) == "Pilot" and _jamf_writes(rt) == writes
    answer = play.step(":press Go", user="sarah")
    assert answer.startswith("✅ Go: *CPE-3222* now rolls out to *Phase 1*. Ticket moved to *Rollout*.")
    assert jira.status_of(KEY) == "Rollout" and _policies(rt)[MAIN].group_ids == [PILOT, PHASE1]
    assert "*Go* for *Phase 1*" in _dms(rt, "U01ALICE") and "Sarah Chen" in _dms(rt, "U01ALICE")

    # daily update: in the thread (with its chart) and as a Jira comment, worded through the model.
    writes = _jamf_writes(rt)
    answer = play.step("/remedy daily update CPE-3222")
    assert answer.startswith("✅ Daily update for *CPE-3222* posted in its thread and as a Jira comment")
    assert any(c["text"].startswith("Daily update") for c in jira.comments(KEY)[comments:])
    assert "Daily update · " in _thread(rt) and len(model.calls) == wording.calls(3)

    # escalate to the lead: a DM, a Jira comment and Sarah watching the ticket.
    answer = play.step("/remedy escalate CPE-3222 sarah because Phase 1 must finish before the CVE deadline")
    assert answer.startswith("✅ *CPE-3222* escalated to *Sarah Chen*: DM sent, Jira comment posted, watcher added")
    assert "Phase 1 must finish before the CVE deadline" in _dms(rt, "U02SARAH")
    assert SARAH_ACCOUNT in jira.watchers(KEY)
    assert "Phase 1 must finish before the CVE deadline" in jira.comments(KEY)[-1]["text"]
    assert "escalated *CPE-3222* to <@U02SARAH>" in _thread(rt)
    assert _jamf_writes(rt) == writes and jira.status_of(KEY) == "Rollout"  # reading and telling: no Jamf change

    _the_paper_trail(rt, play)
    play.done()
    assert verify(rt.services.db).ok
    assert jamf.policies and slack.messages(HOME_CHANNEL)  # everything happened in one thread, one Jamf


def _before_the_pilot(wording: Wording, play: Scenario) -> None:
    rt = wording.rt
    jira, jamf, model = rt.sandbox.jira_state, rt.sandbox.jamf_state, rt.sandbox.ollama_state
    comments = len(jira.comments(KEY))

    # work: the card in the ticket's thread, nothing written anywhere.
    assert play.step("/remedy work CPE-3222").startswith("✅ *CPE-3222* is your focus now")
    assert "CPE-3222 · Chrome 120 security update" in _thread(rt)
    assert jira.status_of(KEY) == "Pilot" and jira.writes(KEY) == [] and not jamf.policies

    # analyze and draft comment: the model words them (or the templates do); only Alice sees them; Jira is
    # not touched.
    answer = play.step("/remedy analyze")
    assert "Analysis · CPE-3222" in answer and "*Risk*" in answer and len(model.calls) == wording.calls(1)
    assert "*Priority* P2: CVE 8.8 (+40)" in answer and "Pilot success rate" in answer  # computed, in every mode
    assert "Analysis" not in _thread(rt) and jira.writes(KEY) == [] and not jamf.policies
    answer = play.step("/remedy draft comment")
    assert "Draft comment for CPE-3222" in answer and len(model.calls) == wording.calls(2)
    assert len(jira.comments(KEY)) == comments and "Draft comment" not in _thread(rt) and not jamf.policies

    # post comment: the draft lands once in Jira and in the thread.
    assert play.step("/remedy post comment").startswith("✅ Your draft is posted on *CPE-3222*")
    (posted,) = jira.comments(KEY)[comments:]
    assert posted["text"].startswith("Status update on CPE-3222") and "commented on CPE-3222" in _thread(rt)
    assert jira.status_of(KEY) == "Pilot" and not jamf.policies

    # Back to Investigation (walking back from Pilot), then Plan: each phase's subtasks are created once.
    assert play.step("/remedy move CPE-3222 to investigation").startswith("✅ *CPE-3222* is in *Investigation*")
    assert jira.status_of(KEY) == "Investigation"
    assert {"Check macOS compatibility", "Identify rollback scenarios", "Select pilot group"} <= set(_open_subtasks(rt))
    assert "moved *CPE-3222* Pilot → *Investigation*" in _thread(rt) and "Investigation" in _dms(rt, "U02SARAH")
    assert play.step("/remedy move CPE-3222 to plan").startswith("✅ *CPE-3222* is in *Plan*")
    assert jira.status_of(KEY) == "Plan"
    assert {"Draft rollout timeline", "Prepare user communication"} <= set(_open_subtasks(rt))
    assert "moved *CPE-3222* Investigation → *Plan*" in _thread(rt) and not jamf.policies



def _policy_and_exit_checks(rt: Runtime, play: Scenario) -> None:
    jira = rt.sandbox.jira_state

    # create jamf policy: the install policy and its rollback, both disabled until the pilot.
    assert play.step("/remedy create jamf policy CPE-3222").startswith("✅ Jamf policy for *CPE-3222* created")
    main, rollback = _policies(rt)[MAIN], _policies(rt)[ROLLBACK]
    assert (main.enabled, main.group_ids, main.packages[0][0]) == (False, [PILOT], 1)
    assert (rollback.enabled, rollback.packages[0][0]) == (False, 4)
    assert "disabled until `deploy pilot`" in _thread(rt) and jira.status_of(KEY) == "Plan"

    # deploy pilot is refused while the subtasks are open: the exit checks are not bypassed.
    shown, writes = _thread(rt), _jamf_writes(rt)
    answer = play.step("/remedy deploy pilot CPE-3222")
    assert answer.startswith("❌ CPE-3222 can't leave Plan: 6 open subtask(s)")
    assert _thread(rt) == shown and _jamf_writes(rt) == writes
    assert jira.status_of(KEY) == "Plan" and not _policies(rt)[MAIN].enabled

    # The engineers do the work: their subtasks are Done in Jira.
    play.step(":subtasks done CPE-3222")
    assert _open_subtasks(rt) == [] and len(jira.subtasks(KEY)) == 7


def _the_pilot(rt: Runtime, play: Scenario) -> None:
    jira, jamf = rt.sandbox.jira_state, rt.sandbox.jamf_state

    # validate package: the file on the distribution point, read and checked (hash, format, signature…).
    answer = play.step("/remedy validate package CPE-3222")
    assert answer.startswith("✅ Package *GoogleChrome-120.0.6099.109* for *CPE-3222* passed all 8 checks")
    assert "matches Jamf's SHA-512" in answer and "RSA signature over the TOC verifies" in answer
    assert [r.status for r in jamf.requests if r.path == PACKAGE_FILE] == [200]
    assert "validated *GoogleChrome-120.0.6099.109* for *CPE-3222*: all 8 checks pass" in _thread(rt)
    assert jira.status_of(KEY) == "Plan" and not _policies(rt)[MAIN].enabled  # validating changes nothing

    # deploy pilot: Plan → Build & Test → Pilot, the policy enabled for the pilot ring only.
    assert play.step("/remedy deploy pilot CPE-3222").startswith("✅ *CPE-3222* is deploying to *Pilot* (45 Macs)")
    main = _policies(rt)[MAIN]
    assert jira.status_of(KEY) == "Pilot" and main.enabled and main.group_ids == [PILOT]
    assert "deployed to *Pilot*" in _thread(rt) and "Plan → *Pilot*" in _dms(rt, "U02SARAH")

    # A simulated day: the pilot Macs check in and install.
    play.step(":wait 26h")
    logs = jamf.policy_logs(main.id)
    assert len(logs) >= 45 and sum(log.status == "Completed" for log in logs) >= 41  # ≥ 90% of the ring

    # compliance: per ring, from Jamf's inventory, in the thread too.
    writes = _jamf_writes(rt)
    answer = play.step("/remedy compliance CPE-3222")
    assert answer.startswith("✅ 📊 *CPE-3222*") and "*Pilot* (Pilot - Chrome): 100.0% (45/45) ✅ ≥ 90%" in answer
    assert "Phase 1 (Phase 1): not started" in answer and "📊 *CPE-3222*" in _thread(rt)
    assert jira.status_of(KEY) == "Pilot" and _jamf_writes(rt) == writes


def _the_paper_trail(rt: Runtime, play: Scenario) -> None:
    jira, slack = rt.sandbox.jira_state, rt.sandbox.slack_state
    writes = _jamf_writes(rt)

    # audit report: generated from the audit trail, in the thread and attached to Jira.
    assert play.step("/remedy audit report CPE-3222").startswith("✅ Audit report for *CPE-3222* is in its thread")
    (report,) = [a for a in jira.attachments_of(KEY) if a.filename.startswith("CPE-3222-audit-report-")]
    text = report.content.decode("utf-8")
    assert "Sarah Chen" in text and "Phase 1" in text
    assert "Audit report for CPE-3222" in _thread(rt)

    # evidence: one zip, the same in Slack and on Jira, its manifest hashing every file, the Go inside.
    assert play.step("/remedy evidence CPE-3222").startswith("✅ Evidence pack for *CPE-3222* is in its thread")
    (pack,) = [a.content for a in jira.attachments_of(KEY) if a.filename.startswith("CPE-3222-evidence-")]
    assert [f.content for f in slack.files.values() if f.filename.startswith("CPE-3222-evidence-")] == [pack]
    with zipfile.ZipFile(io.BytesIO(pack)) as archive:
        files = {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files["manifest.json"])
    assert manifest["ticket"] == KEY and manifest["audit_chain_ok"] is True
    assert b"Sarah Chen" in files["decisions.csv"] and b"phase1" in files["decisions.csv"]
    assert b"CPE-3222 Chrome 120.0.6099.109" in files["jamf-policies.json"]
    assert _jamf_writes(rt) == writes and jira.status_of(KEY) == "Rollout"  # the paper trail changes no rollout


def test_the_demo_plays_the_scenario_from_the_command_line() -> None:
    env = {**os.environ, "DATABASE_URL": "sqlite://"}
    done = subprocess.run([sys.executable, "-m", "remedy_cli.cli", "demo", "--scenario", "cpe-3222"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "simulated: their subtasks are marked Done in the Jira simulator" in out
    assert "✔  marked Done in Jira: CPE-3224" in out
    assert "passed all 8 checks" in out and "is deploying to Pilot (45 Macs)" in out
    assert "✅ Go: CPE-3222 now rolls out to Phase 1. Ticket moved to Rollout." in out
    assert "Evidence pack for CPE-3222 is in its thread and attached to Jira" in out
    assert "#cpe-remediation as the team sees it" in out
    bad = subprocess.run([sys.executable, "-m", "remedy_cli.cli", "demo", "--scenario", "nope"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "invalid choice: 'nope'" in bad.stderr
