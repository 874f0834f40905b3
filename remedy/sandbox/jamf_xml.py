"""The simulator's wire formats: Classic API (``/JSSResource``) XML in and out (policies, groups, a Mac's
computer history) and the HTML pages Classic answers errors with; and the Jamf Pro API's JSON answers,
error bodies and paging, shared by :mod:`.jamf` and :mod:`.jamf_groups`.

Only the policy fields a remediation rollout uses are read; the rest of a ``<policy>`` is accepted and
ignored, as Jamf ignores elements it does not know. Parsing uses the stdlib ``xml.etree``; the bodies come
from our own client and tests, never from the internet.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request, Response

from remedy.sandbox.fleet import Device
from remedy.sandbox.jamf_state import Group, JamfProblem, JamfState, Policy, PolicyLog
from remedy.sandbox.seed import NOW

_TRUE = {"true", "1", "yes"}
MAX_PAGE_SIZE = 2000


# -- Jamf Pro API JSON --------------------------------------------------------------------------------
def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def api_error(status: int, description: str, field: str | None = None, code: str = "INVALID_FIELD") -> Response:
    """The Jamf Pro API's error body: ``{"httpStatus", "errors": [{"code", "description", "id", "field"}]}``."""
    cause = {"code": code, "description": description, "id": "0", "field": field}
    return json_response({"httpStatus": status, "errors": [cause]}, status)


def paging(request: Request) -> tuple[int, int]:
    page, size = request.args.get("page", 0, type=int) or 0, request.args.get("page-size", 100, type=int)
    if size is None or size < 1 or size > MAX_PAGE_SIZE or page < 0:
        raise JamfProblem(400, f"page-size must be between 1 and {MAX_PAGE_SIZE}", "page-size", "INVALID_PAGE")
    return page, size


def paged(request: Request, items: list[Any]) -> Response:
    """One page of a Pro API list: ``{"totalCount", "results"}``, pages counted from 0."""
    page, size = paging(request)
    return json_response({"totalCount": len(items), "results": items[page * size : (page + 1) * size]})


# -- Classic API XML ------------------------------------------------------------------------------------


def _text(parent: ET.Element, tag: str) -> str | None:
    found = parent.find(tag)
    return None if found is None or found.text is None else found.text.strip()


def _flag(parent: ET.Element, tag: str) -> bool | None:
    value = _text(parent, tag)
    return None if value is None else value.lower() in _TRUE


def _ids(parent: ET.Element, path: str) -> list[int]:
    found = []
    for element in parent.findall(path):
        value = _text(element, "id")
        if value is None or not value.lstrip("-").isdigit():
            raise JamfProblem(400, "Error: Unable to parse id")
        found.append(int(value))
    return found


def parse_policy(body: bytes, into: Policy) -> Policy:
    """Apply a ``<policy>`` document to ``into``: elements present replace, elements absent are kept.

    A ``<computer_groups>`` list replaces the scope's groups outright, as it does in Jamf (a PUT with one
    group drops the others); likewise ``<packages>``.
    """
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise JamfProblem(400, "Error: Unable to parse XML") from None
    if root.tag != "policy":
        raise JamfProblem(400, "Error: Unable to parse XML")
    general = root.find("general")
    if general is not None:
        into.name = _text(general, "name") or into.name
        enabled = _flag(general, "enabled")
        into.enabled = into.enabled if enabled is None else enabled
        checkin = _flag(general, "trigger_checkin")
        into.trigger_checkin = into.trigger_checkin if checkin is None else checkin
        into.frequency = _text(general, "frequency") or into.frequency
    groups = root.find("scope/computer_groups")
    if groups is not None:
        into.group_ids = _ids(groups, "computer_group")
    packages = root.find("package_configuration/packages")
    if packages is not None:
        actions = [_text(p, "action") or "Install" for p in packages.findall("package")]
        into.packages = list(zip(_ids(packages, "package"), actions, strict=True))
    if not into.name:
        raise JamfProblem(409, "Error: Policy requires a name")  # Classic's wording for a missing name
    return into


def _sub(parent: ET.Element, tag: str, text: object = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = str(text).lower() if isinstance(text, bool) else str(text)
    return element


def _document(root: ET.Element) -> bytes:
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + body


def id_document(tag: str, number: int) -> bytes:
    """The body Classic answers a create/update with, e.g. ``<policy><id>7</id></policy>``."""
    root = ET.Element(tag)
    _sub(root, "id", number)
    return _document(root)


def policy_document(state: JamfState, policy: Policy) -> bytes:
    root = ET.Element("policy")
    general = _sub(root, "general")
    for tag, value in (("id", policy.id), ("name", policy.name), ("enabled", policy.enabled),
                       ("trigger", "EVENT"), ("trigger_checkin", policy.trigger_checkin),
                       ("frequency", policy.frequency)):  # fmt: skip
        _sub(general, tag, value)
    scope = _sub(root, "scope")
    _sub(scope, "all_computers", False)
    _sub(scope, "computers")
    groups = _sub(scope, "computer_groups")
    for group_id in policy.group_ids:
        element = _sub(groups, "computer_group")
        _sub(element, "id", group_id)
        _sub(element, "name", state.groups[group_id].name if group_id in state.groups else "")
    packages = _sub(_sub(root, "package_configuration"), "packages")
    _sub(packages, "size", len(policy.packages))
    for package_id, action in policy.packages:
        element = _sub(packages, "package")
        _sub(element, "id", package_id)
        _sub(element, "name", state.packages[package_id].file_name if package_id in state.packages else "")
        _sub(element, "action", action)
    return _document(root)


def group_document(state: JamfState, group: Group) -> bytes:
    root = ET.Element("computer_group")
    for tag, value in (("id", group.id), ("name", group.name), ("is_smart", group.smart)):
        _sub(root, tag, value)
    site = _sub(root, "site")
    _sub(site, "id", -1)
    _sub(site, "name", "None")
    _sub(_sub(root, "criteria"), "size", len(group.criteria))
    computers = _sub(root, "computers")
    _sub(computers, "size", len(group.members))
    for index in group.members:
        device = state.fleet.devices[index]
        element = _sub(computers, "computer")
        for tag, value in (("id", device.id), ("name", device.name), ("serial_number", device.serial)):
            _sub(element, tag, value)
    return _document(root)


# A computer history's sections in Jamf's order, by the name a ``/subset/`` path asks for them with.
# Only general and policy_logs carry data here; the rest come back empty, as on a Mac with no such events.
HISTORY_SUBSETS = {"general": "general", "computerusagelogs": "computer_usage_logs", "audits": "audits",
                   "policylogs": "policy_logs", "casperremotelogs": "casper_remote_logs",
                   "screensharinglogs": "screen_sharing_logs", "casperimaginglogs": "casper_imaging_logs",
                   "commands": "commands", "userlocation": "user_location",
                   "macappstoreapplications": "mac_app_store_applications"}  # fmt: skip
_HISTORY_PARTS = {"commands": ("completed", "pending", "failed"),
                  "mac_app_store_applications": ("installed", "pending", "failed")}  # fmt: skip


def history_document(state: JamfState, device: Device, sections: set[str]) -> bytes:
    """``<computer_history>`` with the ``sections`` (values of :data:`HISTORY_SUBSETS`) asked for.

    Policy logs come newest first and carry Jamf's three renderings of the time and the status, never
    the reason a run failed: Jamf keeps that in the policy log's details, outside this API.
    """
    root = ET.Element("computer_history")
    for section in HISTORY_SUBSETS.values():
        if section not in sections:
            continue
        element = _sub(root, section)
        if section == "general":
            for tag, value in (("id", device.id), ("name", device.name), ("udid", device.udid),
                               ("serial_number", device.serial), ("mac_address", device.mac_address)):  # fmt: skip
                _sub(element, tag, value)
        elif section == "policy_logs":
            for log in state.device_policy_logs(device.id):
                _policy_log(state, element, device, log)
        for part in _HISTORY_PARTS.get(section, ()):
            _sub(element, part)
    return _document(root)


def _policy_log(state: JamfState, parent: ET.Element, device: Device, log: PolicyLog) -> None:
    when = NOW + timedelta(milliseconds=round(log.at * 1000))  # whole milliseconds, as Jamf keeps them
    policy = state.policies.get(log.policy_id)
    element = _sub(parent, "policy_log")
    hour, noon = when.hour % 12 or 12, "AM" if when.hour < 12 else "PM"  # not %p: that one follows the locale
    for tag, value in (("policy_id", log.policy_id), ("policy_name", policy.name if policy else ""),
                       ("username", device.username),
                       ("date_completed", f"{when:%Y/%m/%d} at {hour}:{when:%M} {noon}"),
                       ("date_completed_epoch", round(when.timestamp() * 1000)),
                       ("date_completed_utc", f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}+0000"),
                       ("status", log.status)):  # fmt: skip
        _sub(element, tag, value)


def error_page(status: int, message: str) -> str:
    """Classic's error body: an HTML status page (Tomcat's), not JSON, with the reason in a ``<p>``."""
    reason = HTTP_STATUS_CODES.get(status, "Error")
    return (
        f'<html>\n<head>\n   <title>Status page</title>\n</head>\n<body style="font-family: sans-serif;">\n'
        f'<p style="font-size: 1.2em;font-weight: bold;margin: 1em 0px;">{html.escape(reason)}</p>\n'
        f"<p>{html.escape(message)}</p>\n"
        f'<p>You can get technical details <a href="http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html">'
        f'here</a>.<br>\nPlease continue your visit at our <a href="/">home page</a>.\n</p>\n</body>\n</html>\n'
    )
