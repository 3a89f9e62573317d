"""The equipment catalog: manufacturers, models, firmware versions and their files.

The facts live in TOML data files under ``catalog/`` (one per manufacturer); this
module holds the types and the look-ups. Adding a model is a data change.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, NamedTuple

from .boot_paths import BootPath
from .file_names import FileNameMatch, match_pattern, normalize_mac, pattern_has_mac
from .formats import FileFormat

__all__ = [
    "Catalog",
    "Equipment",
    "FileSpec",
    "FirmwareVersion",
    "LinkStyle",
    "MacCase",
    "Manufacturer",
    "Model",
    "UpdateProtocol",
]

UpdateProtocol = Literal["TFTP", "HTTP", "HTTPS"]
LinkStyle = Literal["directory", "spa_profile_rule"]
MacCase = Literal["lower", "upper"]


@dataclass(frozen=True)
class FileSpec:
    """One file of a firmware's file set.

    ``per_device`` files carry the MAC in their name and may hold secrets; common
    files must hold nothing tenant-specific, since a phone may fetch them before it
    is known. ``role`` is a short name templates use to refer to the file
    (``files.device``); ``template`` is the Server default's path under ``defaults/``.
    """

    pattern: str
    role: str
    format: FileFormat
    template: str
    xml_root: str | None = None

    @property
    def per_device(self) -> bool:
        return pattern_has_mac(self.pattern)


@dataclass(frozen=True)
class FirmwareVersion:
    """A firmware (or product) version of one model, with the files it asks for and the
    names a factory-fresh phone of it asks for first (``boot``)."""

    key: str
    name: str
    requires_application_version: bool
    files: tuple[FileSpec, ...]
    boot: BootPath

    def file(self, pattern: str) -> FileSpec | None:
        """The file with exactly this pattern."""
        return next((spec for spec in self.files if spec.pattern == pattern), None)

    def match_file_name(self, requested: str) -> FileNameMatch | None:
        """Which of this firmware's files a requested name is, ignoring case.

        Fixed names are tried before MAC patterns so that, say, Polycom's
        ``000000000000.cfg`` is never read as a MAC.
        """
        ordered = sorted(self.files, key=lambda spec: spec.per_device)
        for spec in ordered:
            found = match_pattern(spec.pattern, requested)
            if found is not None:
                return found
        return None


@dataclass(frozen=True)
class Model:
    """A phone model. ``variables`` are model facts the templates use (hardware id…)."""

    key: str
    name: str
    lines: int
    protocols: tuple[UpdateProtocol, ...]
    link_style: LinkStyle
    firmwares: tuple[FirmwareVersion, ...]
    variables: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    def firmware(self, key: str) -> FirmwareVersion | None:
        return next((fw for fw in self.firmwares if fw.key == key), None)


@dataclass(frozen=True)
class Manufacturer:
    """A phone maker, the MAC prefixes (OUIs) of its phones and its models."""

    key: str
    name: str
    mac_prefixes: tuple[str, ...]
    mac_case: MacCase
    models: tuple[Model, ...] = field(repr=False)

    def model(self, key: str) -> Model | None:
        return next((model for model in self.models if model.key == key), None)


class Equipment(NamedTuple):
    """A (manufacturer, model, firmware) triple: what a device and a template file are for."""

    manufacturer: Manufacturer
    model: Model
    firmware: FirmwareVersion

    @property
    def keys(self) -> tuple[str, str, str]:
        return (self.manufacturer.key, self.model.key, self.firmware.key)


@dataclass(frozen=True)
class Catalog:
    """Every manufacturer, model and firmware the server can provision."""

    manufacturers: tuple[Manufacturer, ...]

    def manufacturer(self, key: str) -> Manufacturer | None:
        return next((maker for maker in self.manufacturers if maker.key == key), None)

    def find(self, manufacturer: str, model: str, firmware: str) -> Equipment | None:
        """The equipment with these keys, or None."""
        maker = self.manufacturer(manufacturer)
        found_model = maker.model(model) if maker else None
        found_firmware = found_model.firmware(firmware) if found_model else None
        if maker is None or found_model is None or found_firmware is None:
            return None
        return Equipment(maker, found_model, found_firmware)

    def equipment(self) -> Iterator[Equipment]:
        """Every (manufacturer, model, firmware) in catalog order."""
        for maker in self.manufacturers:
            for model in maker.models:
                for firmware in model.firmwares:
                    yield Equipment(maker, model, firmware)

    def manufacturers_for_mac(self, mac: str) -> tuple[Manufacturer, ...]:
        """Makers whose MAC prefixes cover this address (several may share an OUI)."""
        prefix = normalize_mac(mac)[:8]
        return tuple(maker for maker in self.manufacturers if prefix in maker.mac_prefixes)

    def mac_in_file_name(self, requested: str) -> str | None:
        """The MAC in a requested name, if it fits any per-device pattern of the catalog.

        For the shared root and TFTP, where the device is found by the MAC in the name.
        A fixed name of some firmware (Polycom's ``000000000000.cfg``) is never a MAC.
        """
        if requested.lower() in self._fixed_names:
            return None
        for pattern in self._mac_patterns:
            found = match_pattern(pattern, requested)
            if found is not None and found.mac is not None:
                return found.mac
        return None

    @cached_property
    def _mac_patterns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(spec.pattern for spec in self._files() if spec.per_device))

    @cached_property
    def _fixed_names(self) -> frozenset[str]:
        return frozenset(spec.pattern.lower() for spec in self._files() if not spec.per_device)

    def _files(self) -> Iterator[FileSpec]:
        for equipment in self.equipment():
            yield from equipment.firmware.files
