"""Jamf webhooks at `POST /jamf/webhook`, through the WSGI app `remedy serve` runs: the shared secret
(header or Basic auth), deduplication of redeliveries, one refresh per ticket per minute, snapshots
equal to what `compliance KEY` shows, and one "ready for `rollout next`" notice per ring."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.test import Client, TestResponse

from bot.jamf_webhook import PATH, REFRESH_KEY, JamfWebhooks
from bot.server import wsgi_app
from remedy.db.models import AuditEvent, ComplianceSnapshot
from remedy.queue import QueueUnavailable, connect
from remedy.remediation import store
from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts, only_thread

SECRET = "s3cret-shared-with-jamf"
HOUR = 3600
PILOT_GROUP, PHASE1_GROUP = 1, 2  # the simulator's "Pilot - Chrome" and "Phase 1"
READY = "ready for `rollout next CPE-3222`"
Row = tuple[str | None, int, int, int | None]


@pytest.fixture
def hooked(sandbox: Sandbox, sqlite_url: str) -> Iterator[Runtime]:
    """The embedded runtime with webhooks turned on."""
    rt = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1,
                       REMEDY_JAMF_WEBHOOK_SECRET=SECRET)
    yield rt
    rt.stop()


def _client(rt: Runtime) -> Client:
    return Client(wsgi_app(rt.app, JamfWebhooks.from_services(rt.services)))


def _post(rt: Runtime, body: bytes, secret: str | None = SECRET, client: Client | None = None) -> TestResponse:
    headers = {"X-Remedy-Webhook-Secret": secret} if secret is not None else {}
    return (client or _client(rt)).post(PATH, data=body, headers=headers, content_type="application/json")


def _envelope(event_type: str, event: dict[str, Any], hook_id: int = 1) -> bytes:
    return json.dumps({"webhook": {"id": hook_id, "name": "remedy", "webhookEvent": event_type},
                       "event": event}).encode()


def _policy_event(policy_id: int, computer: int = 7, successful: bool = True) -> bytes:
    mac = {"jssID": computer, "udid": f"UDID-{computer:04d}", "serialNumber": f"C02X{computer:04d}",
           "deviceName": f"mac-{computer}", "username": "someone"}
    return _envelope("ComputerPolicyFinished", {"computer": mac, "policyId": policy_id, "successful": successful})


def _group_event(group_id: int, added: list[int]) -> bytes:
    return _envelope("SmartGroupComputerMembershipChange", {
        "name": "Pilot - Chrome", "smartGroup": True, "jssid": group_id, "groupAddedDevicesIds": added,
        "groupRemovedDevicesIds": [], "groupAddedDevices": [], "groupRemovedDevices": []}, hook_id=2)


def _run(rt: Runtime, text: str) -> str:
    sent = rt.slash(text)
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return view.text if view else sent.ack_text


def _deployed(rt: Runtime, hours: float = 26) -> int:
    """The CPE-3222 pilot deployed ``hours`` of simulated time ago; returns its policy id."""
    assert _run(rt, "create jamf policy CPE-3222").startswith("✅")
    assert _run(rt, "deploy pilot CPE-3222").startswith("✅")
    rt.sandbox.jamf_state.advance(hours * HOUR)
    known = store.load(rt.services.db, "CPE-3222")
    assert known is not None and known.policy is not None
    return known.policy.policy_id


def _refreshes(rt: Runtime) -> int:
    """Refresh jobs the webhook endpoint ever enqueued (queued, running or done)."""
    return len(rt.services.queue.recent_for("jamf-webhook", limit=20))


def _snapshots(rt: Runtime) -> list[Row]:
    with rt.services.db.session() as s:
        rows = s.scalars(select(ComplianceSnapshot).where(ComplianceSnapshot.ticket_key == "CPE-3222")
                         .order_by(ComplianceSnapshot.id))
        return [(r.ring, r.compliant, r.total, r.failures) for r in rows]


def _ready_replies(rt: Runtime) -> list[str]:
    return [m.text for m in only_thread(rt.sandbox.slack_state)[1:] if READY in block_texts(m.blocks)]


def _audited(rt: Runtime, action: str) -> int:
    with rt.services.db.session() as s:
        return len(list(s.scalars(select(AuditEvent.seq).where(AuditEvent.action == action))))


def _reopen_window(rt: Runtime) -> None:
    """As if the debounce minute had passed."""
    rt.services.redis.delete(REFRESH_KEY.format(key="CPE-3222"))


def test_wrong_or_missing_secret_is_refused_and_never_logged(hooked: Runtime,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    policy = _deployed(hooked)
    caplog.set_level(logging.DEBUG)
    wrong_basic = "Basic " + base64.b64encode(b"jamf:not-the-secret").decode()
    for resp in (_post(hooked, _policy_event(policy), secret=None),
                 _post(hooked, _policy_event(policy), secret="not-the-secret"),
                 _client(hooked).post(PATH, data=_policy_event(policy), headers={"Authorization": wrong_basic})):
        assert resp.status_code == 401
    assert _refreshes(hooked) == 0 and hooked.services.queue.rq.count == 0
    assert "no secret" in caplog.text and "wrong secret" in caplog.text
    assert "not-the-secret" not in caplog.text and SECRET not in caplog.text


def test_basic_auth_password_is_accepted(hooked: Runtime) -> None:
    policy = _deployed(hooked)
    basic = "Basic " + base64.b64encode(f"jamf:{SECRET}".encode()).decode()
    resp = _client(hooked).post(PATH, data=_policy_event(policy), headers={"Authorization": basic})
    assert resp.status_code == 202 and "CPE-3222" in resp.get_data(as_text=True)
    assert _refreshes(hooked) == 1


def test_policy_event_stores_the_snapshots_compliance_shows(hooked: Runtime) -> None:
    policy = _deployed(hooked)
    before = len(_snapshots(hooked))
    resp = _post(hooked, _policy_event(policy, successful=False))
    assert resp.status_code == 202 and _refreshes(hooked) == 1
    hooked.drain()
    refreshed = _snapshots(hooked)[before:]
    assert [ring for ring, *_ in refreshed] == [None, "pilot"]  # the fleet, then each started ring

    answer = _run(hooked, "compliance CPE-3222")
    shown = _snapshots(hooked)[before + len(refreshed):]
    assert shown == refreshed
    _, compliant, total, _ = refreshed[1]
    assert f"({compliant}/{total})" in answer and answer.startswith("✅")


def test_the_same_delivery_twice_queues_one_job(hooked: Runtime) -> None:
    policy = _deployed(hooked)
    body = _policy_event(policy)
    assert _post(hooked, body).status_code == 202
    _reopen_window(hooked)  # even past the debounce minute, a redelivery is recognised
    again = _post(hooked, body)
    assert again.status_code == 200 and "duplicate" in again.get_data(as_text=True)
    assert _refreshes(hooked) == 1


def test_a_rollout_burst_is_one_refresh_per_minute(hooked: Runtime) -> None:
    policy = _deployed(hooked)
    client = _client(hooked)
    codes = [_post(hooked, _policy_event(policy, computer=100 + n), client=client).status_code for n in range(50)]
    assert codes[0] == 202 and set(codes[1:]) == {200}
    assert _refreshes(hooked) == 1 and hooked.services.queue.rq.count == 1
    _reopen_window(hooked)
    assert _post(hooked, _policy_event(policy, computer=999), client=client).status_code == 202
    assert _refreshes(hooked) == 2


def test_events_remedy_does_not_track_are_answered_without_work(hooked: Runtime) -> None:
    policy = _deployed(hooked)
    before = _snapshots(hooked)
    unknown_policy = _post(hooked, _policy_event(policy + 100))
    assert unknown_policy.status_code == 200 and "no remediation" in unknown_policy.get_data(as_text=True)
    pending_ring = _post(hooked, _group_event(PHASE1_GROUP, [11, 12]))  # Phase 1 has not started
    assert pending_ring.status_code == 200
    other = _post(hooked, _envelope("ComputerCheckIn", {"computer": {"jssID": 7}}))
    assert other.status_code == 202 and "ignored" in other.get_data(as_text=True)
    assert _refreshes(hooked) == 0
    hooked.drain()
    assert _snapshots(hooked) == before


def test_group_change_refreshes_the_tickets_whose_rings_use_it(hooked: Runtime) -> None:
    _deployed(hooked)
    assert store.tickets_for_group(hooked.services.db, PILOT_GROUP) == ["CPE-3222"]
    assert store.tickets_for_group(hooked.services.db, PHASE1_GROUP) == []
    resp = _post(hooked, _group_event(PILOT_GROUP, [41]))
    assert resp.status_code == 202 and _refreshes(hooked) == 1
    hooked.drain()
    assert any(ring == "pilot" for ring, *_ in _snapshots(hooked))


def test_bad_requests_get_400_or_405(hooked: Runtime) -> None:
    client = _client(hooked)
    assert _post(hooked, b"{not json", client=client).status_code == 400
    assert _post(hooked, json.dumps({"event": {}}).encode(), client=client).status_code == 400
    no_policy = _envelope("ComputerPolicyFinished", {"computer": {"jssID": 7}})
    assert _post(hooked, no_policy, client=client).status_code == 400
    huge = _envelope("ComputerPolicyFinished", {"policyId": 1, "pad": "x" * (1024 * 1024)})
    resp = _post(hooked, huge, client=client)
    assert resp.status_code == 400 and "1 MB" in resp.get_data(as_text=True)
    assert client.get(PATH, headers={"X-Remedy-Webhook-Secret": SECRET}).status_code == 405
    assert _refreshes(hooked) == 0


def test_ring_ready_is_announced_once_after_the_soak(hooked: Runtime) -> None:
    policy = _deployed(hooked, hours=2)
    _post(hooked, _policy_event(policy, computer=1))
    hooked.drain()
    assert _ready_replies(hooked) == []  # 2 h into a 24 h soak

    hooked.sandbox.jamf_state.advance(24 * HOUR)
    for computer in (2, 3):  # two refreshes a minute apart
        _reopen_window(hooked)
        assert _post(hooked, _policy_event(policy, computer=computer)).status_code == 202
        hooked.drain()
    assert _refreshes(hooked) == 3
    replies = _ready_replies(hooked)
    assert len(replies) == 1, replies
    assert replies[0].startswith("✅ Pilot reached ") and "threshold 90%, soaked 26 h — " in replies[0]
    assert _audited(hooked, "rollout.ring_ready") == 1


def test_webhooks_are_refused_while_no_secret_is_set(runtime: Runtime) -> None:
    body = _policy_event(1)
    headers = {"X-Remedy-Webhook-Secret": ""}
    for client in (Client(wsgi_app(runtime.app)), _client(runtime)):
        resp = client.post(PATH, data=body, headers=headers, content_type="application/json")
        assert resp.status_code == 404 and "disabled" in resp.get_data(as_text=True)
    assert _refreshes(runtime) == 0
    assert Client(wsgi_app(runtime.app)).get("/healthz").status_code == 200


def test_redis_down_is_503_so_jamf_delivers_again(hooked: Runtime) -> None:
    policy = _deployed(hooked)
    dead = dataclasses.replace(hooked.services, redis=connect("redis://127.0.0.1:1/0"))
    resp = _post(hooked, _policy_event(policy), client=Client(wsgi_app(hooked.app, JamfWebhooks.from_services(dead))))
    assert resp.status_code == 503 and _refreshes(hooked) == 0
    assert _post(hooked, _policy_event(policy)).status_code == 202  # the redelivery, Redis back


def test_a_failed_enqueue_is_not_remembered_as_received(hooked: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = _deployed(hooked)

    def down(*_: Any, **__: Any) -> None:
        raise QueueUnavailable("queue unreachable: ConnectionError")

    with monkeypatch.context() as patch:
        patch.setattr(hooked.services.queue, "enqueue", down)
        assert _post(hooked, _policy_event(policy)).status_code == 503
    # Jamf's redelivery of the same body is neither a duplicate nor debounced away.
    assert _post(hooked, _policy_event(policy)).status_code == 202
    assert _refreshes(hooked) == 1


def test_cron_re_measures_rollouts_in_progress(hooked: Runtime) -> None:
    # Webhooks can be lost or debounced; the cron safety net re-measures every active rollout.
    from datetime import UTC, datetime

    from workers.cron import SCHEDULE, tick

    _deployed(hooked)
    before = len(_snapshots(hooked))
    entry = next(e for e in SCHEDULE if e.name == "refresh-rollouts")
    assert tick(hooked.services.queue, datetime(2026, 11, 26, 11, 0, tzinfo=UTC), [entry])
    hooked.drain()
    rings = {row[0] for row in _snapshots(hooked)[before:]}
    assert rings == {None, "pilot"}
