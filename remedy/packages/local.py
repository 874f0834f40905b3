"""A local copy of a package: the installer someone attached to the ticket (the vendor's download, the
build from the packaging pipeline). It is not what reaches the Macs — the distribution point's copy is —
but when it is there, `validate package` says whether it is the same file Jamf holds: a differing hash
means the package in Jamf is not the one the ticket was tested with.

Copies are read from Jira attachments, streamed like the distribution point's copy (never held whole).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from remedy.jamf.models import Package
from remedy.jira.client import JiraClient
from remedy.jira.errors import JiraError
from remedy.jira.models import Attachment
from remedy.packages.source import CHUNK, Copy, SourceError


@dataclass(frozen=True)
class Attached:
    filename: str
    copy: Copy


def attached_packages(jira: JiraClient, key: str) -> list[Attached]:
    """The ticket's ``.pkg`` attachments, the newest of each name (Jira keeps every upload of a name)."""
    newest: dict[str, Attachment] = {}
    for attachment in jira.attachments(key):  # oldest first
        if attachment.filename.casefold().endswith(".pkg"):
            newest[attachment.filename.casefold()] = attachment
    return [Attached(a.filename, _copy(jira, key, a)) for a in newest.values()]


def _copy(jira: JiraClient, key: str, attachment: Attachment) -> Copy:
    def chunks() -> Iterator[bytes]:
        try:
            yield from jira.attachment_content(attachment, CHUNK)
        except JiraError as exc:
            raise SourceError(f"Jira could not send it: {exc}") from None

    return Copy(f"{attachment.filename} attached to {key}", chunks)


def named(attached: Sequence[Attached], typed: str | None) -> Attached | None:
    """The attachment the user named (any case, ``.pkg`` optional)."""
    if not typed:
        return None
    wanted = typed.strip().casefold().removesuffix(".pkg")
    return next((a for a in attached if a.filename.casefold().removesuffix(".pkg") == wanted), None)


def for_package(attached: Sequence[Attached], typed: str | None, package: Package) -> Attached | None:
    """The local copy to compare with ``package``: the one named, else one with the package's file name."""
    return named(attached, typed) or named(attached, package.file_name)
