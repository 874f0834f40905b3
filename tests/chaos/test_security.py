"""No one let in: over real HTTP (waitress serving the Bolt app, as `remedy serve` does), with real Redis
and PostgreSQL. Forged, unsigned and replayed requests are refused with nothing enqueued; roles hold at
the ack and again in the job; forged go/no-go buttons are refused and audited; Jamf webhooks need the
shared secret; no secret shows up in logs, Slack, job arguments or anywhere in Redis, and Redis holds no
pickles (RQ runs with the JSON serializer: a pickle would let anyone who can write to Redis run code)."""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import select

from remedy.db.models import AuditEvent
from remedy.sandbox.run import Sandbox
from tests.chaos.conftest import ChaosReport
from tests.chaos.http_app import Served, job_keys, press, redis_values, run_jobs, serve, slash, worker_burst
from tests.chaos.test_fuzz import slack_shows
from tests.slackview import block_texts, button, only_thread

ALICE, SARAH, VIEWER = "U01ALICE", "U02SARAH", "U09NOBODY"  # engineer, lead, not in team.yml (viewer)
PILOT = 1  # the simulator's "Pilot - Chrome" group id
PICKLE_HEADERS = tuple(bytes([0x80, proto]) for proto in range(2, 6))


@pytest.fixture
def served(chaos_pg: str, chaos_redis: str) -> Iterator[Served]:
    sandbox = Sandbox.start(fleet_size=60)
    try:
        with serve(sandbox, chaos_pg, chaos_redis) as running:
            yield running
    finally:
        sandbox.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def conn(served: Served) -> redis.Redis:
    return redis.Redis.from_url(served.services.settings.REDIS_URL)


def audited(served: Served) -> list[tuple[str, str | None, dict[str, Any]]]:
    with served.services.db.session() as s:
        return [(e.action, e.target, e.data) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def answer(served: Served, response_url: str) -> str:
    view = served.sandbox.slack_state.response_view(response_url)
    return view.text if view else ""


def test_unsigned_wrongly_signed_and_replayed_requests_are_refused(served: Served, client: httpx.Client,
                                                                     chaos_report: ChaosReport) -> None:
    attempts = [
        slash(served, client, "comment CPE-3222 forged", signed=False)[0],
        slash(served, client, "comment CPE-3222 forged", secret="not-the-signing-secret")[0],
        slash(served, client, "comment CPE-3222 replayed", timestamp=int(time.time()) - 5 * 60 - 5)[0],
        slash(served, client, "comment CPE-3222 from the future", timestamp=int(time.time()) + 10 * 60)[0],
    ]
    body = "token=x&team_id=T0SANDBOX&user_id=U02SARAH&command=%2Fremedy&text=comment+CPE-3222+tampered"
    signed_for_other = slash(served, client, "help")[0].request.headers  # a valid signature, for another body
    copied = {k: v for k, v in signed_for_other.items() if k.lower().startswith("x-slack") or k == "content-type"}
    tampered = client.post(served.url, content=body, headers=copied)
    attempts.append(tampered)
    assert [r.status_code for r in attempts] == [401] * 5
    assert job_keys(conn(served)) == [] and served.services.queue.rq.count == 0  # nothing enqueued
    assert served.sandbox.slack_state.all_messages() == []
    chaos_report.add("security: forged/unsigned/replayed requests", runs=5, refused=5)


def test_roles_hold_and_forged_buttons_are_refused_and_audited(served: Served, client: httpx.Client,
                                                                chaos_report: ChaosReport) -> None:
    jira, jamf = served.sandbox.jira_state, served.sandbox.jamf_state
    viewer, _ = slash(served, client, 'comment CPE-3222 "a viewer writing"', user=VIEWER)
    assert viewer.status_code == 200 and viewer.json()["text"].startswith("🔒") and "viewer" in viewer.json()["text"]
    assert job_keys(conn(served)) == []  # refused at the ack: nothing queued
    for text in ("create jamf policy CPE-3222", "deploy pilot CPE-3222"):
        assert slash(served, client, text, user=ALICE)[0].json()["text"].startswith("⏳")
        run_jobs(served)
    jamf.advance(26 * 3600)  # the pilot soaks
    slash(served, client, "rollout next CPE-3222", user=ALICE)
    run_jobs(served)
    card = next(m for m in reversed(only_thread(served.sandbox.slack_state)) if "No-go" in block_texts(m.blocks))
    go = button(card.blocks, "Go")
    policy = next(p for p in jamf.policies.values() if p.name == "CPE-3222 Chrome 120.0.6099.109")

    by_engineer, engineer_url = press(served, client, go, ALICE, card.ts)  # an engineer cannot approve Go
    value = json.loads(go["value"])
    forged = [press(served, client, {**go, "value": json.dumps({**value, **change})}, SARAH, card.ts)
              for change in ({"ticket": "CPE-3445"}, {"ring": "full"}, {"decision": value["decision"] + 1000})]
    assert all(r.status_code == 200 for r, _ in [(by_engineer, engineer_url), *forged])
    run_jobs(served)
    time.sleep(0.2)  # Bolt answers the engineer from a lazy listener thread
    assert "Only leads and admins" in answer(served, engineer_url)
    assert all("does not match a go/no-go card" in answer(served, u) for _, u in forged)
    refusals = [(a, t, d) for a, t, d in audited(served) if a in ("rollout.refused", "auth.refused")]
    assert [d["why"] for _, _, d in refusals] == ["role", "button does not match", "button does not match",
                                                  "button does not match"], refusals
    assert policy.group_ids == [PILOT] and jira.status_of("CPE-3222") == "Pilot"  # nothing moved
    assert not any("a viewer writing" in json.dumps(c.body) for c in jira.issues["CPE-3222"].comments)
    chaos_report.add("security: roles and forged buttons", runs=5, refused=5)


def test_jamf_webhook_needs_the_shared_secret(served: Served, client: httpx.Client, chaos_report: ChaosReport) -> None:
    url = served.base + "/jamf/webhook"
    body = json.dumps({"webhook": {"id": 7, "name": "remedy", "webhookEvent": "ComputerAdded"}, "event": {}})
    plain = {"Content-Type": "application/json"}
    refused = [client.post(url, content=body, headers=plain),
               client.post(url, content=body, headers={**plain, "X-Remedy-Webhook-Secret": "guess"}),
               client.post(url, content=body, headers=plain, auth=("jamf", "guess"))]
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert all(served.webhook_secret not in r.text for r in refused)
    accepted = client.post(url, content=body, headers={**plain, "X-Remedy-Webhook-Secret": served.webhook_secret})
    assert accepted.status_code in (200, 202)
    chaos_report.add("security: jamf webhook secret", runs=4, applied=1, refused=3)


def test_no_secret_in_logs_slack_or_jobs_and_no_pickles(served: Served, client: httpx.Client,
                                                        caplog: pytest.LogCaptureFixture,
                                                        chaos_report: ChaosReport) -> None:
    caplog.set_level(logging.DEBUG)
    served.sandbox.jira_state.fail_next(401, times=2, path_contains="CPE-3301")  # a credentials error, worded
    served.sandbox.jamf_state.fail_next(503, times=10, path_contains="computers-inventory")
    commands = ["work CPE-3222", 'comment CPE-3222 "security scan"', "work CPE-3301", "compliance CPE-3222",
                "priorities", "doctor"]
    urls = [slash(served, client, text, user=SARAH)[1] for text in commands]
    client.post(served.base + "/jamf/webhook", content="{}", headers={"X-Remedy-Webhook-Secret": "wrong"})
    keys_queued = job_keys(conn(served))
    job_fields = [value for key in keys_queued for value in conn(served).hgetall(key).values()]
    worker = worker_burst(served)
    answers = [answer(served, u) for u in urls]
    assert all(answers), answers  # every command got its answer from the worker
    assert "Jira rejected the credentials" in answers[2]

    haystacks: dict[str, list[str]] = {
        "web app log": [r.getMessage() + str(r.exc_info or "") for r in caplog.records],
        "worker stderr": [worker.stderr, worker.stdout],
        "slack": slack_shows(served.sandbox.slack_state)
        + [json.dumps(c.params) for c in served.sandbox.slack_state.calls()],
        "job arguments": [_text(v) for v in job_fields],
        "redis": [_text(v) for _, v in redis_values(conn(served))],
    }
    assert len(keys_queued) >= len(commands) and haystacks["worker stderr"][0]  # the scan has material
    leaks = [(where, name) for where, texts in haystacks.items() for name, secret in served.secrets().items()
             if any(secret in text for text in texts)]
    assert leaks == []
    pickled = [key for key, value in redis_values(conn(served)) if _unzipped(value).startswith(PICKLE_HEADERS)]
    assert pickled == []
    chaos_report.add("security: secrets and pickles scan", runs=len(commands), applied=len(commands))


def _unzipped(value: bytes) -> bytes:
    """RQ stores a job's data zlib-compressed: look inside."""
    try:
        return zlib.decompress(value)
    except zlib.error:
        return value


def _text(value: bytes) -> str:
    return _unzipped(value).decode("utf-8", "replace")
