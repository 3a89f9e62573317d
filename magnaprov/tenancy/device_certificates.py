"""Which client certificate a device that requires its factory certificate accepts.

The operator puts one PEM bundle per vendor in a directory, named after the catalog's
manufacturer key (`yealink.pem`, `polycom.pem`, ...). TLS verifies the chain against all of them
together; this rule then admits a request for a device only when the certificate's issuer is in
that device's vendor's bundle and its subject (CN or a subject alternative name) names the
device's MAC, in any common spelling (`001565aabb01`, `00:15:65:AA:BB:01`, `0015.65aa.bb01`,
`SEP001565AABB01`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID

__all__ = ["VendorAuthorities", "certificate_admits"]

_SEPARATORS = re.compile(r"[:.\-\s]")


@dataclass(frozen=True, slots=True)
class VendorAuthorities:
    """The CA certificates of each vendor (by manufacturer key) and the files holding them."""

    by_vendor: Mapping[str, Sequence[x509.Certificate]] = field(default_factory=dict)
    files: Sequence[Path] = ()

    @classmethod
    def load(cls, directory: Path | None) -> VendorAuthorities:
        """Every `<manufacturer>.pem` of `directory` (none when it is None)."""
        if directory is None:
            return cls()
        by_vendor: dict[str, list[x509.Certificate]] = {}
        files = sorted(directory.glob("*.pem"))
        for path in files:
            by_vendor[path.stem.casefold()] = x509.load_pem_x509_certificates(path.read_bytes())
        return cls(by_vendor, files)

    def of(self, manufacturer: str) -> Sequence[x509.Certificate]:
        """The CA certificates of this manufacturer's phones (empty when none is configured)."""
        return self.by_vendor.get(manufacturer.casefold(), ())


def certificate_admits(
    leaf_pem: str | None, manufacturer: str, mac: str, authorities: VendorAuthorities
) -> bool:
    """Whether the verified client certificate `leaf_pem` is this device's factory certificate."""
    if not leaf_pem:
        return False
    try:
        leaf = x509.load_pem_x509_certificate(leaf_pem.encode("ascii"))
    except ValueError:
        return False
    issued = any(_issued_by(leaf, ca) for ca in authorities.of(manufacturer))
    return issued and _names_mac(leaf, mac)


def _issued_by(leaf: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _names_mac(leaf: x509.Certificate, mac: str) -> bool:
    digits = _SEPARATORS.sub("", mac).lower()
    pattern = re.compile(rf"(?<![0-9a-f]){digits}(?![0-9a-f])")
    return any(pattern.search(_SEPARATORS.sub("", name).lower()) for name in _subject_names(leaf))


def _subject_names(leaf: x509.Certificate) -> list[str]:
    names = [str(a.value) for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    try:
        alternative = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return names
    for kind in (x509.DNSName, x509.UniformResourceIdentifier, x509.RFC822Name):
        names.extend(str(value) for value in alternative.get_values_for_type(kind))
    return names
