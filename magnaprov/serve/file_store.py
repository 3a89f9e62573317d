"""Devices and their rendered files for the phone routes and TFTP: look-up, cache, freshness.

Look-ups. A phone names its device by key (`/prov/{key}/...`) or by MAC (shared root, TFTP).
The store loads the device and all its rendered files in one statement (one snapshot; a boot
sequence asks for several files in a row) into a `ServedDevice`, kept in an LRU bounded by total
bytes and by device count and indexed by id, key digest and MAC. Nothing is rendered here.
Look-ups that miss the cache while a read is running (or during the few milliseconds after it)
are read together, in one statement (a boot storm pays one round trip per batch, not per phone).

A miss costs the same whatever its cause. A MAC that names no device is remembered as well as
one that does (same LRU, bounds and time to live), so a scanner cannot tell from the time an
answer takes whether a MAC exists; only look-ups by MAC fill the MAC index, so a device fetched
by key is not thereby cached for its MAC. Announcements name the MACs of devices added or
changed, which evicts what a look-up of that MAC remembered.

Freshness. Whatever changes what a device is served announces the device's id in the
transaction that makes the change (`magnaprov.db.file_changes`):

* in this process, `after_commit` evicts at once; that is all SQLite (one process) needs;
* on PostgreSQL, `pg_notify('magnaprov_files', ids)` in the same transaction, which PostgreSQL
  delivers on commit only, to one LISTEN connection per process, which evicts.

A notification is asynchronous: PostgreSQL hands it to the listening backends at commit and
they send it at once, so another process serves the old bytes for well under a millisecond
after the commit on one host (the writing process, never: it evicts before its commit
returns). Requests trust the cache without a round trip of their own: a barrier per request
(a `SELECT 1` on the LISTEN connection that began after the request arrived) would close that
window, but it doubled the CPU of a fetch and added a round trip to its latency, for phones
that fetch seconds after a change anyway. The LISTEN connection is pinged every
`LISTENER_KEEPALIVE_SECONDS`, so one that died silently is noticed within that time; while it
is down the cache is not trusted (every request reads the database) and on reconnection it is
cleared, since notifications may have been missed. A load that raced with an eviction is
answered but not cached (an epoch counter). `ttl_seconds` is a last resort for changes nobody
announced (an SQLite file changed by another program).

Database down. A request whose load fails or times out is answered from the cache if it holds
the device, even unverified, and `StoreUnavailable` otherwise (the routes answer 503). After a
failure the database is left alone for a moment, so phones are not all held for the timeout.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from enum import Enum
from functools import lru_cache
from typing import Any, Final, Literal

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Executable, Row, any_, bindparam, select
from sqlalchemy.dialects import postgresql as postgresql_types
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from magnaprov.db import (
    GLOBAL_PREFERENCES_ID,
    UNSCOPED,
    Device,
    GlobalPreferences,
    RenderedFile,
    UpdateProtocol,
    create_session_factory,
)
from magnaprov.db.device import device_secret_identity, rendered_file_identity
from magnaprov.db.file_changes import subscribe
from magnaprov.serve.change_listener import ChangeListener
from magnaprov.templating import FileFormat, expand_pattern, find_equipment
from magnaprov.tenancy import SecretBox, SecretDecryptionError, hash_token, mac_based_status

__all__ = [
    "DigestCredentials",
    "FileStore",
    "ServedDevice",
    "ServedFile",
    "StoreStats",
    "StoreUnavailable",
]

log = logging.getLogger("magnaprov.file_store")

DATABASE_PAUSE_SECONDS = 1.0
LISTENER_KEEPALIVE_SECONDS = 1.0
_DATABASE_ERRORS = (
    SQLAlchemyError,
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)
MAX_BATCH = 256  # look-ups read in one statement, at most
CONCURRENT_READS = 1
BATCH_WINDOW_SECONDS = 0.005
_ENTRY_OVERHEAD = 600  # bytes per device and per file beyond their contents, roughly
Index = Literal["id", "key", "mac"]


@dataclass(slots=True)
class _Batch:
    """Look-ups by one index read together; `result` maps each value found to its device."""

    index: Index
    result: asyncio.Future[tuple[dict[Any, ServedDevice | None], bool]]
    values: set[Any] = field(default_factory=set)
    taken: bool = False  # a reader is reading it: it collects no more values


class StoreUnavailable(Exception):
    """The database cannot be reached and the cache does not hold the device."""


@dataclass(frozen=True, slots=True)
class ServedFile:
    """One rendered file, ready for HTTP: its response headers are built once, when loaded."""

    name: str
    content: bytes
    etag: str
    rendered_at: datetime
    last_modified: str
    content_type: str
    validators: tuple[tuple[bytes, bytes], ...]  # the headers of a 304
    headers: tuple[tuple[bytes, bytes], ...]  # the headers of a 200

    @classmethod
    def of(
        cls, name: str, content: bytes, etag: str, rendered_at: datetime, content_type: str
    ) -> ServedFile:
        """The file with its headers."""
        last_modified = format_datetime(rendered_at, usegmt=True)
        validators = (
            (b"etag", etag.encode("ascii")),
            (b"last-modified", last_modified.encode("ascii")),
            (b"cache-control", b"private, no-cache"),
        )
        headers = (
            (b"content-type", content_type.encode("ascii")),
            (b"content-length", str(len(content)).encode("ascii")),
            *validators,
        )
        return cls(
            name, content, etag, rendered_at, last_modified, content_type, validators, headers
        )


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """The device's own HTTP Digest user name and password."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ServedDevice:
    """What the routes need of a device: how it may be reached, and its files by name key."""

    id: int
    mac: str
    key_hash: str
    manufacturer: str
    protocol: UpdateProtocol
    generation_enabled: bool
    mac_based: bool
    uses_server_default: bool
    digest: DigestCredentials | None
    files: Mapping[str, ServedFile]
    requires_certificate: bool = False  # served over HTTPS to its factory certificate only
    # Name keys its boot path answers over TFTP while MAC-based provisioning is in force.
    tftp_boot_names: frozenset[str] = frozenset()

    @property
    def size(self) -> int:
        """Approximate memory held by this entry."""
        return _ENTRY_OVERHEAD + sum(
            len(file.content) + _ENTRY_OVERHEAD for file in self.files.values()
        )


@dataclass(slots=True)
class StoreStats:
    """Counters for /metrics."""

    hits: int = 0
    loads: int = 0
    reads: int = 0  # statements that loaded devices: fewer than loads when batched
    stale_served: int = 0
    unavailable: int = 0
    invalidated_devices: int = 0
    full_invalidations: int = 0


class _Cached(Enum):
    """A cache entry saying that no device has this MAC."""

    NO_DEVICE = "no device"


_NO_DEVICE: Final = _Cached.NO_DEVICE  # a module global: the hit path compares with it
_EntryKey = int | str  # a device id, or the MAC of an absent entry


class _DeviceCache:
    """LRU of devices by id, bounded in bytes and count, with key-digest and MAC indexes.

    The MAC index holds only what look-ups by MAC asked for: a device, or `NO_DEVICE` when no
    device had that MAC. Both kinds of entry share the LRU, its bounds and its time to live,
    so that whether a MAC exists is not told by how its look-up is answered (a MAC looked up
    again costs one cache hit either way; a device fetched by key is not thereby cached for
    its MAC)."""

    def __init__(self, max_bytes: int, max_devices: int, ttl: float, clock: Callable[[], float]):
        self._max_bytes, self._max_devices, self._ttl = max_bytes, max_devices, ttl
        self._clock = clock
        self._entries: OrderedDict[_EntryKey, tuple[ServedDevice | None, float]] = OrderedDict()
        self._keys: dict[str, int] = {}
        self._macs: dict[str, _EntryKey] = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self, index: Index, value: Any, *, expired_ok: bool = False
    ) -> ServedDevice | _Cached | None:
        """The cached answer (a device or `NO_DEVICE`), or None when nothing is cached."""
        if index == "id":
            entry_key = value
        elif index == "key":
            entry_key = self._keys.get(value)
        else:
            entry_key = self._macs.get(value)
        entry = None if entry_key is None else self._entries.get(entry_key)
        if entry is None:
            return None
        device, loaded = entry
        if not expired_ok and self._clock() - loaded > self._ttl:
            return None
        self._entries.move_to_end(entry_key)
        return _NO_DEVICE if device is None else device

    def put(self, device: ServedDevice, *, by_mac: bool) -> None:
        """Cache a device; `by_mac`: it was looked up by its MAC (and is found so again)."""
        size = device.size
        if size > self._max_bytes or self._max_devices == 0:
            return
        by_mac = by_mac or self._macs.get(device.mac) == device.id
        self.evict(device.id)
        self._entries[device.id] = (device, self._clock())
        self._keys[device.key_hash] = device.id
        if by_mac:
            self.evict_mac(device.mac)
            self._macs[device.mac] = device.id
        self.bytes += size
        self._trim()

    def put_absent(self, mac: str) -> None:
        """Remember that no device has this MAC."""
        if _ENTRY_OVERHEAD > self._max_bytes or self._max_devices == 0:
            return
        self.evict_mac(mac)
        self._entries[mac] = (None, self._clock())
        self._macs[mac] = mac
        self.bytes += _ENTRY_OVERHEAD
        self._trim()

    def evict(self, entry_key: _EntryKey) -> None:
        """Forget a device (by id) or an absent MAC (by the MAC)."""
        entry = self._entries.pop(entry_key, None)
        if entry is None:
            return
        device = entry[0]
        if device is None:
            self.bytes -= _ENTRY_OVERHEAD
            if isinstance(entry_key, str) and self._macs.get(entry_key) == entry_key:
                del self._macs[entry_key]
            return
        self.bytes -= device.size
        if self._keys.get(device.key_hash) == entry_key:
            del self._keys[device.key_hash]
        if self._macs.get(device.mac) == entry_key:
            del self._macs[device.mac]

    def evict_mac(self, mac: str) -> None:
        """Forget what a look-up of this MAC found (a device, or that there was none)."""
        entry_key = self._macs.get(mac)
        if entry_key is not None:
            self.evict(entry_key)

    def clear(self) -> None:
        self._entries.clear()
        self._keys.clear()
        self._macs.clear()
        self.bytes = 0

    def _trim(self) -> None:
        while self.bytes > self._max_bytes or len(self._entries) > self._max_devices:
            self.evict(next(iter(self._entries)))


class FileStore:
    """Devices for the phone routes, cached per process and never stale (module docstring)."""

    def __init__(
        self,
        engine: AsyncEngine,
        secrets: SecretBox,
        *,
        max_bytes: int = 64 * 1024 * 1024,
        max_devices: int = 20_000,
        ttl_seconds: float = 300.0,
        database_timeout_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._sessions = create_session_factory(engine)
        self._secrets = secrets
        self._timeout = database_timeout_seconds
        self._clock = clock
        self._cache = _DeviceCache(max_bytes, max_devices, ttl_seconds, clock)
        # One read at a time, and a short window after each: look-ups arriving meanwhile wait
        # and are read together in the next statement, so batches grow with the rate of new
        # phones; a phone that finds no read running is read at once. Measured on a
        # 10,000-phone storm: 541 statements for 10,000 look-ups (8,600 with no window),
        # and 6,198 files/s instead of about 3,800.
        self._loads = asyncio.Semaphore(CONCURRENT_READS)
        self._allow_mac: bool | None = None
        self._epoch = 0
        self._paused_until = 0.0
        self._postgres = engine.dialect.name == "postgresql"
        self._statements = _device_files_statements(postgresql=self._postgres)
        self._collecting: dict[Index, _Batch] = {}
        # A phone asks for its files again and again: its key's digest is computed once.
        self._key_digests: dict[str, str] = {}
        self._max_key_digests = max(1024, 2 * max_devices)
        self._readers: set[asyncio.Task[None]] = set()
        self._listener: ChangeListener | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.stats = StoreStats()
        subscribe(self._committed)

    @property
    def entries(self) -> int:
        """Entries held in the cache: devices, and MACs found to name none."""
        return len(self._cache)

    @property
    def cached_bytes(self) -> int:
        """Approximate memory the cache holds."""
        return self._cache.bytes

    @property
    def listening(self) -> bool:
        """On PostgreSQL: whether the LISTEN connection is up (else the cache is bypassed)."""
        return self._listener is not None and self._listener.connected

    async def start(self) -> None:
        """Open the LISTEN connection (PostgreSQL); until then the cache is only a fallback."""
        self._loop = asyncio.get_running_loop()
        if self._postgres and self._listener is None:
            url = make_url(self._engine.url).set(drivername="postgresql")
            self._listener = ChangeListener(
                url.render_as_string(hide_password=False),
                on_payload=self._notified,
                on_connected=lambda: self.invalidate(None),
                timeout=self._timeout,
                keepalive_seconds=LISTENER_KEEPALIVE_SECONDS,
            )
            await self._listener.start()

    async def stop(self) -> None:
        """End the batch reads still running and close the LISTEN connection."""
        for reader in list(self._readers):
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None

    async def by_key(self, key: str) -> ServedDevice | None:
        """The device whose URL key this is."""
        digest = self._key_digests.get(key)
        if digest is None:
            if len(self._key_digests) >= self._max_key_digests:
                self._key_digests.clear()  # scanners' random keys must not grow it without end
            digest = self._key_digests[key] = hash_token(key)
        return await self._find("key", digest)

    async def by_mac(self, mac: str) -> ServedDevice | None:
        """The device with this MAC (lower case with colons)."""
        return await self._find("mac", mac)

    async def by_id(self, device_id: int) -> ServedDevice | None:
        """The device with this id."""
        return await self._find("id", device_id)

    async def server_default_holder(self, name_key: str, protocol: UpdateProtocol) -> int | None:
        """The lowest id of a device on the Server default template, with generation on, no
        HTTP Digest and this protocol, that has a file of this name; None if none has."""
        statement = (
            select(RenderedFile.device_id)
            .join(Device, Device.id == RenderedFile.device_id)
            .where(
                RenderedFile.name_key == name_key,
                Device.template_id.is_(None),
                Device.generation_enabled.is_(True),
                Device.digest_password.is_(None),
                Device.update_protocol == protocol,
            )
            .order_by(RenderedFile.device_id)
            .limit(1)
            .execution_options(**UNSCOPED)
        )
        try:
            async with asyncio.timeout(self._timeout), self._sessions() as session:
                return await session.scalar(statement)
        except _DATABASE_ERRORS as error:
            raise StoreUnavailable(str(error)) from error

    def invalidate(self, device_ids: Iterable[int] | None, macs: Iterable[str] = ()) -> None:
        """Forget these devices (None: every device), what look-ups of these MACs found, and
        the cached global preferences."""
        self._epoch += 1
        self._allow_mac = None
        if device_ids is None:
            self._cache.clear()
            self.stats.full_invalidations += 1
            return
        for device_id in device_ids:
            self._cache.evict(device_id)
            self.stats.invalidated_devices += 1
        for mac in macs:
            self._cache.evict_mac(mac)

    # --- look-ups ------------------------------------------------------------------------

    async def _find(self, index: Index, value: Any) -> ServedDevice | None:
        cached = self._cache.get(index, value)
        if cached is not None and self._trusted():
            self.stats.hits += 1
            return None if cached is _NO_DEVICE else cached
        if self._clock() < self._paused_until:
            return self._fallback(index, value)
        epoch = self._epoch
        try:
            found, allow_mac = await self._load(index, value)
        except _DATABASE_ERRORS as error:
            log.warning("device look-up failed, database unreachable: %s", type(error).__name__)
            self._paused_until = self._clock() + DATABASE_PAUSE_SECONDS
            return self._fallback(index, value)
        self.stats.loads += 1
        if epoch == self._epoch:  # nothing was evicted meanwhile: what was read is current
            self._allow_mac = allow_mac
            if isinstance(found, ServedDevice):
                self._cache.put(found, by_mac=index == "mac")
            elif found is _NO_DEVICE and index == "mac":
                self._cache.put_absent(value)
        return found if isinstance(found, ServedDevice) else None

    def _trusted(self) -> bool:
        if not self._postgres:
            return True  # every change is evicted in this process, at commit
        return self._listener is not None and self._listener.connected

    def _fallback(self, index: Index, value: Any) -> ServedDevice | None:
        cached = self._cache.get(index, value, expired_ok=True)
        if cached is None:
            self.stats.unavailable += 1
            raise StoreUnavailable("the database is unreachable and the device is not cached")
        self.stats.stale_served += 1
        return None if cached is _NO_DEVICE else cached

    async def _load(self, index: Index, value: Any) -> tuple[ServedDevice | _Cached | None, bool]:
        """The device; `NO_DEVICE` when no row has this value; None when its row is unusable."""
        # Look-ups that arrive while a read runs (or in the window after it) are read together,
        # in one statement, by the next read. A batch still collecting has read nothing yet, so
        # what it reads is never older than any request it answers.
        batch = self._collecting.get(index)
        if batch is None or len(batch.values) >= MAX_BATCH:
            result = asyncio.get_running_loop().create_future()
            result.add_done_callback(_retrieve)
            batch = self._collecting[index] = _Batch(index, result)
            task = asyncio.create_task(self._read_batch(batch), name="magnaprov-device-batch")
            self._readers.add(task)
            task.add_done_callback(self._readers.discard)
        batch.values.add(value)
        # No timeout of its own: the reader's budget fails the whole batch when it runs out.
        found, allow_mac = await asyncio.shield(batch.result)
        return found.get(value, _NO_DEVICE), allow_mac

    async def _read_batch(self, batch: _Batch) -> None:
        # After its own batch, a reader goes on with the batch that collected meanwhile, on the
        # same connection: a burst of look-ups pays one checkout (and pre-ping), not one each.
        current: _Batch | None = batch
        try:
            async with asyncio.timeout(self._timeout) as budget, self._loads:
                if batch.taken:
                    return  # another reader took it
                self._take(batch)
                async with self._engine.connect() as connection:
                    if self._postgres:
                        connection = await connection.execution_options(
                            isolation_level="AUTOCOMMIT"
                        )
                    while current is not None:
                        current.result.set_result(await self._read(connection, current))
                        # In a storm the next look-ups come within milliseconds: waiting for
                        # them reads them in one statement, on this connection (no checkout and
                        # pre-ping each). A phone that finds no read running never waits.
                        await asyncio.sleep(BATCH_WINDOW_SECONDS)
                        current = self._collecting.get(batch.index)
                        if current is not None:
                            self._take(current)
                        budget.reschedule(asyncio.get_running_loop().time() + self._timeout)
        except asyncio.CancelledError:
            if current is not None and not current.result.done():
                current.result.cancel()
            raise
        except Exception as error:  # each waiter handles it as its own look-up would have
            if current is not None and not current.result.done():
                current.result.set_exception(error)

    def _take(self, batch: _Batch) -> None:
        """Mark the batch as being read; later look-ups start the next one."""
        batch.taken = True
        if self._collecting.get(batch.index) is batch:
            del self._collecting[batch.index]

    async def _read(
        self, connection: AsyncConnection, batch: _Batch
    ) -> tuple[dict[Any, ServedDevice | None], bool]:
        # Core, one statement (one snapshot): one round trip, which matters when scanners make
        # every look-up miss the cache.
        allow_mac = self._allow_mac
        if allow_mac is None:
            allow_mac = bool(await connection.scalar(_ALLOW_MAC))
        statement = self._statements[batch.index]
        rows = (await connection.execute(statement, {"values": list(batch.values)})).all()
        self.stats.reads += 1
        by_value: dict[Any, list[Row[Any]]] = {}
        for row in rows:
            by_value.setdefault(getattr(row, _INDEX_COLUMNS[batch.index]), []).append(row)
        found = {value: self._served(group, allow_mac) for value, group in by_value.items()}
        return found, allow_mac

    def _served(self, rows: Sequence[Row[Any]], allow_mac: bool) -> ServedDevice | None:
        first = rows[0]
        digest = None
        if first.digest_password is not None and first.digest_username:
            identity = device_secret_identity(first.id, "digest_password")
            try:
                password = self._secrets.decrypt(first.digest_password, identity)
            except SecretDecryptionError as error:
                # Never serve without the authentication the device asks for.
                log.error("device %s: digest password unreadable: %s", first.id, error)
                return None
            digest = DigestCredentials(first.digest_username, password)
        equipment = (first.manufacturer, first.model, first.firmware)
        return ServedDevice(
            id=first.id,
            mac=first.mac,
            key_hash=first.key_hash,
            manufacturer=first.manufacturer,
            protocol=first.update_protocol,
            generation_enabled=first.generation_enabled,
            mac_based=mac_based_status(first, allow_mac).in_force,
            uses_server_default=first.template_id is None,
            digest=digest,
            requires_certificate=first.require_client_certificate,
            tftp_boot_names=_tftp_boot_names(*equipment, first.mac),
            files={
                row.name_key: ServedFile.of(
                    row.name,
                    content,
                    row.etag,
                    row.rendered_at,
                    _content_type(*equipment, row.name),
                )
                for row in rows
                if row.name_key is not None
                and (content := self._file_content(first.id, row)) is not None
            },
        )

    def _file_content(self, device_id: int, row: Row[Any]) -> bytes | None:
        # Stored encrypted; decrypted here, once per cache fill, never per request.
        try:
            content: bytes = self._secrets.open(
                row.content, rendered_file_identity(device_id, row.name_key)
            )
        except SecretDecryptionError as error:
            log.error("device %s: file %r unreadable: %s", device_id, row.name, error)
            return None
        return content

    # --- invalidation ----------------------------------------------------------------------

    def _notified(self, payload: str) -> None:
        ids: list[int] | None = []
        macs: list[str] = []
        for token in payload.split(","):
            if _ANNOUNCED_MAC.fullmatch(token):
                macs.append(token)
            elif ids is not None and token.isdigit():
                ids.append(int(token))
            else:
                ids = None  # EVERYTHING, or what this version cannot read
        self.invalidate(ids, macs)

    def _committed(self, device_ids: set[int] | None, macs: set[str]) -> None:
        """A transaction of this process committed changes (called from any thread)."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or loop is running:
            self._evict_committed(device_ids, macs)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._evict_committed, device_ids, macs)

    def _evict_committed(self, device_ids: set[int] | None, macs: set[str]) -> None:
        if not self._postgres:
            self.invalidate(device_ids, macs)
            return
        # The notification counts these; evicting now only spares this process the wait.
        self._epoch += 1
        self._allow_mac = None
        if device_ids is None:
            self._cache.clear()
            return
        for device_id in device_ids:
            self._cache.evict(device_id)
        for mac in macs:
            self._cache.evict_mac(mac)


XML_TYPE = "application/xml"
TEXT_TYPE = "text/plain; charset=utf-8"


_ALLOW_MAC = select(GlobalPreferences.allow_mac_provisioning).where(
    GlobalPreferences.id == GLOBAL_PREFERENCES_ID
)
_DEVICE_FILES = select(
    Device.id,
    Device.mac,
    Device.key_hash,
    Device.update_protocol,
    Device.generation_enabled,
    Device.use_mac_provisioning,
    Device.template_id,
    Device.manufacturer,
    Device.model,
    Device.firmware,
    Device.digest_username,
    Device.digest_password,
    Device.require_client_certificate,
    RenderedFile.name,
    RenderedFile.name_key,
    RenderedFile.content,
    RenderedFile.etag,
    RenderedFile.rendered_at,
).outerjoin(RenderedFile, RenderedFile.device_id == Device.id)


_MAC_DIGITS = re.compile(r"[0-9A-Fa-f]{12}")
_ANNOUNCED_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}", re.ASCII)
_INDEX_COLUMNS: dict[Index, str] = {"id": "id", "key": "key_hash", "mac": "mac"}


def _device_files_statements(*, postgresql: bool) -> dict[Index, Executable]:
    """Built once, for a list of values bound as one parameter: an array on PostgreSQL (one
    prepared statement whatever the batch size), an expanding IN elsewhere."""
    statements: dict[Index, Executable] = {}
    for index, name in _INDEX_COLUMNS.items():
        column = getattr(Device, name)
        if postgresql:
            values = bindparam("values", type_=postgresql_types.ARRAY(column.type))
            statements[index] = _DEVICE_FILES.where(column == any_(values))
        else:
            statements[index] = _DEVICE_FILES.where(column.in_(bindparam("values", expanding=True)))
    return statements


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # marks it retrieved even when every waiter gave up


def _content_type(manufacturer: str, model: str, firmware: str, name: str) -> str:
    # Names differ only by the MAC from phone to phone: matching the catalog's patterns is
    # done once per model and name shape, not once per file of every phone of a boot storm.
    return _content_type_of_shape(manufacturer, model, firmware, _MAC_DIGITS.sub("0" * 12, name))


def _tftp_boot_names(manufacturer: str, model: str, firmware: str, mac: str) -> frozenset[str]:
    patterns = _tftp_boot_patterns(manufacturer, model, firmware)
    return frozenset(expand_pattern(pattern, mac).casefold() for pattern in patterns)


@lru_cache(maxsize=1024)
def _tftp_boot_patterns(manufacturer: str, model: str, firmware: str) -> frozenset[str]:
    equipment = find_equipment(manufacturer, model, firmware)
    return frozenset() if equipment is None else equipment.firmware.boot.answered_names("TFTP")


@lru_cache(maxsize=4096)
def _content_type_of_shape(manufacturer: str, model: str, firmware: str, name: str) -> str:
    equipment = find_equipment(manufacturer, model, firmware)
    spec = None
    if equipment is not None:
        found = equipment.firmware.match_file_name(name)
        spec = None if found is None else equipment.firmware.file(found.pattern)
    if spec is None:
        return XML_TYPE if name.lower().endswith(".xml") else TEXT_TYPE
    return XML_TYPE if spec.format is FileFormat.XML else TEXT_TYPE
