"""Reading rendered files straight from the database, decrypted with the tests' keyring."""

from __future__ import annotations

from conftest import TEST_KEYRING

from magnaprov.db.device import rendered_file_identity
from magnaprov.tenancy.secrets import SecretBox, parse_keyring

__all__ = ["TEST_BOX", "file_plaintext"]

TEST_BOX = SecretBox(parse_keyring(TEST_KEYRING))


def file_plaintext(device_id: int, name_key: str, content: bytes) -> bytes:
    """The plaintext of a `rendered_file.content` written under the tests' keyring."""
    return TEST_BOX.open(bytes(content), rendered_file_identity(device_id, name_key))
