"""Patch management for :class:`remedy.jamf.client.JamfClient`: the apps Jamf tracks against vendor feeds.

A patch software title configuration is one app (e.g. Google Chrome) Jamf compares with its vendor's
release feed; its ``patch-summary`` counts the Macs at the feed's latest version and those behind it, and
``patch-summary/versions`` counts the Macs on each version. The title list is one JSON array, not pages.
"""

from __future__ import annotations

from remedy.jamf.http import JamfHttp, api_path, json_list, json_object
from remedy.jamf.models import PatchSummary, PatchTitle, PatchVersionCount

__all__ = ["PatchCalls"]


class PatchCalls:
    """Patch calls, mixed into JamfClient; they go through its :class:`JamfHttp`."""

    _http: JamfHttp

    def patch_titles(self) -> list[PatchTitle]:
        answer = self._http.send("GET", api_path("patch-software-title-configurations"))
        return [PatchTitle.from_api(raw) for raw in json_list(answer)]

    def patch_summary(self, title_id: int) -> PatchSummary:
        """Macs at the title's latest version and Macs behind it; an unknown id raises JamfNotFound."""
        path = api_path("patch-summary", int(title_id))
        return PatchSummary.from_api(json_object(self._http.named(f"Patch title {title_id}", "GET", path)),
                                     int(title_id))  # fmt: skip

    def patch_versions(self, title_id: int) -> list[PatchVersionCount]:
        """Macs per version of the title, newest first (Jamf's ``absoluteOrderId`` order)."""
        path = api_path("patch-summary-versions", int(title_id))
        answer = self._http.named(f"Patch title {title_id}", "GET", path)
        counts = [PatchVersionCount.from_api(raw) for raw in json_list(answer)]
        # Jamf's order is the feed's (0 = newest); entries without one keep their place, after the rest.
        return sorted(counts, key=lambda c: (c.order is None, c.order or 0))
