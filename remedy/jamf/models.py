"""Typed views of the Jamf resources remedy reasons about.

Jamf's JSON is wide and mostly optional (a section not requested comes back as ``null``); ``from_api``
builders are lenient and keep only what remediation needs: who runs which app version and how much disk
it has free, groups, packages, patch titles and their version counts, the policy fields a rollout touches
and the runs of policies on a Mac.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

JsonObject = dict[str, Any]


class _Frozen(BaseModel):
    # Values read from Jamf are snapshots; mutating one would silently diverge from Jamf.
    model_config = ConfigDict(frozen=True)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _datetime_or_none(value: Any) -> datetime | None:
    # An odd date must not cost the whole answer: the counts beside it are what callers read.
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


class Computer(_Frozen):
    id: int
    name: str
    department_id: int | None = None
    os_version: str | None = None
    last_contact: datetime | None = None
    apps: dict[str, str] = {}  # bundle id -> installed version
    free_disk_mb: int | None = None  # boot drive free space; None unless the STORAGE section was read

    @classmethod
    def from_api(cls, data: JsonObject) -> Computer:
        general = data.get("general") or {}
        apps: dict[str, str] = {}
        for app in data.get("applications") or []:
            bundle_id, version = app.get("bundleId"), app.get("version") or app.get("cfBundleShortVersionString")
            # A second copy of an app (e.g. in ~/Downloads) is reported too; keep the first one listed.
            if bundle_id and version and bundle_id not in apps:
                apps[str(bundle_id)] = str(version)
        return cls(
            id=int(data["id"]),
            name=str(general.get("name") or data.get("udid") or data["id"]),
            department_id=_int_or_none((data.get("userAndLocation") or {}).get("departmentId")),
            os_version=(data.get("operatingSystem") or {}).get("version"),
            last_contact=general.get("lastContact"),
            apps=apps,
            free_disk_mb=_int_or_none((data.get("storage") or {}).get("bootDriveAvailableSpaceMegabytes")),
        )


class Group(_Frozen):
    """A computer group; smart and static groups share one id space in Jamf."""

    id: int
    name: str
    is_smart: bool = True
    member_count: int | None = None

    @classmethod
    def from_api(cls, data: JsonObject, is_smart: bool = True) -> Group:
        # Smart group lists say ``membershipCount``, static group lists say ``count``.
        count = data.get("membershipCount", data.get("count"))
        return cls(id=int(data["id"]), name=str(data.get("name") or ""), is_smart=is_smart,
                   member_count=_int_or_none(count))  # fmt: skip


class Package(_Frozen):
    id: int
    name: str
    file_name: str
    hash_type: str | None = None
    hash_value: str | None = None
    size: str | None = None

    @classmethod
    def from_api(cls, data: JsonObject) -> Package:
        size = data.get("size")
        return cls(
            id=int(data["id"]),
            name=str(data.get("packageName") or data.get("fileName") or ""),
            file_name=str(data.get("fileName") or ""),
            hash_type=data.get("hashType"),
            hash_value=data.get("hashValue"),
            size=None if size is None else str(size),
        )


class PatchTitle(_Frozen):
    """A patch software title configuration: an app Jamf tracks against its vendor's release feed."""

    id: int
    name: str  # Jamf's displayName, e.g. "Google Chrome"
    software_title_id: str = ""
    software_title_name: str = ""
    publisher: str = ""
    packages: dict[str, int] = {}  # version -> id of the Jamf package that installs it

    @classmethod
    def from_api(cls, data: JsonObject) -> PatchTitle:
        packages: dict[str, int] = {}
        for package in data.get("packages") or []:
            number = _int_or_none(package.get("packageId"))
            if number is not None and package.get("version"):
                packages[str(package["version"])] = number
        return cls(
            id=int(data["id"]),
            name=str(data.get("displayName") or data.get("softwareTitleName") or ""),
            software_title_id=str(data.get("softwareTitleId") or ""),
            software_title_name=str(data.get("softwareTitleName") or ""),
            publisher=str(data.get("softwareTitlePublisher") or ""),
            packages=packages,
        )


class PatchSummary(_Frozen):
    """How many Macs run a title's latest version and how many lag behind it."""

    title_id: int  # the software title configuration's id
    title: str
    latest_version: str = ""
    release_date: datetime | None = None
    up_to_date: int = 0
    out_of_date: int = 0

    @property
    def total(self) -> int:
        return self.up_to_date + self.out_of_date

    @classmethod
    def from_api(cls, data: JsonObject, title_id: int) -> PatchSummary:
        return cls(
            title_id=_int_or_none(data.get("softwareTitleConfigurationId")) or title_id,
            title=str(data.get("title") or ""),
            latest_version=str(data.get("latestVersion") or ""),
            release_date=_datetime_or_none(data.get("releaseDate")),
            up_to_date=_int_or_none(data.get("upToDate")) or 0,
            out_of_date=_int_or_none(data.get("outOfDate")) or 0,
        )


class PatchVersionCount(_Frozen):
    """How many Macs run one version of a patch title; ``order`` 0 is the newest Jamf knows."""

    version: str
    computers: int = 0
    order: int | None = None

    @classmethod
    def from_api(cls, data: JsonObject) -> PatchVersionCount:
        return cls(version=str(data.get("version") or ""), computers=_int_or_none(data.get("onVersion")) or 0,
                   order=_int_or_none(data.get("absoluteOrderId")))  # fmt: skip


class Policy(_Frozen):
    id: int
    name: str
    enabled: bool = False
    package_ids: tuple[int, ...] = ()
    group_ids: tuple[int, ...] = ()
    trigger_checkin: bool = False


class PolicyRun(_Frozen):
    """One run of a policy on a Mac, from the Mac's policy logs (Classic computer history).

    ``status`` is Jamf's word, "Completed" or "Failed"; Jamf's API does not say why a run failed.
    """

    policy_id: int
    policy_name: str
    status: str
    completed_at: datetime | None = None

    @property
    def failed(self) -> bool:
        return self.status.casefold() == "failed"


class PolicySpec(_Frozen):
    """What remedy wants a Classic policy to be; :mod:`remedy.jamf.policy_xml` turns it into XML."""

    name: str
    package_id: int
    group_ids: tuple[int, ...] = ()
    enabled: bool = False
    trigger_checkin: bool = True
    category: str | None = None


class ComplianceCount(_Frozen):
    total_with_app: int
    compliant: int
    behind: list[int]  # ids of the Macs below the target, ascending
    missing_app: int  # Macs counted that do not have the app at all

    @property
    def ratio(self) -> float:
        return self.compliant / self.total_with_app if self.total_with_app else 1.0
