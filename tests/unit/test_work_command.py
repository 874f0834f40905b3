"""`/remedy work CPE-3222` end to end in the embedded runtime: signed request → Bolt → queue →
job → Slack simulator, as a user would see it."""

from __future__ import annotations

import json

from remedy import memory
from remedy.audit import verify
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts, button, buttons, only_thread

CHANNEL = "C0CPETEAM"


def test_work_posts_card_in_ticket_thread_and_sets_focus(runtime: Runtime) -> None:
    sent = runtime.slash("work CPE-3222", user="U01ALICE")
    assert sent.status == 200
    assert sent.ack_text.startswith("⏳") and "CPE-3222" in sent.ack_text
    runtime.drain()

    slack = runtime.sandbox.slack_state
    parent, card = only_thread(slack)
    assert "CPE-3222" in parent.text and "Pilot" in parent.text and "Alice Martin" in parent.text
    assert card.thread_ts == parent.ts
    assert card.blocks[0] == {"type": "header",
                              "text": {"type": "plain_text", "text": "CPE-3222 · Chrome 120 security update"}}
    shown = block_texts(card.blocks)
    for expected in ("*Phase*\nPilot", "*Priority*\nHigh", "*Assignee*\nAlice Martin"):
        assert expected in shown
    labels = [b["text"]["text"] for b in buttons(card.blocks)]
    assert labels[:3] == ["Compliance", "Daily update", "Rollout next"] and "Open in Jira" in labels
    value = json.loads(button(card.blocks, "Compliance")["value"])
    assert value["action"] == "compliance" and value["ticket"] == "CPE-3222"

    view = slack.response_view(sent.response_url)
    assert view is not None and view.text.startswith("✅") and "CPE-3222" in view.text
    assert memory.get_focus(runtime.services.db, "U01ALICE") == "CPE-3222"
    result = verify(runtime.services.db)
    assert result.ok and result.checked == 1


def test_second_work_reuses_the_home_thread_and_edits_its_status(runtime: Runtime) -> None:
    runtime.slash("work CPE-3222")
    runtime.drain()
    runtime.slash("work CPE-3222", user="U03JSMITH")
    runtime.drain()
    slack = runtime.sandbox.slack_state
    thread = only_thread(slack)
    assert len(thread) == 3  # one parent, two cards
    assert thread[0].edits == 1  # status line refreshed, not re-posted
    assert memory.get_focus(runtime.services.db, "U03JSMITH") == "CPE-3222"


def test_lowercase_key_and_extra_spaces_are_fine(runtime: Runtime) -> None:
    sent = runtime.slash("  WORK   cpe-3222 ")
    runtime.drain()
    assert "CPE-3222" in sent.ack_text
    assert len(only_thread(runtime.sandbox.slack_state)) == 2


def test_unknown_ticket_gets_a_clear_answer_and_nothing_is_posted(runtime: Runtime) -> None:
    sent = runtime.slash("work CPE-9999")
    runtime.drain()
    slack = runtime.sandbox.slack_state
    view = slack.response_view(sent.response_url)
    assert view is not None and view.text.startswith("❌") and "CPE-9999 not found" in view.text
    assert buttons(view.blocks) == []  # retrying would fail the same way
    assert slack.messages(CHANNEL) == []
    assert memory.get_focus(runtime.services.db, "U01ALICE") is None


def test_my_focus_uses_the_remembered_ticket(runtime: Runtime) -> None:
    first = runtime.slash("my focus")
    runtime.drain()
    none_yet = runtime.sandbox.slack_state.response_view(first.response_url)
    assert none_yet is not None and "work CPE-3222" in none_yet.text  # says how to set one
    runtime.slash("work CPE-3222")
    runtime.drain()
    sent = runtime.slash("my focus")
    runtime.drain()
    view = runtime.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None and "CPE-3222" in view.text
    assert view.blocks[0]["text"]["text"] == "CPE-3222 · Chrome 120 security update"
