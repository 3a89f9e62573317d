"""How each vendor's firmware reads its "provision from here next" settings: a reader turns a
rendered file into the URLs its phone fetches next."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Phone:
    """What the phone substitutes into its settings: its MAC and model."""

    mac_lower: str
    model: str


# A reader turns a rendered file into the URLs its phone fetches next: a directory ("/" at the
# end, the phone adds its file name) or a file. A relative one is on the DHCP option 66 server
# over TFTP, as Cisco SPA and Linksys read a profile rule without a scheme.
Reader = Callable[[bytes, Phone], list[str]]


def _xml(content: bytes) -> dict[str, list[str]]:
    """Element texts and attribute values by name, anywhere in the document."""
    found: dict[str, list[str]] = {}
    for element in ElementTree.fromstring(content).iter():  # noqa: S314 - our own output
        found.setdefault(element.tag, []).append((element.text or "").strip())
        for name, value in element.attrib.items():
            found.setdefault(name, []).append(value)
    return found


def _pairs(content: bytes, separator: str) -> dict[str, str]:
    found = {}
    for line in content.decode().splitlines():
        if line.strip() and not line.startswith("#") and separator in line:
            key, _, value = line.partition(separator)
            found[key.strip()] = value.strip()
    return found


def _yealink(content: bytes, phone: Phone) -> list[str]:
    pairs = _pairs(content, "=")
    return [pairs[key] for key in pairs if key.endswith("auto_provision.server.url")]


def _polycom(content: bytes, phone: Phone) -> list[str]:
    values = _xml(content)
    names = values.get("device.prov.serverName", [])
    kinds = values.get("device.prov.serverType", [])
    if not names:
        return []
    name = names[0] if "://" in names[0] else f"{kinds[0].lower()}://{names[0]}"
    return [name if name.endswith("/") else name + "/"]


def _spa(content: bytes, phone: Phone) -> list[str]:
    rules = [v for k, vs in _xml(content).items() if k.startswith("Profile_Rule") for v in vs]
    return [rule.replace("$MA", phone.mac_lower) for rule in rules if rule]


def _snom(content: bytes, phone: Phone) -> list[str]:
    return _xml(content).get("setting_server", [])


def _aastra(content: bytes, phone: Phone) -> list[str]:
    pairs = {key.lower(): value for key, value in _pairs(content, ":").items()}
    if "download protocol" not in pairs:
        return []
    kind = pairs["download protocol"].lower()
    port = f":{pairs[kind + ' port']}" if kind + " port" in pairs else ""
    path = pairs.get(f"{kind} path", "").strip("/")
    return [f"{kind}://{pairs[kind + ' server']}{port}/{path + '/' if path else ''}"]


def _grandstream(content: bytes, phone: Phone) -> list[str]:
    values = _xml(content)
    if "P237" not in values:
        return []
    scheme = {"0": "tftp", "1": "http", "2": "https"}[values["P212"][0]]
    return [f"{scheme}://{values['P237'][0].rstrip('/')}/"]


def _fanvil(content: bytes, phone: Phone) -> list[str]:
    values = _xml(content)
    if "FlashServerIP" not in values:
        return []
    scheme = {"2": "tftp", "4": "http", "5": "https"}[values["FlashProtocol"][0]]
    name = values["FlashFileName"][0].replace("$mac", phone.mac_lower)
    return [f"{scheme}://{values['FlashServerIP'][0]}/{name.lstrip('/')}"]


def _panasonic(content: bytes, phone: Phone) -> list[str]:
    pairs = {key: value.strip('"') for key, value in _pairs(content, "=").items()}
    keys = ("CFG_STANDARD_FILE_PATH", "CFG_PRODUCT_FILE_PATH", "CFG_MASTER_FILE_PATH")
    return [
        pairs[key]
        .replace("{MAC}", phone.mac_lower.upper())
        .replace("{mac}", phone.mac_lower)
        .replace("{MODEL}", phone.model)
        for key in keys
        if pairs.get(key)
    ]


READERS: dict[str, Reader] = {
    "yealink": _yealink,
    "polycom": _polycom,
    "cisco": _spa,
    "linksys": _spa,
    "snom": _snom,
    "aastra": _aastra,
    "grandstream": _grandstream,
    "fanvil": _fanvil,
    "panasonic": _panasonic,
}
# Aastra names a TFTP server and path but no port: its phones ask on the port DHCP gave them.
NO_TFTP_PORT_SETTING = frozenset({"aastra"})
