"""Factory-fresh phones: each asks for the names of its boot path (the catalog's data) from the
server DHCP option 66 gave it, over TFTP (curl) or HTTP, follows what the answers name the way
the vendor's firmware reads it, and ends with its own main file; then resyncs from where that
file says."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import httpx
from phone_simulators import CISCO_7960, PHONES, Phone, mac_digits
from resync_readers import READERS
from resync_readers import Phone as ResyncPhone

from magnaprov.templating import BootPath, BootStep, BootTransport, find_equipment

TFTP_NOT_FOUND = 68  # curl's exit code for a TFTP "file not found"


def _quoted(pattern: str) -> Callable[[str], list[str]]:
    return lambda text: re.findall(pattern, text, re.MULTILINE)


def _polycom_files(text: str) -> list[str]:
    listed = re.search(r'CONFIG_FILES="([^"]*)"', text)
    return [] if listed is None else [part.strip() for part in listed[1].split(",")]


# What each vendor's firmware reads in an answer as the next names to fetch, and in its main
# file as the place of every later resync (as phones.md describes the keys).
POINTERS: dict[str, Callable[[str], list[str]]] = {
    "yealink": _quoted(r'^include:config "([^"]+)"'),
    "polycom": _polycom_files,
    "cisco-spa": _quoted(r"<Profile_Rule>([^<]+)</Profile_Rule>"),
    "panasonic": _quoted(r'^CFG_STANDARD_FILE_PATH="([^"]+)"'),
}
def with_mac(phone: Phone, mac: str) -> Phone:
    """The same phone with another MAC, its User-Agent spelling the new MAC as before."""
    old, new = mac_digits(phone.mac), mac_digits(mac)
    agent = phone.user_agent
    for spell in (_colons, _dashes_upper, str.upper, str.lower):
        agent = agent.replace(spell(old), spell(new))
    return replace(phone, mac=mac, user_agent=agent)


def _colons(digits: str) -> str:
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _dashes_upper(digits: str) -> str:
    return _colons(digits).replace(":", "-").upper()


def boot_path(phone: Phone) -> BootPath:
    equipment = find_equipment(
        phone.equipment["manufacturer"], phone.equipment["model"], phone.equipment["firmware"]
    )
    assert equipment is not None
    return equipment.firmware.boot


FACTORY_PHONES: list[Phone] = [*PHONES, CISCO_7960]


@dataclass
class Fetch:
    where: str  # "tftp:<name>" or the URL
    ok: bool
    body: bytes


@dataclass
class FactoryWalk:
    """A factory-fresh phone against a server: `http_base` is the server's URL, `tftp_port` its
    TFTP listener, `device_protocol` what the device record says."""

    phone: Phone
    http: httpx.AsyncClient
    http_base: str
    tftp_port: int
    device_protocol: str
    fetches: list[Fetch] = field(default_factory=list)

    @property
    def tftp_device(self) -> bool:
        return self.device_protocol == "TFTP"

    async def boot(self, option_66: BootTransport) -> None:
        """Ask for the boot path's names over `option_66`, in order, checking each answer
        against the data, and follow every answer."""
        missed = True
        for step in boot_path(self.phone).requests(option_66):
            if step.fallback and not missed:
                continue
            fetch = await self._ask(option_66, self.phone.expand(step.name))
            expected = step.answered_for(option_66, tftp_device=self.tftp_device)
            assert fetch.ok is expected, (self.phone.vendor, option_66, step.name, fetch.where)
            missed = not fetch.ok
            if fetch.ok:
                await self._follow(option_66, step, fetch.body.decode())

    def fetched(self, name: str) -> Fetch:
        """The last successful fetch of this file name, wherever it came from."""
        for fetch in reversed(self.fetches):
            if fetch.ok and fetch.where.rsplit("/", 1)[-1].removeprefix("tftp:") == name:
                return fetch
        raise AssertionError(f"{self.phone.vendor} never fetched {name}: {self.fetches}")

    async def _follow(self, option_66: BootTransport, step: BootStep, text: str) -> None:
        pointers = POINTERS.get(self.phone.vendor, lambda _text: [])(text) if step.leads_to else []
        assert len(pointers) >= 1 or not step.leads_to, (self.phone.vendor, step.name, text)
        for pointer in pointers:
            fetch = await self._pointed(option_66, self._expand_macro(pointer))
            assert fetch.ok, (self.phone.vendor, step.name, pointer)

    def _expand_macro(self, pointer: str) -> str:
        digits = mac_digits(self.phone.mac)
        return (
            pointer.replace("[PHONE_MAC_ADDRESS]", digits)
            .replace("$MA", digits)
            .replace("{MAC}", digits.upper())
        )

    async def _pointed(self, option_66: BootTransport, pointer: str) -> Fetch:
        parts = urlsplit(pointer)
        if parts.scheme in {"http", "https"}:
            return await self._get(pointer)
        if parts.scheme == "tftp":
            assert parts.hostname == "127.0.0.1", pointer
            return await self._tftp(parts.path.lstrip("/"))
        return await self._ask(option_66, pointer.lstrip("/"))  # relative: where it asked

    async def _ask(self, transport: BootTransport, name: str) -> Fetch:
        if transport == "TFTP":
            return await self._tftp(name)
        return await self._get(f"{self.http_base}/prov/{name}")

    async def _get(self, url: str) -> Fetch:
        response = await self.http.get(url, headers={"User-Agent": self.phone.user_agent})
        assert response.status_code in {200, 404}, (url, response.status_code)
        fetch = Fetch(url, response.status_code == 200, response.content)
        self.fetches.append(fetch)
        return fetch

    async def _tftp(self, name: str) -> Fetch:
        code, body = await curl_tftp(self.tftp_port, name)
        assert code in {0, TFTP_NOT_FOUND}, (name, code)  # an answer, never a time-out
        fetch = Fetch(f"tftp:{name}", code == 0, body)
        self.fetches.append(fetch)
        return fetch

    async def resync(self, directory: str) -> Fetch:
        """The later resync: the main file again, from where the main file says (its own
        directory, for an HTTP(S) device) or from the TFTP root (a TFTP device)."""
        main = self.phone.expand(boot_path(self.phone).main)
        if self.tftp_device:
            return await self._tftp(main)
        equipment = self.phone.equipment
        reader = READERS[equipment["manufacturer"]]
        [url, *_] = reader(
            self.fetched(main).body, ResyncPhone(mac_digits(self.phone.mac), equipment["model"])
        )
        said = url.rpartition("/")[0] + "/"  # the directory, where a reader names a file
        assert said == directory, (self.phone.vendor, said, directory)
        return await self._get(said + main)


async def curl_tftp(port: int, name: str, max_time: float = 5) -> tuple[int, bytes]:
    """curl's tftp:// client asking the server on this loopback port for one name."""
    process = await asyncio.create_subprocess_exec(
        "curl",
        "-sS",
        "--max-time",
        str(max_time),
        f"tftp://127.0.0.1:{port}/{name}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    body, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, body
