"""Recognise a provisioning phone from its HTTP User-Agent.

The shared provisioning root finds a device by the MAC in the file name or, failing that, in the
User-Agent (DESIGN.md, "Device routes"). Formats are from docs/reference phones.md. Every pattern
is anchored and built from character classes that cannot overlap where they repeat, so matching
stays linear; input is also capped so a hostile header costs a bounded amount of work.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MAX_USER_AGENT_LENGTH", "PhoneAgent", "mac_from_text", "parse_user_agent"]

# Real phone agents are well under 200 characters; anything much longer is not a phone.
MAX_USER_AGENT_LENGTH = 512

_FLAGS = re.ASCII  # \d, \w and \s must not match non-ASCII look-alikes

_MAC = re.compile(
    r"[0-9a-f]{12}|[0-9a-f]{2}(?::[0-9a-f]{2}){5}|[0-9a-f]{2}(?:-[0-9a-f]{2}){5}",
    _FLAGS | re.IGNORECASE,
)
_HEX12 = re.compile(r"[0-9a-f]{12}", _FLAGS | re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PhoneAgent:
    """What a phone says about itself.

    `vendor` is the brand the phone names, lower case (`aastra` and `mitel` stay distinct).
    `mac` is lower case with colons, or None when the agent carries none.
    """

    vendor: str
    model: str
    firmware: str
    mac: str | None


def mac_from_text(text: str) -> str | None:
    """Normalise a MAC written as 12 hex digits, or with `:` or `-` between every octet.

    Returns `aa:bb:cc:dd:ee:ff`, or None if the whole text is not exactly one MAC.
    """
    if len(text) > 17 or _MAC.fullmatch(text) is None:
        return None
    digits = text.replace(":", "").replace("-", "").lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _strict_mac(text: str | None) -> str | None:
    """A MAC only when it is exactly 12 hex digits, as in agents that put serials beside it."""
    if text is None or _HEX12.fullmatch(text) is None:
        return None
    return mac_from_text(text)


def _loose_mac(text: str | None) -> str | None:
    return None if text is None else mac_from_text(text)


def _first_mac(tokens: list[str]) -> str | None:
    return next((mac for mac in map(_strict_mac, tokens) if mac is not None), None)


# Yealink SIP-T46G 28.72.0.1 00:15:65:4a:a9:37; also "yealink", "SIP VP-T49G", bare hex MAC.
_YEALINK = re.compile(
    r"yealink\s+SIP[- ](?P<model>\S+)\s+(?P<firmware>\S+)(?:\s+(?P<mac>\S+))?",
    _FLAGS | re.IGNORECASE,
)


def _yealink(agent: str) -> PhoneAgent | None:
    found = _YEALINK.match(agent)
    if found is None:
        return None
    return PhoneAgent("yealink", found["model"], found["firmware"], _loose_mac(found["mac"]))


# FileTransport PolycomVVX-VVX_400-UA/4.1.4.7430 Type/Application: no MAC in any Polycom agent.
# Under Type/Updater the version is the BootROM's, not the application's.
_POLYCOM = re.compile(
    r"FileTransport\s+Polycom[A-Za-z]+-(?P<model>[A-Za-z0-9_]+)-UA/(?P<firmware>[0-9A-Za-z.]+)",
    _FLAGS,
)


def _polycom(agent: str) -> PhoneAgent | None:
    found = _POLYCOM.match(agent)
    if found is None:
        return None
    # The agent spells VVX400 as "VVX_400"; catalogs use the compact form.
    return PhoneAgent("polycom", found["model"].replace("_", ""), found["firmware"], None)


# Cisco/SPA508G-7.4.8a (0002FDFF2103)(CBT141400UK), or without the MAC: (CBT141900G7).
_CISCO = re.compile(r"Cisco/(?P<model>[A-Za-z0-9]+)-(?P<firmware>[^\s()]+)(?P<rest>.*)", _FLAGS)
_PARENTHESISED = re.compile(r"\(([^()]*)\)")


def _cisco(agent: str) -> PhoneAgent | None:
    found = _CISCO.match(agent)
    if found is None:
        return None
    # The serial sits in parentheses too; only an exact 12-hex value is taken as the MAC.
    mac = _first_mac(_PARENTHESISED.findall(found["rest"]))
    return PhoneAgent("cisco", found["model"], found["firmware"], mac)


# Linksys/SPA-942-6.1.5(a) (88019FA42805): the parenthesised value is the serial, never the MAC.
_LINKSYS = re.compile(r"Linksys/(?P<model>[A-Za-z]+-[A-Za-z0-9]+)-(?P<firmware>\S+)", _FLAGS)


def _linksys(agent: str) -> PhoneAgent | None:
    found = _LINKSYS.match(agent)
    if found is None:
        return None
    return PhoneAgent("linksys", found["model"], found["firmware"], None)


# Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D24 SXM:0 UXM:0)
_SNOM = re.compile(
    r"Mozilla/[0-9.]+\s+\(compatible;\s*snom(?P<model>[A-Za-z0-9]+)-SIP\s+"
    r"(?P<firmware>[^\s()]+)(?P<rest>[^()]*)",
    _FLAGS,
)


def _snom(agent: str) -> PhoneAgent | None:
    found = _SNOM.match(agent)
    if found is None:
        return None
    # Old 3xx firmware has no MAC; newer ones put it among build tags, so test each token.
    mac = _first_mac(found["rest"].split())
    return PhoneAgent("snom", found["model"], found["firmware"], mac)


# Aastra6731i MAC:00-08-5D-23-74-29 V:3.2.0.70-SIP (or Mitel6940 ...).
_AASTRA = re.compile(
    r"(?P<vendor>Aastra|Mitel)(?P<model>[A-Za-z0-9]+)\s+MAC:(?P<mac>\S+)\s+V:(?P<firmware>[^\s-]+)",
    _FLAGS,
)


def _aastra(agent: str) -> PhoneAgent | None:
    found = _AASTRA.match(agent)
    if found is None:
        return None
    vendor = found["vendor"].lower()
    return PhoneAgent(vendor, found["model"], found["firmware"], _loose_mac(found["mac"]))


# Grandstream Model HW GXP2135[ V2.3A] SW 1.0.7.97 DevId 000b828aa872
_GRANDSTREAM = re.compile(
    r"Grandstream\s+Model\s+HW\s+(?P<model>\S+)(?:\s+V\S+)?\s+SW\s+(?P<firmware>\S+)"
    r"(?:\s+DevId\s+(?P<mac>\S+))?",
    _FLAGS,
)
# Grandstream GXP2000 (gxp2000e.bin:1.2.5.3/boot55e.bin:1.1.6.9) DevId 000b822726c8
_GRANDSTREAM_OLD = re.compile(
    r"Grandstream\s+(?P<model>[A-Za-z0-9]+)\s+\([^:()]*:(?P<firmware>[^/()]+)(?:/[^()]*)?\)"
    r"(?:\s+DevId\s+(?P<mac>\S+))?",
    _FLAGS,
)


def _grandstream(agent: str) -> PhoneAgent | None:
    found = _GRANDSTREAM.match(agent) or _GRANDSTREAM_OLD.match(agent)
    if found is None:
        return None
    return PhoneAgent("grandstream", found["model"], found["firmware"], _strict_mac(found["mac"]))


# Fanvil X6U Pro 0.0.10 0c383e2cd782: the model may contain spaces, so work on tokens.
_VERSION = re.compile(r"[0-9]+(?:\.[0-9A-Za-z]+)+", _FLAGS)


def _fanvil(agent: str) -> PhoneAgent | None:
    vendor, *tokens = agent.split()
    if vendor != "Fanvil":
        return None
    versions = [i for i, token in enumerate(tokens) if _VERSION.fullmatch(token)]
    if not versions or versions[-1] == 0:
        return None
    at = versions[-1]
    mac = _strict_mac(tokens[at + 1]) if at + 1 < len(tokens) else None
    return PhoneAgent("fanvil", " ".join(tokens[:at]), tokens[at], mac)


# Panasonic_KX-UT113/01.133 (0080f0c8c381)
_PANASONIC = re.compile(
    r"Panasonic_(?P<model>[^/\s]+)/(?P<firmware>[^\s()]+)(?:\s*\((?P<mac>[^()]*)\))?",
    _FLAGS,
)


def _panasonic(agent: str) -> PhoneAgent | None:
    found = _PANASONIC.match(agent)
    if found is None:
        return None
    return PhoneAgent("panasonic", found["model"], found["firmware"], _strict_mac(found["mac"]))


_PARSERS: tuple[Callable[[str], PhoneAgent | None], ...] = (
    _yealink,
    _polycom,
    _cisco,
    _linksys,
    _snom,
    _aastra,
    _grandstream,
    _fanvil,
    _panasonic,
)


def parse_user_agent(user_agent: str) -> PhoneAgent | None:
    """Identify a phone from its User-Agent, or None for anything unrecognised or too long."""
    if len(user_agent) > MAX_USER_AGENT_LENGTH:
        return None
    agent = user_agent.strip()
    if not agent:
        return None
    for parse in _PARSERS:
        found = parse(agent)
        if found is not None:
            return found
    return None
