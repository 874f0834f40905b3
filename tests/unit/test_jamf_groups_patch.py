"""Static computer groups and patch software titles: JamfClient against the Jamf Pro simulator over HTTP
(in-process through ``httpx.WSGITransport``, once over a real socket), and the simulator's answers checked
against the checked-in Jamf Pro API schema."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from remedy.jamf import (
    Group,
    JamfClient,
    JamfConflict,
    JamfInvalid,
    JamfNotFound,
    PatchSummary,
    PatchTitle,
    PatchVersionCount,
    PolicySpec,
)
from remedy.sandbox.fleet import compare_versions, known_versions
from remedy.sandbox.jamf import JamfState, create_app, routes
from remedy.sandbox.jamf_state import Package
from remedy.sandbox.seed import REMEDIATION_FACTS
from remedy.sandbox.server import serve

SPEC = Path(__file__).resolve().parents[3] / "shared/specs/jamf-pro-api-schema.json"
SECRET = "sandbox-jamf-secret"
CHROME, ZOOM = REMEDIATION_FACTS["CPE-3222"], REMEDIATION_FACTS["CPE-3301"]
SMART_PILOT, STATIC_PILOT, CHROME_PACKAGE = 1, 5, 1
STATIC = "/api/v3/computer-groups/static-groups"
PATCH = "/api/v3/patch-software-title-configurations"
DAY = 24 * 3600.0


@pytest.fixture
def state() -> JamfState:
    return JamfState.seeded(n=900)


@pytest.fixture
def jamf(state: JamfState) -> Iterator[JamfClient]:
    transport = httpx.WSGITransport(app=create_app(state))
    with JamfClient("http://jamf.test", state.client_id, SECRET, transport=transport, sleep=lambda _: None) as client:
        yield client


@pytest.fixture
def raw(state: JamfState) -> Iterator[httpx.Client]:
    """A bare authenticated HTTP client, for what JamfClient does not expose (status codes, PUT, DELETE)."""
    transport = httpx.WSGITransport(app=create_app(state))
    with httpx.Client(transport=transport, base_url="http://jamf.test") as http:
        form = {"grant_type": "client_credentials", "client_id": state.client_id, "client_secret": SECRET}
        http.headers["Authorization"] = f"Bearer {http.post('/api/oauth/token', data=form).json()['access_token']}"
        yield http


def _ids(state: JamfState, group_id: int) -> list[int]:
    return [index + 1 for index in state.groups[group_id].members]


def _schema() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is absent (a clone without ../shared/specs)")
    loaded: dict[str, Any] = json.loads(SPEC.read_text())
    return loaded


def _properties(schemas: dict[str, Any], name: str) -> set[str]:
    """A schema's property names, ``allOf`` parts included."""
    schema = schemas[name]
    found = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        found |= _properties(schemas, part["$ref"].rsplit("/", 1)[-1]) if "$ref" in part else set(part["properties"])
    return found


# -- static groups ----------------------------------------------------------------------------------
def test_the_static_pilot_is_seeded_beside_the_smart_rings(jamf: JamfClient, state: JamfState) -> None:
    assert jamf.static_groups() == [Group(id=STATIC_PILOT, name="Pilot", is_smart=False, member_count=45)]
    assert [(g.id, g.is_smart) for g in jamf.smart_groups()] == [(1, True), (2, True), (3, True), (4, True)]
    pilot = [int(d.id) for d in state.fleet.ring("Pilot - Chrome")]
    assert jamf.static_group_members(STATIC_PILOT) == pilot == _ids(state, SMART_PILOT)
    with pytest.raises(JamfNotFound, match="Static group 99 not found"):
        jamf.static_group_members(99)


def test_each_kind_answers_only_at_its_own_endpoints(raw: httpx.Client) -> None:
    smart = raw.get("/api/v3/computer-groups/smart-groups").json()["results"]
    static = raw.get(STATIC).json()
    assert STATIC_PILOT not in {int(g["id"]) for g in smart} and static["totalCount"] == 1
    assert [g["id"] for g in static["results"]] == [str(STATIC_PILOT)]
    assert raw.get(f"/api/v3/computer-groups/smart-groups/{STATIC_PILOT}").status_code == 404
    assert raw.get(f"/api/v3/computer-groups/smart-group-membership/{STATIC_PILOT}").status_code == 404
    assert raw.get(f"{STATIC}/{SMART_PILOT}").status_code == 404
    one = raw.get(f"{STATIC}/{STATIC_PILOT}").json()
    assert one == {"id": "5", "name": "Pilot", "description": "Hand-picked pilot Macs", "siteId": "-1"}
    classic = raw.get(f"/JSSResource/computergroups/id/{STATIC_PILOT}").text
    assert "<is_smart>false</is_smart>" in classic and "<size>45</size>" in classic
    assert raw.get(STATIC, params={"sort": "name:up"}).status_code == 400
    assert raw.get(STATIC, params={"filter": 'name=="Pilot"'}).status_code == 400  # never ignored silently


def test_members_dispatch_on_the_kind_and_computer_groups_lists_both(jamf: JamfClient, state: JamfState) -> None:
    groups = jamf.computer_groups()
    assert [(g.name, g.is_smart) for g in groups] == [("Pilot - Chrome", True), ("Phase 1", True),
                                                      ("Phase 2", True), ("All Managed Macs", True),
                                                      ("Pilot", False)]  # fmt: skip
    for group in groups:
        assert jamf.members(group) == _ids(state, group.id) and group.member_count == len(_ids(state, group.id))
    # An id alone (a ring saved with its group id) still resolves: smart first, then static.
    assert jamf.group_members(STATIC_PILOT) == jamf.group_members(SMART_PILOT) == _ids(state, SMART_PILOT)
    with pytest.raises(JamfNotFound, match="Smart group 99 not found in Jamf, nor a static group"):
        jamf.group_members(99)


def test_create_a_static_group_and_names_are_shared_with_smart_groups(jamf: JamfClient, state: JamfState) -> None:
    new_id = jamf.create_static_group("Canary", [3, 1, 2, 2])
    assert new_id == 6 and jamf.static_group_members(new_id) == [1, 2, 3]
    assert Group(id=6, name="Canary", is_smart=False, member_count=3) in jamf.static_groups()
    for taken in ("pilot", "Phase 1"):  # a static name, then a smart one: the names are one namespace
        with pytest.raises(JamfConflict, match=f"computer group named '{taken}' already exists"):
            jamf.create_static_group(taken, [1])
    with pytest.raises(JamfConflict, match="already exists"):
        jamf.create_smart_group("CANARY", [])
    with pytest.raises(JamfInvalid) as unknown:
        jamf.create_static_group("Strays", [1, 9999])
    assert unknown.value.status == 400 and "assignments" in unknown.value.field_errors
    assert sorted(state.groups) == [1, 2, 3, 4, 5, 6]  # the refused creates left nothing behind


def test_put_replaces_members_and_delete_minds_policies(jamf: JamfClient, raw: httpx.Client, state: JamfState) -> None:
    created = raw.post(STATIC, json={"name": "Finance pilot", "assignments": ["7", "8"]})
    assert created.status_code == 201 and created.json()["href"] == f"http://jamf.test{STATIC}/6"
    body = {"name": "Finance pilot", "description": "two Macs", "assignments": ["8", "9", "10"]}
    updated = raw.put(f"{STATIC}/6", json=body)
    assert updated.status_code == 202
    assert updated.json() == {"id": "6", "name": "Finance pilot", "description": "two Macs", "siteId": "-1",
                              "assignments": ["8", "9", "10"]}  # fmt: skip
    assert jamf.static_group_members(6) == [8, 9, 10]
    assert raw.put(f"{STATIC}/6", json={"name": "Pilot"}).status_code == 422  # another group's name
    assert raw.put(f"{STATIC}/6", json={"name": "Finance pilot"}).json()["assignments"] == ["8", "9", "10"]
    assert raw.put(f"{STATIC}/{SMART_PILOT}", json={"name": "x"}).status_code == 404  # not a static group
    jamf.create_policy(PolicySpec(name="Chrome finance", package_id=CHROME_PACKAGE, group_ids=(6,)))
    refused = raw.delete(f"{STATIC}/6")
    assert refused.status_code == 422 and "dependencies" in refused.json()["errors"][0]["description"]
    state.delete_policy(1)
    assert raw.delete(f"{STATIC}/6").status_code == 204 and raw.get(f"{STATIC}/6").status_code == 404


def test_a_policy_scoped_to_the_static_pilot_reaches_exactly_its_macs(jamf: JamfClient, state: JamfState) -> None:
    zoom_package = next(p.id for p in jamf.packages() if p.file_name == f"Zoom-{ZOOM.target_version}.pkg")
    before = {d.id: dict(d.apps) for d in state.fleet.devices}
    policy_id = jamf.create_policy(PolicySpec(name="Zoom pilot", package_id=zoom_package,
                                              group_ids=(STATIC_PILOT,), enabled=True))  # fmt: skip
    state.advance(31 * 3600)  # every check-in delay is under 24 h, a transient retry within 6 h more
    reached = {log.device_id for log in state.policy_logs(policy_id)}
    pilot = {str(i) for i in _ids(state, STATIC_PILOT)}
    assert reached and reached <= pilot
    changed = {d.id for d in state.fleet.devices if d.apps != before[d.id]}
    assert changed and changed <= pilot


def test_static_and_patch_reads_over_a_real_socket(state: JamfState) -> None:
    with serve(create_app(state), state) as sim, JamfClient(sim.url, state.client_id, SECRET) as jamf:
        assert {g.name for g in jamf.computer_groups()} == {"Pilot - Chrome", "Phase 1", "Phase 2",
                                                           "All Managed Macs", "Pilot"}  # fmt: skip
        assert len(jamf.members(Group(id=STATIC_PILOT, name="Pilot", is_smart=False))) == 45
        assert [t.name for t in jamf.patch_titles()] == ["Google Chrome", "Zoom", "Slack"]


# -- patch titles ------------------------------------------------------------------------------------
def test_patch_titles_one_per_remediated_app_with_their_packages(jamf: JamfClient) -> None:
    titles = jamf.patch_titles()
    assert [(t.id, t.name) for t in titles] == [(1, "Google Chrome"), (2, "Zoom"), (3, "Slack")]
    chrome = titles[0]
    assert chrome == PatchTitle(id=1, name="Google Chrome", software_title_id=chrome.software_title_id,
                                software_title_name="Google Chrome", publisher="Google",
                                packages={CHROME.target_version: 1, "119.0.6045.199": 4})  # fmt: skip
    assert len({t.software_title_id for t in titles}) == 3 and chrome.software_title_id != "1"
    assert titles[2].packages == {"4.36.140": 3}


def test_patch_summary_and_versions_count_the_fleet(jamf: JamfClient, state: JamfState) -> None:
    for title, facts in zip(jamf.patch_titles(), REMEDIATION_FACTS.values(), strict=True):
        latest = known_versions(facts.bundle_id)[0]
        summary = jamf.patch_summary(title.id)
        own = state.compliance(facts.bundle_id, latest)
        assert (summary.title_id, summary.title, summary.latest_version) == (title.id, title.name, latest)
        assert (summary.up_to_date, summary.out_of_date) == (own.compliant, own.total - own.compliant)
        assert compare_versions(latest, facts.target_version) > 0  # the feed is past what the ticket asks for
        assert summary.release_date is not None and summary.total == own.total
        versions = jamf.patch_versions(title.id)
        assert [v.order for v in versions] == list(range(len(versions))) and versions[0].version == latest
        fleet = Counter(d.apps[facts.bundle_id] for d in state.fleet.devices if facts.bundle_id in d.apps)
        assert {v.version: v.computers for v in versions if v.computers} == dict(fleet)
        assert sum(v.computers for v in versions) == own.total
    with pytest.raises(JamfNotFound, match="Patch title 99 not found"):
        jamf.patch_summary(99)
    with pytest.raises(JamfNotFound, match="Patch title 0 not found"):
        jamf.patch_versions(0)


def test_patch_counts_move_as_a_rollout_updates_macs(jamf: JamfClient, state: JamfState) -> None:
    latest = known_versions(ZOOM.bundle_id)[0]
    # Jamf gets the feed's newest Zoom as a package (an admin uploads it), then a policy installs it.
    state.packages[5] = Package(5, f"Zoom-{latest}", f"Zoom-{latest}.pkg", latest, ZOOM.bundle_id, "240MB")
    assert jamf.patch_titles()[1].packages == {ZOOM.target_version: 2, latest: 5}
    before, counts_before = jamf.patch_summary(2), {v.version: v.computers for v in jamf.patch_versions(2)}
    jamf.create_policy(PolicySpec(name="Zoom newest", package_id=5, group_ids=(STATIC_PILOT,), enabled=True))
    jamf.create_policy(PolicySpec(name="Chrome pilot", package_id=CHROME_PACKAGE, group_ids=(SMART_PILOT,),
                                  enabled=True))  # fmt: skip
    chrome_before = {v.version: v.computers for v in jamf.patch_versions(1)}
    state.advance(DAY + 7 * 3600)
    after, own = jamf.patch_summary(2), state.compliance(ZOOM.bundle_id, latest)
    assert (after.up_to_date, after.out_of_date) == (own.compliant, own.total - own.compliant)
    assert after.up_to_date > before.up_to_date and after.out_of_date < before.out_of_date
    versions = {v.version: v.computers for v in jamf.patch_versions(2)}
    assert versions[latest] == after.up_to_date > counts_before[latest]
    assert sum(versions.values()) == own.total  # Pilot Macs without Zoom got it too: Jamf installs regardless
    # Chrome's rollout moves Macs to the ticket's version, which is not the feed's newest: the per-version
    # counts move, and no Mac becomes up to date (a pilot Mac already on the newest is taken back to .109).
    chrome, chrome_own = jamf.patch_summary(1), state.compliance(CHROME.bundle_id, known_versions(CHROME.bundle_id)[0])
    assert (chrome.up_to_date, chrome.total) == (chrome_own.compliant, chrome_own.total)
    chrome_versions = {v.version: v.computers for v in jamf.patch_versions(1)}
    assert chrome_versions[CHROME.target_version] > chrome_before[CHROME.target_version]
    assert chrome_versions[chrome.latest_version] <= chrome_before[chrome.latest_version]


def test_patch_models_are_lenient_about_what_jamf_leaves_out() -> None:
    title = PatchTitle.from_api({"id": "4", "softwareTitleName": "Firefox", "packages": [
        {"packageId": "9", "version": "128.0"}, {"packageId": None, "version": "127.0"}, {"version": ""}]})  # fmt: skip
    assert (title.name, title.software_title_id, title.packages) == ("Firefox", "", {"128.0": 9})
    summary = PatchSummary.from_api({"upToDate": None, "outOfDate": "4", "releaseDate": "not a date"}, 4)
    assert (summary.title_id, summary.up_to_date, summary.out_of_date, summary.release_date) == (4, 0, 4, None)
    assert PatchVersionCount.from_api({"version": "1.0", "absoluteOrderId": "x"}) == PatchVersionCount(version="1.0")
    assert Group.from_api({"id": "7", "name": "Static", "count": 3}, is_smart=False).member_count == 3


# -- faithfulness to the Jamf Pro API schema -----------------------------------------------------------
def test_answers_carry_only_fields_the_schema_defines(raw: httpx.Client) -> None:
    schemas = _schema()["components"]["schemas"]
    shapes = [
        (raw.get(STATIC).json()["results"][0], "StaticComputerGroupSummary"),
        (raw.get(f"{STATIC}/{STATIC_PILOT}").json(), "StaticComputerGroup"),
        (raw.post(STATIC, json={"name": "Shape", "assignments": ["1"]}).json(), "HrefResponse"),
        (raw.put(f"{STATIC}/6", json={"name": "Shape", "assignments": ["2"]}).json(), "StaticComputerGroupAssignment"),
        (raw.get(PATCH).json()[0], "PatchSoftwareTitleConfiguration"),
        (raw.get(f"{PATCH}/1").json(), "PatchSoftwareTitleConfiguration"),
        (raw.get(f"{PATCH}/1").json()["packages"][0], "PatchSoftwareTitlePackages"),
        (raw.get(f"{PATCH}/1/patch-summary").json(), "PatchSummary"),
        (raw.get(f"{PATCH}/1/patch-summary/versions").json()[0], "PatchSummaryVersion"),
    ]
    for body, name in shapes:
        assert set(body) <= _properties(schemas, name), name
    assert set(schemas["PatchSoftwareTitleConfigurationBase"]["required"]) <= set(raw.get(f"{PATCH}/2").json())
    missing = raw.get(f"{PATCH}/9/patch-summary")
    assert missing.status_code == 404 and missing.json()["httpStatus"] == 404


def test_every_pro_api_route_served_is_the_newest_undeprecated_version() -> None:
    paths: dict[str, Any] = _schema()["paths"]
    for method, path in routes():
        found = re.fullmatch(r"/api/v(\d+)(/.+)", path)
        if found is None:
            continue
        version, tail = int(found[1]), found[2]
        operation = paths[f"/v{version}{tail}"][method.lower()]
        newer = [p for p in paths if re.fullmatch(rf"/v(\d+){re.escape(tail)}", p) and method.lower() in paths[p]
                 and int(p[2:].split("/", 1)[0]) > version]  # fmt: skip
        assert not newer and not operation.get("deprecated"), f"{method} {path}: newer {newer}"
