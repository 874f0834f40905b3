"""Apple flat packages are xar archives: this reads one as its bytes stream past, never executing or
extracting it (no xar library exists for Python, and the format is small).

On-disk layout (big-endian):

* header, 28 bytes: ``xar!``, header size (u16), version (u16, 1), TOC length compressed (u64), TOC
  length uncompressed (u64), checksum algorithm (u32: 0 none, 1 sha1, 2 md5, 3 named — the name then
  follows NUL-padded and the header is longer);
* TOC: zlib-compressed XML naming every file, its type and where its data sits in the heap (offset,
  length, encoding, checksums), and where the TOC checksum and any signature sit;
* heap: everything else. The TOC checksum — a digest of the *compressed* TOC — is stored in the heap
  at the offset the TOC gives; a signature signs that digest.

:class:`Reader` is fed chunks in order and keeps only the header and TOC (bounded), the few heap ranges
it was asked for (checksum, signatures, small metadata files; bounded) and one running digest per file
with an archived checksum, so memory stays flat however large the Payload is.
"""

from __future__ import annotations

import hmac
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from remedy.packages.toc import Member, Span, Toc, XarError, decode, hasher, parse_toc

__all__ = ["MAGIC", "Archive", "Header", "Reader", "XarError", "parse_header", "read_archive"]

MAGIC = b"xar!"
HEADER_SIZE = 28
# A package's TOC is kilobytes; one far beyond these bounds is refused rather than buffered.
MAX_TOC_COMPRESSED = 4 << 20
MAX_TOC_XML = 32 << 20
MAX_MEMBER_BYTES = 1 << 20
MAX_CHECKSUM = 64  # a SHA-512 digest
MAX_SIGNATURE = 1 << 16  # an RSA signature is 256-512 bytes; a CMS one with its chain a few KB
_ALGORITHMS = {0: "none", 1: "sha1", 2: "md5"}


@dataclass(frozen=True)
class Header:
    size: int
    version: int
    toc_compressed: int
    toc_uncompressed: int
    checksum: str  # "sha1", "md5", "sha256" … or "none"


def parse_header(data: bytes) -> Header:
    """The header at the start of ``data`` (which holds at least the header's own size)."""
    if data[:4] != MAGIC:
        raise XarError("not a xar archive (no `xar!` header)")
    if len(data) < HEADER_SIZE:
        raise XarError("truncated: the archive ends inside its header")
    _, size, version, compressed, uncompressed, algorithm = struct.unpack(">4sHHQQI", data[:HEADER_SIZE])
    if size < HEADER_SIZE or version != 1:
        raise XarError(f"unsupported xar header (size {size}, version {version})")
    if algorithm == 3:
        name = data[HEADER_SIZE:size].split(b"\0", 1)[0].decode("ascii", "replace").strip().lower()
    elif algorithm in _ALGORITHMS:
        name = _ALGORITHMS[algorithm]
    else:
        raise XarError(f"unknown checksum algorithm {algorithm} in the xar header")
    if not 0 < compressed <= MAX_TOC_COMPRESSED or not 0 < uncompressed <= MAX_TOC_XML:
        raise XarError(f"implausible TOC size ({compressed} bytes compressed, {uncompressed} expanded)")
    return Header(size, version, compressed, uncompressed, name or "none")


def inflate_toc(header: Header, compressed: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        xml = inflater.decompress(compressed, header.toc_uncompressed + 1)
    except zlib.error as exc:
        raise XarError(f"the TOC does not decompress ({exc})") from None
    if len(xml) != header.toc_uncompressed or not inflater.eof:
        raise XarError(f"the TOC expands to {len(xml)} bytes, the header says {header.toc_uncompressed}")
    return xml


@dataclass
class _Tap:
    """One heap range the reader watches: bytes kept (up to a limit) and/or a running digest."""

    role: str  # checksum, signature or member
    name: str  # the member's path, or the signature's index
    span: Span
    keep: bool
    digest: Any = None
    expected: str = ""
    buf: bytearray = field(default_factory=bytearray)

    def take(self, piece: bytes | memoryview) -> None:
        if self.keep:
            self.buf += piece
        if self.digest is not None:
            self.digest.update(piece)


@dataclass(frozen=True)
class Archive:
    """What one pass over a flat package found; :meth:`problems` says what is wrong with it."""

    header: Header
    toc: Toc
    toc_digest: bytes  # computed over the compressed TOC with the TOC's checksum style
    stored_checksum: bytes  # the heap's bytes where the TOC says its checksum is
    heap_size: int
    signature_data: tuple[bytes, ...]  # per toc.signatures
    files: dict[str, bytes]  # archived bytes of the members asked for
    bad_members: tuple[str, ...]  # members whose heap bytes do not match their archived checksum
    verified_members: int
    skipped: dict[str, str]  # members asked for but not kept, and why

    @property
    def checksum_ok(self) -> bool:
        return bool(self.toc_digest) and hmac.compare_digest(self.toc_digest, self.stored_checksum)

    def problems(self) -> list[str]:
        found = []
        if self.header.checksum != self.toc.checksum_style:
            found.append(f"the header's checksum algorithm ({self.header.checksum}) is not the TOC's "
                         f"({self.toc.checksum_style})")
        if not self.toc_digest:
            found.append(f"the TOC checksum style “{self.toc.checksum_style}” is not one remedy can verify")
        elif not self.checksum_ok:
            found.append(f"the TOC checksum ({self.toc.checksum_style}) does not match the heap: "
                         f"the TOC hashes to {self.toc_digest.hex()[:16]}…, the heap holds "
                         f"{self.stored_checksum.hex()[:16] or 'nothing'}…")
        found += [f"{path}'s data does not match its archived checksum" for path in self.bad_members]
        return found

    def read(self, path: str) -> bytes:
        member = self.toc.member(path)
        if member is None or path not in self.files:
            raise XarError(self.skipped.get(path, f"{path} was not read"))
        return decode(member, self.files[path])


class Reader:
    """Feed an archive's bytes in order with :meth:`feed`, then call :meth:`finish`.

    ``wanted`` picks the members whose archived bytes to keep (each at most ``member_limit``).
    A malformed header or TOC raises :class:`XarError` from :meth:`feed`; stop feeding then.
    """

    def __init__(self, wanted: Callable[[Member], bool], member_limit: int = MAX_MEMBER_BYTES) -> None:
        self._wanted = wanted
        self._limit = member_limit
        self._head = bytearray()
        self._header: Header | None = None
        self._toc: Toc | None = None
        self._toc_digest = b""
        self._pos = 0  # heap bytes seen
        self._pending: list[_Tap] = []  # by offset, last first
        self._active: list[_Tap] = []
        self._done: list[_Tap] = []
        self._skipped: dict[str, str] = {}

    def feed(self, chunk: bytes) -> None:
        if self._toc is not None:
            self._heap(memoryview(chunk))
            return
        self._head += chunk
        if self._header is None:
            if self._head[:4] != MAGIC[: len(self._head)]:
                raise XarError("not a xar archive (no `xar!` header)")
            size = struct.unpack(">H", self._head[4:6])[0] if len(self._head) >= 6 else HEADER_SIZE
            if len(self._head) < max(size, HEADER_SIZE):
                return
            self._header = parse_header(bytes(self._head))
        toc_end = self._header.size + self._header.toc_compressed
        if len(self._head) >= toc_end:
            head, self._head = self._head, bytearray()
            self._start(bytes(head[self._header.size : toc_end]))
            self._heap(memoryview(head)[toc_end:])

    def _start(self, compressed: bytes) -> None:
        assert self._header is not None
        toc = parse_toc(inflate_toc(self._header, compressed))
        running = hasher(toc.checksum_style)
        if running is not None:
            running.update(compressed)
            self._toc_digest = running.digest()
        if toc.checksum.length > MAX_CHECKSUM or any(sig.span.length > MAX_SIGNATURE for sig in toc.signatures):
            raise XarError("the TOC places an implausibly large checksum or signature in the heap")
        taps = [_Tap("checksum", "", toc.checksum, keep=True)]
        taps += [_Tap("signature", str(i), s.span, keep=True) for i, s in enumerate(toc.signatures)]
        taps += [tap for member in toc.members if (tap := self._member_tap(member)) is not None]
        self._pending = sorted(taps, key=lambda t: t.span.offset, reverse=True)
        self._toc = toc
        self._heap(memoryview(b""))

    def _member_tap(self, member: Member) -> _Tap | None:
        if member.data is None:
            return None
        keep = member.kind == "file" and self._wanted(member)
        if keep and member.data.length > self._limit:
            self._skipped[member.path] = (f"{member.path} is {member.data.length // 1024} KB archived; "
                                          f"remedy reads at most {self._limit // 1024} KB")
            keep = False
        digest = hasher(member.archived.style) if member.archived else None
        if not keep and digest is None:
            return None
        return _Tap("member", member.path, member.data, keep, digest, member.archived.hex if member.archived else "")

    def _heap(self, chunk: memoryview) -> None:
        start, end = self._pos, self._pos + len(chunk)
        while self._pending and self._pending[-1].span.offset <= end:
            self._active.append(self._pending.pop())
        still: list[_Tap] = []
        for tap in self._active:
            low, high = max(tap.span.offset, start), min(tap.span.end, end)
            if low < high:
                tap.take(chunk[low - start : high - start])
            (still if tap.span.end > end else self._done).append(tap)
        self._active = still
        self._pos = end

    def finish(self) -> Archive:
        if self._header is None or self._toc is None:
            raise XarError("not a xar archive (empty)" if not self._head and self._header is None
                           else "truncated: the archive ends inside its header or TOC")
        missing = self._active + self._pending
        if missing:
            last = max(missing, key=lambda t: t.span.end)
            raise XarError(f"truncated: the heap ends at byte {self._pos}, {last.name or last.role} needs "
                           f"{last.span.end}")
        return self._archive(self._header, self._toc)

    def _archive(self, header: Header, toc: Toc) -> Archive:
        members = [t for t in self._done if t.role == "member"]
        checksum = next(bytes(t.buf) for t in self._done if t.role == "checksum")
        signatures = {int(t.name): bytes(t.buf) for t in self._done if t.role == "signature"}
        bad = tuple(t.name for t in members if t.digest is not None and t.digest.hexdigest() != t.expected)
        return Archive(header, toc, self._toc_digest, checksum, self._pos,
                       tuple(signatures[i] for i in range(len(toc.signatures))),
                       {t.name: bytes(t.buf) for t in members if t.keep}, bad,
                       sum(t.digest is not None for t in members), dict(self._skipped))


def read_archive(chunks: Iterable[bytes], wanted: Callable[[Member], bool]) -> Archive:
    """One pass over a whole archive (see :class:`Reader`)."""
    reader = Reader(wanted)
    for chunk in chunks:
        reader.feed(chunk)
    return reader.finish()
