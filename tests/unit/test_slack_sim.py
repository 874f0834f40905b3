"""The Slack simulator, driven the way remedy drives Slack: real HTTP, real slack_sdk, real Bolt."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from remedy.sandbox.server import RunningSim, serve
from remedy.sandbox.slack import create_app
from remedy.sandbox.slack_state import BOT_USER_ID, CPE_CHANNEL, Channel, SlackState

CPE, TOKEN = CPE_CHANNEL, "xoxb-sandbox-token"


@pytest.fixture
def sim() -> Iterator[RunningSim]:
    state = SlackState.seeded()
    with serve(create_app(state), state) as running:
        state.base_url = running.url
        yield running


@pytest.fixture
def state(sim: RunningSim) -> SlackState:
    assert isinstance(sim.state, SlackState)
    return sim.state


@pytest.fixture
def client(sim: RunningSim) -> WebClient:
    return WebClient(token=TOKEN, base_url=sim.url + "/api/")


def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


def post_json(url: str, body: dict[str, Any]) -> tuple[int, str]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_thread_reply_update_and_ordering(client: WebClient, state: SlackState) -> None:
    parent = client.chat_postMessage(channel=CPE, text="CPE-3222: Zoom 5.x is vulnerable")
    first = client.chat_postMessage(channel=CPE, text="moved to In Progress", thread_ts=parent["ts"])
    # A reply to a reply lands in the same thread, as in Slack.
    second = client.chat_postMessage(channel=CPE, text="assigned to Sarah", thread_ts=first["ts"])
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*CPE-3222* done"}}]
    updated = client.chat_update(channel=CPE, ts=parent["ts"], text="CPE-3222: fixed", blocks=blocks)

    assert updated["text"] == "CPE-3222: fixed"
    assert [m.text for m in state.messages(CPE)] == ["CPE-3222: fixed"]
    thread = state.thread(CPE, parent["ts"])
    assert [m.ts for m in thread] == [parent["ts"], first["ts"], second["ts"]]
    assert float(parent["ts"]) < float(first["ts"]) < float(second["ts"])
    assert second["message"]["thread_ts"] == parent["ts"]
    assert thread[0].edits == 1
    assert thread[0].history == [("CPE-3222: Zoom 5.x is vulnerable", [])]
    assert thread[0].blocks == blocks and thread[0].user == BOT_USER_ID
    assert state.replies(CPE, parent["ts"]) == thread[1:]
    assert state.find("assigned to")[0].ts == second["ts"]
    assert len(state.calls("chat.postMessage")) == 3
    history = client.conversations_history(channel=CPE)
    assert [m["ts"] for m in history["messages"]] == [parent["ts"]]
    assert history["messages"][0]["reply_count"] == 2


def test_metadata_round_trips_through_replies(client: WebClient) -> None:
    metadata = {"event_type": "remedy_ticket", "event_payload": {"key": "CPE-3222", "phase": "triage"}}
    parent = client.chat_postMessage(channel=CPE, text="CPE-3222", metadata=metadata)
    client.chat_postMessage(channel=CPE, text="reply", thread_ts=parent["ts"])

    with_meta = client.conversations_replies(channel=CPE, ts=parent["ts"], include_all_metadata=True)
    without = client.conversations_replies(channel=CPE, ts=parent["ts"])

    assert with_meta["messages"][0]["metadata"] == metadata
    assert len(with_meta["messages"]) == 2 and with_meta["has_more"] is False
    assert "metadata" not in without["messages"][0]
    assert error_of(lambda: client.conversations_replies(channel=CPE, ts="1.000001")) == "thread_not_found"


def test_form_encoded_blocks_and_metadata_are_accepted(client: WebClient, state: SlackState) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
    metadata = {"event_type": "x", "event_payload": {"a": 1}}
    # api_call with params= sends a form body, where slack_sdk JSON-encodes structured fields.
    client.api_call("chat.postMessage", params={"channel": CPE, "blocks": json.dumps(blocks),
                                                "metadata": json.dumps(metadata)})
    message = state.messages(CPE)[-1]
    assert message.blocks == blocks and message.metadata == metadata
    assert state.calls("chat.postMessage")[-1].params["blocks"] == blocks


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_auth_and_channel_errors(sim: RunningSim, client: WebClient) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=sim.url + "/api/")
    anonymous = WebClient(base_url=sim.url + "/api/")
    assert error_of(lambda: wrong.chat_postMessage(channel=CPE, text="x")) == "invalid_auth"
    assert error_of(lambda: anonymous.auth_test()) == "not_authed"
    assert error_of(lambda: client.chat_postMessage(channel="C0NOPE", text="x")) == "channel_not_found"
    assert error_of(lambda: client.chat_postMessage(channel=CPE)) == "no_text"
    assert error_of(lambda: client.chat_update(channel=CPE, ts="1.1", text="x")) == "message_not_found"
    assert error_of(lambda: client.api_call("chat.nope")) == "unknown_method"
    assert error_of(lambda: client.apps_connections_open(app_token=TOKEN)) == "not_allowed_token_type"


def test_block_kit_limits_are_enforced(client: WebClient) -> None:
    too_many = [{"type": "divider"}] * 51
    long_section = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=CPE, text="x", blocks=too_many)
    assert caught.value.response["error"] == "invalid_blocks"
    assert "no more than 50 items" in caught.value.response["response_metadata"]["messages"][0]
    too_long = error_of(lambda: client.chat_postMessage(channel=CPE, text="x", blocks=long_section))
    assert too_long == "invalid_blocks"


def test_users_info_and_lookup_by_email(client: WebClient) -> None:
    sarah = client.users_info(user="U02SARAH")["user"]
    assert sarah["profile"]["email"] == "sarah.chen@example.com"
    assert sarah["tz"] == "Europe/Berlin" and sarah["real_name"] == "Sarah Chen" and sarah["is_bot"] is False
    assert client.users_lookupByEmail(email="Alice@Example.com")["user"]["id"] == "U01ALICE"
    assert error_of(lambda: client.users_info(user="U0NOBODY")) == "user_not_found"
    assert error_of(lambda: client.users_lookupByEmail(email="nobody@example.com")) == "users_not_found"


def test_dm_is_stable_and_recorded(client: WebClient, state: SlackState) -> None:
    opened = client.conversations_open(users="U02SARAH")
    again = client.conversations_open(users="U02SARAH")
    assert opened["channel"]["id"] == again["channel"]["id"] and opened["channel"]["id"].startswith("D")
    assert again["already_open"] is True
    client.chat_postMessage(channel=opened["channel"]["id"], text="CPE-3222 needs you")
    client.chat_postMessage(channel="U02SARAH", text="reminder")  # Slack routes a user id to the DM
    assert [m.text for m in state.dms_to("U02SARAH")] == ["CPE-3222 needs you", "reminder"]
    assert state.dms_to("sarah") == state.dms_to("U02SARAH")
    assert client.conversations_info(channel=opened["channel"]["id"])["channel"]["user"] == "U02SARAH"


def test_ratelimit_then_retry_handler_succeeds(sim: RunningSim, client: WebClient, state: SlackState) -> None:
    state.fail_next("chat.postMessage", status=429, retry_after=0)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=CPE, text="first")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "0"
    assert state.messages(CPE) == []

    state.fail_next("chat.postMessage", status=429, retry_after=0)
    retrying = WebClient(token=TOKEN, base_url=sim.url + "/api/",
                         retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    assert retrying.chat_postMessage(channel=CPE, text="second")["ok"]
    assert [m.text for m in state.messages(CPE)] == ["second"]
    assert len(state.calls("chat.postMessage")) == 3  # every attempt is logged


def test_injected_errors_and_latency(client: WebClient, state: SlackState) -> None:
    state.fail_next("users.info", status=200, error="fatal_error")
    state.fail_next("users.info", status=503)
    assert error_of(lambda: client.users_info(user="U01ALICE")) == "fatal_error"
    with pytest.raises(SlackApiError) as caught:
        client.users_info(user="U01ALICE")
    assert caught.value.response.status_code == 503
    state.set_latency(None, 0.2)
    started = time.monotonic()
    assert client.users_info(user="U01ALICE")["ok"]
    assert time.monotonic() - started >= 0.2


def test_files_upload_v2_end_to_end(client: WebClient, state: SlackState) -> None:
    parent = client.chat_postMessage(channel=CPE, text="CPE-3222")
    result = client.files_upload_v2(channel=CPE, content=b"serial,version\nC02X,5.1\n",
                                    filename="affected.csv", title="Affected Macs",
                                    initial_comment="Affected devices", thread_ts=parent["ts"])
    upload = state.files[result["file"]["id"]]
    assert upload.content == b"serial,version\nC02X,5.1\n"
    assert (upload.filename, upload.title, upload.channel) == ("affected.csv", "Affected Macs", CPE)
    assert (upload.thread_ts, upload.initial_comment) == (parent["ts"], "Affected devices")
    reply = state.replies(CPE, parent["ts"])[-1]
    assert reply.files == [upload.id] and reply.text == "Affected devices"


def test_ephemeral_and_app_home(client: WebClient, state: SlackState) -> None:
    sent = client.chat_postEphemeral(channel=CPE, user="U01ALICE", text="only you")
    assert state.ephemerals[-1].text == "only you" and state.ephemerals[-1].source == "postEphemeral"
    assert sent["message_ts"] == state.ephemerals[-1].ts
    view = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "3 open"}}]}
    client.views_publish(user_id="U01ALICE", view=view)
    client.views_publish(user_id="U01ALICE", view={**view, "blocks": []})
    assert [v["blocks"] for v in state.home_views["U01ALICE"]] == [view["blocks"], []]


def test_permalink(client: WebClient) -> None:
    parent = client.chat_postMessage(channel=CPE, text="p")
    reply = client.chat_postMessage(channel=CPE, text="r", thread_ts=parent["ts"])
    link = client.chat_getPermalink(channel=CPE, message_ts=reply["ts"])["permalink"]
    assert link.startswith(f"https://sandbox.slack.com/archives/{CPE}/p{reply['ts'].replace('.', '')}")
    assert f"thread_ts={parent['ts']}" in link


def test_response_url_replace_original_and_in_channel(client: WebClient, state: SlackState) -> None:
    card = client.chat_postMessage(channel=CPE, text="Approve CPE-3222?")
    url = state.new_response_url(CPE, "U01ALICE", message_ts=card["ts"])
    assert post_json(url, {"text": "working on it"}) == (200, '{"ok": true}')
    assert post_json(url, {"text": "Approved by Alice", "replace_original": True})[0] == 200
    view = state.response_view(url)
    assert view is not None and view.text == "Approved by Alice" and view.replace_original
    assert state.messages(CPE)[0].text == "Approved by Alice"
    assert post_json(url, {"text": "for everyone", "response_type": "in_channel"})[0] == 200
    assert state.messages(CPE)[-1].text == "for everyone"
    assert post_json(url, {"delete_original": True})[0] == 200
    assert state.response_view(url) is None
    assert [m.text for m in state.messages(CPE)] == ["for everyone"]
    assert [p.text for p in state.response_posts(url)][:2] == ["working on it", "Approved by Alice"]


def test_response_url_allows_five_uses(state: SlackState) -> None:
    url = state.new_response_url(CPE, "U01ALICE")
    for n in range(5):
        assert post_json(url, {"text": f"update {n}", "replace_original": True})[0] == 200
    assert post_json(url, {"text": "one too many"}) == (404, "used_url")
    view = state.response_view(url)
    assert view is not None and view.text == "update 4" and len(state.response_posts(url)) == 5


def test_response_url_expires_after_30_minutes(state: SlackState) -> None:
    now = [1_764_072_000.0]
    state.clock = lambda: now[0]
    url = state.new_response_url(CPE, "U01ALICE")
    now[0] += 29 * 60
    assert post_json(url, {"text": "still fine"})[0] == 200
    now[0] += 2 * 60
    assert post_json(url, {"text": "too late"}) == (404, "expired_url")


def test_bolt_app_constructs_against_the_sim(sim: RunningSim, state: SlackState) -> None:
    app = App(client=WebClient(token=TOKEN, base_url=sim.url + "/api/"), signing_secret="sandbox-secret")
    assert app.client.auth_test()["user_id"] == BOT_USER_ID
    assert [c.method for c in state.calls()] == ["auth.test", "auth.test"]
    socket = WebClient(base_url=sim.url + "/api/").apps_connections_open(app_token="xapp-sandbox-token")
    assert socket["url"].startswith("ws://")


def test_read_methods_answer_get_with_query_string(sim: RunningSim) -> None:
    url = f"{sim.url}/api/users.info?user=U01ALICE&token={TOKEN}"
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.loads(response.read())
    assert body["ok"] and body["user"]["name"] == "alice"


def test_orphan_reply_and_human_messages(client: WebClient, state: SlackState) -> None:
    # Real Slack accepts a thread_ts that names no message; the reply is then visible nowhere.
    orphan = client.chat_postMessage(channel=CPE, text="lost", thread_ts="1700000000.000001")
    assert orphan["ok"] and state.messages(CPE) == [] and state.thread(CPE, orphan["ts"]) == []
    human = state.post_message(CPE, text="I rebooted it", user="U01ALICE")
    assert error_of(lambda: client.chat_update(channel=CPE, ts=human.ts, text="x")) == "cant_update_message"
    assert client.conversations_history(channel=CPE)["messages"][0]["user"] == "U01ALICE"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=2e9, allow_nan=False), min_size=1, max_size=30))
def test_timestamps_strictly_increase_whatever_the_clock_does(readings: list[float]) -> None:
    state, clock = SlackState(), iter(readings)
    state.clock = lambda: next(clock)
    state.channels[CPE] = Channel(CPE, "cpe-remediation")
    stamps = [state.post_message(CPE, text="x").ts for _ in readings]
    assert all(float(a) < float(b) for a, b in pairwise(stamps))
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)
