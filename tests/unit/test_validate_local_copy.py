"""`validate package` with a local copy: the installer attached to the ticket (the vendor's download)
is read from Jira, streamed, and compared with the hash Jamf recorded — the same file passes, another
file is a ❌ that blocks `deploy pilot`, and an unreadable one says why. Through the real app, with
the Jira simulator serving attachment content as Jira Cloud does (303 to the file, or the bytes with
``redirect=false``)."""

from __future__ import annotations

import httpx

from remedy.sandbox.xarbuild import Spec, build
from remedy_cli.embedded import Runtime
from tests.unit.test_jira_sim_writes import AUTH
from tests.unit.test_rollout import _run
from tests.unit.test_validate_package import CHROME_FILE, SIGNER, VALID, _in_build_and_test, _validate, rt

__all__ = ["rt"]  # the fixture, imported for these tests
VENDOR_FILE = "GoogleChrome-vendor-download.pkg"


def _attach(rt: Runtime, filename: str, content: bytes, key: str = "CPE-3222") -> str:
    jira = rt.sandbox.jira_state
    with jira.lock:
        return jira.attach(jira.issues[key], filename, "application/octet-stream", content).id


def test_the_same_file_attached_to_the_ticket_passes_and_the_pilot_proceeds(rt: Runtime) -> None:
    _in_build_and_test(rt)
    _attach(rt, CHROME_FILE, build(VALID))
    answer = _validate(rt)
    assert answer.startswith("✅"), answer
    assert "passed all 9 checks" in answer
    assert f"✅ *Local copy*: {CHROME_FILE} attached to CPE-3222 (" in answer and "matches Jamf's SHA-512" in answer
    assert _run(rt, "deploy pilot CPE-3222").startswith("✅ *CPE-3222* is deploying to *Pilot*")


def test_a_different_file_named_by_the_user_fails_and_blocks_the_pilot(rt: Runtime) -> None:
    _in_build_and_test(rt)
    _attach(rt, VENDOR_FILE, build(Spec(signer=SIGNER, payload=b"the vendor's rebuilt payload")))
    answer = _validate(rt, f"validate package CPE-3222 {VENDOR_FILE}")
    assert answer.startswith("❌ Package *GoogleChrome-120.0.6099.109* for *CPE-3222* failed local copy"), answer
    assert f"❌ *Local copy*: {VENDOR_FILE} attached to CPE-3222 (" in answer
    assert "the package in Jamf is not this file" in answer
    assert "✅ *Hash*: the distribution point's copy" in answer  # the copy the Macs get is still Jamf's
    refused = _run(rt, "deploy pilot CPE-3222")
    assert refused.startswith("❌") and "local copy" in refused, refused
    assert rt.sandbox.jira_state.status_of("CPE-3222") == "Build & Test"


def test_the_newest_upload_of_a_name_is_the_one_compared(rt: Runtime) -> None:
    _in_build_and_test(rt)
    _attach(rt, CHROME_FILE, b"an old broken download")
    _attach(rt, CHROME_FILE, build(VALID))  # Jira keeps both; the later one is what people mean
    assert "✅ *Local copy*" in _validate(rt)


def test_a_name_neither_in_jamf_nor_attached_is_named_as_such(rt: Runtime) -> None:
    _in_build_and_test(rt)
    answer = _validate(rt, "validate package CPE-3222 Nowhere.pkg")
    assert "Jamf has no package “Nowhere.pkg”, and no file of that name is attached to CPE-3222" in answer


def test_an_attachment_jira_cannot_send_is_a_clear_failure(rt: Runtime) -> None:
    _in_build_and_test(rt)
    _attach(rt, CHROME_FILE, build(VALID))
    rt.sandbox.jira_state.fail_next(503, times=5, path_contains="/attachment/content/")
    answer = _validate(rt)
    assert answer.startswith("❌"), answer
    assert f"❌ *Local copy*: could not read {CHROME_FILE} attached to CPE-3222: Jira could not send it: " \
           "Jira is unavailable (HTTP 503)" in answer


def test_the_simulator_serves_attachment_content_as_jira_cloud_does(rt: Runtime) -> None:
    ident = _attach(rt, "notes.pkg", b"\x00bytes\xff")
    base = f"{rt.sandbox.jira.url}/rest/api/3/attachment/content"
    with httpx.Client(auth=AUTH, timeout=5) as client:
        redirected = client.get(f"{base}/{ident}")
        assert redirected.status_code == 303 and "redirect=false" in redirected.headers["Location"]
        assert client.get(redirected.headers["Location"]).content == b"\x00bytes\xff"
        assert client.get(f"{base}/{ident}", params={"redirect": "false"}).content == b"\x00bytes\xff"
        assert client.get(f"{base}/99999", params={"redirect": "false"}).status_code == 404
