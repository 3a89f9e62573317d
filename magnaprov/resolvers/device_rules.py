"""Validation of a device's fields: each problem named by its GraphQL field."""

from __future__ import annotations

import re
import secrets
import string

from magnaprov.db import UpdateProtocol
from magnaprov.resolvers.errors import ErrorCode, Problems
from magnaprov.templating import Equipment, load_catalog

__all__ = [
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "check_admin_password",
    "check_application_version",
    "check_equipment",
    "check_friendly_name",
    "check_interval",
    "check_protocol",
    "default_protocol",
    "generate_admin_password",
    "normalize_mac_input",
]

MIN_INTERVAL, MAX_INTERVAL = 1, 99999
_FRIENDLY_NAME = re.compile(r"[A-Za-z0-9]+")
_MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")
_PRINTABLE = re.compile(r"[!-~]*")
_ALPHABET = string.ascii_letters + string.digits


def check_friendly_name(name: str, problems: Problems) -> None:
    """Alphanumeric, 3 to 32 characters; not unique."""
    if len(name) < 3:
        problems.add("friendlyName", ErrorCode.TOO_SHORT, "Friendly name must be 3-32 characters.")
    elif len(name) > 32:
        problems.add("friendlyName", ErrorCode.TOO_LONG, "Friendly name must be 3-32 characters.")
    elif not _FRIENDLY_NAME.fullmatch(name):
        problems.add(
            "friendlyName", ErrorCode.INVALID, "Friendly name must be letters and digits only."
        )


def normalize_mac_input(mac: str, problems: Problems) -> str | None:
    """The MAC in lower case with colons, or None with a problem recorded."""
    if not _MAC.fullmatch(mac.strip()):
        problems.add(
            "mac",
            ErrorCode.INVALID,
            "MAC address must have the form XX:XX:XX:XX:XX:XX with hexadecimal digits.",
        )
        return None
    normalized = mac.strip().lower()
    if normalized == "00:00:00:00:00:00" or int(normalized[:2], 16) & 1:
        problems.add(
            "mac", ErrorCode.INVALID, "MAC address must be a phone's own (unicast) address."
        )
        return None
    return normalized


def check_equipment(
    manufacturer: str, model: str, firmware: str, problems: Problems
) -> Equipment | None:
    """The catalog equipment, or None with the first inconsistent field named."""
    catalog = load_catalog()
    maker = catalog.manufacturer(manufacturer)
    if maker is None:
        problems.add("manufacturer", ErrorCode.NOT_FOUND, f"Unknown manufacturer {manufacturer!r}.")
        return None
    found_model = maker.model(model)
    if found_model is None:
        problems.add("model", ErrorCode.NOT_FOUND, f"{maker.name} has no model {model!r}.")
        return None
    found_firmware = found_model.firmware(firmware)
    if found_firmware is None:
        choices = ", ".join(fw.key for fw in found_model.firmwares)
        problems.add(
            "firmware", ErrorCode.NOT_FOUND, f"{found_model.name} firmware is one of: {choices}."
        )
        return None
    return Equipment(maker, found_model, found_firmware)


def check_application_version(
    version: str, equipment: Equipment | None, problems: Problems
) -> None:
    """Required where the firmware says so (Cisco 79xx); printable, at most 64 characters."""
    if equipment is not None and equipment.firmware.requires_application_version and not version:
        problems.add(
            "applicationVersion",
            ErrorCode.REQUIRED,
            f"{equipment.model.name} with firmware {equipment.firmware.name} needs its exact "
            "application version, e.g. P0S3-08-11-00.",
        )
    elif len(version) > 64 or not _PRINTABLE.fullmatch(version):
        problems.add(
            "applicationVersion", ErrorCode.INVALID, "At most 64 printable characters, no spaces."
        )


def check_interval(interval: int, problems: Problems) -> None:
    """Between 1 and 99,999."""
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        problems.add(
            "updateInterval",
            ErrorCode.OUT_OF_RANGE,
            f"Phone update interval must be between {MIN_INTERVAL} and {MAX_INTERVAL:,}.",
        )


def check_protocol(
    protocol: UpdateProtocol, equipment: Equipment | None, problems: Problems
) -> None:
    """One of the protocols the model supports."""
    if equipment is not None and protocol.value not in equipment.model.protocols:
        supported = ", ".join(equipment.model.protocols)
        problems.add(
            "updateProtocol",
            ErrorCode.INVALID,
            f"{equipment.model.name} fetches its files over {supported} only.",
        )


def default_protocol(equipment: Equipment, *, https_served: bool) -> UpdateProtocol:
    """HTTPS where the model has it and the server serves it, else HTTP, else the model's
    first protocol."""
    protocols = equipment.model.protocols
    for protocol in (UpdateProtocol.HTTPS, UpdateProtocol.HTTP):
        if protocol.value in protocols and (https_served or protocol is UpdateProtocol.HTTP):
            return protocol
    return UpdateProtocol(protocols[0])


def check_admin_password(
    password: str | None, confirmation: str | None, problems: Problems
) -> None:
    """A manual administrator password: given twice, 4-64 printable characters."""
    if not password:
        problems.add("adminPassword", ErrorCode.REQUIRED, "Enter the administrator password.")
    elif not 4 <= len(password) <= 64 or not _PRINTABLE.fullmatch(password):
        problems.add(
            "adminPassword", ErrorCode.INVALID, "Use 4-64 printable characters without spaces."
        )
    if password != confirmation:
        problems.add("adminPasswordConfirmation", ErrorCode.MISMATCH, "The two passwords differ.")


def generate_admin_password() -> str:
    """A strong random administrator password (16 letters and digits, about 95 bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(16))
