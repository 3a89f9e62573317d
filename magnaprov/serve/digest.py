"""Server side of HTTP Digest authentication (RFC 7616) for a device's own username and password.

Nonces are stateless: a timestamp and random salt signed with the server secret and bound to the
realm, so any worker that holds the secret can check a nonce another issued, and a nonce older
than `nonce_ttl_seconds` is answered `stale` (the phone retries with a fresh one, no prompt).

Replay: every request must carry qop=auth and a nonce-count (nc) higher than the last one
accepted for that nonce; a captured Authorization header is therefore refused when sent again.
The default `MemoryNonceCounts` remembers counts per process only, so with several workers or
hosts a captured header can be replayed at most once per other process, and only until its nonce
expires. Pass a shared `NonceCounts` to close that window.

Deliberately unsupported, each answered `bad`: `userhash=true` and `username*` (usernames are
compared as sent), the `-sess` algorithms, `qop=auth-int`, and the RFC 2069 form without qop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = [
    "DigestAuthenticator",
    "DigestResult",
    "MemoryNonceCounts",
    "NonceCounts",
    "compute_response",
    "parse_digest_header",
]

MAX_HEADER_LENGTH = 4096
_HASHES: dict[str, Callable[[bytes], str]] = {
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
    # MD5 only because phones that predate RFC 7616 know nothing else; SHA-256 is offered first.
    "MD5": lambda data: hashlib.md5(data).hexdigest(),  # noqa: S324
}


class DigestResult(StrEnum):
    """OK: let the phone in. BAD: 401 with a new challenge. STALE: 401 with `stale=true`."""

    OK = "ok"
    BAD = "bad"
    STALE = "stale"


def compute_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str,
    cnonce: str,
    qop: str = "auth",
) -> str:
    """The `response` a client sends for qop=auth (RFC 7616 §3.4.1), as lowercase hex."""
    digest = _HASHES[algorithm]
    ha1 = digest(_utf8(f"{username}:{realm}:{password}"))
    ha2 = digest(_utf8(f"{method}:{uri}"))
    return digest(_utf8(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"))


# RFC 9110 token, then a quoted-string (with quoted-pairs) or a token, then a list separator.
# Every repetition below chooses between disjoint character sets, so matching stays linear.
_SCHEME = re.compile(r"\s*Digest\s+", re.ASCII | re.IGNORECASE)
_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = re.compile(
    rf"({_TCHARS})\s*=\s*"
    r'(?:"((?:[^"\\]|\\.)*)"|([^\s",]+))'  # quoted-string, or a bare token
    r"\s*(?:(?:,\s*)+|\Z)",
    re.ASCII | re.DOTALL,
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


def parse_digest_header(header: str) -> dict[str, str] | None:
    """Parameters of a `Digest` Authorization header, names lowercased; None if malformed.

    A repeated parameter counts as malformed: two readings of one header must not be possible.
    """
    scheme = _SCHEME.match(header) if len(header) <= MAX_HEADER_LENGTH else None
    if scheme is None:
        return None
    params: dict[str, str] = {}
    position = scheme.end()
    while position < len(header):
        found = _PARAM.match(header, position)
        name = found[1].lower() if found else ""
        if found is None or name in params:
            return None
        quoted = found[2]
        params[name] = found[3] if quoted is None else _QUOTED_PAIR.sub(r"\1", quoted)
        position = found.end()
    return params


@dataclass(frozen=True, slots=True)
class _Credentials:
    """The parts of a header this server accepts, already checked for shape."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str
    cnonce: str
    nc_text: str
    nc: int
    opaque: str | None


_REQUIRED = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
_NC = re.compile(r"[0-9a-f]{8}", re.ASCII | re.IGNORECASE)


def _credentials(params: dict[str, str]) -> _Credentials | None:
    if any(name not in params for name in _REQUIRED) or "username*" in params:
        return None
    algorithm = params.get("algorithm", "MD5").upper()
    unsupported = params.get("userhash", "false").lower() != "false"
    if unsupported or algorithm not in _HASHES or params["qop"].lower() != "auth":
        return None
    nc_text = params["nc"]
    if _NC.fullmatch(nc_text) is None or int(nc_text, 16) == 0 or not params["cnonce"]:
        return None
    return _Credentials(
        username=params["username"],
        realm=params["realm"],
        nonce=params["nonce"],
        uri=params["uri"],
        response=params["response"].lower(),
        algorithm=algorithm,
        cnonce=params["cnonce"],
        nc_text=nc_text,
        nc=int(nc_text, 16),
        opaque=params.get("opaque"),
    )


class NonceCounts(Protocol):
    """Where the last accepted nonce-count of each nonce is kept."""

    def advance(self, nonce: str, issued_at: int, nc: int) -> DigestResult:
        """Record `nc` if it is above the last one for `nonce`.

        OK when recorded, BAD for a replay, STALE when the nonce can no longer be checked.
        """
        ...


class MemoryNonceCounts:
    """Per-process counts for at most `max_nonces` nonces, the first used evicted first.

    An evicted nonce could be replayed if it were accepted again, so once any nonce has been
    evicted, every unknown nonce issued no later than it is answered stale: the phone fetches a
    fresh nonce, and memory stays bounded however many phones authenticate.
    """

    def __init__(self, max_nonces: int = 50_000) -> None:
        if max_nonces < 1:
            raise ValueError("max_nonces must be at least 1")
        self._max_nonces = max_nonces
        self._last: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._forgotten_until = -1

    def advance(self, nonce: str, issued_at: int, nc: int) -> DigestResult:
        seen = self._last.get(nonce)
        if seen is None and issued_at <= self._forgotten_until:
            return DigestResult.STALE
        if seen is not None and nc <= seen[1]:
            return DigestResult.BAD
        self._last[nonce] = (issued_at, nc)
        if len(self._last) > self._max_nonces:
            evicted_issued_at, _ = self._last.popitem(last=False)[1]
            self._forgotten_until = max(self._forgotten_until, evicted_issued_at)
        return DigestResult.OK


_NONCE = re.compile(r"[A-Za-z0-9_-]{64}", re.ASCII)
_SALT_BYTES = 16
_MAC_BYTES = 24  # 8 + 16 + 24 = 48 bytes: exactly 64 base64 characters, one spelling per nonce


@dataclass(frozen=True, slots=True)
class _Nonce:
    issued_at: int
    key: bytes


class DigestAuthenticator:
    """Issues challenges and checks Authorization headers for one server secret.

    `old_secrets` still verify nonces (signed before a key rotation) but never sign new ones.
    """

    def __init__(
        self,
        secret: bytes,
        *,
        old_secrets: Sequence[bytes] = (),
        nonce_ttl_seconds: int = 300,
        clock: Callable[[], float] = time.time,
        nonce_counts: NonceCounts | None = None,
    ) -> None:
        if any(len(key) < 16 for key in (secret, *old_secrets)):
            raise ValueError("digest secrets must be at least 16 bytes")
        self._keys = (secret, *old_secrets)
        self._ttl = nonce_ttl_seconds
        self._clock = clock
        self._counts = nonce_counts if nonce_counts is not None else MemoryNonceCounts()

    def challenge(self, realm: str, *, stale: bool = False) -> list[str]:
        """`WWW-Authenticate` values, most preferred first: SHA-256, then MD5 for old phones."""
        # The realm goes into a response header: it must neither break it nor need an encoding.
        if not (realm.isascii() and realm.isprintable()):
            raise ValueError("realm must be printable ASCII")
        nonce, opaque = self._issue_nonce(realm), _opaque(self._keys[0])
        tail = ", stale=true" if stale else ""
        return [
            f'Digest realm={_quote(realm)}, qop="auth", algorithm={name}, '
            f'nonce="{nonce}", opaque="{opaque}"{tail}'
            for name in _HASHES
        ]

    def verify(
        self, method: str, uri: str, authorization: str, username: str, password: str
    ) -> DigestResult:
        """Check an Authorization header against the request and the device's credentials.

        `uri` is the request-target exactly as received (path and query).
        """
        params = parse_digest_header(authorization)
        sent = _credentials(params) if params is not None else None
        if sent is None or not (_same(sent.username, username) and sent.uri == uri):
            return DigestResult.BAD
        nonce = self._open_nonce(sent.nonce, sent.realm)
        if nonce is None or not self._opaque_matches(sent, nonce):
            return DigestResult.BAD
        if not _same(sent.response, _expected_response(sent, method, password)):
            return DigestResult.BAD
        # Stale only after the response proved the password, as RFC 7616 §3.3 asks.
        if not -self._ttl <= self._clock() - nonce.issued_at <= self._ttl:
            return DigestResult.STALE
        return self._counts.advance(sent.nonce, nonce.issued_at, sent.nc)

    def _issue_nonce(self, realm: str) -> str:
        stamp = int(self._clock()).to_bytes(8, "big")
        body = stamp + secrets.token_bytes(_SALT_BYTES)
        return base64.urlsafe_b64encode(body + _sign(self._keys[0], body, realm)).decode()

    def _open_nonce(self, nonce: str, realm: str) -> _Nonce | None:
        if _NONCE.fullmatch(nonce) is None:
            return None
        raw = base64.urlsafe_b64decode(nonce)
        body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        # Try every key without stopping early, so timing does not tell which one matched.
        matches = [key for key in self._keys if hmac.compare_digest(_sign(key, body, realm), mac)]
        if not matches:
            return None
        return _Nonce(issued_at=int.from_bytes(body[:8], "big"), key=matches[0])

    def _opaque_matches(self, sent: _Credentials, nonce: _Nonce) -> bool:
        # RFC 2617 clients must echo opaque; some omit it, and it carries no state here.
        return sent.opaque is None or _same(sent.opaque, _opaque(nonce.key))


def _expected_response(sent: _Credentials, method: str, password: str) -> str:
    return compute_response(
        algorithm=sent.algorithm,
        username=sent.username,
        realm=sent.realm,
        password=password,
        method=method,
        uri=sent.uri,
        nonce=sent.nonce,
        nc=sent.nc_text,
        cnonce=sent.cnonce,
    )


def _sign(key: bytes, body: bytes, realm: str) -> bytes:
    message = b"magnaprov digest nonce\x00" + body + _utf8(realm)
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def _opaque(key: bytes) -> str:
    return hmac.new(key, b"magnaprov digest opaque", hashlib.sha256).hexdigest()[:32]


def _same(sent: str, expected: str) -> bool:
    return hmac.compare_digest(_utf8(sent), _utf8(expected))


def _utf8(text: str) -> bytes:
    # Header text may hold lone surrogates; hashing and comparing must still never raise.
    return text.encode("utf-8", "surrogatepass")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
