"""Jamf Pro API endpoints of the simulator for static computer groups and patch software titles.

Shapes follow the checked-in schema: ``StaticComputerGroupSummary`` in lists (with ``count``),
``StaticComputerGroup`` by id (no members: the Pro API has no read of a static group's members, Classic's
``computergroups/id/{id}`` lists them), ``StaticComputerGroupAssignment`` in and out of writes; and
``PatchSoftwareTitleConfiguration``, ``PatchSummary`` and ``PatchSummaryVersion`` for patch titles. Patch
counts are read from the live fleet on every request, so they move as a rollout updates Macs.
:mod:`.jamf` routes here (``HANDLERS``); refusals raise :class:`JamfProblem` like every other handler.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from remedy.sandbox.fleet import compare_versions, known_versions, version_key
from remedy.sandbox.jamf_state import Group, JamfProblem, JamfState, PatchTitle
from remedy.sandbox.jamf_xml import json_response, paged
from remedy.sandbox.seed import NOW

__all__ = ["HANDLERS"]

Json = dict[str, Any]
Handler = Callable[[JamfState, Request, dict[str, str]], Response]
_GROUP_SORTS: dict[str, Callable[[Group], Any]] = {"id": lambda g: g.id, "name": lambda g: g.name.lower()}
_PUBLISHERS = {"com.google.Chrome": "Google", "us.zoom.xos": "Zoom Video Communications, Inc.",
               "com.tinyspeck.slackmacgap": "Slack Technologies, Inc."}  # fmt: skip
# The feed's newest release came out a few days before the simulated "now" (no feed dates exist to copy).
_RELEASED = (NOW - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# -- static groups -------------------------------------------------------------------------------------
def _static_groups(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    if request.args.get("filter"):  # RSQL on id, name and siteId in Jamf; ignoring it would return too much
        raise JamfProblem(400, "Filtering is not supported by the simulator", "filter", "INVALID_FILTER")
    # Several criteria may come comma-separated or repeated; ids and names are unique, so the first decides.
    sort = (request.args.getlist("sort") or ["id:asc"])[0].split(",")[0]
    key, _, direction = sort.partition(":")
    if key not in _GROUP_SORTS or direction.lower() not in ("", "asc", "desc"):
        raise JamfProblem(400, f"Invalid sort criteria: {sort}", "sort", "INVALID_SORT")
    found = sorted((g for g in state.groups.values() if not g.smart), key=_GROUP_SORTS[key],
                   reverse=direction.lower() == "desc")  # fmt: skip
    return paged(request, [{**_group_json(g), "count": len(g.members)} for g in found])


def _group_json(group: Group) -> Json:
    return {"id": str(group.id), "name": group.name, "description": group.description, "siteId": "-1"}


def _static_group(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    return json_response(_group_json(state.group(args["id"], smart=False)))


def _assignment(request: Request) -> tuple[str, list[str] | None, str]:
    """Name, computer ids (None when absent) and description from a ``StaticComputerGroupAssignment``."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
        raise JamfProblem(400, "name must not be blank", "name")
    if len(body["name"].strip()) > 255:
        raise JamfProblem(400, "name must be at most 255 characters", "name")
    assignments = body.get("assignments")
    if assignments is not None and not (isinstance(assignments, list) and all(isinstance(a, str | int)
                                                                              for a in assignments)):  # fmt: skip
        raise JamfProblem(400, "assignments must be a list of computer ids", "assignments")
    ids = None if assignments is None else [str(a) for a in assignments]
    return body["name"].strip(), ids, str(body.get("description") or "")


def _create_static_group(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    name, ids, description = _assignment(request)
    group = state.save_static_group(0, name, ids or [], description)
    return json_response({"id": str(group.id), "href": f"{request.base_url}/{group.id}"}, 201)


def _update_static_group(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    current = state.group(args["id"], smart=False)  # 404 before any body check, as Jamf looks it up first
    name, ids, description = _assignment(request)
    group = state.save_static_group(current.id, name, ids, description)
    members = [state.fleet.devices[index].id for index in group.members]
    return json_response({**_group_json(group), "assignments": members}, 202)


def _delete_static_group(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    state.delete_static_group(state.group(args["id"], smart=False).id)
    return Response(status=204)


# -- patch software titles -------------------------------------------------------------------------------
def _title_json(state: JamfState, title: PatchTitle) -> Json:
    mine = [state.packages[number] for number in sorted(state.packages)]
    packages = [{"packageId": str(p.id), "version": p.version, "displayName": p.file_name}
                for p in mine if p.bundle_id == title.bundle_id]  # fmt: skip
    return {"id": str(title.id), "displayName": title.display_name, "categoryId": "-1", "siteId": "-1",
            "uiNotifications": False, "emailNotifications": False, "softwareTitleId": title.software_title_id,
            "jamfOfficial": True, "extensionAttributes": [], "softwareTitleName": title.display_name,
            "softwareTitleNameId": title.display_name.replace(" ", ""),
            "softwareTitlePublisher": _PUBLISHERS.get(title.bundle_id, ""), "patchSourceName": "Jamf",
            "patchSourceEnabled": True, "packages": packages}  # fmt: skip


def _versions(state: JamfState, title: PatchTitle) -> tuple[list[str], dict[str, int]]:
    """The title's versions newest first (the feed's, plus any a Mac runs that the feed lacks) and Macs on each."""
    counts = state.fleet.version_counts(title.bundle_id)
    return sorted({*known_versions(title.bundle_id), *counts}, key=version_key, reverse=True), counts


def _patch_summary(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    title = state.patch_title(args["id"])
    versions, counts = _versions(state, title)
    latest = versions[0]
    up_to_date = sum(n for version, n in counts.items() if compare_versions(version, latest) >= 0)
    return json_response({"softwareTitleId": title.software_title_id, "title": title.display_name,
                          "latestVersion": latest, "releaseDate": _RELEASED, "upToDate": up_to_date,
                          "outOfDate": sum(counts.values()) - up_to_date, "onDashboard": False,
                          "softwareTitleConfigurationId": str(title.id)})  # fmt: skip


def _patch_versions(state: JamfState, request: Request, args: dict[str, str]) -> Response:
    versions, counts = _versions(state, state.patch_title(args["id"]))
    # absoluteOrderId is the feed's order, 0 for the newest release.
    return json_response([{"absoluteOrderId": str(order), "version": version, "onVersion": counts.get(version, 0)}
                          for order, version in enumerate(versions)])  # fmt: skip


HANDLERS: dict[str, Handler] = {
    "static_groups": _static_groups,
    "static_group": _static_group,
    "create_static_group": _create_static_group,
    "update_static_group": _update_static_group,
    "delete_static_group": _delete_static_group,
    "patch_titles": lambda state, request, args: json_response(
        [_title_json(state, state.patch_titles[number]) for number in sorted(state.patch_titles)]),
    "patch_title": lambda state, request, args: json_response(_title_json(state, state.patch_title(args["id"]))),
    "patch_summary": _patch_summary,
    "patch_versions": _patch_versions,
}  # fmt: skip
