"""The equipment catalog as GraphQL: manufacturers, models, firmware versions, files."""

from __future__ import annotations

import strawberry

from magnaprov.schema.permissions import IsAuthenticated
from magnaprov.templating import (
    BootStep,
    FileSpec,
    FirmwareVersion,
    Manufacturer,
    Model,
    load_catalog,
)

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


@strawberry.type(
    name="BootRequest", description="A name a factory-fresh phone asks for, and its answer."
)
class BootRequestType:
    file_name: str = strawberry.field(
        description="The name asked for, with {mac}/{MAC} for the MAC in the vendor's case."
    )
    over: list[str] = strawberry.field(description="Transports it is asked over: TFTP, HTTP.")
    fallback: bool = strawberry.field(description="Asked only when the request before it missed.")
    answered: bool = strawberry.field(
        description="Whether the server has a file for it (false: a miss, by design)."
    )
    answered_over: list[str] = strawberry.field(
        description=(
            "Transports over which it is answered to a device whose MAC-based provisioning is"
            " in force; a TFTP device is answered every answered name over TFTP."
        )
    )
    leads_to: list[str] = strawberry.field(
        description="The files its answer names next, in order (in the device's own directory"
        " or on the shared root over its protocol; on the TFTP root for a TFTP device)."
    )
    note: str = strawberry.field(description="Why it is answered so, or why it is a miss.")

    @classmethod
    def of(cls, step: BootStep) -> BootRequestType:
        """The GraphQL form of a boot step."""
        return cls(
            file_name=step.name,
            over=list(step.over),
            fallback=step.fallback,
            answered=step.answer is not None,
            answered_over=list(step.answered_over),
            leads_to=list(step.leads_to),
            note=step.note,
        )


@strawberry.type(
    name="BootPath",
    description="How a factory-fresh phone of one firmware reaches its own files from DHCP.",
)
class BootPathType:
    firmware: str = strawberry.field(description="The firmware version's key.")
    dhcp_options: list[int] = strawberry.field(
        description="DHCP options it reads for the server, in order of preference (66...)."
    )
    user_agent_mac: bool = strawberry.field(
        description="Whether its HTTP User-Agent carries its MAC (names without a MAC are"
        " then answered over HTTP)."
    )
    requests: list[BootRequestType] = strawberry.field(
        description="The names it asks for, in order."
    )
    main_file: str = strawberry.field(
        description="The device's own file it ends with; its settings send every later resync"
        " to the device's own directory."
    )

    @classmethod
    def of(cls, firmware: FirmwareVersion) -> BootPathType:
        """The GraphQL form of a firmware's boot path."""
        boot = firmware.boot
        return cls(
            firmware=firmware.key,
            dhcp_options=list(boot.dhcp_options),
            user_agent_mac=boot.user_agent_mac,
            requests=[BootRequestType.of(step) for step in boot.steps],
            main_file=boot.main,
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
    boot_paths: list[BootPathType] = strawberry.field(
        description="Per firmware version, how a factory-fresh phone boots from DHCP option 66"
        " to its own files (docs/phones.md)."
    )

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
            boot_paths=[BootPathType.of(firmware) for firmware in model.firmwares],
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
