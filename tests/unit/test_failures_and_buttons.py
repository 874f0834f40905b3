"""Services down, retries, the ❌ + Retry button, `jobs`, card buttons, App Home, doctor."""

from __future__ import annotations

import json

from remedy_cli.embedded import Runtime
from tests.slackview import block_texts, button, buttons, only_thread


def _fail_jira(runtime: Runtime, times: int) -> None:
    runtime.sandbox.jira_state.fail_next(503, times=times)


def test_transient_jira_failure_is_retried_and_succeeds(runtime: Runtime) -> None:
    _fail_jira(runtime, 1)  # the first try fails, the retry works
    sent = runtime.slash("work CPE-3222")
    runtime.drain()
    view = runtime.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None and view.text.startswith("✅")
    assert len(only_thread(runtime.sandbox.slack_state)) == 2


def test_jira_down_ends_in_x_with_retry_button_that_works(runtime: Runtime) -> None:
    _fail_jira(runtime, 2)  # first try and its one retry both fail
    sent = runtime.slash("work CPE-3222")
    runtime.drain()
    slack = runtime.sandbox.slack_state
    failed = slack.response_view(sent.response_url)
    assert failed is not None and failed.text.startswith("❌") and "Jira is unavailable" in failed.text
    assert slack.messages("C0CPETEAM") == []

    retry = button(failed.blocks, "Retry")
    again = runtime.press(retry, ephemeral=True)
    assert again.status == 200
    runtime.drain()
    assert len(only_thread(slack)) == 2  # the card, once
    texts = [p.text for p in slack.response_posts(again.response_url)]
    assert any(t.startswith("⏳") for t in texts) and texts[-1].startswith("✅")


def test_jobs_lists_recent_jobs_with_retry_on_failed(runtime: Runtime) -> None:
    _fail_jira(runtime, 2)
    runtime.slash("work CPE-3222")
    runtime.drain()
    sent = runtime.slash("jobs")
    runtime.drain()
    view = runtime.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None
    shown = block_texts(view.blocks)
    assert "work CPE-3222" in shown and "failed" in shown
    assert [b["text"]["text"] for b in buttons(view.blocks)] == ["Retry"]


def test_card_button_runs_the_command_it_names(runtime: Runtime) -> None:
    runtime.slash("work CPE-3222")
    runtime.drain()
    slack = runtime.sandbox.slack_state
    card = only_thread(slack)[1]
    pressed = runtime.press(button(card.blocks, "Compliance"), message_ts=card.ts)
    runtime.drain()
    posts = slack.response_posts(pressed.response_url)
    assert posts and posts[-1].text.startswith("✅") and "% compliant" in posts[-1].text
    assert not posts[-1].replace_original  # the card itself stays
    thread = only_thread(slack)
    assert thread[1].ts == card.ts and "% compliant" in thread[-1].text  # the result is a reply, not an edit


def test_malformed_button_is_answered_not_obeyed(runtime: Runtime) -> None:
    pressed = runtime.press({"action_id": "remedy_cmd:work", "value": "{not json"})
    runtime.drain()
    posts = runtime.sandbox.slack_state.response_posts(pressed.response_url)
    assert posts and "malformed" in posts[-1].text
    assert runtime.sandbox.slack_state.messages("C0CPETEAM") == []


def test_app_home_shows_focus(runtime: Runtime) -> None:
    runtime.slash("work CPE-3222")
    runtime.drain()
    status = runtime.event({"type": "app_home_opened", "user": "U01ALICE", "tab": "home"})
    runtime.event({"type": "app_home_opened", "user": "U01ALICE", "tab": "home"}, event_id="Ev1")
    runtime.event({"type": "app_home_opened", "user": "U01ALICE", "tab": "home"}, event_id="Ev1", retry=1)
    runtime.drain()
    assert status == 200
    views = runtime.sandbox.slack_state.home_views["U01ALICE"]
    assert len(views) == 2  # Slack's retry of Ev1 did not publish again
    assert "CPE-3222" in json.dumps(views[-1])


def test_doctor_reports_each_dependency(runtime: Runtime) -> None:
    sent = runtime.slash("doctor")
    runtime.drain()
    view = runtime.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None
    shown = block_texts(view.blocks)
    for line in ("✅ Redis queue", "✅ Database", "✅ Slack", "✅ Jira", "✅ Jamf Pro", "✅ Ollama", "✅ Config"):
        assert line in shown, shown
    assert "model mode: llama3.2:3b" in shown  # doctor says once which wording mode remedy is in


def test_doctor_says_template_mode_when_the_model_is_not_pulled(runtime: Runtime) -> None:
    runtime.sandbox.ollama_state.models = ["mistral:7b"]
    sent = runtime.slash("doctor")
    runtime.drain()
    view = runtime.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None
    shown = block_texts(view.blocks)
    assert "model llama3.2:3b is not pulled" in shown and "template mode: plain wording, same numbers" in shown


def test_command_palette_from_app_home(runtime: Runtime) -> None:
    runtime.event({"type": "app_home_opened", "user": "U01ALICE", "tab": "home"})
    runtime.drain()
    home = runtime.sandbox.slack_state.home_views["U01ALICE"][-1]
    opened = runtime.press(button(home["blocks"], "Run a command…"), channel=None)
    runtime.drain()
    assert opened.status == 200
    [modal] = runtime.sandbox.slack_state.modals
    assert modal["callback_id"] == "remedy_palette"

    typo = runtime.submit_palette("wrok CPE-3222")
    assert typo.body["response_action"] == "errors" and "Did you mean work?" in typo.body["errors"]["cmd"]

    ran = runtime.submit_palette("work CPE-3222")
    assert ran.status == 200 and ran.body == {}  # the modal closes
    runtime.drain()
    assert len(only_thread(runtime.sandbox.slack_state)) == 2
    answer = runtime.sandbox.slack_state.response_view(ran.response_url)
    assert answer is not None and answer.text.startswith("✅")


def test_button_on_a_channel_card_never_overwrites_the_card(runtime: Runtime) -> None:
    runtime.slash("work CPE-3222")
    runtime.drain()
    slack = runtime.sandbox.slack_state
    card = only_thread(slack)[1]
    before = (card.text, card.edits)
    pressed = runtime.press(button(card.blocks, "Compliance"), message_ts=card.ts)
    runtime.drain()
    card_now = only_thread(slack)[1]
    assert (card_now.text, card_now.edits) == before
    assert slack.response_posts(pressed.response_url)


def test_open_card_from_app_home_posts_in_the_home_channel(runtime: Runtime) -> None:
    runtime.slash("work CPE-3301")
    runtime.drain()
    runtime.event({"type": "app_home_opened", "user": "U01ALICE", "tab": "home"})
    runtime.drain()
    home = runtime.sandbox.slack_state.home_views["U01ALICE"][-1]
    assert runtime.press(button(home["blocks"], "Open card"), channel=None).status == 200
    runtime.drain()
    thread = only_thread(runtime.sandbox.slack_state)
    assert len(thread) == 3 and "CPE-3301" in thread[0].text


def test_jira_not_configured_is_a_clear_refusal(sandbox, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    rt = Runtime.start(sandbox, sqlite_url, JIRA_URL="")
    try:
        sent = rt.slash("work CPE-3222")
        rt.drain()
        view = sandbox.slack_state.response_view(sent.response_url)
        assert view is not None and "missing setting: JIRA_URL" in view.text
        assert buttons(view.blocks) == []
    finally:
        rt.stop()
