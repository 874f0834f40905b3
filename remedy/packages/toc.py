"""The table of contents of a xar archive (an Apple flat package): the XML that names every file, where
its data sits in the heap and how it is encoded and checksummed, and where the TOC's own checksum and
signatures sit. Parsed from untrusted input, so every number is checked and every size bounded.
"""

from __future__ import annotations

import bz2
import hashlib
import hmac
import lzma
import zlib
from base64 import b64decode
from binascii import Error as Base64Error
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

# Bounds on what an archive can make remedy hold: PackageInfo and Distribution are a few kilobytes.
MAX_DECODED = 4 << 20
_MAX_DEPTH = 32
_DIGESTS = {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512", "md5": "md5"}
_RAW = ("", "application/octet-stream")


class XarError(ValueError):
    """Not a flat package, or a damaged one; the message says what, for a ❌ line."""


@dataclass(frozen=True)
class Span:
    """A range of the heap (offsets count from the heap's first byte)."""

    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True)
class Digest:
    style: str
    hex: str


@dataclass(frozen=True)
class Member:
    path: str  # "PackageInfo", "Chrome.pkg/PackageInfo"
    kind: str  # file, directory, symlink …
    data: Span | None = None
    size: int | None = None  # extracted size
    encoding: str = ""
    archived: Digest | None = None
    extracted: Digest | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Signature:
    style: str  # "RSA" (<signature>) or "CMS" (<x-signature>)
    span: Span
    certificates: tuple[bytes, ...]  # DER, leaf first
    element: str = "signature"


@dataclass(frozen=True)
class Toc:
    checksum_style: str
    checksum: Span
    signatures: tuple[Signature, ...]
    members: tuple[Member, ...]

    def member(self, path: str) -> Member | None:
        return next((m for m in self.members if m.path == path), None)


def hasher(style: str) -> Any:
    """A fresh hashlib object for a TOC checksum style, or None when remedy cannot compute it."""
    name = _DIGESTS.get(style.lower())
    return hashlib.new(name) if name else None


def parse_xml(data: bytes, what: str) -> ElementTree.Element:
    """Untrusted XML: entity declarations are refused outright (nothing here needs them, and expanding
    them is how XML bombs work); external entities are never fetched by ElementTree."""
    if b"<!ENTITY" in data:
        raise XarError(f"{what} declares XML entities; remedy does not expand them")
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise XarError(f"{what} is not well-formed XML ({exc})") from None


def parse_toc(xml: bytes) -> Toc:
    root = parse_xml(xml, "the TOC")
    toc = root.find("toc") if root.tag == "xar" else None
    if toc is None:
        raise XarError("the TOC has no <xar><toc> element")
    checksum = toc.find("checksum")
    if checksum is None:
        raise XarError("the TOC names no checksum")
    signatures = tuple(_signature(el) for el in toc if el.tag in ("signature", "x-signature"))
    members: list[Member] = []
    _members(toc, "", 0, members)
    return Toc(checksum.get("style", "").lower(), _span(checksum, "the TOC checksum"), signatures, tuple(members))


def _number(element: ElementTree.Element, tag: str, what: str) -> int:
    text = (element.findtext(tag) or "").strip()
    if not text.isdigit():
        raise XarError(f"{what} has no valid <{tag}>")
    return int(text)


def _span(element: ElementTree.Element, what: str) -> Span:
    return Span(_number(element, "offset", what), _number(element, "size", what))


def _signature(element: ElementTree.Element) -> Signature:
    certs = []
    for node in element.iter():
        if node.tag.rsplit("}", 1)[-1] == "X509Certificate" and node.text:
            try:
                certs.append(b64decode("".join(node.text.split()), validate=True))
            except (Base64Error, ValueError):
                raise XarError("a signature certificate is not valid base64") from None
    style = element.get("style", "CMS" if element.tag == "x-signature" else "")
    return Signature(style, _span(element, f"the {element.tag}"), tuple(certs), element.tag)


def _members(parent: ElementTree.Element, prefix: str, depth: int, found: list[Member]) -> None:
    if depth > _MAX_DEPTH:
        raise XarError("the TOC nests directories too deeply")
    for node in parent.findall("file"):
        name = (node.findtext("name") or "").strip()
        path = f"{prefix}/{name}" if prefix else name
        kind = (node.findtext("type") or "file").strip()
        found.append(_member(node.find("data"), path, kind))
        _members(node, path, depth + 1, found)


def _member(data: ElementTree.Element | None, path: str, kind: str) -> Member:
    if data is None:
        return Member(path, kind)
    encoding = data.find("encoding")
    size = (data.findtext("size") or "").strip()
    return Member(path, kind, Span(_number(data, "offset", path), _number(data, "length", path)),
                  int(size) if size.isdigit() else None, "" if encoding is None else encoding.get("style", ""),
                  _digest(data.find("archived-checksum")), _digest(data.find("extracted-checksum")))


def _digest(element: ElementTree.Element | None) -> Digest | None:
    if element is None or not (element.text or "").strip():
        return None
    return Digest(element.get("style", "").lower(), (element.text or "").strip().lower())


def decode(member: Member, archived: bytes, limit: int = MAX_DECODED) -> bytes:
    """A member's data as it would be extracted (zlib/gzip, bzip2, xz or none), at most ``limit`` bytes;
    its extracted checksum, when the TOC gives one, must match."""
    style = member.encoding.lower()
    try:
        if style in _RAW:
            out, rest = archived[: limit + 1], b""
        elif style == "application/x-gzip":  # xar's "gzip" is a zlib stream; wbits 47 accepts gzip too
            inflater = zlib.decompressobj(47)
            out, rest = inflater.decompress(archived, limit + 1), inflater.unconsumed_tail
        elif style in ("application/x-bzip2", "application/x-lzma", "application/x-xz"):
            unpacker: Any = bz2.BZ2Decompressor() if "bzip2" in style else lzma.LZMADecompressor()
            out, rest = unpacker.decompress(archived, limit + 1), b""
        else:
            raise XarError(f"{member.path} uses an encoding remedy does not read ({style})")
    except (zlib.error, OSError, lzma.LZMAError, EOFError) as exc:
        raise XarError(f"{member.path} does not decompress ({exc})") from None
    if len(out) > limit or rest:
        raise XarError(f"{member.path} expands beyond {limit // 1024} KB; remedy reads no more")
    _check_digest(member.path, "extracted", member.extracted, out)
    return out


def _check_digest(path: str, which: str, digest: Digest | None, data: bytes) -> None:
    running = hasher(digest.style) if digest else None
    if digest is None or running is None:
        return
    running.update(data)
    if not hmac.compare_digest(running.hexdigest(), digest.hex):
        raise XarError(f"{path}'s {which} checksum ({digest.style}) does not match its data")
