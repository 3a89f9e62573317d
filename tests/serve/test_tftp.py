"""The TFTP server, driven by curl's tftp:// client and, where packet timing matters, raw UDP."""

import asyncio
import ipaddress
import logging
import shutil
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magnaprov.serve.tftp import TftpServer, clean_filename

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]
RRQ, WRQ, DATA, ACK, ERROR, OACK = range(1, 7)

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl (apt: curl)")


@dataclass
class FileStore:
    """The lookup callback: a dict of files, recording what was asked."""

    files: dict[str, bytes] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    slow_lookup_entered: asyncio.Event = field(default_factory=asyncio.Event)

    async def lookup(self, filename: str, client: tuple[str, int]) -> bytes | None:
        self.calls.append(filename)
        if filename == "slow.cnf":  # lets a test hold a transfer inside the lookup
            self.slow_lookup_entered.set()
            await self.gate.wait()
        if filename == "broken.cnf":
            raise RuntimeError("database down")
        return self.files.get(filename)


def pattern(size: int) -> bytes:
    return bytes(index % 251 for index in range(size))


@pytest.fixture
def store() -> FileStore:
    return FileStore(
        {
            "SEP001122AABBCC.cnf.xml": b"<device><loadInformation/></device>\n",
            "two-blocks.bin": pattern(1024),
            "five-k.bin": pattern(5000),
            "lines.txt": b"a\nb\r\nc\rd",
        }
    )


@pytest.fixture
async def server(store: FileStore) -> AsyncIterator[TftpServer]:
    tftp = TftpServer(
        store.lookup, "127.0.0.1", 0, allowed_networks=LOOPBACK, timeout=0.2, retries=2
    )
    await tftp.start()
    yield tftp
    await tftp.stop()


class TransferLog:
    """The structured fields of the one line the server logs per request."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO, logger="magnaprov.tftp")
        self._caplog = caplog

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [record.tftp for record in self._caplog.records if hasattr(record, "tftp")]

    @property
    def last(self) -> dict[str, Any]:
        return self.lines[-1]


@pytest.fixture
def transfer_log(caplog: pytest.LogCaptureFixture) -> TransferLog:
    return TransferLog(caplog)


@dataclass
class CurlRun:
    returncode: int
    body: bytes
    stderr: str


async def curl(server: TftpServer, path: str, *args: str, max_time: float = 10) -> CurlRun:
    host, port = server.address
    process = await asyncio.create_subprocess_exec(
        "curl",
        "-sS",
        "-v",
        "--max-time",
        str(max_time),
        *args,
        f"tftp://{host}:{port}/{path}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    body, stderr = await process.communicate()
    assert process.returncode is not None
    return CurlRun(process.returncode, body, stderr.decode(errors="replace"))


@dataclass(frozen=True)
class Packet:
    data: bytes
    sender: tuple[str, int]

    @property
    def opcode(self) -> int:
        return int.from_bytes(self.data[:2], "big")

    @property
    def number(self) -> int:
        """The block number of DATA and ACK, the error code of ERROR."""
        return int.from_bytes(self.data[2:4], "big")

    @property
    def head(self) -> tuple[int, int]:
        return self.opcode, self.number

    @property
    def payload(self) -> bytes:
        return self.data[4:]

    def options(self) -> dict[str, str]:
        """The name/value pairs of an OACK."""
        parts = self.data[2:].rstrip(b"\0").split(b"\0")
        return {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts), 2)}


class RawClient(asyncio.DatagramProtocol):
    """A bare UDP socket, for tests that must drop, repeat or withhold packets."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.DatagramTransport) -> None:  # type: ignore[override]
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.inbox.put_nowait((data, (addr[0], addr[1])))

    def send(self, packet: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(packet, addr)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    async def receive(self, within: float = 2.0) -> "Packet":
        async with asyncio.timeout(within):
            data, sender = await self.inbox.get()
        return Packet(data, sender)

    async def hears_nothing(self, seconds: float) -> bool:
        try:
            await self.receive(within=seconds)
        except TimeoutError:
            return True
        return False


@pytest.fixture
async def raw() -> AsyncIterator[RawClient]:
    async for client in _raw_clients():
        yield client


async def _raw_clients() -> AsyncIterator[RawClient]:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_datagram_endpoint(RawClient, local_addr=("127.0.0.1", 0))
    yield client
    assert client.transport is not None
    client.transport.close()


@pytest.fixture
async def other_raw() -> AsyncIterator[RawClient]:
    async for client in _raw_clients():
        yield client


def rrq(filename: str, mode: str = "octet", **options: object) -> bytes:
    fields = [filename, mode, *(f"{k}\0{v}" for k, v in options.items())]
    return struct.pack("!H", RRQ) + "".join(f"{f}\0" for f in fields).encode()


def ack(block: int) -> bytes:
    return struct.pack("!HH", ACK, block)


async def wait_until_idle(server: TftpServer, seconds: float = 3.0) -> None:
    async with asyncio.timeout(seconds):
        # The server offers no "idle" event; its public count is what the test is about.
        while server.active_transfers:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


# --- with a real client (curl) ---------------------------------------------------------------


@needs_curl
async def test_a_small_cisco_config_is_served_byte_for_byte(
    server: TftpServer, store: FileStore, transfer_log: TransferLog
) -> None:
    run = await curl(server, "SEP001122AABBCC.cnf.xml")

    assert run.returncode == 0, run.stderr
    assert run.body == store.files["SEP001122AABBCC.cnf.xml"]
    assert transfer_log.last["status"] == "ok"
    assert transfer_log.last["bytes"] == len(run.body)


@needs_curl
async def test_a_file_of_exactly_two_blocks_ends_with_an_empty_data_packet(
    server: TftpServer, store: FileStore
) -> None:
    # Without options curl uses 512-byte blocks and waits for a short block to finish.
    run = await curl(server, "two-blocks.bin", "--tftp-no-options", max_time=3)

    assert run.returncode == 0, run.stderr
    assert run.body == store.files["two-blocks.bin"]


@needs_curl
async def test_block_numbers_wrap_past_65535_with_an_eight_byte_block_size(
    server: TftpServer, store: FileStore, transfer_log: TransferLog
) -> None:
    store.files["huge.bin"] = pattern(65536 * 8 + 100)  # 65549 blocks

    run = await curl(server, "huge.bin", "--tftp-blksize", "8", max_time=15)

    assert run.returncode == 0, run.stderr
    assert run.body == store.files["huge.bin"]
    assert transfer_log.last["blksize"] == 8


@needs_curl
async def test_a_requested_block_size_is_acknowledged_in_an_oack(
    server: TftpServer, store: FileStore, transfer_log: TransferLog
) -> None:
    run = await curl(server, "five-k.bin", "--tftp-blksize", "1428")

    assert run.returncode == 0, run.stderr
    assert "got option=(blksize) value=(1428)" in run.stderr
    assert run.body == store.files["five-k.bin"]
    assert transfer_log.last["blksize"] == 1428


@needs_curl
async def test_tsize_is_answered_with_the_file_size(server: TftpServer) -> None:
    run = await curl(server, "five-k.bin")

    assert run.returncode == 0, run.stderr
    assert "got option=(tsize) value=(5000)" in run.stderr


@needs_curl
async def test_netascii_turns_newlines_into_crlf_and_bare_cr_into_cr_nul(
    server: TftpServer,
) -> None:
    # curl keeps the netascii bytes as they came over the wire.
    run = await curl(server, "lines.txt;mode=netascii")

    assert run.returncode == 0, run.stderr
    assert run.body == b"a\r\nb\r\0\r\nc\r\0d"
    assert "option=(tsize)" not in run.stderr


@needs_curl
async def test_a_missing_file_is_answered_with_file_not_found(
    server: TftpServer, transfer_log: TransferLog
) -> None:
    run = await curl(server, "SEP000000000000.cnf.xml", max_time=3)

    assert run.returncode == 68  # CURLE_TFTP_NOTFOUND: the server sent error code 1
    assert transfer_log.last["status"] == "not found"


@needs_curl
async def test_a_write_request_is_refused_as_an_access_violation(
    server: TftpServer, store: FileStore, tmp_path: Path
) -> None:
    upload = tmp_path / "phone.log"
    upload.write_bytes(b"log line\n")

    run = await curl(server, "phone.log", "--upload-file", str(upload), max_time=3)

    assert run.returncode == 69  # CURLE_TFTP_PERM: the server sent error code 2
    assert store.calls == []


@needs_curl
async def test_a_dot_dot_component_is_refused_without_a_lookup(
    server: TftpServer, store: FileStore
) -> None:
    run = await curl(server, "../etc/passwd", "--path-as-is", max_time=3)

    assert run.returncode == 69
    assert store.calls == []


@needs_curl
async def test_a_client_outside_the_allowed_networks_gets_no_answer(
    store: FileStore, transfer_log: TransferLog
) -> None:
    elsewhere = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]
    tftp = TftpServer(store.lookup, "127.0.0.1", 0, allowed_networks=elsewhere)
    await tftp.start()
    try:
        run = await curl(tftp, "SEP001122AABBCC.cnf.xml", max_time=1)
    finally:
        await tftp.stop()

    assert run.returncode == 28  # curl's own timeout: nothing came back
    assert run.body == b""
    assert store.calls == []
    assert transfer_log.lines == []


@needs_curl
async def test_twenty_parallel_transfers_all_complete(
    server: TftpServer, store: FileStore, transfer_log: TransferLog
) -> None:
    for index in range(20):
        store.files[f"f{index}.bin"] = pattern(3000 + index)

    runs = await asyncio.gather(*(curl(server, f"f{index}.bin") for index in range(20)))

    assert [run.returncode for run in runs] == [0] * 20
    assert [run.body for run in runs] == [store.files[f"f{index}.bin"] for index in range(20)]
    assert sorted(line["status"] for line in transfer_log.lines) == ["ok"] * 20
    assert server.active_transfers == 0


# --- with a raw UDP client, where the test must control the packets -----------------------------


async def test_a_lost_data_packet_is_resent_and_a_silent_client_is_given_up_on(
    server: TftpServer, raw: RawClient, transfer_log: TransferLog
) -> None:
    raw.send(rrq("two-blocks.bin"), server.address)
    first = await raw.receive()
    again = await raw.receive()  # not acknowledged, so the server must send it again
    raw.send(ack(1), first.sender)
    second = await raw.receive()
    resent = [await raw.receive(), await raw.receive()]  # retries=2, then nothing
    quiet = await raw.hears_nothing(0.5)
    await wait_until_idle(server)

    assert first.head == again.head == (DATA, 1)
    assert again.data == first.data
    assert again.sender == first.sender
    assert second.head == (DATA, 2)
    assert [packet.head for packet in resent] == [(DATA, 2), (DATA, 2)]
    assert quiet
    assert transfer_log.last | {"seconds": 0} == {
        "filename": "two-blocks.bin",
        "client": f"127.0.0.1:{raw.port}",
        "bytes": 512,
        "status": "timeout",
        "blksize": 512,
        "seconds": 0,
    }


async def test_duplicate_acks_do_not_make_the_server_send_twice(
    server: TftpServer, raw: RawClient, transfer_log: TransferLog
) -> None:
    # timeout=3 via the option, so any repeat within the window below is not a retransmission.
    raw.send(rrq("two-blocks.bin", timeout=3), server.address)
    tid = (await raw.receive()).sender  # the OACK
    raw.send(ack(0), tid)
    await raw.receive()  # DATA 1
    raw.send(ack(1), tid)
    raw.send(ack(1), tid)
    block_two = await raw.receive()
    no_repeat = await raw.hears_nothing(0.3)
    raw.send(ack(2), tid)
    final = await raw.receive()
    raw.send(ack(3), tid)
    await wait_until_idle(server)

    assert block_two.head == (DATA, 2)
    assert no_repeat
    assert final.head == (DATA, 3)
    assert final.payload == b""
    assert transfer_log.last["status"] == "ok"


async def test_a_repeated_request_from_the_same_port_starts_no_second_transfer(
    server: TftpServer, raw: RawClient, store: FileStore
) -> None:
    raw.send(rrq("two-blocks.bin", timeout=3), server.address)
    raw.send(rrq("two-blocks.bin", timeout=3), server.address)

    first = await raw.receive()
    quiet = await raw.hears_nothing(0.3)

    assert first.opcode == OACK
    assert quiet
    assert store.calls == ["two-blocks.bin"]


async def test_a_packet_from_another_port_gets_unknown_tid_and_the_transfer_goes_on(
    server: TftpServer, raw: RawClient, other_raw: RawClient
) -> None:
    raw.send(rrq("two-blocks.bin"), server.address)
    tid = (await raw.receive()).sender
    other_raw.send(ack(1), tid)
    stranger_answer = await other_raw.receive()
    raw.send(ack(1), tid)
    next_block = await raw.receive()

    assert stranger_answer.head == (ERROR, 5)
    assert next_block.head == (DATA, 2)
    assert tid != server.address


async def test_options_are_acknowledged_within_rfc_limits_and_unknown_ones_ignored(
    server: TftpServer, raw: RawClient, store: FileStore
) -> None:
    raw.send(
        rrq("/five-k.bin", blksize=100000, timeout=3, tsize=0, windowsize=4, colour="blue"),
        server.address,
    )
    oack = await raw.receive()
    raw.send(ack(0), oack.sender)
    data = await raw.receive()

    assert oack.opcode == OACK
    assert oack.options() == {"blksize": "65464", "timeout": "3", "tsize": "5000"}
    assert data.head == (DATA, 1)
    assert data.payload == store.files["five-k.bin"]
    assert store.calls == ["five-k.bin"]  # the leading slash was stripped


async def test_only_unusable_options_get_plain_data_instead_of_an_oack(
    server: TftpServer, raw: RawClient
) -> None:
    raw.send(rrq("five-k.bin", blksize=4, timeout=200, windowsize=8), server.address)

    first = await raw.receive()

    assert first.head == (DATA, 1)
    assert len(first.payload) == 512


async def test_a_failing_lookup_is_answered_with_an_error_and_logged(
    server: TftpServer, raw: RawClient, transfer_log: TransferLog
) -> None:
    raw.send(rrq("broken.cnf"), server.address)

    answer = await raw.receive()

    assert answer.head == (ERROR, 0)
    assert b"database" not in answer.payload
    assert transfer_log.last["status"] == "error"


async def test_the_transfer_cap_drops_requests_until_a_slot_frees(
    store: FileStore, raw: RawClient, other_raw: RawClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="magnaprov.tftp")
    tftp = TftpServer(store.lookup, "127.0.0.1", 0, allowed_networks=LOOPBACK, max_transfers=1)
    await tftp.start()
    try:
        raw.send(rrq("SEP001122AABBCC.cnf.xml"), tftp.address)
        tid = (await raw.receive()).sender
        other_raw.send(rrq("SEP001122AABBCC.cnf.xml"), tftp.address)
        dropped = await other_raw.hears_nothing(0.3)
        raw.send(ack(1), tid)
        await wait_until_idle(tftp)
        other_raw.send(rrq("SEP001122AABBCC.cnf.xml"), tftp.address)  # the phone's retry
        retried = await other_raw.receive()
    finally:
        await tftp.stop()

    assert dropped
    assert retried.head == (DATA, 1)
    assert any(
        "transfer cap reached" in r.message for r in caplog.records if r.levelname == "WARNING"
    )


async def test_stop_cancels_running_transfers_and_closes_every_socket(
    server: TftpServer,
    store: FileStore,
    raw: RawClient,
    other_raw: RawClient,
    transfer_log: TransferLog,
) -> None:
    address = server.address
    raw.send(rrq("two-blocks.bin"), address)
    tid = (await raw.receive()).sender
    other_raw.send(rrq("slow.cnf"), address)
    await asyncio.wait_for(store.slow_lookup_entered.wait(), 2)
    held = server.active_transfers

    await server.stop()
    shutdown = await raw.receive()
    raw.send(ack(1), tid)
    raw.send(rrq("two-blocks.bin"), address)

    assert held == 2
    assert shutdown.head == (ERROR, 0)
    assert server.active_transfers == 0
    assert await raw.hears_nothing(0.3)
    assert sorted(line["status"] for line in transfer_log.lines) == ["cancelled", "cancelled"]


# --- file-name rules, for every input --------------------------------------------------------


@given(st.binary(max_size=300))
def test_an_accepted_file_name_never_escapes_or_carries_control_characters(
    requested: bytes,
) -> None:
    name = clean_filename(requested)

    if name is not None:
        assert ".." not in name.replace("\\", "/").split("/")
        assert not name.startswith("/")
        assert all(ord(char) >= 0x20 and char != "\x7f" for char in name)
        assert 0 < len(requested) <= 255


@given(st.lists(st.sampled_from(["a", "SEP0011", "..", "", "."]), min_size=1, max_size=6))
def test_a_name_with_a_dot_dot_component_is_always_refused(parts: list[str]) -> None:
    name = "/".join([*parts, ".."])

    assert clean_filename(name.encode()) is None


@pytest.mark.parametrize(
    ("request_bytes", "expected"),
    [
        pytest.param(rrq("A" * 300), (ERROR, 2), id="overlong name"),
        pytest.param(rrq("SEP001122AABBCC.cnf.xml", mode="mail"), (ERROR, 4), id="mail mode"),
        pytest.param(rrq("SEP001122AABBCC.cnf.xml")[:-1], (ERROR, 4), id="no final NUL"),
        pytest.param(struct.pack("!H", 9) + b"x\0", (ERROR, 4), id="unknown opcode"),
    ],
)
async def test_a_malformed_request_is_answered_with_an_error_and_no_lookup(
    server: TftpServer,
    store: FileStore,
    raw: RawClient,
    request_bytes: bytes,
    expected: tuple[int, int],
) -> None:
    raw.send(request_bytes, server.address)

    answer = await raw.receive()

    assert answer.head == expected
    assert answer.sender == server.address  # refusals come from port 69: no TID was opened
    assert store.calls == []
