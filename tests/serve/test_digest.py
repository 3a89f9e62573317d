import hashlib
import re
from dataclasses import dataclass, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magnaprov.serve.digest import (
    MAX_HEADER_LENGTH,
    DigestAuthenticator,
    DigestResult,
    MemoryNonceCounts,
    compute_response,
)

SECRET = b"0123456789abcdef0123456789abcdef"
REALM = "magnaprov"
USERNAME = "dev-0004f200106c"
PASSWORD = "s3cret-Pa55"
URI = "/prov/Kx81/0004f200106c.cfg"
TTL = 300

# RFC 7616 §3.9.1.
RFC = {
    "username": "Mufasa",
    "password": "Circle of Life",
    "realm": "http-auth@example.org",
    "method": "GET",
    "uri": "/dir/index.html",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    "nc": "00000001",
}
RFC_RESPONSES = {
    "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    "MD5": "8ca523f5e9506fed4657c9700eebdbec",
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def client_response(algorithm: str, *, password: str, method: str, **fields: str) -> str:
    """What a phone computes (RFC 7616 §3.4.1, qop=auth), written independently of the server."""
    hash_function = hashlib.sha256 if algorithm == "SHA-256" else hashlib.md5

    def h(text: str) -> str:
        return hash_function(text.encode()).hexdigest()

    ha1 = h(f"{fields['username']}:{fields['realm']}:{password}")
    ha2 = h(f"{method}:{fields['uri']}")
    return h(f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def challenge_params(value: str) -> dict[str, str]:
    assert value.startswith("Digest ")
    pairs = re.findall(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))', value)
    return {name: quoted or bare for name, quoted, bare in pairs}


@dataclass
class Phone:
    """A client that took one challenge and signs requests with it."""

    nonce: str
    opaque: str
    algorithm: str = "SHA-256"
    realm: str = REALM
    username: str = USERNAME
    password: str = PASSWORD
    cnonce: str = "0a4f113b"

    def header(self, nc: int | str = 1, method: str = "GET", uri: str = URI, **extra: str) -> str:
        """The Authorization value; `extra` adds or replaces raw parameters ("" drops one)."""
        fields = {
            "username": self.username,
            "realm": self.realm,
            "uri": uri,
            "nonce": self.nonce,
            "nc": nc if isinstance(nc, str) else f"{nc:08x}",
            "cnonce": self.cnonce,
        }
        response = client_response(self.algorithm, password=self.password, method=method, **fields)
        params = {
            **{name: quote(value) for name, value in fields.items()},
            "nc": fields["nc"],
            "qop": "auth",
            "algorithm": self.algorithm,
            "response": quote(response),
            "opaque": quote(self.opaque),
            **extra,
        }
        return "Digest " + ", ".join(f"{name}={value}" for name, value in params.items() if value)


def phone_for(server: DigestAuthenticator, algorithm: str = "SHA-256", realm: str = REALM) -> Phone:
    for value in server.challenge(realm):
        params = challenge_params(value)
        if params["algorithm"] == algorithm:
            return Phone(params["nonce"], params["opaque"], algorithm=algorithm, realm=realm)
    raise AssertionError(f"no {algorithm} challenge")


def make_server(
    clock: FakeClock | None = None, nonce_counts: MemoryNonceCounts | None = None
) -> DigestAuthenticator:
    return DigestAuthenticator(SECRET, clock=clock or FakeClock(), nonce_counts=nonce_counts)


def verify(server: DigestAuthenticator, header: str, method: str = "GET") -> DigestResult:
    return server.verify(method, URI, header, USERNAME, PASSWORD)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> DigestAuthenticator:
    return make_server(clock)


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_response_computation_reproduces_the_rfc_7616_example(algorithm: str) -> None:
    fields = {k: v for k, v in RFC.items() if k not in ("password", "method")}
    server_side = compute_response(algorithm=algorithm, **RFC)
    client_side = client_response(
        algorithm, password=RFC["password"], method=RFC["method"], **fields
    )
    assert server_side == client_side == RFC_RESPONSES[algorithm]


def test_challenge_offers_sha256_first_then_md5_each_with_qop_auth_and_opaque(
    server: DigestAuthenticator,
) -> None:
    values = [challenge_params(value) for value in server.challenge(REALM)]
    assert [params["algorithm"] for params in values] == ["SHA-256", "MD5"]
    for params in values:
        assert params["realm"] == REALM
        assert params["qop"] == "auth"
        assert params["opaque"]
        assert "stale" not in params


def test_every_challenge_brings_a_fresh_nonce(server: DigestAuthenticator) -> None:
    nonces = {challenge_params(server.challenge(REALM)[0])["nonce"] for _ in range(50)}
    assert len(nonces) == 50


def test_a_stale_challenge_says_stale_true(server: DigestAuthenticator) -> None:
    values = [challenge_params(value) for value in server.challenge(REALM, stale=True)]
    assert [params["stale"] for params in values] == ["true", "true"]


@pytest.mark.parametrize("realm", ["prov\r\nSet-Cookie: x=1", "tab\there", "réalm"])
def test_a_realm_that_could_break_the_header_is_refused(
    server: DigestAuthenticator, realm: str
) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        server.challenge(realm)


def test_a_realm_with_quotes_is_escaped_in_the_challenge(server: DigestAuthenticator) -> None:
    assert challenge_params(server.challenge('say "hi"')[0])["realm"] == 'say \\"hi\\"'


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_correct_credentials_are_accepted(server: DigestAuthenticator, algorithm: str) -> None:
    phone = phone_for(server, algorithm)
    assert verify(server, phone.header()) is DigestResult.OK


def test_md5_is_assumed_when_the_header_names_no_algorithm(server: DigestAuthenticator) -> None:
    phone = phone_for(server, "MD5")
    assert verify(server, phone.header(algorithm="")) is DigestResult.OK


def test_a_wrong_password_is_bad(server: DigestAuthenticator) -> None:
    phone = replace(phone_for(server), password="guess")
    assert verify(server, phone.header()) is DigestResult.BAD


def test_another_devices_username_is_bad(server: DigestAuthenticator) -> None:
    phone = replace(phone_for(server), username="dev-000000000001")
    assert verify(server, phone.header()) is DigestResult.BAD


def test_credentials_for_another_uri_are_bad(server: DigestAuthenticator) -> None:
    phone = phone_for(server)
    other = "/prov/Kx81/0004f2aaaaaa.cfg"
    assert verify(server, phone.header(uri=other)) is DigestResult.BAD
    # Same header with its uri parameter edited to match: the response no longer fits.
    forged = phone.header(uri=other).replace(quote(other), quote(URI))
    assert verify(server, forged) is DigestResult.BAD


def test_credentials_for_another_method_are_bad(server: DigestAuthenticator) -> None:
    phone = phone_for(server)
    assert verify(server, phone.header(method="GET"), method="PUT") is DigestResult.BAD


def test_a_replayed_authorization_header_is_bad(server: DigestAuthenticator) -> None:
    header = phone_for(server).header(nc=1)
    assert verify(server, header) is DigestResult.OK
    assert verify(server, header) is DigestResult.BAD


def test_a_higher_nonce_count_is_accepted_and_a_lower_one_is_not(
    server: DigestAuthenticator,
) -> None:
    phone = phone_for(server)
    assert verify(server, phone.header(nc=1)) is DigestResult.OK
    assert verify(server, phone.header(nc=5)) is DigestResult.OK
    assert verify(server, phone.header(nc=3)) is DigestResult.BAD
    assert verify(server, phone.header(nc=6)) is DigestResult.OK


def test_nonce_counts_are_kept_per_nonce(server: DigestAuthenticator) -> None:
    first, second = phone_for(server), phone_for(server)
    assert verify(server, first.header(nc=7)) is DigestResult.OK
    assert verify(server, second.header(nc=1)) is DigestResult.OK


def test_an_expired_nonce_with_the_right_password_is_stale(
    server: DigestAuthenticator, clock: FakeClock
) -> None:
    phone = phone_for(server)
    clock.now += TTL + 1
    assert verify(server, phone.header()) is DigestResult.STALE


def test_a_nonce_just_inside_its_lifetime_is_accepted(
    server: DigestAuthenticator, clock: FakeClock
) -> None:
    phone = phone_for(server)
    clock.now += TTL - 1
    assert verify(server, phone.header()) is DigestResult.OK


def test_an_expired_nonce_with_a_wrong_password_is_bad(
    server: DigestAuthenticator, clock: FakeClock
) -> None:
    phone = replace(phone_for(server), password="guess")
    clock.now += TTL + 1
    assert verify(server, phone.header()) is DigestResult.BAD


def test_a_nonce_signed_with_another_secret_is_bad(clock: FakeClock) -> None:
    stranger = DigestAuthenticator(b"another secret of 32 bytes......", clock=clock)
    phone = phone_for(stranger)
    assert verify(make_server(clock), phone.header()) is DigestResult.BAD


def test_a_nonce_issued_for_another_realm_is_bad(server: DigestAuthenticator) -> None:
    phone = replace(phone_for(server, realm="other"), realm=REALM)
    assert verify(server, phone.header()) is DigestResult.BAD


@pytest.mark.parametrize("position", [0, 10, 30, 63])
def test_a_nonce_with_one_character_changed_is_bad(
    server: DigestAuthenticator, position: int
) -> None:
    phone = phone_for(server)
    swapped = "B" if phone.nonce[position] == "A" else "A"
    forged = phone.nonce[:position] + swapped + phone.nonce[position + 1 :]
    assert verify(server, replace(phone, nonce=forged).header()) is DigestResult.BAD


@pytest.mark.parametrize("nonce", ["", "abc", RFC["nonce"], "A" * 64, "A" * 63 + "="])
def test_a_nonce_the_server_never_issued_is_bad(server: DigestAuthenticator, nonce: str) -> None:
    phone = replace(phone_for(server), nonce=nonce)
    assert verify(server, phone.header()) is DigestResult.BAD


def test_a_nonce_signed_before_a_key_rotation_still_verifies(clock: FakeClock) -> None:
    phone = phone_for(make_server(clock))
    rotated = DigestAuthenticator(
        b"the new secret, also 32 bytes...", old_secrets=[SECRET], clock=clock
    )
    assert verify(rotated, phone.header()) is DigestResult.OK


def test_secrets_shorter_than_16_bytes_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        DigestAuthenticator(b"short")


def test_a_changed_opaque_is_bad(server: DigestAuthenticator) -> None:
    phone = replace(phone_for(server), opaque="0" * 32)
    assert verify(server, phone.header()) is DigestResult.BAD


def test_a_missing_opaque_is_tolerated_for_old_clients(server: DigestAuthenticator) -> None:
    assert verify(server, phone_for(server).header(opaque="")) is DigestResult.OK


@pytest.mark.parametrize(
    "extra",
    [
        {"userhash": "true"},
        {"username*": "UTF-8''dev"},
        {"algorithm": "SHA-256-sess"},
        {"algorithm": "MD5-sess"},
        {"algorithm": "SHA-512-256"},
        {"qop": "auth-int"},
        {"qop": ""},
        {"cnonce": '""'},
        {"response": ""},
    ],
)
def test_unsupported_or_incomplete_parameters_are_bad(
    server: DigestAuthenticator, extra: dict[str, str]
) -> None:
    assert verify(server, phone_for(server).header(**extra)) is DigestResult.BAD


@pytest.mark.parametrize("nc", ["00000000", "1", "0000000g", "000000001"])
def test_a_nonce_count_that_is_not_eight_hex_digits_above_zero_is_bad(
    server: DigestAuthenticator, nc: str
) -> None:
    # The response is computed with this very nc, so only the nc rule can refuse it.
    assert verify(server, phone_for(server).header(nc=nc)) is DigestResult.BAD


def test_userhash_false_is_accepted(server: DigestAuthenticator) -> None:
    assert verify(server, phone_for(server).header(userhash="false")) is DigestResult.OK


def test_quoted_values_may_hold_commas_and_escaped_quotes(clock: FakeClock) -> None:
    server = make_server(clock)
    username, realm = 'o"brien, jr\\', 'prov, "main"'
    phone = replace(phone_for(server, realm=realm), username=username)
    header = phone.header()
    assert '\\"brien, jr\\\\"' in header
    assert server.verify("GET", URI, header, username, PASSWORD) is DigestResult.OK


def test_unquoted_tokens_odd_spacing_and_parameter_case_are_accepted(
    server: DigestAuthenticator,
) -> None:
    phone = phone_for(server)
    response = client_response(
        "SHA-256",
        password=PASSWORD,
        method="GET",
        username=USERNAME,
        realm=REALM,
        uri=URI,
        nonce=phone.nonce,
        nc="0000000A",
        cnonce="xyz",
    )
    header = (
        f'  digest   UserName = "{USERNAME}" ,Realm="{REALM}",uri="{URI}" , '
        f"Algorithm=sha-256, NONCE={phone.nonce}, nc=0000000A, cnonce=xyz, QOP=auth, "
        f"response={response.upper()},"
    )
    assert verify(server, header) is DigestResult.OK


def test_a_repeated_parameter_makes_the_header_bad(server: DigestAuthenticator) -> None:
    header = phone_for(server).header() + f', username="{USERNAME}"'
    assert verify(server, header) is DigestResult.BAD


def test_an_over_long_header_is_bad(server: DigestAuthenticator) -> None:
    padding = "x" * MAX_HEADER_LENGTH
    assert verify(server, phone_for(server).header(padding=f'"{padding}"')) is DigestResult.BAD


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic ZGV2OnMzY3JldA==",
        "Digest",
        'Digest username="unterminated',
        "Digest username",
        'Digest username=="x"',
        'Digest =x, username="a"',
        'Digest username="a" realm="b"',
        "Digest " + "a=b, " * 2000,
    ],
)
def test_malformed_headers_are_bad(server: DigestAuthenticator, header: str) -> None:
    assert verify(server, header) is DigestResult.BAD


def test_counts_forgotten_under_memory_pressure_are_answered_stale_not_accepted(
    clock: FakeClock,
) -> None:
    server = make_server(clock, nonce_counts=MemoryNonceCounts(max_nonces=2))
    phones = [phone_for(server) for _ in range(3)]
    first_header = phones[0].header(nc=1)
    for phone in phones:
        clock.now += 1
        assert verify(server, phone.header(nc=1)) is DigestResult.OK
    # The first nonce's count was evicted; replaying its header must not succeed.
    assert verify(server, first_header) is DigestResult.STALE
    assert verify(server, phones[2].header(nc=2)) is DigestResult.OK


GARBAGE_SERVER = make_server()
NAMES = ["username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce", "algorithm"]


@given(st.text(max_size=600))
def test_arbitrary_text_is_never_accepted_and_never_raises(header: str) -> None:
    assert verify(GARBAGE_SERVER, header) is DigestResult.BAD
    assert verify(GARBAGE_SERVER, "Digest " + header) is DigestResult.BAD


@given(
    st.dictionaries(
        st.sampled_from(NAMES),
        st.text(alphabet=st.characters(codec="latin-1"), max_size=40),
        max_size=len(NAMES),
    ),
    st.booleans(),
)
def test_arbitrary_digest_parameters_are_never_accepted(params: dict[str, str], bare: bool) -> None:
    def render(value: str) -> str:
        return value if bare else quote(value)

    header = "Digest " + ", ".join(f"{name}={render(value)}" for name, value in params.items())
    assert verify(GARBAGE_SERVER, header) is DigestResult.BAD


@given(st.integers(min_value=0, max_value=63), st.sampled_from("0123456789abcdef"))
def test_any_change_to_the_response_is_bad(position: int, digit: str) -> None:
    server = make_server()
    phone = phone_for(server)
    good = client_response(
        "SHA-256",
        password=PASSWORD,
        method="GET",
        username=USERNAME,
        realm=REALM,
        uri=URI,
        nonce=phone.nonce,
        nc="00000001",
        cnonce=phone.cnonce,
    )
    changed = good[:position] + digit + good[position + 1 :]
    expected = DigestResult.OK if changed == good else DigestResult.BAD
    assert verify(server, phone.header(response=quote(changed))) is expected
