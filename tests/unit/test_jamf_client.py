"""JamfClient against the Jamf Pro simulator: in-process through ``httpx.WSGITransport`` (same app, no
port) and once over a real socket. Simulated time (``state.advance``) drives token expiry and rollouts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest

from remedy.jamf import (
    VERSIONS,
    JamfAuthError,
    JamfClient,
    JamfConflict,
    JamfInvalid,
    JamfNotFound,
    JamfRateLimited,
    JamfUnavailable,
    PolicySpec,
    api_path,
    compliance,
)
from remedy.jamf.http import error_for
from remedy.sandbox.jamf import JamfState, create_app, routes
from remedy.sandbox.seed import REMEDIATION_FACTS
from remedy.sandbox.server import serve

SECRET = "sandbox-jamf-secret"
CHROME = REMEDIATION_FACTS["CPE-3222"]
PILOT_GROUP, CHROME_PACKAGE = 1, 1
DAY = 24 * 3600.0


class InFlight:
    """WSGI middleware counting requests inside the app at once; inventory calls linger to overlap."""

    def __init__(self, app: Any, linger: float = 0.02) -> None:
        self.app, self.linger = app, linger
        self.now = self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            if "computers-inventory" in environ.get("PATH_INFO", ""):
                time.sleep(self.linger)
            return list(self.app(environ, start_response))
        finally:
            with self._lock:
                self.now -= 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def state() -> JamfState:
    return JamfState.seeded(n=900)


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_client(app: Any, sleeps: list[float] | None = None, **kwargs: Any) -> JamfClient:
    recorded = sleeps if sleeps is not None else []
    return JamfClient("http://jamf.test", "remedy-sandbox", SECRET, transport=httpx.WSGITransport(app=app),
                      sleep=recorded.append, **kwargs)  # fmt: skip


@pytest.fixture
def jamf(state: JamfState, sleeps: list[float]) -> Iterator[JamfClient]:
    with make_client(create_app(state), sleeps) as client:
        yield client


def token_requests(state: JamfState) -> int:
    return sum(1 for r in state.requests if r.path.endswith("/oauth/token"))


# -- auth ---------------------------------------------------------------------------------------
def test_token_is_fetched_once_and_reused(jamf: JamfClient, state: JamfState) -> None:
    assert jamf.version().startswith("11.")
    assert len(jamf.smart_groups()) == 4
    assert jamf.token_fetches == 1 and token_requests(state) == 1


def test_token_is_refreshed_before_it_expires(state: JamfState) -> None:
    clock = FakeClock()
    with make_client(create_app(state), clock=clock) as jamf:
        jamf.version()
        clock.now += 1000  # 200 s of 1200 left: still comfortably valid
        jamf.version()
        assert jamf.token_fetches == 1
        clock.now += 150  # 50 s left: renew now rather than race the expiry
        jamf.version()
        assert jamf.token_fetches == 2
    assert all(r.status == 200 for r in state.requests)  # the refresh avoided any 401


def test_a_401_renews_the_token_once_and_repeats_the_call(jamf: JamfClient, state: JamfState) -> None:
    jamf.version()
    state.expire_tokens()  # Jamf's clock disagrees with ours: the cached token is dead
    assert jamf.version()
    assert jamf.token_fetches == 2
    assert [r.status for r in state.requests if "jamf-pro-version" in r.path] == [200, 401, 200]


def test_a_401_after_a_refresh_is_an_auth_error(jamf: JamfClient, state: JamfState) -> None:
    state.fail_next(401, times=2, path_contains="jamf-pro-version")
    with pytest.raises(JamfAuthError):
        jamf.version()
    assert jamf.token_fetches == 2


def test_bad_credentials_say_so_without_the_secret(state: JamfState) -> None:
    transport = httpx.WSGITransport(app=create_app(state))
    jamf = JamfClient("http://jamf.test", "remedy-sandbox", "wrong-secret", transport=transport)
    with jamf, pytest.raises(JamfAuthError) as caught:
        jamf.version()
    assert "credentials" in str(caught.value) and "wrong-secret" not in str(caught.value)


def test_over_real_http_health_version_and_inventory(state: JamfState) -> None:
    with serve(create_app(state), state) as sim, JamfClient(sim.url, "remedy-sandbox", SECRET) as jamf:
        assert jamf.health() is True
        assert jamf.version()
        assert sum(1 for _ in jamf.inventory(page_size=300, concurrency=3)) == 900


def test_health_is_false_when_nothing_listens() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    with JamfClient(f"http://127.0.0.1:{port}", "id", "secret", max_tries=2, sleep=sleeps.append) as jamf:
        assert jamf.health() is False
        with pytest.raises(JamfUnavailable, match="could not connect"):
            jamf.version()
    assert len(sleeps) == 2  # connection refused is retried: nothing reached Jamf


# -- inventory ------------------------------------------------------------------------------------
def test_inventory_streams_every_mac_in_order_with_five_in_flight_at_most(state: JamfState) -> None:
    app = InFlight(create_app(state))
    with make_client(app) as jamf:
        computers = list(jamf.inventory(page_size=100, concurrency=5))
    assert [c.id for c in computers] == list(range(1, 901))
    assert 2 <= app.peak <= 5
    assert computers[0].name and computers[0].apps and computers[0].last_contact is not None


def test_inventory_holds_only_a_few_pages_ahead(jamf: JamfClient, state: JamfState) -> None:
    stream = jamf.inventory(page_size=100, concurrency=3)
    first = [next(stream) for _ in range(150)]
    fetched = sum(1 for r in state.requests if "computers-inventory" in r.path)
    stream.close()  # the caller stops early: pending pages are dropped
    assert first[-1].id == 150
    assert fetched <= 1 + 3 + 1  # page 0, three ahead, one refill after page 1 was handed over


def test_inventory_rejects_pages_jamf_would_refuse(jamf: JamfClient) -> None:
    with pytest.raises(JamfInvalid, match="2000"):
        next(jamf.inventory(page_size=5000))


def test_inventory_page_failures_are_retried(jamf: JamfClient, state: JamfState, sleeps: list[float]) -> None:
    state.fail_next(503, times=2, path_contains="computers-inventory")
    assert sum(1 for _ in jamf.inventory(page_size=450)) == 900
    assert len(sleeps) == 2 and all(0 <= s <= 30 for s in sleeps)


# -- retries and errors -------------------------------------------------------------------------
def test_5xx_is_retried_then_unavailable(jamf: JamfClient, state: JamfState, sleeps: list[float]) -> None:
    state.fail_next(503, times=4, path_contains="packages")
    with pytest.raises(JamfUnavailable, match="HTTP 503"):
        jamf.packages()
    assert len(sleeps) == 3
    assert len(jamf.packages()) == 4  # the failures are used up


def test_a_policy_create_is_not_resent_after_a_502(jamf: JamfClient, state: JamfState, sleeps: list[float]) -> None:
    state.fail_next(502, times=1, path_contains="/policies/id/0")
    with pytest.raises(JamfUnavailable):
        jamf.create_policy(PolicySpec(name="Chrome 120", package_id=CHROME_PACKAGE))
    assert sleeps == []  # Jamf may have created it: find_policy_by_name decides, not a blind retry


def test_error_mapping_reads_retry_after_and_classic_pages() -> None:
    request = httpx.Request("GET", "http://jamf.test/x")
    limited = error_for(httpx.Response(429, headers={"Retry-After": "7"}, request=request), "/x")
    assert isinstance(limited, JamfRateLimited) and limited.retry_after == 7
    page = "<html><p style='x'>Conflict</p>\n<p>Error: Duplicate name</p></html>"
    conflict = error_for(httpx.Response(409, text=page, request=request), "/x")
    assert isinstance(conflict, JamfConflict) and conflict.message.endswith("Duplicate name")
    body = {"httpStatus": 400, "errors": [{"code": "X", "description": "name must not be blank", "field": "name"}]}
    invalid = error_for(httpx.Response(400, json=body, request=request), "/x")
    assert isinstance(invalid, JamfInvalid) and invalid.field_errors == {"name": "name must not be blank"}


def test_versions_table_matches_the_paths_jamf_serves() -> None:
    served = {path for _, path in routes()}
    for endpoint in VERSIONS:
        assert api_path(endpoint) in served or f"{api_path(endpoint)}/{{id}}" in served, endpoint


# -- groups and packages --------------------------------------------------------------------------
def test_groups_members_and_a_duplicate_smart_group(jamf: JamfClient, state: JamfState) -> None:
    groups = {g.name: g for g in jamf.smart_groups()}
    pilot = groups["Pilot - Chrome"]
    assert pilot.member_count == len(jamf.group_members(pilot.id)) == 45
    assert jamf.group_members(pilot.id) == [index + 1 for index in state.groups[pilot.id].members]
    new_id = jamf.create_smart_group("Chrome behind", [{"name": "Application Title", "value": "Chrome"}])
    # Smart and static groups share one id space: 1-4 are the smart rings, 5 the static "Pilot".
    assert new_id == 6 and jamf.group_members(new_id) == []
    with pytest.raises(JamfConflict, match="already exists"):
        jamf.create_smart_group("chrome BEHIND", [])
    with pytest.raises(JamfNotFound, match="Smart group 99 not found"):
        jamf.group_members(99)


def test_packages(jamf: JamfClient) -> None:
    packages = jamf.packages()
    assert [p.id for p in packages] == [1, 2, 3, 4]
    chrome = jamf.package(CHROME_PACKAGE)
    assert chrome.file_name == f"GoogleChrome-{CHROME.target_version}.pkg" and chrome.hash_type == "SHA_512"
    with pytest.raises(JamfNotFound, match="Package 99 not found"):
        jamf.package(99)


# -- policies -----------------------------------------------------------------------------------
def test_policy_create_duplicate_scope_and_enable(jamf: JamfClient) -> None:
    spec = PolicySpec(name="Chrome 120 <pilot> & co", package_id=CHROME_PACKAGE, group_ids=(1,), category="Web")
    policy_id = jamf.create_policy(spec)
    assert policy_id == 1
    with pytest.raises(JamfConflict, match="Duplicate name"):
        jamf.create_policy(spec)
    jamf.set_policy_scope(policy_id, [2, 3])
    jamf.set_policy_scope(policy_id, [3])  # a PUT replaces the list: group 2 is gone
    jamf.enable_policy(policy_id, True)
    policy = jamf.get_policy(policy_id)
    assert (policy.name, policy.enabled, policy.group_ids, policy.package_ids) == (spec.name, True, (3,), (1,))
    assert policy.trigger_checkin is True
    assert jamf.find_policy_by_name("chrome 120 <PILOT> & co") == policy_id
    assert jamf.find_policy_by_name("Zoom") is None
    jamf.update_policy(policy_id, spec.model_copy(update={"name": "Chrome 120 pilot", "enabled": False}))
    assert jamf.get_policy(policy_id).name == "Chrome 120 pilot"
    with pytest.raises(JamfConflict, match="computer group 42"):
        jamf.set_policy_scope(policy_id, [42])
    with pytest.raises(JamfNotFound, match="Policy 9 not found"):
        jamf.get_policy(9)


# -- compliance -----------------------------------------------------------------------------------
def test_compliance_after_a_pilot_rollout_matches_the_simulator(jamf: JamfClient, state: JamfState) -> None:
    pilot = set(jamf.group_members(PILOT_GROUP))
    before = compliance(jamf, CHROME.bundle_id, CHROME.target_version, pilot)
    jamf.create_policy(PolicySpec(name="Chrome pilot", package_id=CHROME_PACKAGE, group_ids=(PILOT_GROUP,),
                                  enabled=True))  # fmt: skip
    state.advance(DAY)  # the pilot Macs check in; the token expired in simulated time meanwhile
    after = compliance(jamf, CHROME.bundle_id, CHROME.target_version, pilot)
    expected = state.compliance(CHROME.bundle_id, CHROME.target_version, [str(i) for i in sorted(pilot)])
    assert (after.compliant, after.total_with_app) == (expected.compliant, expected.total)
    assert after.behind == [int(i) for i in expected.behind]
    assert after.compliant > before.compliant and after.missing_app == len(pilot) - after.total_with_app
    fleet = compliance(jamf, CHROME.bundle_id, CHROME.target_version)
    whole = state.compliance(CHROME.bundle_id, CHROME.target_version)
    assert (fleet.compliant, fleet.total_with_app, len(fleet.behind)) == (whole.compliant, whole.total,
                                                                          len(whole.behind))  # fmt: skip
    assert jamf.token_fetches == 2
