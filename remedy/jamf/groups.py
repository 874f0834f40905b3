"""Computer groups for :class:`remedy.jamf.client.JamfClient`: smart and static, listed, read and created.

Smart and static computer groups share one id space in Jamf but live at separate Jamf Pro API endpoints
(``computer-groups/smart-groups`` and ``computer-groups/static-groups``). The Pro API reads a smart group's
members (``smart-group-membership``) but has no read for a static group's: its ``StaticComputerGroup``
carries only the name, and ``assignments`` is write-only. So static members come from the Classic API's
``/JSSResource/computergroups/id/{id}``, which lists the computers of either kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from remedy.jamf.errors import JamfConflict, JamfInvalid, JamfNotFound
from remedy.jamf.http import JamfHttp, api_path, json_object
from remedy.jamf.models import Group
from remedy.jamf.policy_xml import int_or_none, parse_xml, text_at
from remedy.parallel import parallel

__all__ = ["GroupCalls", "classic_group_path", "parse_group_members"]

_XML = {"Accept": "application/xml"}


def classic_group_path(group_id: int) -> str:
    return f"/JSSResource/computergroups/id/{int(group_id)}"


def parse_group_members(body: bytes) -> list[int]:
    """The computer ids of a Classic ``<computer_group>``, ascending; entries without a usable id are skipped."""
    root = parse_xml(body, "a computer group read")
    found = (int_or_none(text_at(c, "id")) for c in root.findall("computers/computer"))
    return sorted({number for number in found if number is not None})


class GroupCalls:
    """Group calls, mixed into JamfClient; they go through its :class:`JamfHttp`."""

    _http: JamfHttp

    # -- listing --------------------------------------------------------------------------------
    def smart_groups(self) -> list[Group]:
        return [Group.from_api(raw) for raw in self._http.paged(api_path("smart-groups"))]

    def static_groups(self) -> list[Group]:
        return [Group.from_api(raw, is_smart=False) for raw in self._http.paged(api_path("static-groups"))]

    def computer_groups(self) -> list[Group]:
        """Every computer group, smart then static: the two lists are read side by side."""
        calls: list[Callable[[], list[Group]]] = [self.smart_groups, self.static_groups]
        smart, static = parallel(calls)
        return [*smart, *static]

    # -- members --------------------------------------------------------------------------------
    def group_members(self, group_id: int) -> list[int]:
        """The computer ids in a group, given only its id: smart membership first, then static.

        Callers that hold just an id (a ring saved with its group id) need not know the kind: the shared id
        space means an id that is not a smart group can only be a static one. A static id costs one extra
        request (the 404); use :meth:`members` when the :class:`Group` is at hand.
        """
        try:
            return self.smart_group_members(group_id)
        except JamfNotFound:
            pass
        try:
            return self.static_group_members(group_id)
        except JamfNotFound:
            raise JamfNotFound(f"Smart group {group_id} not found in Jamf, nor a static group with that id") from None

    def smart_group_members(self, group_id: int) -> list[int]:
        path = api_path("smart-group-membership", int(group_id))
        body = json_object(self._http.named(f"Smart group {group_id}", "GET", path))
        return [int(member) for member in body.get("members") or []]

    def static_group_members(self, group_id: int) -> list[int]:
        """The computer ids in a static group, ascending (read from Classic: the Pro API has no such read)."""
        answer = self._http.named(f"Static group {group_id}", "GET", classic_group_path(group_id), headers=_XML)
        return parse_group_members(answer.content)

    def members(self, group: Group) -> list[int]:
        """A group's computer ids, read from the endpoint for its kind."""
        return self.smart_group_members(group.id) if group.is_smart else self.static_group_members(group.id)

    # -- creating -------------------------------------------------------------------------------
    def create_smart_group(self, name: str, criteria: Sequence[dict[str, Any]]) -> int:
        """Create a smart group; a name already taken by any computer group raises JamfConflict."""
        return self._create("smart", "smart-groups", {"name": name, "criteria": list(criteria), "siteId": "-1"})

    def create_static_group(self, name: str, computer_ids: Sequence[int], description: str = "") -> int:
        """Create a static group of exactly ``computer_ids``; a name already taken raises JamfConflict.

        Jamf refuses an unknown computer id with 400 (JamfInvalid) and creates nothing.
        """
        assignments = sorted({str(int(number)) for number in computer_ids}, key=int)  # the schema's set of ids
        body = {"name": name, "description": description, "siteId": "-1", "assignments": assignments}
        return self._create("static", "static-groups", body)

    def _create(self, kind: str, endpoint: str, body: dict[str, Any]) -> int:
        try:
            # Not idempotent: a blind repeat after a timeout would meet our own group as a duplicate.
            answer = self._http.send("POST", api_path(endpoint), json=body)
        except JamfInvalid as error:
            # Jamf answers a taken name with 422 whichever kind holds it: the id space is shared.
            if "duplicate" in error.message.lower():
                raise JamfConflict(f"A computer group named '{body['name']}' already exists in Jamf: smart and "
                                   f"static groups share names, so the new {kind} group needs another",
                                   422) from None  # fmt: skip
            raise
        return int(json_object(answer)["id"])
