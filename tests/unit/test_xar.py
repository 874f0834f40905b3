"""The flat-package (xar) reader, what PackageInfo/Distribution declare, and the signature check —
pure functions over archives built at test time by remedy/sandbox/xarbuild.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
import tracemalloc
import zlib
from collections.abc import Iterator

import pytest

from remedy.packages import pkginfo, signing
from remedy.packages.xar import Archive, Reader, XarError, read_archive
from remedy.sandbox.seed import NOW
from remedy.sandbox.xarbuild import CHROME, DEVELOPER, OLDER, TARGET, Spec, build, chunks, make_signer


def _read(data: bytes, size: int | None = None) -> Archive:
    pieces = [data] if size is None else [data[i : i + size] for i in range(0, len(data), size)]
    return read_archive(pieces, lambda member: pkginfo.is_metadata(member.path))


def _raw(toc: bytes, heap: bytes = b"", algorithm: int = 1) -> bytes:
    """A xar around a hand-written TOC, for shapes the builder never makes."""
    compressed = zlib.compress(toc)
    return struct.pack(">4sHHQQI", b"xar!", 28, 1, len(compressed), len(toc), algorithm) + compressed + heap


@pytest.mark.parametrize("size", [None, 1, 7, 4096])
def test_a_valid_package_reads_the_same_in_any_chunking(size: int | None) -> None:
    archive = _read(build(), size)
    assert archive.problems() == [] and archive.checksum_ok
    assert archive.header.checksum == archive.toc.checksum_style == "sha1"
    assert [m.path for m in archive.toc.members] == ["PackageInfo", "Payload"]
    assert archive.verified_members == 2  # every file's archived checksum, the Payload's too
    assert list(archive.files) == ["PackageInfo"]  # only metadata is kept, never the payload
    declared = pkginfo.declarations("PackageInfo", archive.read("PackageInfo"))
    assert {(d.bundle_id, d.version, d.app) for d in declared} == {(CHROME, TARGET, False), (CHROME, TARGET, True)}


def test_a_product_archive_with_a_named_checksum_algorithm() -> None:
    archive = _read(build(distribution=True, checksum_style="sha256"), 100)
    assert archive.header.size == 64 and archive.header.checksum == "sha256" and archive.problems() == []
    assert set(archive.files) == {"Distribution", "Chrome.pkg/PackageInfo"}
    where = {d.where for path in archive.files for d in pkginfo.declarations(path, archive.read(path))}
    assert where >= {"Distribution <pkg-ref>", "Distribution <product>", "Chrome.pkg/PackageInfo <bundle>"}


def test_a_corrupt_toc_checksum_is_found() -> None:
    archive = _read(build(corrupt_checksum=True))
    assert not archive.checksum_ok
    assert "TOC checksum (sha1) does not match the heap" in archive.problems()[0]


def test_a_changed_file_no_longer_matches_its_archived_checksum() -> None:
    data = bytearray(build(extra_files=(("Scripts", b"#!/bin/sh\nexit 0\n"),)))
    plain = zlib.compress(b"#!/bin/sh\nexit 0\n")
    at = bytes(data).index(plain)
    data[at + len(plain) - 1] ^= 0x01  # one flipped bit in the archived Scripts
    archive = _read(bytes(data))
    assert archive.bad_members == ("Scripts",)
    assert archive.problems() == ["Scripts's data does not match its archived checksum"]


@pytest.mark.parametrize(("data", "message"), [
    (b"PK\x03\x04 a zip file, not a package" * 4, "not a xar archive"),
    (b"", "not a xar archive (empty)"),
    (b"xar!\x00\x1c", "truncated"),
    (struct.pack(">4sHHQQI", b"xar!", 28, 1, 1 << 40, 10, 1), "implausible TOC size"),
    (struct.pack(">4sHHQQI", b"xar!", 28, 2, 10, 10, 1), "unsupported xar header"),
    (_raw(b"<xar><toc/></xar>"), "names no checksum"),
    (_raw(b"<not-xar/>"), "no <xar><toc>"),
    (_raw(b"<xar><toc><checksum style='sha1'><offset>x</offset><size>20</size></checksum></toc></xar>"),
     "has no valid <offset>"),
    (_raw(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xar><toc>&a;</toc></xar>'), "declares XML entities"),
    (_raw(b"<xar><toc><checksum"), "not well-formed XML"),
    (_raw(b"<xar><toc><checksum style='sha1'><offset>0</offset><size>999999999</size></checksum></toc></xar>"),
     "implausibly large checksum"),
], ids=["zip", "empty", "short", "huge-toc", "version", "no-checksum", "not-xar", "bad-number", "entities", "xml",
        "huge-checksum"])
def test_what_is_not_a_sound_xar_is_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(XarError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _read(data)


def test_a_toc_that_lies_about_its_size_is_refused() -> None:
    toc = b"<xar><toc><checksum style='sha1'><offset>0</offset><size>20</size></checksum></toc></xar>"
    compressed = zlib.compress(toc)
    data = struct.pack(">4sHHQQI", b"xar!", 28, 1, len(compressed), len(toc) + 5, 1) + compressed
    with pytest.raises(XarError, match="the header says"):
        _read(data)


def test_a_truncated_heap_names_what_is_missing() -> None:
    data = build()
    with pytest.raises(XarError, match=r"truncated: the heap ends at byte .* Payload needs"):
        _read(data[:-10])


def test_a_metadata_file_beyond_the_limit_is_not_kept() -> None:
    reader = Reader(lambda member: member.name == "PackageInfo", member_limit=64)
    for piece in chunks(Spec()):
        reader.feed(piece)
    archive = reader.finish()
    assert "PackageInfo" not in archive.files
    with pytest.raises(XarError, match="remedy reads at most 0 KB"):
        archive.read("PackageInfo")


def test_reading_a_large_package_keeps_memory_flat() -> None:
    spec = Spec(payload_size=64 << 20)
    tracemalloc.start()
    try:
        reader = Reader(lambda member: pkginfo.is_metadata(member.path))
        digest = hashlib.sha512()
        for piece in chunks(spec):
            digest.update(piece)
            reader.feed(piece)
        archive = reader.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert archive.problems() == [] and archive.heap_size > 64 << 20
    assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB while reading 64 MiB"


# -- what the package declares --------------------------------------------------------------------
def _judged(bundle_id: str, version: str) -> tuple[pkginfo.Verdict, pkginfo.Verdict]:
    return pkginfo.judge(pkginfo.declarations("PackageInfo", _info(bundle_id, version)), CHROME, TARGET)


def _info(bundle_id: str, version: str) -> bytes:
    archive = _read(build(bundle_id=bundle_id, version=version))
    return archive.read("PackageInfo")


def test_the_bundle_id_and_version_are_judged_against_the_ticket() -> None:
    bundle, version = _judged(CHROME, TARGET)
    assert bundle.ok and version.ok and version.detail == f"{CHROME} {TARGET} (target {TARGET})"
    bundle, version = _judged(CHROME, "120.0.6099.200")  # newer is fine: numeric, not string compare
    assert version.ok
    bundle, version = _judged(CHROME, OLDER)
    assert bundle.ok and not version.ok and "older than the ticket's target" in version.detail
    bundle, version = _judged("com.example.NotChrome", TARGET)
    assert not bundle.ok and "declares com.example.NotChrome" in bundle.detail
    assert not version.ok and version.detail.startswith("not checked")


def test_the_apps_own_version_wins_over_the_packages() -> None:
    xml = (b'<pkg-info identifier="com.google.Chrome" version="121.0"><bundle id="com.google.Chrome" '
           b'CFBundleShortVersionString="119.0"/></pkg-info>')
    _, version = pkginfo.judge(pkginfo.declarations("PackageInfo", xml), CHROME, TARGET)
    assert not version.ok and "119.0 is older" in version.detail


def test_metadata_paths() -> None:
    assert pkginfo.is_metadata("PackageInfo") and pkginfo.is_metadata("Chrome.pkg/PackageInfo")
    assert not pkginfo.is_metadata("a/b/PackageInfo") and not pkginfo.is_metadata("Payload")


# -- the signature --------------------------------------------------------------------------------
def _signature(**changes: object) -> signing.SignatureCheck:
    return signing.check(_read(build(**changes)), NOW)


def test_a_signed_package_names_its_signer_and_expiry() -> None:
    signer = make_signer()
    result = _signature(signer=signer)
    assert result.ok and result.signer == DEVELOPER
    assert result.expires == signer.chain[0].not_valid_after_utc
    assert "chain of 2 certificates links up; RSA signature over the TOC verifies" in result.detail
    assert _signature(signer=make_signer(with_ca=False), checksum_style="sha256").ok


@pytest.mark.parametrize(("changes", "reason"), [
    ({}, "unsigned: the TOC carries no signature"),
    ({"signer": make_signer(not_after=NOW - dt.timedelta(days=1))}, "the certificate expired on"),
    ({"signer": make_signer(not_before=NOW + dt.timedelta(days=1))}, "is not valid before"),
    ({"signer": make_signer(), "tamper_signature": True}, "does not verify against the certificate's key"),
], ids=["unsigned", "expired", "not-yet-valid", "tampered"])
def test_a_signature_that_does_not_hold_says_why(changes: dict[str, object], reason: str) -> None:
    result = _signature(**changes)
    assert not result.ok and reason in result.detail


def test_a_chain_whose_links_do_not_match_is_broken() -> None:
    mine, theirs = make_signer(), make_signer()
    spliced = type(mine)(mine.key, (mine.chain[0], theirs.chain[1]))
    result = _signature(signer=spliced)
    assert not result.ok and "the chain is broken" in result.detail


def _pieces(data: bytes) -> Iterator[bytes]:
    yield from (data[i : i + 3] for i in range(0, len(data), 3))


def test_reader_refuses_early_when_the_first_bytes_are_wrong() -> None:
    reader = Reader(lambda member: True)
    with pytest.raises(XarError, match="not a xar archive"):
        for piece in _pieces(b"\x1f\x8b gzip, not xar"):
            reader.feed(piece)
