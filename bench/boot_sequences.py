"""What a phone of each vendor asks for when it boots, and how it introduces itself.

A boot is the device's files in the order its firmware reads them (the catalog's order, which
is also the order `build_fleet` lists them), plus one name the vendor asks for that the server
does not hold, an optional extra at the end (Polycom's `<mac>-directory.xml`, Grandstream's
binary `cfg<mac>`...). The User-Agents follow the formats of
`magnaprov.serve.user_agents`, so the last-contact recorder parses real-looking ones.
"""

from __future__ import annotations

from typing import Any

from bench.fleet import FleetDevice

__all__ = ["boot_sequence", "miss_name", "user_agent"]

# (the name asked for, whether it comes before the device's files)
_MISSES = {
    "yealink": ("{mac}-local.cfg", False),
    "polycom": ("{mac}-directory.xml", False),
    "snom": ("snomD785-{MAC}.xml", False),
    "aastra": ("{MAC}-local.cfg", False),
    "grandstream": ("cfg{mac}", False),
    "fanvil": ("{mac}.xml", False),
    "panasonic": ("ConfigCommon.cfg", False),
    "cisco": ("spa{mac}.cfg", False),
}
_AGENTS = {
    "yealink": "Yealink SIP-{model} 66.86.0.15 {colons}",
    "polycom": "FileTransport PolycomVVX-VVX_400-UA/6.4.3.5018 Type/Application",
    "snom": "Mozilla/4.0 (compatible; snom{model}-SIP 10.1.159.12 {MAC} SXM:0 UXM:0)",
    "aastra": "Aastra{model} MAC:{dashes} V:3.3.1.4305-SIP",
    "grandstream": "Grandstream Model HW {model} SW 1.0.11.3 DevId {mac}",
    "fanvil": "Fanvil {model} 2.12.1 {mac}",
    "panasonic": "Panasonic_{model}/01.133 ({mac})",
    "cisco": "Cisco/{model}-7.6.2 ({MAC})(CBT141400UK)",
}


def _spellings(device: FleetDevice) -> dict[str, str]:
    digits = device.mac.replace(":", "").lower()
    return {
        "mac": digits,
        "MAC": digits.upper(),
        "colons": device.mac.lower(),
        "dashes": device.mac.upper().replace(":", "-"),
        "model": device.model,
    }


def miss_name(device: FleetDevice) -> str:
    """The name this device's vendor asks for that the server does not have."""
    return _MISSES[device.manufacturer][0].format(**_spellings(device))


def user_agent(device: FleetDevice) -> str:
    """A User-Agent as this device's model sends it."""
    return _AGENTS[device.manufacturer].format(**_spellings(device))


def boot_sequence(device: FleetDevice, source: str) -> dict[str, Any]:
    """The device's boot as a `bench.http_client` sequence from address `source`."""
    headers = {"User-Agent": user_agent(device)}
    files = [
        {"path": f"/prov/{device.key}/{name}", "headers": headers, "expect": 200}
        for name in device.files
    ]
    miss = {"path": f"/prov/{device.key}/{miss_name(device)}", "headers": headers, "expect": 404}
    first = _MISSES[device.manufacturer][1]
    return {"source": source, "requests": [miss, *files] if first else [*files, miss]}
