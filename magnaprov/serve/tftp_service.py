"""TFTP for phones that provision over it (Cisco 79xx above all), answering from the file store.

The global preferences switch TFTP on (`tftp_enabled`, off by default) and restrict its clients
(`tftp_allowed_networks`, required to switch it on: empty = nobody, the server stays off);
`run()` re-reads them every `poll_seconds` and starts, stops or restarts the server to match,
so an admin's change needs no restart. The bind address and port come from the settings.

Which device a name belongs to:

* A name carrying a MAC (any per-device pattern of the catalog, or the Cisco hunt names
  `CTLSEP<MAC>.tlv` and `SEP<MAC>.cnf.xml`) names that device. It is served only if its update
  protocol is TFTP, file generation is on, and it has no HTTP Digest credentials: TFTP cannot
  authenticate, and a device whose files were meant to need a password must not get them
  without. The client address is then tied to the device for `binding_seconds`.
* A name carrying the MAC of an HTTP(S) device whose MAC-based provisioning is in force is
  served if the device's boot path answers it over TFTP (`BootPath.answered_names`): a factory
  phone sent to TFTP by DHCP option 66 gets its MAC-named bootstrap or main file, which sends
  it on to its own directory over its protocol. Nothing else of such a device is served over
  TFTP, and the address is not tied to it.
* A name without a MAC (`SIPDefault.cnf`, `dialplan.xml`, `syncinfo.xml`...) is a common file.
  From an address tied to a device, that device's own rendering is served (its template may
  have changed the file). Otherwise, e.g. a Cisco 79xx asking `SIPDefault.cnf` before any
  MAC-named file, the file is taken from the lowest-id TFTP device on the Server default
  template that has it: the Server default's common files carry no tenant data (only settings
  shared by every phone of that equipment), so which device's rendering is served does not
  matter. If the name is common to several firmwares (7.x and 8.x both have `SIPDefault.cnf`),
  a phone not yet tied may get the other firmware's variant until it has asked for its own
  `SIP<MAC>.cnf`; phones re-read these files on every boot.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import TypeGuard

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.db import (
    GLOBAL_PREFERENCES_ID,
    GlobalPreferences,
    UpdateProtocol,
    create_engine,
    create_session_factory,
)
from magnaprov.resolvers import Services
from magnaprov.serve.access_log import AccessLog, AccessRecord, open_access_log
from magnaprov.serve.contact_recorder import ContactRecorder
from magnaprov.serve.file_store import FileStore, ServedDevice, StoreUnavailable
from magnaprov.serve.tftp import Network, TftpServer
from magnaprov.settings import Settings
from magnaprov.templating import Catalog, load_catalog

__all__ = ["TFTP_ROUTE", "TftpService", "TftpThread", "allowed_networks"]

log = logging.getLogger("magnaprov.tftp")

TFTP_ROUTE = "tftp"
_CISCO_HUNT = re.compile(r"(?:CTLSEP|SEP)([0-9A-Fa-f]{12})\.(?:tlv|cnf\.xml)", re.ASCII)
_MAX_BINDINGS = 50_000


def allowed_networks(text: str) -> tuple[Network, ...]:
    """The networks of the global preference (comma-separated); empty means nobody."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    )


class TftpService:
    """Keeps a `TftpServer` running as the global preferences say, looking files up by MAC."""

    def __init__(
        self,
        engine: AsyncEngine,
        store: FileStore,
        contacts: ContactRecorder,
        *,
        host: str,
        port: int,
        poll_seconds: float = 10.0,
        binding_seconds: float = 900.0,
        catalog: Catalog | None = None,
        access_log: AccessLog | None = None,
    ) -> None:
        self._sessions = create_session_factory(engine)
        self._store, self._contacts = store, contacts
        self._access_log = access_log or AccessLog(None)
        self._host, self._port = host, port
        self._poll, self._binding_seconds = poll_seconds, binding_seconds
        self._catalog = catalog or load_catalog()
        self._server: TftpServer | None = None
        self._networks: tuple[Network, ...] | None = None
        self._bindings: OrderedDict[str, tuple[int, float]] = OrderedDict()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        engine: AsyncEngine,
        store: FileStore,
        contacts: ContactRecorder,
        access_log: AccessLog,
    ) -> TftpService:
        """The service on the configured address, sharing the caller's store and recorders."""
        return cls(
            engine,
            store,
            contacts,
            host=settings.tftp_host,
            port=settings.tftp_port,
            access_log=access_log,
        )

    @property
    def server(self) -> TftpServer | None:
        """The running server, or None while TFTP is off."""
        return self._server

    async def run(self) -> None:
        """Follow the global preferences until cancelled, then stop the server."""
        try:
            while True:
                await self.reconcile()
                await asyncio.sleep(self._poll)
        finally:
            await self.stop()

    async def reconcile(self) -> None:
        """Start, stop or restart the server to match the global preferences now."""
        try:
            async with self._sessions() as session:
                preferences = await session.get(GlobalPreferences, GLOBAL_PREFERENCES_ID)
        except (SQLAlchemyError, OSError) as error:
            log.warning("TFTP: global preferences unreadable: %s", type(error).__name__)
            return  # keep whatever runs now
        wanted = None
        if preferences is not None and preferences.tftp_enabled:
            wanted = allowed_networks(preferences.tftp_allowed_networks) or None
            if wanted is None and self._server is not None:
                log.warning("TFTP: switched on without allowed networks; not serving anyone")
        if wanted == self._networks and (wanted is None) == (self._server is None):
            return
        await self.stop()
        if wanted is not None:
            await self._start(wanted)

    async def stop(self) -> None:
        """Stop serving (running transfers are cancelled)."""
        server, self._server, self._networks = self._server, None, None
        if server is not None:
            await server.stop()
            log.info("TFTP server stopped")

    async def lookup(self, name: str, client: tuple[str, int]) -> bytes | None:
        """The `TftpServer` callback: the file's bytes, or None for "file not found"."""
        started = time.perf_counter()
        device, identified = None, False
        try:
            device, identified = await self._device_for(name, client[0])
        except StoreUnavailable:
            log.warning("TFTP: database unreachable and %r not cached", name)
        file = None if device is None else device.files.get(name.casefold())
        if device is not None and file is not None and identified:
            # A common file lent by another device says nothing of that device's phone.
            self._contacts.record(device.id, client[0], None)
        self._access_log.write(
            AccessRecord(
                route=TFTP_ROUTE,
                method="RRQ",
                status=200 if file is not None else 404,
                bytes=0 if file is None else len(file.content),
                milliseconds=(time.perf_counter() - started) * 1000,
                client=client[0],
                device_id=None if device is None else device.id,
                file=name,
            )
        )
        return None if file is None else file.content

    async def _start(self, networks: Sequence[Network]) -> None:
        server = TftpServer(self.lookup, self._host, self._port, allowed_networks=networks)
        try:
            await server.start()
        except OSError as error:
            log.error("TFTP server cannot listen on %s:%s: %s", self._host, self._port, error)
            return  # tried again at the next poll
        self._server, self._networks = server, tuple(networks)
        log.info("TFTP server listening on %s:%s", *server.address)

    async def _device_for(self, name: str, address: str) -> tuple[ServedDevice | None, bool]:
        """The device whose file this is, and whether the client is that device's phone (it
        named the MAC, now or earlier from this address)."""
        mac = self._catalog.mac_in_file_name(name) or _hunt_mac(name)
        if mac is not None:
            device = await self._store.by_mac(mac)
            if _served_over_tftp(device):
                self._bind(address, device.id)
                return device, True
            if _boots_over_tftp(device, name):
                return device, True
            return None, False
        name_key = name.casefold()
        bound = self._bound(address)
        if bound is not None:
            device = await self._store.by_id(bound)
            if _served_over_tftp(device) and name_key in device.files:
                return device, True
        holder = await self._store.server_default_holder(name_key, UpdateProtocol.TFTP)
        device = None if holder is None else await self._store.by_id(holder)
        return (device, False) if _served_over_tftp(device) else (None, False)

    def _bind(self, address: str, device_id: int) -> None:
        self._bindings[address] = (device_id, time.monotonic() + self._binding_seconds)
        self._bindings.move_to_end(address)
        if len(self._bindings) > _MAX_BINDINGS:
            self._bindings.popitem(last=False)

    def _bound(self, address: str) -> int | None:
        binding = self._bindings.get(address)
        if binding is None or binding[1] < time.monotonic():
            return None
        return binding[0]


def _served_over_tftp(device: ServedDevice | None) -> TypeGuard[ServedDevice]:
    return (
        device is not None
        and device.generation_enabled
        and device.protocol is UpdateProtocol.TFTP
        and device.digest is None
        and not device.requires_certificate  # its certificate cannot come over TFTP
    )


def _boots_over_tftp(device: ServedDevice | None, name: str) -> TypeGuard[ServedDevice]:
    """An HTTP(S) phone fresh from the box, sent to TFTP by DHCP option 66: the names its boot
    path answers over TFTP, only while its MAC-based provisioning is in force (they hand out
    what the shared root serves it already, and lead it on to its own directory)."""
    return (
        device is not None
        and device.mac_based
        and not device.requires_certificate
        and name.casefold() in device.tftp_boot_names
    )


def _hunt_mac(name: str) -> str | None:
    found = _CISCO_HUNT.fullmatch(name)
    if found is None:
        return None
    digits = found[1].lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


class TftpThread:
    """The TFTP service on its own event loop, in a thread of the `magnaprov serve` process.

    One per host whatever the number of HTTP workers, since only one socket can own the port.
    It has its own engine, file store (its own LISTEN connection on PostgreSQL; on SQLite the
    serving process's commits reach it through the change hooks) and contact recorder.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._thread = threading.Thread(target=self._main, name="magnaprov-tftp", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self.service: TftpService | None = None

    def start(self) -> None:
        """Start the thread and wait until its loop runs."""
        self._thread.start()
        self._ready.wait(timeout=30)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving, write the last contacts and wait for the thread."""
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)
        self._thread.join(timeout)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._ready.set()
        settings = self._settings
        engine = create_engine(settings.database_url)
        store = FileStore(
            engine,
            Services.from_settings(settings).secrets,
            max_bytes=settings.file_cache_max_bytes // 4,
            max_devices=settings.file_cache_max_devices,
            ttl_seconds=settings.file_cache_ttl_seconds,
            database_timeout_seconds=settings.prov_database_timeout_seconds,
        )
        contacts = ContactRecorder(
            engine, settings.contact_flush_seconds, settings.contact_resolution_seconds
        )
        access_log = open_access_log(settings.access_log, json=settings.log_format == "json")
        self.service = TftpService.from_settings(settings, engine, store, contacts, access_log)
        flusher = asyncio.create_task(access_log.flush_periodically())
        try:
            await store.start()
            await contacts.start()
            await self.service.run()
        except asyncio.CancelledError:
            pass
        finally:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            access_log.close()
            await contacts.stop()
            await store.stop()
            await engine.dispose()
