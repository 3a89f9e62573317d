"""Read-only TFTP server on asyncio: RFC 1350 reads with the RFC 2347/2348/2349 options.

Cisco 79xx phones provision over TFTP only, so they need the same files the HTTP routes serve;
the server asks a ``lookup`` callback for the bytes and never touches the file system.

Why our own code rather than a library: of the PyPI candidates, ``tftpy`` is synchronous and
threaded, ``aiotftp`` is not published, and ``py3tftp`` (the one asyncio server, last released in
2021 and described by its author as a toy project in maintenance mode) serves a directory,
accepts uploads, is untyped, and has no client filtering or transfer cap. Wrapping it would have
meant replacing most of its protocol classes, so this module is a small lock-step implementation.

Choices the RFCs leave open:

* Clients outside ``allowed_networks`` get no answer at all. An ERROR would tell a scanner that
  a TFTP server lives here, and answering spoofed sources would make us a reflector.
* When ``max_transfers`` are running, new requests are dropped, not refused: after a power cut
  thousands of phones ask at once, and a phone whose request goes unanswered simply repeats it a
  few seconds later, whereas an ERROR makes it give up on that file.
* netascii is converted as RFC 764 says (LF to CR LF, bare CR to CR NUL), because a netascii
  client undoes exactly that conversion, and would mis-decode raw bytes. ``tsize`` is not
  answered for netascii, since the file's size is not the number of bytes such a client keeps.
* A client's ``timeout`` option is honoured only up to ``max_client_timeout``, so one request
  cannot hold a transfer slot for 255 seconds per retry.
* Only a timeout causes a retransmission; duplicate ACKs are ignored (no sorcerer's apprentice).

Limit: transfer sockets bind to the listening address. On a host with several addresses, listen
on the one the phones are given; with 0.0.0.0 the kernel picks the reply's source address.
"""

import asyncio
import ipaddress
import logging
import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

__all__ = ["Lookup", "Network", "TftpServer", "clean_filename"]

Lookup = Callable[[str, tuple[str, int]], Awaitable[bytes | None]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_log = logging.getLogger("magnaprov.tftp")

_DEFAULT_BLKSIZE = 512
_MIN_BLKSIZE, _MAX_BLKSIZE = 8, 65464  # RFC 2348
_MAX_TIMEOUT_OPTION = 255  # RFC 2349
# A client that floods its own transfer socket only loses its own surplus packets.
_CHANNEL_QUEUE_DEPTH = 16


class _Op(IntEnum):
    RRQ = 1
    WRQ = 2
    DATA = 3
    ACK = 4
    ERROR = 5
    OACK = 6


class _Code(IntEnum):
    NOT_DEFINED = 0
    FILE_NOT_FOUND = 1
    ACCESS_VIOLATION = 2
    ILLEGAL_OPERATION = 4
    UNKNOWN_TID = 5


def _error_packet(code: _Code, message: str) -> bytes:
    return struct.pack("!HH", _Op.ERROR, code) + message.encode("ascii") + b"\0"


def _data_packet(block: int, chunk: bytes) -> bytes:
    # RFC 1350 leaves wrap-around open; clients (curl, tftp-hpa) expect 65535 to roll over to 0.
    return struct.pack("!HH", _Op.DATA, block & 0xFFFF) + chunk


def _oack_packet(options: dict[str, int]) -> bytes:
    body = b"".join(f"{name}\0{value}\0".encode("ascii") for name, value in options.items())
    return struct.pack("!H", _Op.OACK) + body


def _to_netascii(payload: bytes) -> bytes:
    # CR first, so the CRs added for LF are not escaped again.
    return payload.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n")


def clean_filename(raw: bytes, max_length: int = 255) -> str | None:
    """The name to look up for a requested file name, or None when it must be refused.

    Leading slashes go (phones ask for ``/SEP<MAC>.cnf.xml`` and ``SEP<MAC>.cnf.xml`` alike);
    ``..`` components, control characters, non-UTF-8 and names over ``max_length`` are refused.
    """
    if len(raw) > max_length:
        return None
    try:
        name = raw.decode("utf-8").lstrip("/")
    except UnicodeDecodeError:
        return None
    if not name or any(ord(char) < 0x20 or ord(char) == 0x7F for char in name):
        return None
    # Backslash too: the lookup may one day map names onto a Windows-style path.
    if ".." in name.replace("\\", "/").split("/"):
        return None
    return name


class _Refused(Exception):
    def __init__(self, code: _Code, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class _ReadRequest:
    filename: str
    netascii: bool
    options: dict[str, str]


def _parse_read_request(data: bytes, max_filename_length: int) -> _ReadRequest:
    if not data.endswith(b"\0"):
        raise _Refused(_Code.ILLEGAL_OPERATION, "malformed request")
    fields = data[2:-1].split(b"\0")
    if len(fields) < 2:
        raise _Refused(_Code.ILLEGAL_OPERATION, "malformed request")
    filename = clean_filename(fields[0], max_filename_length)
    if filename is None:
        raise _Refused(_Code.ACCESS_VIOLATION, "invalid file name")
    mode = fields[1].decode("ascii", "replace").lower()
    if mode not in ("octet", "netascii"):
        raise _Refused(_Code.ILLEGAL_OPERATION, "only octet and netascii modes")
    return _ReadRequest(filename, mode == "netascii", _option_pairs(fields[2:]))


def _option_pairs(fields: list[bytes]) -> dict[str, str]:
    # Names are case-insensitive (RFC 2347); the first of a repeated option wins.
    options: dict[str, str] = {}
    for name, value in zip(fields[::2], fields[1::2], strict=False):
        key = name.decode("ascii", "replace").lower()
        options.setdefault(key, value.decode("ascii", "replace"))
    return options


def _int_option(options: dict[str, str], name: str) -> int | None:
    value = options.get(name, "")
    # Bounded length: int() refuses very long digit strings, and no valid value is that long.
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 10 else None


def _negotiate(request: _ReadRequest, size: int, max_client_timeout: int) -> dict[str, int]:
    """The options to acknowledge; anything unknown or out of range is left out, i.e. ignored."""
    accepted: dict[str, int] = {}
    blksize = _int_option(request.options, "blksize")
    if blksize is not None and blksize >= _MIN_BLKSIZE:
        accepted["blksize"] = min(blksize, _MAX_BLKSIZE)  # RFC 2348 lets the server go lower
    timeout = _int_option(request.options, "timeout")
    if timeout is not None and 1 <= timeout <= min(max_client_timeout, _MAX_TIMEOUT_OPTION):
        accepted["timeout"] = timeout
    if "tsize" in request.options and not request.netascii:
        accepted["tsize"] = size
    return accepted


class _GaveUp(Exception):
    """The client stopped answering within the retries."""


class _ClientAborted(Exception):
    """The client sent an ERROR packet."""


class _Channel(asyncio.DatagramProtocol):
    """One transfer's own UDP socket (its TID), locked to the client's address and port."""

    def __init__(self, client: tuple[str, int]) -> None:
        self.client = client
        self.packets: asyncio.Queue[bytes] = asyncio.Queue(_CHANNEL_QUEUE_DEPTH)
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.DatagramTransport) -> None:  # type: ignore[override]
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if tuple(addr[:2]) != self.client:
            # RFC 1350: a packet from a foreign TID gets an ERROR and leaves the transfer alone.
            # The ERROR is no bigger than the packet, so this cannot amplify a spoofed flood.
            self.send(_error_packet(_Code.UNKNOWN_TID, "unknown transfer ID"), addr)
            return
        if not self.packets.full():
            self.packets.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (e.g. the client's port closed) are handled as silence: retries end it.
        return

    def send(self, packet: bytes, addr: tuple[Any, ...] | None = None) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(packet, addr or self.client)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _Transfer:
    """Lock-step sending of one file: each block is resent only when its ACK does not come."""

    def __init__(self, channel: _Channel, blksize: int, timeout: float, retries: int) -> None:
        self.channel, self.blksize = channel, blksize
        self.timeout, self.retries = timeout, retries
        self.acknowledged = 0

    async def run(self, payload: bytes, oack: bytes | None) -> None:
        if oack is not None:
            await self._exchange(oack, 0)
        # One block past the end when the size is a multiple of blksize: the empty final DATA.
        for index, start in enumerate(range(0, len(payload) + 1, self.blksize), start=1):
            chunk = payload[start : start + self.blksize]
            await self._exchange(_data_packet(index, chunk), index & 0xFFFF)
            self.acknowledged += len(chunk)

    async def _exchange(self, packet: bytes, block: int) -> None:
        for _attempt in range(self.retries + 1):
            self.channel.send(packet)
            if await self._acked(block):
                return
        raise _GaveUp

    async def _acked(self, block: int) -> bool:
        try:
            async with asyncio.timeout(self.timeout):
                while not _is_ack(await self.channel.packets.get(), block):
                    pass
        except TimeoutError:
            return False
        return True


def _is_ack(packet: bytes, block: int) -> bool:
    """Whether ``packet`` acknowledges ``block``; raises _ClientAborted for an ERROR packet."""
    if len(packet) < 4:
        return False
    opcode, number = struct.unpack_from("!HH", packet)
    if opcode == _Op.ERROR:
        raise _ClientAborted
    # Anything else, including a duplicate ACK of the previous block, is ignored.
    return bool(opcode == _Op.ACK and number == block)


async def _run(transfer: _Transfer, payload: bytes, options: dict[str, int]) -> str:
    try:
        await transfer.run(payload, _oack_packet(options) if options else None)
    except _GaveUp:
        return "timeout"
    except _ClientAborted:
        return "aborted by client"
    except asyncio.CancelledError:
        # Only stop() cancels; tell the client instead of leaving it to time out.
        transfer.channel.send(_error_packet(_Code.NOT_DEFINED, "server shutting down"))
        raise
    return "ok"


@dataclass
class _Outcome:
    """What the one log line per request says; never the file's contents."""

    filename: str
    client: tuple[str, int]
    status: str = "error"
    sent: int = 0
    blksize: int = 0
    started: float = field(default_factory=time.monotonic)

    def log(self) -> None:
        fields = {
            "filename": self.filename,
            "client": _format_client(self.client),
            "bytes": self.sent,
            "status": self.status,
            "blksize": self.blksize,
            "seconds": round(time.monotonic() - self.started, 3),
        }
        _log.info(
            "tftp transfer filename=%r client=%s bytes=%d status=%r blksize=%d seconds=%.3f",
            *fields.values(),
            extra={"tftp": fields},
        )


def _requested_name(data: bytes) -> str:
    # Only for the log line of a refused request; truncated so it cannot bloat the log.
    return data[2:].split(b"\0", 1)[0][:80].decode("utf-8", "replace")


def _format_client(client: tuple[str, int]) -> str:
    host, port = client
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _client_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(host.split("%", 1)[0])
    # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; match them as IPv4.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class _Listener(asyncio.DatagramProtocol):
    def __init__(self, on_request: Callable[[bytes, tuple[str, int]], None]) -> None:
        self.on_request = on_request

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.on_request(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        return  # ICMP errors for earlier replies; nothing to do on the listening socket.


class TftpServer:
    """A read-only TFTP server answering from ``lookup``; see the module docstring."""

    def __init__(
        self,
        lookup: Lookup,
        host: str = "0.0.0.0",  # noqa: S104 - phones reach this on whatever interface they can
        port: int = 69,
        *,
        allowed_networks: Sequence[Network],
        timeout: float = 2.0,
        retries: int = 5,
        max_transfers: int = 64,
        max_filename_length: int = 255,
        max_client_timeout: int = 10,
    ) -> None:
        self._lookup, self._host, self._port = lookup, host, port
        self._networks = tuple(allowed_networks)
        self._timeout, self._retries = timeout, retries
        self._max_transfers = max_transfers
        self._max_filename_length = max_filename_length
        self._max_client_timeout = max_client_timeout
        self._listener: asyncio.DatagramTransport | None = None
        self._transfers: dict[tuple[str, int], asyncio.Task[None]] = {}
        self._was_full = False
        self._bound_host = host

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) actually bound, so a caller may ask for port 0."""
        if self._listener is None:
            raise RuntimeError("TFTP server is not started")
        host, port = self._listener.get_extra_info("sockname")[:2]
        return str(host), int(port)

    @property
    def active_transfers(self) -> int:
        """Requests being looked up or sent right now."""
        return len(self._transfers)

    async def start(self) -> None:
        if self._listener is not None:
            raise RuntimeError("TFTP server is already started")
        loop = asyncio.get_running_loop()
        self._listener, _ = await loop.create_datagram_endpoint(
            lambda: _Listener(self._on_request), local_addr=(self._host, self._port)
        )
        # Transfer sockets bind to the address actually bound, not to a name that may resolve
        # to another address family.
        self._bound_host = self.address[0]

    async def stop(self) -> None:
        """Stop listening, cancel running transfers (their clients get an ERROR) and wait."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        tasks = list(self._transfers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _on_request(self, data: bytes, client: tuple[str, int]) -> None:
        if not self._allowed(client[0]) or len(data) < 2 or client in self._transfers:
            # A repeated RRQ from a client already served is answered by our retransmissions.
            return
        opcode = int.from_bytes(data[:2], "big")
        if opcode == _Op.RRQ:
            self._accept_read(data, client)
        elif opcode == _Op.WRQ:
            refusal = _Refused(_Code.ACCESS_VIOLATION, "read-only server")
            self._refuse(client, _requested_name(data), refusal)
        elif opcode not in set(_Op):
            self._refuse(client, "", _Refused(_Code.ILLEGAL_OPERATION, "unknown opcode"))
        # DATA, ACK, ERROR and OACK sent to port 69 are strays; answering them could start an
        # endless exchange with another server, so they get nothing.

    def _allowed(self, host: str) -> bool:
        try:
            address = _client_ip(host)
        except ValueError:
            return False
        allowed = any(net.version == address.version and address in net for net in self._networks)
        if not allowed:
            _log.debug("tftp request dropped client=%s (not in allowed networks)", host)
        return allowed

    def _accept_read(self, data: bytes, client: tuple[str, int]) -> None:
        try:
            request = _parse_read_request(data, self._max_filename_length)
        except _Refused as refusal:
            self._refuse(client, _requested_name(data), refusal)
            return
        if len(self._transfers) >= self._max_transfers:
            self._note_full(client)
            return
        self._was_full = False
        task = asyncio.create_task(self._serve(request, client), name=f"tftp {client}")
        self._transfers[client] = task

    def _note_full(self, client: tuple[str, int]) -> None:
        # Warn once per busy spell; a boot storm would otherwise flood the log.
        level = logging.DEBUG if self._was_full else logging.WARNING
        _log.log(
            level, "tftp request dropped client=%s (transfer cap reached)", _format_client(client)
        )
        self._was_full = True

    def _refuse(self, client: tuple[str, int], name: str, refusal: _Refused) -> None:
        self._send_error(client, refusal.code, refusal.message)
        _Outcome(name, client, status=f"refused: {refusal.message}").log()

    def _send_error(self, client: tuple[str, int], code: _Code, message: str) -> None:
        # Answers before a transfer exists come from port 69, as no TID has been chosen yet.
        if self._listener is not None:
            self._listener.sendto(_error_packet(code, message), client)

    async def _serve(self, request: _ReadRequest, client: tuple[str, int]) -> None:
        outcome = _Outcome(request.filename, client)
        try:
            await self._answer(request, client, outcome)
        except asyncio.CancelledError:
            outcome.status = "cancelled"
            raise
        except Exception:
            _log.exception("tftp transfer failed filename=%r", request.filename)
            self._send_error(client, _Code.NOT_DEFINED, "internal error")
        finally:
            del self._transfers[client]
            outcome.log()

    async def _answer(
        self, request: _ReadRequest, client: tuple[str, int], outcome: _Outcome
    ) -> None:
        payload = await self._lookup(request.filename, client)
        if payload is None:
            self._send_error(client, _Code.FILE_NOT_FOUND, "file not found")
            outcome.status = "not found"
            return
        if request.netascii:
            payload = _to_netascii(payload)
        options = _negotiate(request, len(payload), self._max_client_timeout)
        outcome.blksize = options.get("blksize", _DEFAULT_BLKSIZE)
        channel = await self._open_channel(client)
        transfer = _Transfer(
            channel, outcome.blksize, options.get("timeout", self._timeout), self._retries
        )
        try:
            outcome.status = await _run(transfer, payload, options)
        finally:
            outcome.sent = transfer.acknowledged
            channel.close()

    async def _open_channel(self, client: tuple[str, int]) -> _Channel:
        loop = asyncio.get_running_loop()
        # Same address as the listener, port 0: the kernel picks the ephemeral TID.
        _, channel = await loop.create_datagram_endpoint(
            lambda: _Channel(client), local_addr=(self._bound_host, 0)
        )
        return channel
