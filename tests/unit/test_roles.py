"""Role mappings (roles.yml) through the real app: a group's role for its members, a command made
stricter, refused at the ack and again in the job (a forged or replayed job finds the same rule), and
mappings that would lower a role or name nothing refused at start and by `remedy config check`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from remedy.configcheck import check
from remedy.queue import Origin
from remedy.sandbox.run import Sandbox
from remedy.team import TeamConfigError, load_directory
from remedy_cli.embedded import Runtime

ALICE, SARAH, JDOE = "U01ALICE", "U02SARAH", "U04JDOE"


def _config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "roles.yml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_stricter_command_is_refused_at_the_ack_and_in_the_job(sandbox: Sandbox, sqlite_url: str,
                                                                 tmp_path: Path) -> None:
    config = _config(tmp_path, 'commands: {"exec summary": lead}\n')
    rt = Runtime.start(sandbox, sqlite_url, REMEDY_CONFIG_DIR=str(config))
    try:
        refused = rt.slash("exec summary", user=ALICE)
        assert "🔒 `exec summary` needs the *lead* role; you are an *engineer*" in refused.ack_text
        allowed = rt.slash("exec summary", user=SARAH)
        rt.drain()
        assert "⏳" in allowed.ack_text
        view = rt.sandbox.slack_state.response_view(allowed.response_url)
        assert view is not None and view.text.startswith("✅ Executive summary")
        # A job enqueued without the bot (a replay, a forged payload) meets the same rule.
        url = rt.sandbox.slack_state.new_response_url("C0CPETEAM", ALICE)
        origin = Origin(user_id=ALICE, channel_id="C0CPETEAM", text="exec summary", source="slash", response_url=url)
        posted = len(rt.sandbox.slack_state.messages("C0CPETEAM"))
        rt.services.queue.enqueue("workers.exec_summary.exec_summary", {}, origin)
        rt.drain()
        forged = rt.sandbox.slack_state.response_view(url)
        assert forged is not None and "🔒 Building the executive summary needs the *lead* role" in forged.text
        assert len(rt.sandbox.slack_state.messages("C0CPETEAM")) == posted
    finally:
        rt.stop()


def test_a_groups_role_raises_its_members(tmp_path: Path) -> None:
    plain = load_directory(None)
    mapped = load_directory(_config(tmp_path, "groups: {dev-team: lead}\n"))
    assert plain.role_of(JDOE) == "engineer" and mapped.role_of(JDOE) == "lead"
    assert mapped.role_of(SARAH) == "lead" and mapped.role_of("U0NOBODY") == "viewer"
    assert mapped.command_role("escalate", "engineer") == "engineer"


@pytest.mark.parametrize(("text", "needle"), [
    ('commands: {"rollout next": viewer}\n', "rollout next: viewer is less than remedy's default (engineer)"),
    ("groups: {night-shift: lead}\n", "'night-shift' is not a group in team.yml"),
    ('commands: {"fly to the moon": lead}\n', "'fly to the moon' is not a remedy command"),
    ("groups: {dev-team: boss}\n", "dev-team: 'boss' is not a role"),
])
def test_mappings_that_lower_or_name_nothing_are_refused(tmp_path: Path, text: str, needle: str) -> None:
    config = _config(tmp_path, text)
    with pytest.raises(TeamConfigError, match=re.escape(f"roles.yml, line 1: {needle}")):
        load_directory(config)
    [problem] = check(config).problems
    assert problem.line == 1 and problem.message.startswith(needle)
