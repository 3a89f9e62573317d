"""The keyring inside a backup archive, sealed with a passphrase (argon2id, then AES-256-GCM)."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from magnaprov.tenancy.secrets import Keyring, parse_keyring

__all__ = ["WrongPassphraseError", "open_keyring", "seal_keyring"]

# RFC 9106's second recommended option: 3 passes over 64 MiB, 4 lanes.
_TIME_COST = 3
_MEMORY_KIB = 64 * 1024
_PARALLELISM = 4
_SALT_LENGTH = 16
_NONCE_LENGTH = 12
# Binds the ciphertext to its purpose: it opens only as a backup's keyring.
_ASSOCIATED_DATA = b"magnaprov backup keyring v1"
_MIN_PASSPHRASE_LENGTH = 12
# An archive names its own KDF cost; refuse costs no archive of ours has, rather than let a
# crafted one take all the memory of the machine restoring it.
_MAX_MEMORY_KIB = 1024 * 1024
_MAX_TIME_COST = 64


class WrongPassphraseError(Exception):
    """The passphrase does not open the archive's keyring (or the sealed keyring is damaged)."""


@dataclass(frozen=True)
class _KdfParameters:
    time_cost: int
    memory_kib: int
    parallelism: int
    salt: bytes

    def derive(self, passphrase: str) -> bytes:
        return hash_secret_raw(
            passphrase.encode(),
            self.salt,
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
            hash_len=32,
            type=Type.ID,
        )


def seal_keyring(keyring: Keyring, passphrase: str) -> bytes:
    """The keyring encrypted under a key derived from `passphrase`, as JSON bytes."""
    if len(passphrase) < _MIN_PASSPHRASE_LENGTH:
        raise ValueError(f"the passphrase needs at least {_MIN_PASSPHRASE_LENGTH} characters")
    kdf = _KdfParameters(_TIME_COST, _MEMORY_KIB, _PARALLELISM, secrets.token_bytes(_SALT_LENGTH))
    nonce = secrets.token_bytes(_NONCE_LENGTH)
    sealed = AESGCM(kdf.derive(passphrase)).encrypt(
        nonce, keyring.serialize().encode(), _ASSOCIATED_DATA
    )
    document = {
        "kdf": "argon2id",
        "time_cost": kdf.time_cost,
        "memory_kib": kdf.memory_kib,
        "parallelism": kdf.parallelism,
        "salt": _b64(kdf.salt),
        "cipher": "AES-256-GCM",
        "nonce": _b64(nonce),
        "ciphertext": _b64(sealed),
    }
    return json.dumps(document, indent=2).encode()


def open_keyring(sealed: bytes, passphrase: str) -> Keyring:
    """The keyring `seal_keyring` sealed; WrongPassphraseError when the passphrase is not it."""
    document = _parse(sealed)
    kdf = _KdfParameters(
        int(document["time_cost"]),
        int(document["memory_kib"]),
        int(document["parallelism"]),
        base64.b64decode(document["salt"]),
    )
    try:
        plaintext = AESGCM(kdf.derive(passphrase)).decrypt(
            base64.b64decode(document["nonce"]),
            base64.b64decode(document["ciphertext"]),
            _ASSOCIATED_DATA,
        )
    except InvalidTag:
        raise WrongPassphraseError(
            "the passphrase does not open the keyring of this archive"
        ) from None
    return parse_keyring(plaintext.decode())


def _parse(sealed: bytes) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(sealed)
    except ValueError as error:
        raise ValueError("the archive's sealed keyring is not valid JSON") from error
    if document.get("kdf") != "argon2id" or document.get("cipher") != "AES-256-GCM":
        raise ValueError("the archive's keyring is sealed in a way this release does not know")
    if int(document["memory_kib"]) > _MAX_MEMORY_KIB or int(document["time_cost"]) > _MAX_TIME_COST:
        raise ValueError("the archive's keyring asks for a key derivation cost out of bounds")
    return document


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
