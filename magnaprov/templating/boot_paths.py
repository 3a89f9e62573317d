"""Boot paths: what a factory-fresh phone asks for, and where the server's answers send it.

A phone fresh from the box learns the server from DHCP (option 66, and 160 or 150 for some
vendors), asks for its factory names in a fixed order, and follows what the answers name. The
facts live beside the catalog, in a ``boot`` table of each firmware profile (see
``catalog_files``); this module holds the types.

Which requests the server can answer follows from what the request carries: a name with the
MAC names its device over TFTP and HTTP alike; a name without it names a device over HTTP
only when the vendor's User-Agent carries the MAC (TFTP carries no User-Agent); anything else
is a miss, the same 404 (or TFTP "file not found") whatever its cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .file_names import pattern_has_mac

__all__ = ["BootPath", "BootStep", "BootTransport"]

BootTransport = Literal["TFTP", "HTTP"]


@dataclass(frozen=True)
class BootStep:
    """One name a factory-fresh phone asks for.

    ``answer`` is the pattern of the file that answers it (None: a miss, and ``note`` says
    why); ``leads_to`` are the patterns of the files the answer names, in the order the phone
    fetches them next. A ``fallback`` is asked only when the request before it missed.
    """

    name: str
    over: tuple[BootTransport, ...]
    answer: str | None
    leads_to: tuple[str, ...]
    note: str
    user_agent_mac: bool
    fallback: bool = False

    @property
    def answered_over(self) -> tuple[BootTransport, ...]:
        """The transports over which the name is answered for a device whose MAC-based
        provisioning is in force (an HTTP or HTTPS device)."""
        if self.answer is None:
            return ()
        if pattern_has_mac(self.name):
            return self.over
        return ("HTTP",) if self.user_agent_mac and "HTTP" in self.over else ()

    def answered_for(self, transport: BootTransport, *, tftp_device: bool) -> bool:
        """Whether a phone asking over `transport` is answered: a TFTP device over TFTP by
        TFTP's own rule (every file of it, common ones from the address it is tied to or the
        Server default); an HTTP(S) device whose MAC-based provisioning is in force per
        `answered_over`; a TFTP device over HTTP never (the shared root does not serve it)."""
        if tftp_device:
            return self.answer is not None and transport == "TFTP"
        return transport in self.answered_over


@dataclass(frozen=True)
class BootPath:
    """The factory boot of one firmware: the DHCP options it reads, the names it asks for,
    and ``main``, the pattern of the file it ends with (whose settings send every later
    resync to the device's own directory)."""

    dhcp_options: tuple[int, ...]
    user_agent_mac: bool
    steps: tuple[BootStep, ...]
    main: str
    note: str = ""

    def requests(self, transport: BootTransport) -> tuple[BootStep, ...]:
        """The names asked for over this transport, in order."""
        return tuple(step for step in self.steps if transport in step.over)

    def answered_names(self, transport: BootTransport) -> frozenset[str]:
        """Patterns of the names answered over this transport for a MAC in force."""
        return frozenset(step.name for step in self.steps if transport in step.answered_over)
