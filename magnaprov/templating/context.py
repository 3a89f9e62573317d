"""The data a device's files are rendered from, and the plain dict templates see.

The rest of the server fills a :class:`DeviceRenderInput` from the database;
:func:`build_render_context` turns it into nested dicts, lists, strings, numbers
and booleans only — no objects, no callables — adding what each vendor needs in
its own form (MAC case, time zone offsets, resync interval units).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import urlsplit

from .catalog import Equipment, UpdateProtocol
from .file_names import expand_pattern, mac_digits, normalize_mac
from .time_values import time_values

__all__ = [
    "AccountInfo",
    "Codec",
    "DeviceInfo",
    "DeviceRenderInput",
    "DtmfMode",
    "ExtensionInfo",
    "LineInfo",
    "OrganizationInfo",
    "RenderContext",
    "ServerInfo",
    "SipPreferences",
    "Transport",
    "build_common_context",
    "build_render_context",
]

Transport = Literal["udp", "tcp", "tls"]
DtmfMode = Literal["rfc2833", "inband", "info", "auto"]
Codec = Literal["PCMU", "PCMA", "G722", "G729", "OPUS", "iLBC", "GSM"]
RenderContext = dict[str, object]

# Static payload types from RFC 3551; OPUS and iLBC are dynamic, these are the
# numbers phones commonly default to.
_PAYLOADS: dict[str, int] = {
    "PCMU": 0,
    "PCMA": 8,
    "G722": 9,
    "G729": 18,
    "GSM": 3,
    "iLBC": 97,
    "OPUS": 111,
}
_DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443, "tftp": 69}


@dataclass(frozen=True, kw_only=True)
class AccountInfo:
    name: str
    login: str


@dataclass(frozen=True, kw_only=True)
class OrganizationInfo:
    name: str
    code: str  # four digits, "0027"


@dataclass(frozen=True, kw_only=True)
class ExtensionInfo:
    number: str  # "001"
    full_number: str  # "0027*001"
    name: str


@dataclass(frozen=True, kw_only=True)
class LineInfo:
    """Line 1: who the phone registers as, and where."""

    user: str
    auth_user: str
    password: str
    display_name: str
    registrar_host: str
    registrar_port: int
    transport: Transport


@dataclass(frozen=True, kw_only=True)
class DeviceInfo:
    mac: str  # any common spelling; normalized on use
    friendly_name: str
    manufacturer: str
    model: str
    firmware: str
    application_version: str
    admin_user: str
    admin_password: str | None
    update_interval: int  # minutes, 1..99999
    protocol: UpdateProtocol
    provisioning_url: str  # the device's own directory, ending with "/"
    tftp_host: str


@dataclass(frozen=True, kw_only=True)
class ServerInfo:
    time_zone: str  # IANA name, "Europe/Paris"
    ntp_server: str


@dataclass(frozen=True, kw_only=True)
class SipPreferences:
    dtmf_mode: DtmfMode
    codecs: tuple[Codec, ...]  # in order of preference
    nat_keepalive: bool
    presence: bool
    direct_media: bool
    forced_mwi: bool
    equipment_description: str


@dataclass(frozen=True, kw_only=True)
class DeviceRenderInput:
    """Everything a device's files may depend on, as plain values."""

    account: AccountInfo
    organization: OrganizationInfo
    extension: ExtensionInfo
    line: LineInfo
    device: DeviceInfo
    server: ServerInfo
    sip: SipPreferences


def build_render_context(equipment: Equipment, data: DeviceRenderInput) -> RenderContext:
    """The dict handed to the templates of this equipment (see docs/templates.md)."""
    _check_input(data)
    return {
        "account": {"name": data.account.name, "login": data.account.login},
        "organization": {"name": data.organization.name, "code": data.organization.code},
        "extension": {
            "number": data.extension.number,
            "full_number": data.extension.full_number,
            "name": data.extension.name,
        },
        "line": _line_values(data.line),
        "device": _device_values(equipment, data.device),
        "server": {"time_zone": data.server.time_zone, "ntp_server": data.server.ntp_server},
        "time": time_values(data.server.time_zone),
        "resync": _resync_values(data.device.update_interval),
        "sip": _sip_values(data.sip),
        "equipment": _equipment_values(equipment),
        "files": {
            spec.role: expand_pattern(spec.pattern, data.device.mac)
            for spec in equipment.firmware.files
        },
    }


def build_common_context(equipment: Equipment, data: DeviceRenderInput) -> RenderContext:
    """The dict handed to the equipment's common files: what every phone of it may read.

    A common file is the same kind of file for every device and may be fetched before the
    phone is known, so nothing here comes from the line, the extension, its accounts or the
    device's secrets: no password, no key or URL holding it, no Digest credentials, no MAC.
    A template cannot print what its context does not hold, whatever it does with it.
    """
    _check_input(data)
    url = urlsplit(data.device.provisioning_url)
    return {
        "device": {
            "protocol": data.device.protocol,
            "provisioning_scheme": url.scheme,
            "provisioning_host": url.netloc.rpartition("@")[2],
            "provisioning_hostname": url.hostname or "",
            "provisioning_port": url.port or _DEFAULT_PORTS.get(url.scheme, 0),
            "shared_root_url": _shared_root_url(data.device.provisioning_url),
            "tftp_host": data.device.tftp_host,
        },
        "server": {"time_zone": data.server.time_zone, "ntp_server": data.server.ntp_server},
        "time": time_values(data.server.time_zone),
        "resync": _resync_values(data.device.update_interval),
        "equipment": _equipment_values(equipment),
        "files": {
            spec.role: spec.pattern for spec in equipment.firmware.files if not spec.per_device
        },
    }


def _check_input(data: DeviceRenderInput) -> None:
    checks = (
        (data.line.transport in get_args(Transport), "line.transport"),
        (data.sip.dtmf_mode in get_args(DtmfMode), "sip.dtmf_mode"),
        (all(codec in get_args(Codec) for codec in data.sip.codecs), "sip.codecs"),
        (data.device.protocol in get_args(UpdateProtocol), "device.protocol"),
        (1 <= data.device.update_interval <= 99999, "device.update_interval"),
        (1 <= data.line.registrar_port <= 65535, "line.registrar_port"),
    )
    for passed, field_name in checks:
        if not passed:
            raise ValueError(f"invalid {field_name}")


def _line_values(line: LineInfo) -> dict[str, object]:
    return {
        "user": line.user,
        "auth_user": line.auth_user,
        "password": line.password,
        "display_name": line.display_name,
        "registrar_host": line.registrar_host,
        "registrar_port": line.registrar_port,
        "transport": line.transport,
        "transport_upper": line.transport.upper(),
    }


def _device_values(equipment: Equipment, device: DeviceInfo) -> dict[str, object]:
    digits = mac_digits(device.mac)
    url = urlsplit(device.provisioning_url)
    return {
        "mac": digits.upper() if equipment.manufacturer.mac_case == "upper" else digits,
        "mac_lower": digits,
        "mac_upper": digits.upper(),
        "mac_colons": normalize_mac(device.mac),
        "mac_dashes_upper": normalize_mac(device.mac).replace(":", "-").upper(),
        "friendly_name": device.friendly_name,
        "application_version": device.application_version,
        "admin_user": device.admin_user,
        "admin_password": device.admin_password or "",
        "has_admin_password": device.admin_password is not None,
        "update_interval": device.update_interval,
        "protocol": device.protocol,
        "provisioning_url": device.provisioning_url,
        "provisioning_scheme": url.scheme,
        "provisioning_host": url.netloc.rpartition("@")[2],
        "provisioning_hostname": url.hostname or "",
        "provisioning_port": url.port or _DEFAULT_PORTS.get(url.scheme, 0),
        "provisioning_path": url.path.strip("/"),
        "shared_root_url": _shared_root_url(device.provisioning_url),
        "tftp_host": device.tftp_host,
    }


def _shared_root_url(directory: str) -> str:
    """The shared root beside the device's directory: the same URL without the key, so a
    common file may name it (the phone is then found by the MAC in the name it asks for)."""
    return directory.rstrip("/").rpartition("/")[0] + "/"


def _resync_values(minutes: int) -> dict[str, object]:
    return {
        "minutes": minutes,
        "seconds": minutes * 60,
        # Polycom refuses polling periods under an hour.
        "seconds_min_3600": max(minutes * 60, 3600),
        "hours": math.ceil(minutes / 60),
        "days": math.ceil(minutes / 1440),
    }


def _sip_values(sip: SipPreferences) -> dict[str, object]:
    return {
        "dtmf_mode": sip.dtmf_mode,
        "codecs": [{"name": codec, "payload": _PAYLOADS[codec]} for codec in sip.codecs],
        "codec_names": list(sip.codecs),
        "nat_keepalive": sip.nat_keepalive,
        "presence": sip.presence,
        "direct_media": sip.direct_media,
        "forced_mwi": sip.forced_mwi,
        "equipment_description": sip.equipment_description,
    }


def _equipment_values(equipment: Equipment) -> dict[str, object]:
    maker, model, firmware = equipment
    return {
        "manufacturer": maker.key,
        "manufacturer_name": maker.name,
        "model": model.key,
        "model_name": model.name,
        "firmware": firmware.key,
        "firmware_name": firmware.name,
        "lines": model.lines,
        "vars": dict(model.variables),
    }
