"""AES-GCM secrets bound to their row."""

from __future__ import annotations

import pytest

from magnaprov.tenancy.secrets import (
    SecretBox,
    SecretDecryptionError,
    fresh_keyring,
    load_keyring,
    parse_keyring,
)


def test_a_secret_round_trips_with_its_identity():
    box = SecretBox(fresh_keyring())
    sealed = box.encrypt("Line1-Secret-pw", "sip_preferences:7:phone_password")
    assert b"Line1-Secret-pw" not in sealed
    assert box.decrypt(sealed, "sip_preferences:7:phone_password") == "Line1-Secret-pw"


def test_encrypting_twice_gives_different_ciphertexts():
    box = SecretBox(fresh_keyring())
    assert box.encrypt("same", "row:1") != box.encrypt("same", "row:1")


def test_a_ciphertext_pasted_into_another_row_does_not_decrypt():
    box = SecretBox(fresh_keyring())
    sealed = box.encrypt("secret", "sip_preferences:7:phone_password")
    with pytest.raises(SecretDecryptionError, match="another row"):
        box.decrypt(sealed, "sip_preferences:8:phone_password")


@pytest.mark.parametrize("position", [0, 5, 12, 25, -1])
def test_any_tampered_byte_is_detected(position):
    box = SecretBox(fresh_keyring())
    sealed = bytearray(box.encrypt("secret", "row:1"))
    sealed[position] ^= 0x01
    with pytest.raises(SecretDecryptionError):
        box.decrypt(bytes(sealed), "row:1")


def test_truncated_or_foreign_data_is_refused():
    box = SecretBox(fresh_keyring())
    for garbage in (b"", b"\x01short", b"plaintext password"):
        with pytest.raises(SecretDecryptionError):
            box.decrypt(garbage, "row:1")


def test_old_keys_still_open_secrets_after_a_new_primary_is_added():
    old = fresh_keyring()
    sealed = SecretBox(old).encrypt("secret", "row:1")
    rotated = SecretBox(old.with_new_primary())
    assert rotated.decrypt(sealed, "row:1") == "secret"
    assert rotated.key_id_of(rotated.encrypt("secret", "row:1")) != old.primary_id
    with pytest.raises(SecretDecryptionError, match="not in the keyring"):
        SecretBox(rotated.keyring.only_primary()).decrypt(sealed, "row:1")


def test_the_key_file_is_created_once_owner_only_and_reread(tmp_path):
    path = tmp_path / "magnaprov.key"
    first = load_keyring(None, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_keyring(None, path) == first
    assert parse_keyring(first.serialize()) == first


def test_bad_keys_in_the_environment_are_refused_clearly():
    with pytest.raises(ValueError, match="base64"):
        parse_keyring("abcd1234:not base64!")
    with pytest.raises(ValueError, match="32 bytes"):
        parse_keyring("abcd1234:" + "QUJD")


def test_a_box_of_the_key_file_follows_a_rotation_without_a_restart(tmp_path):
    from magnaprov.tenancy.key_file import open_secret_box
    from magnaprov.tenancy.secrets import write_key_file

    path = tmp_path / "magnaprov.key"
    running = open_secret_box(None, path)
    old = running.keyring
    before = running.encrypt("secret", "row:1")
    rotated = old.with_new_primary()
    write_key_file(path, rotated)
    # A new encryption takes the new primary up; what it wrote before still opens.
    assert running.key_id_of(running.encrypt("x", "row:2")) == rotated.primary_id
    write_key_file(path, rotated.only_primary())
    assert running.decrypt(before, "row:1") == "secret"
    # A box that had not looked at the file meets the new key and re-reads it.
    write_key_file(path, old)
    idle = open_secret_box(None, path)
    write_key_file(path, rotated)
    assert idle.decrypt(SecretBox(rotated).encrypt("new", "row:3"), "row:3") == "new"


def test_a_box_of_the_environment_keeps_its_keys(tmp_path):
    from magnaprov.tenancy.key_file import open_secret_box

    keyring = load_keyring(None, tmp_path / "unused.key")
    box = open_secret_box(keyring.serialize(), tmp_path / "other.key")
    assert box.keyring == keyring and not (tmp_path / "other.key").exists()
