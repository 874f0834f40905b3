"""A stateful Jamf Pro simulator as a plain WSGI app: OAuth client credentials, the Jamf Pro API (JSON,
versioned paths) and the Classic API (``/JSSResource``, XML in and out, HTML error pages), over a
deterministic fleet whose compliance climbs as simulated time passes (:mod:`.jamf_state`, :mod:`.fleet`).
Static groups and patch titles are served by :mod:`.jamf_groups`; JSON and XML wire helpers live in
:mod:`.jamf_xml`. Uploaded package files are also served, as a distribution point would, under
``/CasperShare/Packages/`` (:data:`DISTRIBUTION_POINT`).

The API version of each endpoint lives in ``VERSIONS`` only: Jamf moves paths between releases
(inventory v1 -> v4, smart groups v2 -> v3) and the simulator serves the ones in the checked-in spec.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from remedy.sandbox import jamf_groups as groups
from remedy.sandbox import jamf_xml as xml
from remedy.sandbox.faults import InjectedFailure
from remedy.sandbox.fleet import APPS, DEPARTMENTS, Device
from remedy.sandbox.jamf_state import (  # re-exported: tests import them from here
    Compliance,
    JamfProblem,
    JamfState,
    Policy,
    PolicyLog,
    RecordedRequest,
)
from remedy.sandbox.jamf_xml import MAX_PAGE_SIZE, api_error, json_response, paged, paging
from remedy.sandbox.seed import NOW

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = [
    "DISTRIBUTION_POINT",
    "MAX_PAGE_SIZE",
    "VERSIONS",
    "Compliance",
    "InjectedFailure",
    "JamfProblem",
    "JamfState",
    "PolicyLog",
    "RecordedRequest",
    "create_app",
    "routes",
]  # fmt: skip

Json = dict[str, Any]
Handler = Callable[[JamfState, Request, dict[str, str]], Response]
VERSIONS = {"inventory": "v4", "smart_groups": "v3", "static_groups": "v3", "packages": "v1", "departments": "v1",
            "patch_titles": "v3", "patch_summary": "v3", "version": "v1"}  # fmt: skip
CLASSIC = "/JSSResource"
DISTRIBUTION_POINT = "/CasperShare/Packages/"  # REMEDY_PACKAGE_SOURCE = the simulator's URL + this, less the "/"
_SECTIONS = {"GENERAL", "APPLICATIONS", "STORAGE", "OPERATING_SYSTEM", "USER_AND_LOCATION"}
_SORTS: dict[str, Callable[[Device], Any]] = {"id": lambda d: d.index, "general.name": lambda d: d.name,
                                              "udid": lambda d: d.udid}  # fmt: skip


def _ts(seconds: float) -> str:
    return (NOW + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def classic_error(status: int, message: str) -> Response:
    return Response(xml.error_page(status, message), status=status, mimetype="text/html")


def xml_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, content_type="text/xml;charset=UTF-8")


# -- Jamf Pro API ------------------------------------------------------------------------------------
def _token(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    form = request.form
    if form.get("grant_type") != "client_credentials":
        return json_response({"error": "unsupported_grant_type"}, 400)
    token = state.issue_token(form.get("client_id", ""), form.get("client_secret", ""))
    if token is None:  # RFC 6749 5.2: a client that fails to authenticate gets 401 invalid_client
        return json_response({"error": "invalid_client"}, 401)
    return json_response({"access_token": token, "token_type": "Bearer", "expires_in": state.token_lifetime,
                          "scope": "api-role:remedy"})  # fmt: skip


def _device_json(device: Device, sections: set[str]) -> Json:
    body: Json = {"id": device.id, "udid": device.udid, "general": None, "applications": None, "storage": None,
                  "operatingSystem": None, "userAndLocation": None}  # fmt: skip
    if "GENERAL" in sections:
        body["general"] = {"name": device.name, "lastContact": _ts(device.last_contact), "platform": "Mac",
                           "reportDate": _ts(device.last_contact), "managementId": device.udid.lower(),
                           "remoteManagement": {"managed": True}, "supervised": True}  # fmt: skip
    if "APPLICATIONS" in sections:
        body["applications"] = [_app_json(bundle_id, version) for bundle_id, version in device.apps.items()]
    if "STORAGE" in sections:
        body["storage"] = _storage_json(device)
    if "OPERATING_SYSTEM" in sections:
        body["operatingSystem"] = {"name": "macOS", "version": device.os_version}
    if "USER_AND_LOCATION" in sections:
        user = device.username
        body["userAndLocation"] = {"username": user, "email": f"{user}@example.com",
                                   "departmentId": str(DEPARTMENTS.index(device.department) + 1)}  # fmt: skip
    return body


def _storage_json(device: Device) -> Json:
    """The STORAGE section (``ComputerStorage`` in the schema): one internal SSD with the boot partition."""
    size, free = device.disk_size_mb, device.free_disk_mb
    boot = {"name": "Macintosh HD (Boot Partition)", "sizeMegabytes": size, "availableMegabytes": free,
            "partitionType": "BOOT", "percentUsed": 100 - free * 100 // size, "fileVault2State": "ENCRYPTED",
            "fileVault2ProgressPercent": None, "lvmManaged": False}  # fmt: skip
    disk = {"id": device.id, "device": "disk0", "model": device.disk_model, "revision": "2142.100.",
            "serialNumber": f"0ba0{device.index + 1:012x}", "sizeMegabytes": size, "smartStatus": "Verified",
            "type": "false", "partitions": [boot]}  # fmt: skip
    return {"bootDriveAvailableSpaceMegabytes": free, "disks": [disk]}


def _app_json(bundle_id: str, version: str) -> Json:
    spec = APPS[bundle_id]
    return {"name": spec.path.rsplit("/", 1)[-1], "path": spec.path, "version": version, "bundleId": bundle_id,
            "cfBundleShortVersionString": version, "macAppStore": False, "updateAvailable": False}  # fmt: skip


def _order(state: JamfState, sort: str) -> list[Device]:
    """Devices in ``sort`` order ("general.name:asc"); orders on fields that never change are cached."""
    key, _, direction = sort.partition(":")
    if key not in _SORTS or direction.lower() not in ("", "asc", "desc"):
        raise JamfProblem(400, f"Invalid sort criteria: {sort}", "sort", "INVALID_SORT")
    cache_key = f"{key}:{direction.lower() or 'asc'}"
    if cache_key not in state.orders:
        state.orders[cache_key] = sorted(state.fleet.devices, key=_SORTS[key], reverse=direction.lower() == "desc")
    return state.orders[cache_key]


def _inventory(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    page, size = paging(request)
    sections = {s.upper() for s in request.args.getlist("section")} or {"GENERAL"}
    if request.args.get("filter"):
        # The real endpoint takes RSQL on a few fields but never on app versions; callers page everything.
        raise JamfProblem(400, "Filtering is not supported by the simulator", "filter", "INVALID_FILTER")
    # Several criteria may come comma-separated or repeated; names and ids are unique, so the first decides.
    sort = (request.args.getlist("sort") or ["general.name:asc"])[0].split(",")[0]
    ordered = _order(state, sort)
    chosen = ordered[page * size : (page + 1) * size]
    results = [_device_json(d, sections & _SECTIONS) for d in chosen]
    return json_response({"totalCount": len(ordered), "results": results})


def _smart_groups(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    groups = [g for g in state.groups.values() if g.smart]
    return paged(request, [{"id": str(g.id), "siteId": "-1", "name": g.name, "description": g.description,
                             "membershipCount": len(g.members)} for g in groups])  # fmt: skip


def _smart_group(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    group = state.group(args["id"], smart=True)
    return json_response({"id": str(group.id), "siteId": "-1", "name": group.name, "description": group.description,
                          "criteria": group.criteria})  # fmt: skip


def _create_smart_group(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not str(body.get("name") or "").strip():
        raise JamfProblem(400, "name must not be blank", "name")
    criteria = body.get("criteria") or []
    group = state.add_smart_group(str(body["name"]).strip(), criteria if isinstance(criteria, list) else [],
                                  str(body.get("description") or ""))  # fmt: skip
    href = f"{request.host_url}api/{VERSIONS['smart_groups']}/computer-groups/smart-groups/{group.id}"
    return json_response({"id": str(group.id), "href": href}, 201)


def _membership(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    group = state.group(args["id"], smart=True)  # a static group's id is a 404 here, as in Jamf
    return json_response({"members": [index + 1 for index in group.members]})


def _package_json(state: JamfState, package_id: str | int) -> Json:
    p = state.package(package_id)
    return {"id": str(p.id), "packageName": p.package_name, "fileName": p.file_name, "categoryId": "-1",
            "priority": 10, "fillUserTemplate": False, "osInstall": False, "rebootRequired": False,
            "suppressEula": False, "suppressFromDock": False, "suppressRegistration": False,
            "suppressUpdates": False, "hashType": p.hash_type, "hashValue": p.hash_value, "size": p.size}  # fmt: skip


def _packages(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    return paged(request, [_package_json(state, package_id) for package_id in sorted(state.packages)])


def _departments(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    return paged(request, [{"id": str(number), "name": name} for number, name in enumerate(DEPARTMENTS, 1)])


# -- Classic API ------------------------------------------------------------------------------------
def _classic_group(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    return xml_response(xml.group_document(state, state.group(args["id"])))


def _classic_policies(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    items = "".join(f"<policy><id>{p.id}</id><name>{escape(p.name, quote=False)}</name></policy>"
                    for p in state.policies.values())  # fmt: skip
    body = f'<?xml version="1.0" encoding="UTF-8"?><policies><size>{len(state.policies)}</size>{items}</policies>'
    return xml_response(body.encode())


def _computer_history(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    """The whole history, or the ``subset/General&PolicyLogs`` asked for (names as Jamf's, any case)."""
    device = state.fleet.by_id(args["id"])
    if device is None:  # Classic words a missing record the way it words a missing path
        raise JamfProblem(404, "The server has not found anything matching the request URI")
    if "subset" in args:
        asked = {name.strip().lower() for name in args["subset"].split("&")}
        sections = {section for name, section in xml.HISTORY_SUBSETS.items() if name in asked}
    else:
        sections = set(xml.HISTORY_SUBSETS.values())
    return xml_response(xml.history_document(state, device, sections))


def _get_policy(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    return xml_response(xml.policy_document(state, state.policy(args["id"])))


def _create_policy(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    policy = state.save_policy(xml.parse_policy(request.get_data(), Policy(0, "")))
    return xml_response(xml.id_document("policy", policy.id), 201)


def _update_policy(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    current = state.policy(args["id"])
    draft = Policy(current.id, current.name, current.enabled, current.trigger_checkin, current.frequency,
                   list(current.group_ids), list(current.packages))  # fmt: skip
    policy = state.save_policy(xml.parse_policy(request.get_data(), draft))
    return xml_response(xml.id_document("policy", policy.id), 201)  # Classic answers a PUT with 201 too


def _delete_policy(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    policy = state.policy(args["id"])
    state.delete_policy(policy.id)
    return xml_response(xml.id_document("policy", policy.id))


_URLS = Map([
    Rule("/healthCheck.html", endpoint="health", methods=["GET"]),
    Rule("/api/oauth/token", endpoint="token", methods=["POST"]),
    Rule("/api/v1/oauth/token", endpoint="token", methods=["POST"]),
    Rule(f"/api/{VERSIONS['version']}/jamf-pro-version", endpoint="version", methods=["GET"]),
    Rule(f"/api/{VERSIONS['inventory']}/computers-inventory", endpoint="inventory", methods=["GET"]),
    Rule(f"/api/{VERSIONS['departments']}/departments", endpoint="departments", methods=["GET"]),
    Rule(f"/api/{VERSIONS['smart_groups']}/computer-groups/smart-groups", endpoint="smart_groups", methods=["GET"]),
    Rule(f"/api/{VERSIONS['smart_groups']}/computer-groups/smart-groups", endpoint="create_smart_group",
         methods=["POST"]),
    Rule(f"/api/{VERSIONS['smart_groups']}/computer-groups/smart-groups/<id>", endpoint="smart_group",
         methods=["GET"]),
    Rule(f"/api/{VERSIONS['smart_groups']}/computer-groups/smart-group-membership/<id>", endpoint="membership",
         methods=["GET"]),
    Rule(f"/api/{VERSIONS['static_groups']}/computer-groups/static-groups", endpoint="static_groups",
         methods=["GET"]),
    Rule(f"/api/{VERSIONS['static_groups']}/computer-groups/static-groups", endpoint="create_static_group",
         methods=["POST"]),
    Rule(f"/api/{VERSIONS['static_groups']}/computer-groups/static-groups/<id>", endpoint="static_group",
         methods=["GET"]),
    Rule(f"/api/{VERSIONS['static_groups']}/computer-groups/static-groups/<id>", endpoint="update_static_group",
         methods=["PUT"]),
    Rule(f"/api/{VERSIONS['static_groups']}/computer-groups/static-groups/<id>", endpoint="delete_static_group",
         methods=["DELETE"]),
    Rule(f"/api/{VERSIONS['patch_titles']}/patch-software-title-configurations", endpoint="patch_titles",
         methods=["GET"]),
    Rule(f"/api/{VERSIONS['patch_titles']}/patch-software-title-configurations/<id>", endpoint="patch_title",
         methods=["GET"]),
    Rule(f"/api/{VERSIONS['patch_summary']}/patch-software-title-configurations/<id>/patch-summary",
         endpoint="patch_summary", methods=["GET"]),
    Rule(f"/api/{VERSIONS['patch_summary']}/patch-software-title-configurations/<id>/patch-summary/versions",
         endpoint="patch_versions", methods=["GET"]),
    Rule(f"/api/{VERSIONS['packages']}/packages", endpoint="packages", methods=["GET"]),
    Rule(f"/api/{VERSIONS['packages']}/packages/<id>", endpoint="package", methods=["GET"]),
    Rule(f"{CLASSIC}/computergroups/id/<id>", endpoint="classic_group", methods=["GET"]),
    Rule(f"{CLASSIC}/computerhistory/id/<id>", endpoint="computer_history", methods=["GET"]),
    Rule(f"{CLASSIC}/computerhistory/id/<id>/subset/<subset>", endpoint="computer_history", methods=["GET"]),
    Rule(f"{CLASSIC}/policies", endpoint="classic_policies", methods=["GET"]),
    Rule(f"{CLASSIC}/policies/id/<id>", endpoint="get_policy", methods=["GET"]),
    Rule(f"{CLASSIC}/policies/id/<id>", endpoint="create_policy", methods=["POST"]),
    Rule(f"{CLASSIC}/policies/id/<id>", endpoint="update_policy", methods=["PUT"]),
    Rule(f"{CLASSIC}/policies/id/<id>", endpoint="delete_policy", methods=["DELETE"]),
])  # fmt: skip
_HANDLERS: dict[str, Handler] = {
    "health": lambda state, request, args: json_response([]),
    "token": _token,
    "version": lambda state, request, args: json_response({"version": "11.12.0-t1700000000000"}),
    "inventory": _inventory, "departments": _departments,
    "smart_groups": _smart_groups, "create_smart_group": _create_smart_group, "smart_group": _smart_group,
    "membership": _membership, **groups.HANDLERS,
    "packages": _packages, "package": lambda state, request, args: json_response(_package_json(state, args["id"])),
    "classic_group": _classic_group, "computer_history": _computer_history,
    "classic_policies": _classic_policies, "get_policy": _get_policy,
    "create_policy": _create_policy, "update_policy": _update_policy, "delete_policy": _delete_policy,
}  # fmt: skip
_NO_AUTH = {"health", "token"}


def routes() -> list[tuple[str, str]]:
    """``(method, path template)`` for every endpoint served, e.g. ``("GET", "/api/v1/packages/{id}")``."""
    served = []
    for rule in _URLS.iter_rules():
        path = rule.rule.replace("<", "{").replace(">", "}")
        served += [(method, path) for method in sorted(rule.methods or ()) if method not in ("HEAD", "OPTIONS")]
    return served


def _error(classic: bool, status: int, message: str, field: str | None = None, code: str = "INVALID_FIELD") -> Response:
    return classic_error(status, message) if classic else api_error(status, message, field, code)


def _authenticated(state: JamfState, request: Request) -> bool:
    auth = request.authorization
    if auth is None or auth.type != "bearer" or not auth.token:
        return False
    expiry = state.tokens.get(auth.token)
    return expiry is not None and state.now() < expiry


def _distribution_point(state: JamfState, request: Request) -> Response:
    """The simulator also plays the distribution point Macs download packages from (on-premises Jamf Pro
    often hosts its CasperShare file share on the same server): uploaded package files over plain HTTP,
    no token. Not the Jamf Pro API, so not in :func:`routes`."""
    name = unquote(request.path.removeprefix(DISTRIBUTION_POINT))
    with state.lock:
        found = next((p for p in state.packages.values() if p.file_name == name and p.content is not None), None)
    if request.method != "GET" or found is None or found.content is None:
        return Response("<html><body><h1>404 Not Found</h1></body></html>", status=404, mimetype="text/html")
    return Response(iter(found.content()), mimetype="application/octet-stream", direct_passthrough=True)


def _respond(state: JamfState, request: Request) -> Response:
    if state.latency > 0:
        time.sleep(state.latency)  # real time, on purpose: only benchmarks set it; outside the lock
    classic = request.path.startswith(CLASSIC)
    failure = state.take_failure(request.path)
    if failure is not None:
        response = _error(classic, failure.status, f"{HTTP_STATUS_CODES.get(failure.status, 'Error')} (injected)")
        if failure.retry_after is not None:  # as Jamf Cloud's gateway sends with a 429 or 503
            response.headers["Retry-After"] = str(failure.retry_after)
        return response
    if request.path.startswith(DISTRIBUTION_POINT):
        return _distribution_point(state, request)
    try:
        endpoint, args = _URLS.bind_to_environ(request.environ).match()
    except NotFound:
        return _error(classic, 404, "The server has not found anything matching the request URI")
    except HTTPException as exc:  # 405, or a redirect for a trailing slash
        return exc.get_response(request.environ)
    if endpoint not in _NO_AUTH and not _authenticated(state, request):
        if classic:
            return classic_error(401, "The request requires user authentication")
        return api_error(401, "Unauthorized", None, "INVALID_TOKEN")
    with state.lock:
        state.run_due()  # an injected wall clock moves without advance(): catch up before answering
        try:
            return _HANDLERS[endpoint](state, request, dict(args))
        except JamfProblem as problem:
            return _error(classic, problem.status, problem.message, problem.field, problem.code)


def create_app(state: JamfState) -> WSGIApplication:
    """The simulator as a WSGI app: serve it with ``server.serve`` or mount it in httpx."""

    @Request.application
    def app(request: Request) -> Response:
        response = _respond(state, request)
        entry = RecordedRequest(request.method, request.path, request.query_string.decode(), response.status_code,
                                time.monotonic())
        with state.lock:
            state.requests.append(entry)
        return response

    return app
