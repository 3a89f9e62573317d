"""Splitting `/prov/...` paths: the quick match for what phones send agrees with the strict
parse on every path, and both refuse what cannot be a file name."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from magnaprov.serve.device_routes import DEVICE_ROUTE, ROOT_ROUTE, parse_target

KEY = "k" * 16
# Bytes the quick match accepts, plus the ones that send a path to the strict parse. No `?`:
# the strict parse cuts a query off `raw_path` (some clients leave it there), not off `path`.
PATH_BYTES = st.sampled_from([*b"aZ09_-.", *b"/%\\", 0, 0xC3, 0xA9])


def strictly(raw: bytes) -> object:
    """The target from the strict parse alone (a scope without `raw_path` skips the match)."""
    return parse_target({"path": raw.decode("utf-8", "surrogateescape")})


def as_sent(raw: bytes) -> object:
    return parse_target({"raw_path": raw, "path": raw.decode("utf-8", "surrogateescape")})


@settings(max_examples=400)
@given(
    key=st.binary(min_size=1, max_size=140).filter(lambda b: b"?" not in b)
    | st.lists(PATH_BYTES, min_size=14, max_size=130).map(bytes),
    name=st.lists(PATH_BYTES, min_size=0, max_size=260).map(bytes),
)
def test_the_quick_match_and_the_strict_parse_agree(key: bytes, name: bytes) -> None:
    for raw in (b"/prov/" + key + b"/" + name, b"/prov/" + name):
        assert as_sent(raw) == strictly(raw), raw


def test_what_phones_send_splits_into_key_and_name() -> None:
    target = as_sent(f"/prov/{KEY}/y000000000066.cfg".encode())
    assert (target.route, target.key, target.name, target.problem) == (
        DEVICE_ROUTE,
        KEY,
        "y000000000066.cfg",
        None,
    )
    shared = as_sent(b"/prov/001565aabbcc.cfg")
    assert (shared.route, shared.key, shared.name) == (ROOT_ROUTE, None, "001565aabbcc.cfg")


def test_names_that_climb_or_overflow_are_not_files() -> None:
    for name in (".", "..", "a..b", "x" * 256):
        target = as_sent(f"/prov/{KEY}/{name}".encode())
        assert target.problem is not None and target.problem.status == 404, name
    assert as_sent(f"/prov/{KEY}/{'x' * 255}".encode()).problem is None
    for key in ("k" * 15, "k" * 129, "k" * 15 + "!"):
        assert as_sent(f"/prov/{key}/a.cfg".encode()).problem.status == 404, key
    assert as_sent(f"/prov/{KEY}/a%2Fb.cfg".encode()).problem.status == 400
    assert as_sent(f"/prov/{KEY}/a%00.cfg".encode()).problem.status == 400
