"""Why a Mac is still behind on a rollout: its policy history (Classic ``computerhistory``) and its free disk
space (inventory ``STORAGE``), read by JamfClient from the Jamf Pro simulator over HTTP (the ``sandbox``
fixture), plus the simulator's own answers checked against the checked-in Jamf specs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from remedy.jamf import JamfClient, JamfNotFound, JamfUnavailable, PolicySpec
from remedy.jamf.history import parse_policy_runs
from remedy.jamf.models import Computer, PolicyRun
from remedy.sandbox.fleet import DISK_SPACE_REASON, PERMANENT_REASONS, Device, Fleet
from remedy.sandbox.jamf import JamfState, routes
from remedy.sandbox.run import Sandbox
from remedy.sandbox.seed import NOW

SPECS = Path(__file__).resolve().parents[3] / "shared/specs"
PILOT_GROUP, CHROME_PACKAGE = 1, 1
HOUR = 3600.0
POLICY_NAME = "Chrome 120 pilot"
LOG_FIELDS = ["policy_id", "policy_name", "username", "date_completed", "date_completed_epoch",
              "date_completed_utc", "status"]  # fmt: skip


@pytest.fixture
def state(sandbox: Sandbox) -> JamfState:
    state = sandbox.jamf_state
    # Ten times the default failure rate, so that the 45-Mac pilot has failures of every kind to explain.
    state.fleet.failure_rate = 0.3
    return state


@pytest.fixture
def jamf(sandbox: Sandbox, state: JamfState) -> Iterator[JamfClient]:
    with JamfClient(sandbox.jamf.url, state.client_id, state.client_secret, sleep=lambda _: None) as client:
        yield client


@pytest.fixture
def policy_id(jamf: JamfClient, state: JamfState) -> int:
    """A pilot rollout as remedy runs one: create the policy, scope it to the pilot, enable it, wait 31 h.

    Every delay is under 24 h and a transient failure is retried within 6 h, so every pilot Mac that is
    online has checked in by then, some more than once.
    """
    number = jamf.create_policy(PolicySpec(name=POLICY_NAME, package_id=CHROME_PACKAGE))
    jamf.set_policy_scope(number, [PILOT_GROUP])
    jamf.enable_policy(number, True)
    state.advance(31 * HOUR)
    return number


def _pilot(state: JamfState, policy_id: int, kind: str, reason: str | None = None) -> list[Device]:
    found = [d for d in state.fleet.ring("Pilot - Chrome") if not d.offline]
    found = [d for d in found if state.fleet.fate(d, policy_id).kind == kind]
    return [d for d in found if reason is None or state.fleet.fate(d, policy_id).reason == reason]


def _at(seconds: float) -> datetime:
    return NOW + timedelta(milliseconds=round(seconds * 1000))


@contextmanager
def _raw(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """A bare HTTP client holding a fresh token, to look at the simulator's answers themselves."""
    state = sandbox.jamf_state
    form = {"grant_type": "client_credentials", "client_id": state.client_id, "client_secret": state.client_secret}
    with httpx.Client(base_url=sandbox.jamf.url) as http:
        http.headers["Authorization"] = f"Bearer {http.post('/api/oauth/token', data=form).json()['access_token']}"
        yield http


# -- policy history through the client -------------------------------------------------------------
def test_policy_history_shows_failed_and_completed_runs_newest_first(
    jamf: JamfClient, state: JamfState, policy_id: int
) -> None:
    failed, succeeded = _pilot(state, policy_id, "permanent"), _pilot(state, policy_id, "success")
    retried = _pilot(state, policy_id, "transient")
    assert failed and succeeded and retried  # seed 42 at a 30% failure rate: every kind is in the pilot
    for device in failed:
        runs = jamf.policy_history(int(device.id))
        assert [(r.policy_id, r.policy_name, r.status, r.failed) for r in runs] == [
            (policy_id, POLICY_NAME, "Failed", True)]  # fmt: skip
        assert [r.completed_at for r in runs] == [_at(log.at) for log in state.device_policy_logs(device.id)]
    for device in succeeded[:5]:
        runs = jamf.policy_history(int(device.id))
        assert [(r.policy_id, r.status, r.failed) for r in runs] == [(policy_id, "Completed", False)]
        assert runs[0].completed_at is not None and NOW < runs[0].completed_at < NOW + timedelta(hours=31)
    for device in retried:  # a network failure, then the next check-in installs: newest first
        runs = jamf.policy_history(int(device.id))
        assert [r.status for r in runs] == ["Completed", "Failed"]
        assert runs[0].completed_at and runs[1].completed_at and runs[0].completed_at > runs[1].completed_at
    outside = next(d for d in state.fleet.ring("Phase 1") if not d.offline)
    assert jamf.policy_history(int(outside.id)) == []  # not in scope: the policy never ran there


def test_policy_history_names_an_unknown_computer(jamf: JamfClient, state: JamfState) -> None:
    with pytest.raises(JamfNotFound, match="Computer 9999 not found in Jamf"):
        jamf.policy_history(9999)
    assert [r.status for r in state.requests if "/computerhistory/" in r.path] == [404]  # a 404 is not retried


def test_policy_history_needs_a_token_and_recovers_after_expiry(
    sandbox: Sandbox, jamf: JamfClient, state: JamfState
) -> None:
    bare = httpx.get(f"{sandbox.jamf.url}/JSSResource/computerhistory/id/1/subset/PolicyLogs")
    assert bare.status_code == 401 and "<html>" in bare.text  # Classic's HTML status page
    assert jamf.policy_history(1) == []
    state.expire_tokens()
    assert jamf.policy_history(1) == []
    assert jamf.token_fetches == 2
    assert [r.status for r in state.requests if "/computerhistory/" in r.path] == [401, 200, 401, 200]


# -- free disk space through inventory -------------------------------------------------------------
def test_a_disk_space_failure_shows_as_low_free_space_in_inventory(
    jamf: JamfClient, state: JamfState, policy_id: int
) -> None:
    full = _pilot(state, policy_id, "permanent", DISK_SPACE_REASON)
    deferred = _pilot(state, policy_id, "permanent", PERMANENT_REASONS[1])
    assert full and deferred
    computers = {c.id: c for c in jamf.inventory(sections=("GENERAL", "APPLICATIONS", "STORAGE"))}
    package_mb = int((jamf.package(CHROME_PACKAGE).size or "").removesuffix("MB"))
    for device in full:
        free = computers[int(device.id)].free_disk_mb
        assert free is not None and free < 1024 and free < package_mb  # less than the package needs
        assert [r.status for r in jamf.policy_history(int(device.id))] == ["Failed"]
    # Every other Mac, including one that failed for another reason, has room to spare.
    hit = {int(d.id) for d in full}
    assert all((c.free_disk_mb or 0) >= 1024 for number, c in computers.items() if number not in hit)
    assert all(computers[int(d.id)].free_disk_mb == d.free_disk_mb for d in deferred)
    # The drive filled before this rollout; the failing check-in is what reported it.
    fresh = Fleet.generate(len(state.fleet), state.fleet.seed)
    assert all(fresh.devices[d.index].free_disk_mb >= 1024 for d in full)
    without = next(jamf.inventory(sections=("GENERAL",)))
    assert without.free_disk_mb is None  # STORAGE not asked for: unknown, not zero


def test_storage_section_has_the_schema_field_names(sandbox: Sandbox) -> None:
    with _raw(sandbox) as http:
        page = http.get("/api/v4/computers-inventory", params={"section": ["STORAGE"], "page-size": 5}).json()
        plain = http.get("/api/v4/computers-inventory", params={"page-size": 1}).json()["results"][0]
    assert plain["storage"] is None  # a section not asked for comes back null, as the others do
    storage = page["results"][0]["storage"]
    disk = storage["disks"][0]
    boot = disk["partitions"][0]
    assert boot["partitionType"] == "BOOT" and boot["availableMegabytes"] == storage["bootDriveAvailableSpaceMegabytes"]
    assert boot["sizeMegabytes"] == disk["sizeMegabytes"] > storage["bootDriveAvailableSpaceMegabytes"] > 1024
    assert Computer.from_api(page["results"][0]).free_disk_mb == storage["bootDriveAvailableSpaceMegabytes"]
    spec = SPECS / "jamf-pro-api-schema.json"
    if not spec.exists():
        pytest.skip(f"{spec} is absent (a clone without ../shared/specs)")
    schemas = json.loads(spec.read_text())["components"]["schemas"]
    assert set(storage) <= set(schemas["ComputerStorage"]["properties"])
    assert set(disk) <= set(schemas["ComputerDisk"]["properties"])
    assert set(boot) <= set(schemas["ComputerPartition"]["properties"])
    assert "STORAGE" in schemas["ComputerSectionV4"]["enum"]


def test_free_space_is_deterministic_and_leaves_the_fleet_as_it_was() -> None:
    one, two = Fleet.generate(300, seed=7), Fleet.generate(300, seed=7)
    assert [(d.disk_size_mb, d.free_disk_mb) for d in one.devices] == [(d.disk_size_mb, d.free_disk_mb)
                                                                      for d in two.devices]  # fmt: skip
    assert len({d.free_disk_mb for d in one.devices}) > 250 and min(d.free_disk_mb for d in one.devices) > 10_000
    # Disks come from a random stream of their own: a longer fleet starts with the same Macs.
    longer = Fleet.generate(400, seed=7)
    assert [(d.apps, d.free_disk_mb) for d in longer.devices[:300]] == [(d.apps, d.free_disk_mb) for d in one.devices]


# -- the simulator's computer history XML ------------------------------------------------------------
def test_computer_history_xml_is_shaped_like_jamfs(sandbox: Sandbox, state: JamfState, policy_id: int) -> None:
    device = _pilot(state, policy_id, "transient")[0]
    with _raw(sandbox) as http:
        both = http.get(f"/JSSResource/computerhistory/id/{device.id}/subset/General&PolicyLogs")
        only = http.get(f"/JSSResource/computerhistory/id/{device.id}/subset/PolicyLogs")
        full = http.get(f"/JSSResource/computerhistory/id/{device.id}")
        missing = http.get("/JSSResource/computerhistory/id/9999/subset/PolicyLogs")
    assert both.status_code == 200 and both.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(both.content)
    assert root.tag == "computer_history" and [e.tag for e in root] == ["general", "policy_logs"]
    general = root.find("general")
    assert general is not None and [(e.tag, e.text) for e in general] == [
        ("id", device.id), ("name", device.name), ("udid", device.udid), ("serial_number", device.serial),
        ("mac_address", device.mac_address)]  # fmt: skip
    logs = root.findall("policy_logs/policy_log")
    assert [[e.tag for e in log] for log in logs] == [LOG_FIELDS, LOG_FIELDS]
    assert [log.findtext("status") for log in logs] == ["Completed", "Failed"]
    newest = logs[0]
    when = datetime.fromtimestamp(int(newest.findtext("date_completed_epoch") or 0) / 1000, UTC)
    assert newest.findtext("date_completed_utc") == f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}+0000"
    hour, noon = when.hour % 12 or 12, "AM" if when.hour < 12 else "PM"
    assert newest.findtext("date_completed") == f"{when:%Y/%m/%d} at {hour}:{when:%M} {noon}"
    assert newest.findtext("policy_id") == str(policy_id) and newest.findtext("policy_name") == POLICY_NAME
    assert "Network" not in both.text and DISK_SPACE_REASON not in both.text  # Jamf keeps reasons elsewhere
    assert [e.tag for e in ET.fromstring(only.content)] == ["policy_logs"]  # a subset is just what was asked
    whole = ET.fromstring(full.content)
    assert {"general", "policy_logs", "audits", "commands"} <= {e.tag for e in whole}
    assert len(whole.findall("policy_logs/policy_log")) == 2 and whole.find("commands/pending") is not None
    assert missing.status_code == 404 and "<html>" in missing.text


def test_history_parsing_is_lenient_per_entry_and_strict_about_xml() -> None:
    body = (b"<computer_history><policy_logs>"
            b"<policy_log><policy_id>3</policy_id><policy_name>Old</policy_name><status>Completed</status>"
            b"<date_completed_epoch>0</date_completed_epoch>"
            b"<date_completed_utc>2026-11-20T08:00:00.000+0000</date_completed_utc></policy_log>"
            b"<policy_log><policy_name>no id</policy_name><status>Failed</status></policy_log>"
            b"<policy_log><policy_id>4</policy_id><status>Failed</status></policy_log>"
            b"<policy_log><policy_id>5</policy_id><policy_name>New</policy_name><status>Failed</status>"
            b"<date_completed_epoch>1795600920000</date_completed_epoch></policy_log>"
            b"</policy_logs></computer_history>")  # fmt: skip
    runs = parse_policy_runs(body)
    assert runs == [
        PolicyRun(policy_id=5, policy_name="New", status="Failed",
                  completed_at=datetime(2026, 11, 25, 10, 2, tzinfo=UTC)),
        PolicyRun(policy_id=3, policy_name="Old", status="Completed",
                  completed_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC)),
        PolicyRun(policy_id=4, policy_name="", status="Failed", completed_at=None),
    ]  # fmt: skip
    assert parse_policy_runs(b"<computer_history/>") == []
    with pytest.raises(JamfUnavailable, match="does not parse"):
        parse_policy_runs(b"<computer_history><policy_logs>")


# -- spec faithfulness ---------------------------------------------------------------------------------
# Served but in neither spec: the unauthenticated health probe and the OAuth path Jamf documents outside them.
_OUTSIDE_SPECS = {("GET", "/healthCheck.html"), ("POST", "/api/oauth/token")}


def test_every_route_the_simulator_serves_is_in_jamfs_specs() -> None:
    pro_file, classic_file = SPECS / "jamf-pro-api-schema.json", SPECS / "jamf-classic-swagger.yaml"
    if not (pro_file.exists() and classic_file.exists()):
        pytest.skip(f"the Jamf specs are absent from {SPECS} (a clone without ../shared/specs)")
    pro: dict[str, Any] = json.loads(pro_file.read_text())["paths"]
    classic: dict[str, Any] = yaml.safe_load(classic_file.read_text())["paths"]
    served = set(routes())
    assert ("GET", "/JSSResource/computerhistory/id/{id}/subset/{subset}") in served
    assert ("GET", "/JSSResource/computerhistory/id/{id}") in served
    for method, path in sorted(served - _OUTSIDE_SPECS):
        paths, tail = (classic, path.removeprefix("/JSSResource")) if path.startswith("/JSSResource/") else (
            pro, path.removeprefix("/api"))  # fmt: skip
        assert method.lower() in paths.get(tail, {}), f"{method} {path} is not in the Jamf specs"
