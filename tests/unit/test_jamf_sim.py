"""The Jamf Pro simulator: OAuth, inventory paging, groups, packages, Classic policies and a fleet whose
compliance climbs as simulated time passes. Token tests go over a real socket; the rest run in-process
through ``httpx.WSGITransport`` (same app, no port)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest

from remedy.sandbox.fleet import PERMANENT_REASONS, TRANSIENT_REASON, Fleet, compare_versions, version_key
from remedy.sandbox.jamf import MAX_PAGE_SIZE, JamfState, create_app
from remedy.sandbox.seed import REMEDIATION_FACTS
from remedy.sandbox.server import serve

CLIENT = {"grant_type": "client_credentials", "client_id": "remedy-sandbox", "client_secret": "sandbox-jamf-secret"}
CHROME = REMEDIATION_FACTS["CPE-3222"]
INVENTORY = "/api/v4/computers-inventory"
SMART = "/api/v3/computer-groups/smart-groups"
HOUR = 3600.0


def _token(http: httpx.Client, path: str = "/api/oauth/token") -> str:
    answer = http.post(path, data=CLIENT)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


@pytest.fixture
def state() -> JamfState:
    return JamfState.seeded()


@pytest.fixture
def jamf(state: JamfState) -> Iterator[httpx.Client]:
    """An authenticated in-process client."""
    transport = httpx.WSGITransport(app=create_app(state))
    with httpx.Client(transport=transport, base_url="http://jamf.test") as http:
        http.headers["Authorization"] = f"Bearer {_token(http)}"
        yield http


def _policy_xml(name: str, group_ids: list[int], package_id: int, enabled: bool = False) -> str:
    groups = "".join(f"<computer_group><id>{g}</id></computer_group>" for g in group_ids)
    return (f"<policy><general><name>{name}</name><enabled>{str(enabled).lower()}</enabled>"
            f"<trigger_checkin>true</trigger_checkin><frequency>Once per computer</frequency></general>"
            f"<scope><computer_groups>{groups}</computer_groups></scope><package_configuration><packages>"
            f"<package><id>{package_id}</id><action>Install</action></package></packages>"
            f"</package_configuration></policy>")  # fmt: skip


def _group_id(jamf: httpx.Client, name: str) -> int:
    groups = jamf.get(SMART, params={"page-size": 100}).json()["results"]
    return int(next(g["id"] for g in groups if g["name"] == name))


def _package_id(jamf: httpx.Client, file_name: str) -> int:
    packages = jamf.get("/api/v1/packages").json()["results"]
    return int(next(p["id"] for p in packages if p["fileName"] == file_name))


# -- auth ----------------------------------------------------------------------------------------------
def test_token_flow_over_http_expires_with_simulated_time(state: JamfState) -> None:
    with serve(create_app(state), state) as sim, httpx.Client(base_url=sim.url) as http:
        assert http.get("/healthCheck.html").json() == []  # no credentials needed: doctor's probe
        assert http.get("/api/v1/jamf-pro-version").status_code == 401
        answer = http.post("/api/v1/oauth/token", data=CLIENT).json()
        assert answer["token_type"] == "Bearer" and answer["expires_in"] == 1200 and answer["scope"]
        bearer = {"Authorization": f"Bearer {answer['access_token']}"}
        assert http.get("/api/v1/jamf-pro-version", headers=bearer).json()["version"].startswith("11.")
        state.advance(1199)
        assert http.get("/api/v1/jamf-pro-version", headers=bearer).status_code == 200
        state.advance(2)
        expired = http.get("/api/v1/jamf-pro-version", headers=bearer)
        assert expired.status_code == 401 and expired.json()["httpStatus"] == 401
        classic = http.get("/JSSResource/policies", headers=bearer)
        assert classic.status_code == 401 and "<html>" in classic.text  # Classic errors are HTML pages
        wrong = http.post("/api/oauth/token", data={**CLIENT, "client_secret": "nope"})
        assert wrong.status_code == 401 and wrong.json() == {"error": "invalid_client"}
        assert http.post("/api/oauth/token", data={**CLIENT, "grant_type": "password"}).status_code == 400


def test_expire_tokens_and_wrong_bearer(state: JamfState, jamf: httpx.Client) -> None:
    assert jamf.get("/api/v1/packages").status_code == 200
    assert jamf.get("/api/v1/packages", headers={"Authorization": "Bearer forged"}).status_code == 401
    state.expire_tokens()
    assert jamf.get("/api/v1/packages").status_code == 401
    jamf.headers["Authorization"] = f"Bearer {_token(jamf)}"  # a new token works again
    assert jamf.get("/api/v1/packages").status_code == 200


# -- inventory -----------------------------------------------------------------------------------------
def test_inventory_pages_from_zero_with_total_count(jamf: httpx.Client) -> None:
    sections = ["GENERAL", "APPLICATIONS", "OPERATING_SYSTEM", "USER_AND_LOCATION"]
    seen: list[str] = []
    for page in range(3):
        body = jamf.get(INVENTORY, params={"section": sections, "page": page, "page-size": 400}).json()
        assert body["totalCount"] == 900
        seen += [d["id"] for d in body["results"]]
    assert len(seen) == len(set(seen)) == 900
    first = jamf.get(INVENTORY, params={"section": sections, "page-size": 1}).json()["results"][0]
    assert first["general"]["name"] == "MAC-00001" and first["general"]["lastContact"].endswith("Z")
    assert first["operatingSystem"]["version"].split(".")[0] in {"13", "14", "15"}
    assert first["userAndLocation"]["departmentId"]
    assert {"name", "bundleId", "version", "path"} <= set(first["applications"][0])
    only_general = jamf.get(INVENTORY, params={"page-size": 1}).json()["results"][0]
    assert only_general["applications"] is None and only_general["general"]["name"] == "MAC-00001"
    newest = jamf.get(INVENTORY, params={"page-size": 1, "sort": "general.name:desc"}).json()["results"][0]
    assert newest["general"]["name"] == "MAC-00900"
    too_big = jamf.get(INVENTORY, params={"page-size": MAX_PAGE_SIZE + 1})
    assert too_big.status_code == 400 and too_big.json()["errors"][0]["field"] == "page-size"
    assert jamf.get(INVENTORY, params={"page": 9, "page-size": 100}).json()["results"] == []


# -- groups and packages -------------------------------------------------------------------------------
def test_seeded_rings_and_smart_group_rules(state: JamfState, jamf: httpx.Client) -> None:
    counts = {g["name"]: g["membershipCount"] for g in jamf.get(SMART).json()["results"]}
    assert counts == {"Pilot - Chrome": 45, "Phase 1": 180, "Phase 2": 315, "All Managed Macs": 900}
    members = jamf.get(f"/api/v3/computer-groups/smart-group-membership/{_group_id(jamf, 'Pilot - Chrome')}")
    assert members.json()["members"][:3] == [1, 2, 3] and len(members.json()["members"]) == 45
    created = jamf.post(SMART, json={"name": "Chrome < 120.0.6099.109", "criteria": []})
    assert created.status_code == 201 and created.json()["href"].endswith(f"/smart-groups/{created.json()['id']}")
    duplicate = jamf.post(SMART, json={"name": "Phase 1"})
    assert duplicate.status_code == 422
    assert duplicate.json() == {"httpStatus": 422, "errors": [
        {"code": "DUPLICATE_FIELD", "description": "Duplicate group name", "id": "0", "field": "name"}]}  # fmt: skip
    assert jamf.get("/api/v3/computer-groups/smart-group-membership/999").status_code == 404
    group = ET.fromstring(jamf.get(f"/JSSResource/computergroups/id/{_group_id(jamf, 'Phase 1')}").content)
    assert group.findtext("name") == "Phase 1" and group.findtext("computers/size") == "180"


def test_packages_one_per_ticket_plus_chrome_rollback(jamf: httpx.Client) -> None:
    body = jamf.get("/api/v1/packages", params={"page-size": 10}).json()
    names = {p["fileName"] for p in body["results"]}
    assert {"GoogleChrome-120.0.6099.109.pkg", "Zoom-5.17.5.pkg", "Slack-4.36.140.pkg"} < names
    assert body["totalCount"] == 4 and "GoogleChrome-119.0.6045.199.pkg" in names
    one = jamf.get(f"/api/v1/packages/{body['results'][0]['id']}").json()
    assert one["hashType"] == "SHA_512" and len(one["hashValue"]) == 128 and one["size"]
    assert jamf.get("/api/v1/packages/77").json()["httpStatus"] == 404


# -- policies (Classic) --------------------------------------------------------------------------------
def test_policy_create_duplicate_update_and_delete(jamf: httpx.Client) -> None:
    pilot, phase1 = _group_id(jamf, "Pilot - Chrome"), _group_id(jamf, "Phase 1")
    package = _package_id(jamf, "GoogleChrome-120.0.6099.109.pkg")
    created = jamf.post("/JSSResource/policies/id/0", content=_policy_xml("Chrome CPE-3222", [pilot], package))
    assert created.status_code == 201
    policy_id = int(ET.fromstring(created.content).findtext("id") or 0)
    assert policy_id > 0
    again = jamf.post("/JSSResource/policies/id/0", content=_policy_xml("Chrome CPE-3222", [pilot], package))
    assert again.status_code == 409 and "text/html" in again.headers["content-type"]
    assert "Error: Duplicate name" in again.text
    update = "<policy><general><enabled>true</enabled></general><scope><computer_groups><computer_group>" \
             f"<id>{phase1}</id></computer_group></computer_groups></scope></policy>"  # fmt: skip
    assert jamf.put(f"/JSSResource/policies/id/{policy_id}", content=update).status_code == 201
    shown = ET.fromstring(jamf.get(f"/JSSResource/policies/id/{policy_id}").content)
    assert [g.findtext("id") for g in shown.findall("scope/computer_groups/computer_group")] == [str(phase1)]
    assert shown.findtext("general/enabled") == "true" and shown.findtext("general/name") == "Chrome CPE-3222"
    assert shown.findtext("package_configuration/packages/package/id") == str(package)  # kept: not in the PUT
    assert jamf.delete(f"/JSSResource/policies/id/{policy_id}").status_code == 200
    gone = jamf.get(f"/JSSResource/policies/id/{policy_id}")
    assert gone.status_code == 404 and "<html>" in gone.text
    assert jamf.post("/JSSResource/policies/id/0", content="<policy><oops").status_code == 400


# -- the fleet rollout ---------------------------------------------------------------------------------
def test_enabled_policy_rolls_out_to_the_pilot_ring_as_time_passes(state: JamfState, jamf: httpx.Client) -> None:
    pilot = state.fleet.ring("Pilot - Chrome")
    pilot_ids = [d.id for d in pilot]
    outside_before = {d.id: dict(d.apps) for d in state.fleet.devices if d.id not in set(pilot_ids)}
    before = state.compliance(CHROME.bundle_id, CHROME.target_version, pilot_ids)
    assert before.ratio < 0.2  # most of the fleet lags behind
    package = _package_id(jamf, "GoogleChrome-120.0.6099.109.pkg")
    xml = _policy_xml("Chrome CPE-3222 pilot", [_group_id(jamf, "Pilot - Chrome")], package, enabled=True)
    policy_id = int(ET.fromstring(jamf.post("/JSSResource/policies/id/0", content=xml).content).findtext("id") or 0)
    state.advance(2 * HOUR)
    partial = state.compliance(CHROME.bundle_id, CHROME.target_version, pilot_ids)
    state.advance(29 * HOUR)  # every delay is under 24 h, and a transient retry comes within 6 h
    after = state.compliance(CHROME.bundle_id, CHROME.target_version, pilot_ids)
    assert before.compliant <= partial.compliant < after.compliant
    stuck = {d.id for d in pilot if d.offline or state.fleet.fate(d, policy_id).kind == "permanent"}
    assert set(after.behind) <= stuck and after.ratio > 0.9
    logs = state.policy_logs(policy_id)
    failed = {log.device_id: log.reason for log in logs if log.status == "Failed"}
    assert {i for i, r in failed.items() if r in PERMANENT_REASONS} == {
        d.id for d in pilot if not d.offline and state.fleet.fate(d, policy_id).kind == "permanent"
    }
    assert all(r in (*PERMANENT_REASONS, TRANSIENT_REASON) for r in failed.values())
    completed = {log.device_id for log in logs if log.status == "Completed"}
    assert all(state.device(i).apps[CHROME.bundle_id] == CHROME.target_version for i in completed)
    assert {d.id: d.apps for d in state.fleet.devices if d.id not in set(pilot_ids)} == outside_before


def test_disabled_policy_does_nothing_and_inventory_shows_the_new_version(state: JamfState, jamf: httpx.Client) -> None:
    package = _package_id(jamf, "GoogleChrome-120.0.6099.109.pkg")
    xml = _policy_xml("Chrome disabled", [_group_id(jamf, "Pilot - Chrome")], package, enabled=False)
    policy_id = int(ET.fromstring(jamf.post("/JSSResource/policies/id/0", content=xml).content).findtext("id") or 0)
    state.advance(30 * HOUR)
    assert state.policy_logs(policy_id) == []
    jamf.headers["Authorization"] = f"Bearer {_token(jamf)}"  # 30 simulated hours outlive any token
    enable = "<policy><general><enabled>true</enabled></general></policy>"
    assert jamf.put(f"/JSSResource/policies/id/{policy_id}", content=enable).status_code == 201
    state.advance(30 * HOUR)
    jamf.headers["Authorization"] = f"Bearer {_token(jamf)}"
    done = next(log.device_id for log in state.policy_logs(policy_id) if log.status == "Completed")
    page = jamf.get(INVENTORY, params={"section": "APPLICATIONS", "page-size": 100}).json()["results"]
    apps = next(d["applications"] for d in page if d["id"] == done)
    assert {"bundleId": CHROME.bundle_id, "version": CHROME.target_version}.items() <= next(
        a for a in apps if a["bundleId"] == CHROME.bundle_id
    ).items()


# -- versions, failures, scale ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("10", "9", 1), ("120.0.6099.109", "120.0.6099.71", 1), ("120.0.6099.71", "120.0.6099.109", -1),
     ("5.17.5", "5.17.5", 0), ("1.0", "1.0.0", 0), ("4.36.140", "4.37.94", -1), ("5.17.5 (23010)", "5.17.5", 1),
     ("16.78", "16.9", 1), ("2.0b1", "2.0", 1), ("", "0", 0)],
)  # fmt: skip
def test_version_compare(a: str, b: str, expected: int) -> None:
    assert compare_versions(a, b) == expected
    assert (version_key(a) > version_key(b)) == (expected > 0)


def test_fleet_is_deterministic_with_realistic_versions() -> None:
    one, two = Fleet.generate(300, seed=7), Fleet.generate(300, seed=7)
    assert [d.apps for d in one.devices] == [d.apps for d in two.devices]
    chrome = [d.apps[CHROME.bundle_id] for d in one.devices if CHROME.bundle_id in d.apps]
    ahead = [v for v in chrome if compare_versions(v, CHROME.target_version) >= 0]
    assert 0 < len(ahead) < len(chrome) * 0.15 and "120.0.6099.71" in chrome
    assert one.devices[41].name == "MAC-00042"


def test_injected_failures_answer_in_each_api_dialect(state: JamfState, jamf: httpx.Client) -> None:
    state.fail_next(503, path_contains="/JSSResource")
    state.fail_next(502, times=2, path_contains="computers-inventory")
    classic = jamf.get("/JSSResource/policies")
    assert classic.status_code == 503 and "<html>" in classic.text
    for _ in range(2):
        api = jamf.get(INVENTORY)
        assert api.status_code == 502 and api.json()["httpStatus"] == 502
    assert jamf.get(INVENTORY).status_code == 200
    assert [(r.method, r.status) for r in state.requests[-4:]] == [("GET", 503), ("GET", 502), ("GET", 502),
                                                                    ("GET", 200)]  # fmt: skip


def test_a_100k_fleet_builds_fast_and_pages_without_quadratic_work() -> None:
    started = time.perf_counter()
    state = JamfState.seeded(100_000)
    assert time.perf_counter() - started < 5
    with httpx.Client(transport=httpx.WSGITransport(app=create_app(state)), base_url="http://jamf.test") as http:
        http.headers["Authorization"] = f"Bearer {_token(http)}"
        started = time.perf_counter()
        last = http.get(INVENTORY, params={"section": "APPLICATIONS", "page": 49, "page-size": 2000}).json()
        first = http.get(INVENTORY, params={"section": "APPLICATIONS", "page": 0, "page-size": 2000}).json()
        assert time.perf_counter() - started < 3
    assert last["totalCount"] == 100_000 and len(last["results"]) == len(first["results"]) == 2000
    assert {d["id"] for d in last["results"]}.isdisjoint(d["id"] for d in first["results"])
