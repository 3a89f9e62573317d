"""Retrievable secrets (SIP and device passwords, device keys, rendered files) encrypted at rest
with AES-GCM.

Each ciphertext names the key that made it, so a keyring may hold the new key and the old
ones during a rotation. The associated data is the identity of the row and column the secret
belongs to: a ciphertext pasted into another row does not decrypt.

A box may follow a changing keyring (`KeyringSource`, the key file): `magnaprov rotate-key`
beside running servers puts a new primary key in the file, and each server takes it up at its
next encryption, or when it meets a ciphertext of a key it does not hold, without a restart.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "Keyring",
    "KeyringSource",
    "SecretBox",
    "SecretDecryptionError",
    "fresh_keyring",
    "load_keyring",
    "parse_keyring",
    "write_key_file",
]

_VERSION = b"\x01"
_KEY_ID_LENGTH = 8
_NONCE_LENGTH = 12


class SecretDecryptionError(Exception):
    """A ciphertext that is corrupt, tampered with, moved to another row, or of an unknown key."""


@dataclass(frozen=True, slots=True)
class Keyring:
    """AES-256 keys by id; the first is the primary one, used for every new encryption."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a keyring needs at least one key")
        for key_id, key in self.keys:
            if len(key_id) != _KEY_ID_LENGTH or not key_id.isalnum() or len(key) != 32:
                raise ValueError("each key needs an 8-character id and 32 bytes")

    @property
    def primary_id(self) -> str:
        """Id of the key new secrets are encrypted with."""
        return self.keys[0][0]

    def serialize(self) -> str:
        """The text form: one `id:base64key` per line, primary first."""
        return "".join(f"{key_id}:{base64.b64encode(key).decode()}\n" for key_id, key in self.keys)

    def with_new_primary(self) -> Keyring:
        """This keyring with a fresh random primary key in front of the existing ones."""
        return Keyring((*fresh_keyring().keys, *self.keys))

    def only_primary(self) -> Keyring:
        """This keyring without its old keys."""
        return Keyring(self.keys[:1])

    def followed_by(self, older: Keyring) -> Keyring:
        """This keyring, then the keys of `older` it lacks (still able to open their secrets)."""
        known = {key_id for key_id, _ in self.keys}
        return Keyring((*self.keys, *(entry for entry in older.keys if entry[0] not in known)))


class KeyringSource(Protocol):
    """Where a keyring may change while the process runs (the key file)."""

    def changed(self) -> Keyring | None:
        """The keyring if it changed since the last call, else None; cheap when unchanged."""


def parse_keyring(text: str) -> Keyring:
    """A keyring from its text form (lines or commas of `id:base64key`)."""
    keys = []
    for entry in text.replace(",", "\n").split():
        key_id, _, encoded = entry.partition(":")
        try:
            keys.append((key_id, base64.b64decode(encoded, validate=True)))
        except (binascii.Error, ValueError) as error:
            raise ValueError(f"secrets key {key_id!r} is not valid base64") from error
    return Keyring(tuple(keys))


def load_keyring(from_environment: str | None, key_file: Path) -> Keyring:
    """The keyring from the environment if given, else from `key_file`, created on first use."""
    if from_environment:
        return parse_keyring(from_environment)
    if key_file.exists():
        return parse_keyring(key_file.read_text())
    keyring = fresh_keyring()
    write_key_file(key_file, keyring)
    return keyring


def fresh_keyring() -> Keyring:
    """A keyring of one new random key."""
    return Keyring(((secrets.token_hex(4), AESGCM.generate_key(bit_length=256)),))


def write_key_file(key_file: Path, keyring: Keyring) -> None:
    """Replace `key_file` atomically with `keyring`, readable by the owner only."""
    temporary = key_file.with_name(key_file.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(keyring.serialize())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, key_file)


class SecretBox:
    """Encrypts and decrypts secrets bound to the identity of the row that holds them.

    With a `source`, the box checks it before every encryption (so new secrets are under the
    newest primary key) and when a ciphertext names a key it does not hold; keys it held before
    stay usable for decryption until the process ends.
    """

    def __init__(self, keyring: Keyring, source: KeyringSource | None = None) -> None:
        self._source = source
        self._state = _BoxState.of(keyring)

    @property
    def keyring(self) -> Keyring:
        """The keys in use, primary first."""
        return self._state.keyring

    def encrypt(self, plaintext: str, identity: str) -> bytes:
        """Ciphertext of `plaintext`, decryptable only with the same `identity`."""
        return self.seal(plaintext.encode(), identity)

    def decrypt(self, ciphertext: bytes, identity: str) -> str:
        """The plaintext; SecretDecryptionError if anything about it is wrong."""
        return self.open(ciphertext, identity).decode()

    def seal(self, plaintext: bytes, identity: str) -> bytes:
        """Ciphertext of the bytes `plaintext`, decryptable only with the same `identity`."""
        self._follow_source()
        state = self._state
        key_id = state.keyring.primary_id
        nonce = os.urandom(_NONCE_LENGTH)
        sealed = state.ciphers[key_id].encrypt(nonce, plaintext, identity.encode())
        return _VERSION + key_id.encode() + nonce + sealed

    def open(self, ciphertext: bytes, identity: str) -> bytes:
        """The plaintext bytes; SecretDecryptionError if anything about it is wrong."""
        header = len(_VERSION) + _KEY_ID_LENGTH
        if len(ciphertext) < header + _NONCE_LENGTH + 16 or ciphertext[:1] != _VERSION:
            raise SecretDecryptionError("not a ciphertext of this server")
        key_id = ciphertext[1:header].decode("ascii", errors="replace")
        cipher = self._state.ciphers.get(key_id)
        if cipher is None and self._follow_source():
            cipher = self._state.ciphers.get(key_id)
        if cipher is None:
            raise SecretDecryptionError(
                f"encrypted with key {key_id!r}, which is not in the keyring"
            )
        nonce = ciphertext[header : header + _NONCE_LENGTH]
        try:
            return cipher.decrypt(nonce, ciphertext[header + _NONCE_LENGTH :], identity.encode())
        except InvalidTag as error:
            raise SecretDecryptionError(
                "ciphertext was altered or belongs to another row"
            ) from error

    def key_id_of(self, ciphertext: bytes) -> str:
        """Which key encrypted `ciphertext`."""
        return ciphertext[1 : 1 + _KEY_ID_LENGTH].decode("ascii", errors="replace")

    def _follow_source(self) -> bool:
        """Take up a changed keyring from the source; whether it changed."""
        if self._source is None:
            return False
        keyring = self._source.changed()
        if keyring is None:
            return False
        # One assignment: a thread reading the state meanwhile sees the old or the new one whole.
        self._state = _BoxState.of(keyring.followed_by(self._state.keyring))
        return True


@dataclass(frozen=True, slots=True)
class _BoxState:
    keyring: Keyring
    ciphers: dict[str, AESGCM]

    @classmethod
    def of(cls, keyring: Keyring) -> _BoxState:
        return cls(keyring, {key_id: AESGCM(key) for key_id, key in keyring.keys})
