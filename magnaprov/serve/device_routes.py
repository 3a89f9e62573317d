"""The phone-facing routes: `GET|HEAD|PUT /prov/{key}/{file}` and `/prov/{file}`.

`/prov/{key}/{file}` is the device's own directory: every file of the device, common ones
included. `/prov/{file}` is the shared root, only for devices whose MAC-based provisioning is in
force; the device is found by the MAC in the file name, else by the MAC in the User-Agent, else
by a `?mac=` query.
Names match case-insensitively. Bytes come from the file store, never from a render.

Order of the checks, so that nothing is learnt before it should be:

1. a banned address gets 429, before any look-up;
2. a method other than GET, HEAD or PUT gets 405 with `Allow`;
3. a path that cannot hold a file name (bad or encoded-slash percent-encoding, NUL or other
   controls, not UTF-8) gets 400; `..`, names over 255 characters, extra path segments and
   keys of the wrong shape get the 404;
4. no device (unknown key, generation disabled, MAC-based provisioning not in force, unknown
   MAC) gets the 404; MAC-based provisioning is never in force for a device with HTTP Digest
   credentials, so the shared root never challenges: its answer to a request without
   credentials is the same whether the MAC exists or not;
5. a device that requires its factory certificate gets the 404 unless the request came over TLS
   with a client certificate of its vendor's CA naming its MAC (`tenancy.device_certificates`);
6. a device with HTTP Digest credentials gets 401 with a challenge until the request carries a
   valid, fresh `Authorization` (a replayed one is refused);
7. PUT (Polycom logs and overrides, plain names only) gets 204 once a body of at most 1 MiB is
   read and dropped, 413 above; GET and HEAD of a name the device has no file for get the 404.

Every 404 is the same `_NOT_FOUND` bytes, whatever the cause. 400s, 404s before a device is
identified and refused digest answers count as misses for the scanning defence; a name an
identified device (a valid key, or a MAC in force) has no file for does not: phones ask for
optional names, and a whole office behind one address must not be banned for it. A MAC that
exists but is not in force is no identification, so it counts like an unknown one. A fetch
answered 200, 304 or 204 records the device's last contact (in memory; see
`contact_recorder`): only a device so identified, and authenticated where it needs it, is
recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, unquote_to_bytes

from starlette.types import Receive, Scope, Send

from magnaprov.serve.access_log import AccessLog, AccessRecord
from magnaprov.serve.contact_recorder import ContactRecorder
from magnaprov.serve.digest import DigestAuthenticator, DigestResult
from magnaprov.serve.file_store import FileStore, ServedDevice, ServedFile, StoreUnavailable
from magnaprov.serve.metrics import ServeMetrics
from magnaprov.serve.miss_guard import MissGuard
from magnaprov.serve.request_ids import HEADER as REQUEST_ID_HEADER
from magnaprov.serve.request_ids import request_id_of
from magnaprov.serve.tls import client_certificate
from magnaprov.serve.user_agents import mac_from_text, parse_user_agent
from magnaprov.templating import Catalog, load_catalog
from magnaprov.tenancy import SecretBox
from magnaprov.tenancy.device_certificates import VendorAuthorities, certificate_admits

__all__ = [
    "DEVICE_PREFIX",
    "DEVICE_ROUTE",
    "DIGEST_REALM",
    "MAX_UPLOAD_BYTES",
    "ROOT_ROUTE",
    "DeviceRoutes",
    "digest_authenticator",
]

DEVICE_PREFIX = "/prov/"
DEVICE_ROUTE = "/prov/{key}/{file}"
ROOT_ROUTE = "/prov/{file}"
OTHER_ROUTE = "/prov/other"
DIGEST_REALM = "magnaprov"
MAX_UPLOAD_BYTES = 1024 * 1024
MAX_NAME_LENGTH = 255
_METHODS = frozenset({"GET", "HEAD", "PUT"})
_PREFIX = b"/prov/"
_KEY = re.compile(r"[A-Za-z0-9_-]{16,128}", re.ASCII)
_PERCENT = re.compile(rb"%[0-9A-Fa-f]{2}")
_FORBIDDEN_BYTES = re.compile(rb"[\x00-\x1f\x7f/\\]")
# What phones send: a key and a name with nothing to decode or refuse (dots are checked apart).
_PLAIN_DEVICE_PATH = re.compile(rb"/prov/([A-Za-z0-9_-]{16,128})/([A-Za-z0-9._-]{1,255})")
# Polycom uploads `<mac>-app.log`, `<mac>-phone.cfg`...: names no per-device pattern covers.
_UPLOAD_MAC = re.compile(r"([0-9A-Fa-f]{12})-[A-Za-z0-9._-]+", re.ASCII)
_UPLOAD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)


@dataclass(slots=True)  # not frozen: one is made per request, and frozen init is slower
class _Reply:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes = b""


def _fixed(status: int, body: bytes, *extra: tuple[bytes, bytes]) -> _Reply:
    headers = (
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *extra,
    )
    return _Reply(status, headers, body)


_NOT_FOUND = _fixed(404, b"Not Found\n")
_BAD_REQUEST = _fixed(400, b"Bad Request\n")
_METHOD_NOT_ALLOWED = _fixed(405, b"Method Not Allowed\n", (b"allow", b"GET, HEAD, PUT"))
_TOO_LARGE = _fixed(413, b"Content Too Large\n", (b"connection", b"close"))
_UNAVAILABLE = _fixed(503, b"Service Unavailable\n", (b"retry-after", b"30"))
_NO_CONTENT = _Reply(204, ((b"cache-control", b"no-store"),))


@dataclass(slots=True)  # not frozen: one is made per request, and frozen init is slower
class _Target:
    """What the path asks for; `problem` is the reply when it cannot be a file at all."""

    route: str
    key: str | None = None
    name: str | None = None
    problem: _Reply | None = None


def digest_authenticator(secrets: SecretBox) -> DigestAuthenticator:
    """Nonces signed with a key derived from the secrets keyring, so every worker and host
    accepts the nonces any other issued; older keys of the keyring still verify."""
    keys = [
        hmac.new(key, b"magnaprov digest nonces", hashlib.sha256).digest()
        for _key_id, key in secrets.keyring.keys
    ]
    return DigestAuthenticator(keys[0], old_secrets=keys[1:])


class DeviceRoutes:
    """The ASGI app mounted at /prov."""

    def __init__(
        self,
        store: FileStore,
        guard: MissGuard,
        contacts: ContactRecorder,
        metrics: ServeMetrics,
        authenticator: DigestAuthenticator,
        *,
        ban_seconds: float,
        access_log: AccessLog,
        catalog: Catalog | None = None,
        authorities: VendorAuthorities | None = None,
    ) -> None:
        self._store, self._guard, self._contacts = store, guard, contacts
        self._authorities = authorities or VendorAuthorities()
        self._access_log = access_log
        self._metrics, self._authenticator = metrics, authenticator
        self._catalog = catalog or load_catalog()
        self._too_many = _fixed(
            429, b"Too Many Requests\n", (b"retry-after", str(max(1, round(ban_seconds))).encode())
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        request_id = request_id_of(scope["headers"])
        target = parse_target(scope)
        request = _Request(scope, receive, target)
        try:
            reply = await self._answer(request)
        except StoreUnavailable:
            reply = _UNAVAILABLE
        head = request.method == "HEAD"
        headers = (*reply.headers, (REQUEST_ID_HEADER, request_id.encode("ascii")))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else reply.body})
        method = request.method if request.method in _METHODS else "OTHER"
        self._metrics.count_request(target.route, method, reply.status)
        self._access_log.write(
            AccessRecord(
                route=target.route,
                method=method,
                status=reply.status,
                bytes=0 if head else len(reply.body),
                milliseconds=(time.perf_counter() - started) * 1000,
                client=request.client,
                device_id=request.device_id,
                file=target.name,
                request_id=request_id,
            )
        )

    async def _answer(self, request: _Request) -> _Reply:
        target = request.target
        if await self._guard.is_banned(request.client):
            return self._too_many
        if request.method not in _METHODS:
            return _METHOD_NOT_ALLOWED
        if target.problem is not None or target.name is None:
            return await self._miss(request, target.problem or _NOT_FOUND)
        if request.method == "PUT" and _UPLOAD_NAME.fullmatch(target.name) is None:
            return await self._miss(request, _NOT_FOUND)
        device = await self._device(request, target.name)
        if device is None:
            return await self._miss(request, _NOT_FOUND)
        if device.requires_certificate and not self._has_factory_certificate(request, device):
            return await self._miss(request, _NOT_FOUND)
        request.device_id = device.id
        refusal = await self._authenticate(request, device)
        if refusal is not None:
            return refusal
        if request.method == "PUT":
            return await self._accept_upload(request, device)
        file = device.files.get(target.name.casefold())
        if file is None:
            return _NOT_FOUND  # an identified phone asking for an optional name: no scanner
        self._contacts.record(device.id, request.client, request.header(b"user-agent"))
        if _not_modified(request, file):
            return _file_reply(304, file, body=False)
        return _file_reply(200, file, body=True)

    async def _device(self, request: _Request, name: str) -> ServedDevice | None:
        key = request.target.key
        if key is not None:
            device = await self._store.by_key(key)
            return device if device is not None and device.generation_enabled else None
        mac = self._catalog.mac_in_file_name(name)
        if mac is None and request.method == "PUT":
            mac = _upload_mac(name)
        if mac is None:
            agent = parse_user_agent(request.header(b"user-agent") or "")
            mac = agent.mac if agent is not None else None
        if mac is None:
            mac = request.query_mac()
        if mac is None:
            return None
        device = await self._store.by_mac(mac)
        return device if device is not None and device.mac_based else None

    def _has_factory_certificate(self, request: _Request, device: ServedDevice) -> bool:
        over_tls, certificate = client_certificate(request.scope)
        return over_tls and certificate_admits(
            certificate, device.manufacturer, device.mac, self._authorities
        )

    async def _authenticate(self, request: _Request, device: ServedDevice) -> _Reply | None:
        if device.digest is None:
            return None
        authorization = request.header(b"authorization")
        if authorization is None:
            return self._challenge(stale=False)
        result = self._authenticator.verify(
            request.method,
            request.uri,
            authorization,
            device.digest.username,
            device.digest.password,
        )
        if result is DigestResult.OK:
            return None
        if result is DigestResult.STALE:
            return self._challenge(stale=True)
        await self._guard.record_miss(request.client)
        return self._challenge(stale=False)

    def _challenge(self, *, stale: bool) -> _Reply:
        body = b"Unauthorized\n"
        challenges = self._authenticator.challenge(DIGEST_REALM, stale=stale)
        return _Reply(
            401,
            (
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *((b"www-authenticate", value.encode("ascii")) for value in challenges),
            ),
            body,
        )

    async def _accept_upload(self, request: _Request, device: ServedDevice) -> _Reply:
        declared = request.header(b"content-length")
        if declared is not None and (
            not (declared.isascii() and declared.isdigit()) or int(declared) > MAX_UPLOAD_BYTES
        ):
            return _TOO_LARGE
        received = 0
        while True:
            message = await request.receive()
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > MAX_UPLOAD_BYTES:
                return _TOO_LARGE
            if not message.get("more_body", False):
                break
        self._contacts.record(device.id, request.client, request.header(b"user-agent"))
        return _NO_CONTENT

    async def _miss(self, request: _Request, reply: _Reply) -> _Reply:
        await self._guard.record_miss(request.client)
        return reply


class _Request:
    """The parts of an ASGI request the routes read."""

    def __init__(self, scope: Scope, receive: Receive, target: _Target) -> None:
        self.method: str = scope["method"]
        self.receive = receive
        self.target = target
        self.device_id: int | None = None
        client = scope.get("client")
        self.client: str = client[0] if client else "-"
        self._headers: list[tuple[bytes, bytes]] = scope["headers"]
        self.scope = scope
        self._query: bytes = scope.get("query_string", b"")

    @property
    def uri(self) -> str:
        """The request target as sent (HTTP Digest signs it)."""
        raw = _raw_path(self.scope)
        return (raw + b"?" + self._query if self._query else raw).decode("latin-1")

    def query_mac(self) -> str | None:
        """The MAC of a `?mac=` query (Snom can be told to add one), or None."""
        values = parse_qs(self._query.decode("latin-1"), max_num_fields=8).get("mac")
        return mac_from_text(values[0]) if values else None

    def header(self, name: bytes) -> str | None:
        """The first value of a header (lower-case name), decoded as Latin-1."""
        for key, value in self._headers:
            if key == name:
                return value.decode("latin-1")
        return None


def parse_target(scope: Scope) -> _Target:
    """Split `/prov/{key}/{file}` or `/prov/{file}`, strictly, from the path as sent."""
    plain = _PLAIN_DEVICE_PATH.fullmatch(scope.get("raw_path") or b"")
    if plain is not None and plain[2] != b"." and b".." not in plain[2]:
        # The general parse below gives the same target, several times slower.
        return _Target(DEVICE_ROUTE, plain[1].decode("ascii"), plain[2].decode("ascii"))
    path = _raw_path(scope)
    if not path.startswith(_PREFIX):
        return _Target(OTHER_ROUTE, problem=_NOT_FOUND)
    segments = path[len(_PREFIX) :].split(b"/")
    if len(segments) > 2:
        return _Target(OTHER_ROUTE, problem=_NOT_FOUND)
    route = ROOT_ROUTE if len(segments) == 1 else DEVICE_ROUTE
    decoded = [_decode_segment(segment) for segment in segments]
    if any(text is None for text in decoded):
        return _Target(route, problem=_BAD_REQUEST)
    *key, name = [text for text in decoded if text is not None]
    problem = None
    if not name or name == "." or len(name) > MAX_NAME_LENGTH or ".." in name:
        problem = _NOT_FOUND
    if key and _KEY.fullmatch(key[0]) is None:
        problem = _NOT_FOUND
    # The key is never kept where it could be logged; only `name` is.
    return _Target(route, key[0] if key else None, name[:MAX_NAME_LENGTH] or None, problem)


def _raw_path(scope: Scope) -> bytes:
    raw = scope.get("raw_path")
    if not raw:
        return str(scope["path"]).encode("utf-8", "surrogateescape")
    # Some clients (httpx's ASGI transport) put the query string into raw_path.
    return bytes(raw).split(b"?", 1)[0]


def _decode_segment(segment: bytes) -> str | None:
    if b"%" not in segment:
        raw = segment  # what phones send; unquoting would return it unchanged
    elif b"%" in _PERCENT.sub(b"", segment):
        return None  # a % that does not start a two-digit escape
    else:
        raw = unquote_to_bytes(segment)
    if _FORBIDDEN_BYTES.search(raw):
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _upload_mac(name: str) -> str | None:
    found = _UPLOAD_MAC.fullmatch(name)
    if found is None:
        return None
    digits = found[1].lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _not_modified(request: _Request, file: ServedFile) -> bool:
    if_none_match = request.header(b"if-none-match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, file.etag)
    if_modified_since = request.header(b"if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return file.rendered_at.replace(microsecond=0) <= since


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 §13.1.2)."""
    if header == etag:
        return True  # what phones send back: the one tag they were given
    wanted = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def _file_reply(status: int, file: ServedFile, *, body: bool) -> _Reply:
    if not body:
        return _Reply(status, file.validators)
    return _Reply(status, file.headers, file.content)
