"""Build real xar archives (Apple flat packages), with knobs for every way one goes wrong.

The Jamf simulator's distribution point serves one for each seeded package (:func:`seed_package_files`),
so `validate package` has a real file to hash and read; tests build broken ones to see each check fail.

The layout is what `pkgbuild`/`productbuild` write: header, zlib TOC, then the heap with the TOC
checksum at offset 0, the RSA signature right after it (signed packages), then the files. A signature is
what `xar --sign` + `openssl rsautl -sign` make: PKCS#1 v1.5 over the DigestInfo of the TOC checksum.
Big packages are produced lazily (:func:`chunks`), so a 200 MB test never holds 200 MB.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import struct
import zlib
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from xml.sax.saxutils import escape, quoteattr

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID

from remedy.sandbox.jamf_state import JamfState
from remedy.sandbox.seed import NOW, REMEDIATION_FACTS

CHROME, TARGET, OLDER = "com.google.Chrome", "120.0.6099.109", "119.0.6045.199"
DEVELOPER = "Developer ID Installer: Google LLC (EQHXZ8M8AV)"
_HASHES = {"sha1": hashes.SHA1(), "sha256": hashes.SHA256()}
_BLOCK = bytes(range(256)) * 4096  # 1 MiB of filler, reused for every chunk of a big payload


@dataclass(frozen=True)
class Signer:
    key: rsa.RSAPrivateKey
    chain: tuple[x509.Certificate, ...]  # leaf first

    @property
    def der(self) -> tuple[bytes, ...]:
        return tuple(c.public_bytes(serialization.Encoding.DER) for c in self.chain)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(cn: str, key: rsa.RSAPrivateKey, issuer: x509.Name | None, issuer_key: rsa.RSAPrivateKey,
          not_before: dt.datetime, not_after: dt.datetime, ca: bool) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer or subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))


def make_signer(cn: str = DEVELOPER, *, not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
                with_ca: bool = True) -> Signer:
    """A leaf certificate named ``cn`` (issued by a made-up CA unless ``with_ca`` is False); validity
    is around the sandbox's "now" unless given."""
    start = not_before or NOW - dt.timedelta(days=365)
    end = not_after or NOW + dt.timedelta(days=365)
    key = _key()
    if not with_ca:
        return Signer(key, (_cert(cn, key, None, key, start, end, ca=False),))
    ca_key = _key()
    ca = _cert("Developer ID Certification Authority (test)", ca_key, None, ca_key, start, end, ca=True)
    return Signer(key, (_cert(cn, key, ca.subject, ca_key, start, end, ca=False), ca))


@dataclass(frozen=True)
class Spec:
    """What to put in the package. Defaults: a valid Chrome 120 component package."""

    bundle_id: str = CHROME
    version: str = TARGET
    app: str = "Google Chrome"  # the .app the package installs
    distribution: bool = False  # a product archive: Distribution + Chrome.pkg/{PackageInfo,Payload}
    signer: Signer | None = None
    corrupt_checksum: bool = False  # the heap's copy of the TOC checksum is wrong
    tamper_signature: bool = False  # the signature no longer matches the TOC
    checksum_style: str = "sha1"
    payload: bytes = b"pretend cpio archive of Google Chrome.app\n" * 64
    payload_size: int | None = None  # a lazily generated payload of this many bytes instead
    extra_files: tuple[tuple[str, bytes], ...] = field(default=())


def package_info(bundle_id: str, version: str, app: str = "Google Chrome") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<pkg-info format-version="2" identifier={quoteattr(bundle_id)} '
            f'version={quoteattr(version)} install-location="/Applications" auth="root">\n'
            f'  <payload numberOfFiles="1" installKBytes="1"/>\n'
            f'  <bundle path={quoteattr(f"./{app}.app")} id={quoteattr(bundle_id)} '
            f'CFBundleShortVersionString={quoteattr(version)} CFBundleVersion={quoteattr(version)}/>\n'
            f'</pkg-info>\n').encode()


def distribution(bundle_id: str, version: str, app: str = "Google Chrome") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<installer-gui-script minSpecVersion="2">\n'
            f'  <title>{escape(app)}</title>\n'
            f'  <pkg-ref id={quoteattr(bundle_id)} version={quoteattr(version)}>#Chrome.pkg</pkg-ref>\n'
            f'  <product id={quoteattr(bundle_id)} version={quoteattr(version)}/>\n'
            f'</installer-gui-script>\n').encode()


def _payload(spec: Spec) -> Iterator[bytes]:
    if spec.payload_size is None:
        yield spec.payload
        return
    left = spec.payload_size
    while left > 0:
        piece = _BLOCK[: min(left, len(_BLOCK))]
        left -= len(piece)
        yield piece


@dataclass(frozen=True)
class _File:
    path: str
    archived: bytes | None  # None: the payload, streamed
    length: int
    size: int
    encoding: str
    archived_sha1: str
    extracted_sha1: str


def _small(path: str, data: bytes, compress: bool = True) -> _File:
    archived = zlib.compress(data) if compress else data
    return _File(path, archived, len(archived), len(data),
                 "application/x-gzip" if compress else "application/octet-stream",
                 hashlib.sha1(archived).hexdigest(), hashlib.sha1(data).hexdigest())


def _files(spec: Spec) -> list[_File]:
    prefix = "Chrome.pkg/" if spec.distribution else ""
    found = [_small("Distribution", distribution(spec.bundle_id, spec.version, spec.app))] \
        if spec.distribution else []
    found.append(_small(prefix + "PackageInfo", package_info(spec.bundle_id, spec.version, spec.app)))
    found += [_small(prefix + name, data) for name, data in spec.extra_files]
    digest, length = hashlib.sha1(), 0
    for piece in _payload(spec):  # a pass to learn the payload's checksum, as pkgbuild does while writing
        digest.update(piece)
        length += len(piece)
    found.append(_File(prefix + "Payload", None, length, length, "application/octet-stream", digest.hexdigest(),
                       digest.hexdigest()))
    return found


def _file_xml(file: _File, ident: int, offset: int) -> str:
    name = file.path.rsplit("/", 1)[-1]
    return (f'<file id="{ident}"><name>{escape(name)}</name><type>file</type><data>'
            f"<length>{file.length}</length><offset>{offset}</offset><size>{file.size}</size>"
            f'<encoding style="{file.encoding}"/>'
            f'<archived-checksum style="sha1">{file.archived_sha1}</archived-checksum>'
            f'<extracted-checksum style="sha1">{file.extracted_sha1}</extracted-checksum></data></file>')


def _toc(spec: Spec, files: list[_File]) -> bytes:
    size = hashlib.new(spec.checksum_style).digest_size
    parts = [f'<checksum style="{spec.checksum_style}"><offset>0</offset><size>{size}</size></checksum>',
             "<creation-time>2026-11-20T10:00:00</creation-time>"]
    offset = size
    if spec.signer is not None:
        certs = "".join(f"<X509Certificate>{b64encode(d).decode()}</X509Certificate>" for d in spec.signer.der)
        sig_size = spec.signer.key.key_size // 8
        parts.append(f'<signature style="RSA"><offset>{offset}</offset><size>{sig_size}</size>'
                     f'<KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data>{certs}</X509Data></KeyInfo>'
                     "</signature>")
        offset += sig_size
    roots: list[str] = []
    nested: list[str] = []
    for ident, file in enumerate(files, start=2):
        (nested if "/" in file.path else roots).append(_file_xml(file, ident, offset))
        offset += file.length
    if nested:
        roots.append(f'<file id="1"><name>Chrome.pkg</name><type>directory</type>{"".join(nested)}</file>')
    body = "".join(parts + roots)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<xar><toc>{body}</toc></xar>\n'.encode()


def _header(spec: Spec, compressed: int, expanded: int) -> bytes:
    if spec.checksum_style == "sha1":
        return struct.pack(">4sHHQQI", b"xar!", 28, 1, compressed, expanded, 1)
    name = spec.checksum_style.encode().ljust(36, b"\0")
    return struct.pack(">4sHHQQI", b"xar!", 28 + len(name), 1, compressed, expanded, 3) + name


def chunks(spec: Spec) -> Iterator[bytes]:
    """The archive's bytes in order; the payload is generated as it is yielded."""
    files = _files(spec)
    toc = _toc(spec, files)
    compressed = zlib.compress(toc)
    checksum = hashlib.new(spec.checksum_style, compressed).digest()
    yield _header(spec, len(compressed), len(toc)) + compressed
    yield bytes([checksum[0] ^ 0xFF]) + checksum[1:] if spec.corrupt_checksum else checksum
    if spec.signer is not None:
        signed = hashlib.new(spec.checksum_style, b"tampered").digest() if spec.tamper_signature else checksum
        yield spec.signer.key.sign(signed, padding.PKCS1v15(), Prehashed(_HASHES[spec.checksum_style]))
    for file in files:
        if file.archived is not None:
            yield file.archived
        else:
            yield from _payload(spec)


def build(spec: Spec | None = None, /, **changes: object) -> bytes:
    """A whole (small) archive: ``build(signer=make_signer(), version="119.0")``."""
    return b"".join(chunks(replace(spec or Spec(), **changes)))  # type: ignore[arg-type]


@functools.cache
def sandbox_signer() -> Signer:
    """The sandbox's stand-in for the vendors' Developer ID, made once per process: generating RSA keys is
    the slow part, and every sandbox a test run starts can share it."""
    return make_signer()


def seed_package_files(state: JamfState) -> None:
    """Put a small signed flat package on the distribution point for each seeded package record that has
    no file, recording its SHA-512 as Jamf does on upload. The record's size label stays the seed's (the
    size of the real vendor package): the file is small so that starting a sandbox stays fast."""
    signer = sandbox_signer()
    apps = {f.bundle_id: f.app_name for f in REMEDIATION_FACTS.values()}
    with state.lock:
        for ident, package in list(state.packages.items()):
            if package.content is not None or not package.bundle_id:
                continue
            app = apps.get(package.bundle_id, package.package_name)
            data = build(bundle_id=package.bundle_id, version=package.version, app=app, signer=signer,
                         payload=f"pretend cpio archive of {app}.app\n".encode() * 64)
            state.packages[ident] = replace(package, content=functools.partial(list, [data]),
                                            digest=hashlib.sha512(data).hexdigest(), hash_type="SHA_512")
