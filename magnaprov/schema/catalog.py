"""The equipment catalog as GraphQL: manufacturers, models, firmware versions, files."""

from __future__ import annotations

import strawberry

from magnaprov.schema.permissions import IsAuthenticated
from magnaprov.templating import FileSpec, FirmwareVersion, Manufacturer, Model, load_catalog

__all__ = ["CatalogQueries"]


@strawberry.type(name="EquipmentFile", description="A file a phone of this firmware asks for.")
class EquipmentFileType:
    file_name: str = strawberry.field(
        description="The name pattern, with {mac}/{MAC} for the MAC in the vendor's case."
    )
    per_device: bool = strawberry.field(
        description="Whether the name carries the MAC (and the file may carry secrets)."
    )
    format: str = strawberry.field(description="Syntax of the file, e.g. yealink_cfg, xml.")

    @classmethod
    def of(cls, spec: FileSpec) -> EquipmentFileType:
        """The GraphQL form of a catalog file."""
        return cls(file_name=spec.pattern, per_device=spec.per_device, format=str(spec.format))


@strawberry.type(name="FirmwareVersion", description="A firmware (or product) version of a model.")
class FirmwareVersionType:
    key: str = strawberry.field(description="Identifier to pass as `firmware`.")
    name: str = strawberry.field(description="Display name, e.g. 8.x.")
    requires_application_version: bool = strawberry.field(
        description="The phone needs its exact application version in the files (Cisco 79xx)."
    )
    files: list[EquipmentFileType] = strawberry.field(description="Files the phone asks for.")

    @classmethod
    def of(cls, firmware: FirmwareVersion) -> FirmwareVersionType:
        """The GraphQL form of a catalog firmware."""
        return cls(
            key=firmware.key,
            name=firmware.name,
            requires_application_version=firmware.requires_application_version,
            files=[EquipmentFileType.of(spec) for spec in firmware.files],
        )


@strawberry.type(name="PhoneModel", description="A phone model of a manufacturer.")
class PhoneModelType:
    key: str = strawberry.field(description="Identifier to pass as `model`.")
    name: str = strawberry.field(description="Display name, e.g. T46S.")
    lines: int = strawberry.field(description="How many SIP lines the model has.")
    protocols: list[str] = strawberry.field(description="Update protocols: TFTP, HTTP, HTTPS.")
    link_style: str = strawberry.field(
        description="How its provisioning link looks: directory, or spa_profile_rule."
    )
    firmwares: list[FirmwareVersionType] = strawberry.field(description="Firmware versions.")

    @classmethod
    def of(cls, model: Model) -> PhoneModelType:
        """The GraphQL form of a catalog model."""
        return cls(
            key=model.key,
            name=model.name,
            lines=model.lines,
            protocols=list(model.protocols),
            link_style=model.link_style,
            firmwares=[FirmwareVersionType.of(firmware) for firmware in model.firmwares],
        )


@strawberry.type(name="Manufacturer", description="A phone maker the server can provision.")
class ManufacturerType:
    key: str = strawberry.field(description="Identifier to pass as `manufacturer`.")
    name: str = strawberry.field(description="Display name.")
    mac_prefixes: list[str] = strawberry.field(
        description="MAC prefixes (OUIs) of its phones, e.g. 00:15:65, for pre-filling the MAC."
    )
    models: list[PhoneModelType] = strawberry.field(description="Its models.")

    @classmethod
    def of(cls, maker: Manufacturer) -> ManufacturerType:
        """The GraphQL form of a catalog manufacturer."""
        return cls(
            key=maker.key,
            name=maker.name,
            mac_prefixes=list(maker.mac_prefixes),
            models=[PhoneModelType.of(model) for model in maker.models],
        )


@strawberry.type
class CatalogQueries:
    @strawberry.field(
        description="Every manufacturer, model and firmware version the server can provision.",
        permission_classes=[IsAuthenticated],
    )
    def manufacturers(self) -> list[ManufacturerType]:
        return [ManufacturerType.of(maker) for maker in load_catalog().manufacturers]
