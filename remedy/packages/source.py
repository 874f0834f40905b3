"""Where the bytes of a package come from, and the one streaming pass that hashes and reads them.

Jamf Pro's API does not serve package content (its JCDS download-URL endpoint is deprecated): packages
live on distribution points, and Macs download them from there. So remedy reads the package from the
same place, the **distribution point**: ``REMEDY_PACKAGE_SOURCE`` is the HTTP(S) base URL its package
files are served from — a file share distribution point's ``https://dp.example.com/CasperShare/Packages``
or the CDN in front of a cloud one — and a package is ``{base}/{Jamf's fileName}``. That copy is the one
that reaches the Macs, and Jamf's recorded hash (computed when the package was uploaded) says whether it
is still the file that was uploaded.

The copy is streamed once in chunks: every byte goes to the hash Jamf recorded (SHA-512 or SHA3-512)
and to the xar reader, which keeps only what it needs, so a 200 MB package costs a few chunks of memory.
Nothing is written to disk and nothing in the package is run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from remedy.packages.pkginfo import is_metadata
from remedy.packages.xar import Archive, Reader, XarError

CHUNK = 1 << 16
# Jamf Pro's hashType values for the algorithms worth trusting; MD5 is what old uploads recorded.
JAMF_HASHES = {"SHA_512": "sha512", "SHA512": "sha512", "SHA-512": "sha512",
               "SHA3_512": "sha3_512", "SHA3-512": "sha3_512", "SHA3512": "sha3_512"}
JAMF_HASH_NAMES = {"sha512": "SHA-512", "sha3_512": "SHA3-512"}


class SourceError(Exception):
    """A copy could not be read (missing on the distribution point, unreachable …)."""


@dataclass(frozen=True)
class Copy:
    label: str  # for people: "the distribution point's copy"
    open: Callable[[], Iterator[bytes]]


@dataclass(frozen=True)
class Inspection:
    copy: Copy
    digest: str | None  # hex, in the algorithm asked for; None when the copy could not be read
    size: int
    archive: Archive | None
    problem: str | None  # why the copy is unreadable, or not a (sound) xar archive
    unreadable: bool = False  # the copy itself could not be read (vs. read, but not a good archive)


def jamf_algorithm(hash_type: str | None) -> str | None:
    """hashlib's name for Jamf's hashType, or None for a type not worth trusting (MD5) or unknown."""
    return JAMF_HASHES.get((hash_type or "").strip().upper())


def inspect(copy: Copy, algorithm: str) -> Inspection:
    """Hash the whole copy with ``algorithm`` and read it as a xar archive, in one streaming pass."""
    digest: Any = hashlib.new(algorithm)
    reader: Reader | None = Reader(lambda member: is_metadata(member.path))
    size, problem = 0, None
    try:
        for chunk in copy.open():
            size += len(chunk)
            digest.update(chunk)
            if reader is not None:
                try:
                    reader.feed(chunk)
                except XarError as exc:  # keep hashing: the hash check stands on its own
                    problem, reader = str(exc), None
    except SourceError as exc:
        return Inspection(copy, None, size, None, f"could not read {copy.label}: {exc}", unreadable=True)
    archive = None
    if reader is not None:
        try:
            archive = reader.finish()
        except XarError as exc:
            problem = str(exc)
    return Inspection(copy, digest.hexdigest(), size, archive, problem)


class DistributionPoint:
    """Package files over HTTP(S) at ``{base_url}/{file name}``, streamed; no credentials are sent
    (a file share distribution point serves its packages to every Mac the same way)."""

    def __init__(self, base_url: str, timeout: float, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 3.0))
        self._transport = transport

    def copy(self, file_name: str) -> Copy:
        url = f"{self.base_url}/{quote(file_name)}"

        def chunks() -> Iterator[bytes]:
            try:
                with httpx.Client(timeout=self._timeout, transport=self._transport, follow_redirects=True) as client, \
                        client.stream("GET", url) as answer:
                    if answer.status_code != 200:
                        raise SourceError(f"the distribution point answered HTTP {answer.status_code} for it")
                    yield from answer.iter_bytes(CHUNK)
            except httpx.HTTPError as exc:
                raise SourceError(f"the distribution point is unreachable ({type(exc).__name__})") from None

        return Copy("the distribution point's copy", chunks)
