"""Who signed a flat package, and does the signature hold?

A signed package's TOC carries ``<signature style="RSA">`` with the certificate chain (leaf first) in
``KeyInfo/X509Data``, and the heap holds the signature: PKCS#1 v1.5 over the DigestInfo of the TOC
checksum (what `xar --sign` and `productsign` write). Checked here: a signature and certificates exist,
the leaf is within its validity at "now", each certificate is issued by the next, and the RSA signature
verifies against the leaf's key over the TOC as read. Not checked: that the chain ends at Apple's root
(remedy ships no trust store) — Gatekeeper does that on the Mac; the signer's name is reported instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID

from remedy.packages.xar import Archive
from remedy.slack.mrkdwn import escape

_PREHASH: dict[str, hashes.HashAlgorithm] = {"sha1": hashes.SHA1(), "sha256": hashes.SHA256(),
                                             "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool
    detail: str  # mrkdwn, escaped
    signer: str | None = None
    expires: datetime | None = None


def check(archive: Archive, now: datetime) -> SignatureCheck:
    signatures = archive.toc.signatures
    if not signatures:
        return SignatureCheck(False, "unsigned: the TOC carries no signature, so nothing vouches for who built "
                                     "the package (Gatekeeper refuses unsigned installers)")
    index = next((i for i, s in enumerate(signatures) if s.style.upper() == "RSA"), 0)
    signature = signatures[index]
    if not signature.certificates:
        return SignatureCheck(False, "the signature carries no certificate, so its signer is unknown")
    try:
        chain = [x509.load_der_x509_certificate(der) for der in signature.certificates]
    except ValueError:
        return SignatureCheck(False, "the signing certificate is not a readable X.509 certificate")
    leaf = chain[0]
    name, expires = _common_name(leaf), leaf.not_valid_after_utc
    problem = _validity(leaf, now) or _chain(chain)
    if problem is None and signature.style.upper() == "RSA":
        problem = _verify(leaf, archive.signature_data[index], archive)
    who = f"*{escape(name)}*"
    if problem is not None:
        return SignatureCheck(False, f"signed by {who}, but {problem}", name, expires)
    how = "RSA signature over the TOC verifies" if signature.style.upper() == "RSA" else \
        f"{escape(signature.style)} signature present (not verified by remedy)"
    links = f"chain of {len(chain)} certificates links up" if len(chain) > 1 else "a single certificate"
    return SignatureCheck(True, f"signed by {who}, valid until {expires:%Y-%m-%d}; {links}; {how}", name, expires)


def _common_name(cert: x509.Certificate) -> str:
    found = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = found[0].value if found else cert.subject.rfc4514_string()
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _validity(leaf: x509.Certificate, now: datetime) -> str | None:
    moment = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    if moment > leaf.not_valid_after_utc:
        return f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}"
    if moment < leaf.not_valid_before_utc:
        return f"the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}"
    return None


def _chain(chain: list[x509.Certificate]) -> str | None:
    for cert, issuer in pairwise(chain):
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            return (f"the chain is broken: *{escape(_common_name(cert))}* is not issued by "
                    f"*{escape(_common_name(issuer))}*")
    return None


def _verify(leaf: x509.Certificate, signature: bytes, archive: Archive) -> str | None:
    algorithm = _PREHASH.get(archive.toc.checksum_style)
    key = leaf.public_key()
    if algorithm is None or not archive.toc_digest:
        return f"its signature over a {escape(archive.toc.checksum_style)} checksum cannot be verified"
    if not isinstance(key, rsa.RSAPublicKey):
        return "the certificate's key is not RSA, as an RSA signature needs"
    try:
        key.verify(signature, archive.toc_digest, padding.PKCS1v15(), Prehashed(algorithm))
    except (InvalidSignature, ValueError):
        return "the signature does not verify against the certificate's key (the TOC changed after signing)"
    return None
