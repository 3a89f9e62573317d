import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magnaprov.serve.user_agents import (
    MAX_USER_AGENT_LENGTH,
    PhoneAgent,
    mac_from_text,
    parse_user_agent,
)

# Every User-Agent quoted in shared/reference/phones.md. Where the note elides part of an agent
# with "…" the literal text is kept: the elided MAC is then simply not a MAC.
DOCUMENTED_AGENTS = [
    (
        "Yealink SIP-T46G 28.72.0.1 00:15:65:4a:a9:37",
        PhoneAgent("yealink", "T46G", "28.72.0.1", "00:15:65:4a:a9:37"),
    ),
    (
        "Yealink SIP-T34W 124.86.0.75 24:9a:d8:88:d0:f4",
        PhoneAgent("yealink", "T34W", "124.86.0.75", "24:9a:d8:88:d0:f4"),
    ),
    (
        "yealink SIP-T28P 2.70.0.140 00:15:65:13:ae:0b",
        PhoneAgent("yealink", "T28P", "2.70.0.140", "00:15:65:13:ae:0b"),
    ),
    (
        "Yealink SIP VP-T49G 51.80.0.10 …",
        PhoneAgent("yealink", "VP-T49G", "51.80.0.10", None),
    ),
    (
        "Yealink SIP-T56A  58.80.0.25 001565f429a4",
        PhoneAgent("yealink", "T56A", "58.80.0.25", "00:15:65:f4:29:a4"),
    ),
    (
        "FileTransport PolycomSoundPointIP-SPIP_335-UA/3.2.1.0078",
        PhoneAgent("polycom", "SPIP335", "3.2.1.0078", None),
    ),
    (
        "FileTransport PolycomVVX-VVX_400-UA/4.1.4.7430 Type/Application",
        PhoneAgent("polycom", "VVX400", "4.1.4.7430", None),
    ),
    (
        "FileTransport PolycomSoundStationIP-SSIP_6000-UA/5.0.3.1667 Type/Updater",
        PhoneAgent("polycom", "SSIP6000", "5.0.3.1667", None),
    ),
    (
        "Cisco/SPA508G-7.4.8a (0002FDFF2103)(CBT141400UK)",
        PhoneAgent("cisco", "SPA508G", "7.4.8a", "00:02:fd:ff:21:03"),
    ),
    (
        "Cisco/SPA525G-7.4.7 (CBT141900G7)",
        PhoneAgent("cisco", "SPA525G", "7.4.7", None),
    ),
    (
        "Linksys/SPA-942-6.1.5(a) (88019FA42805)",
        PhoneAgent("linksys", "SPA-942", "6.1.5(a)", None),
    ),
    (
        "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D24"
        " SXM:0 UXM:0)",
        PhoneAgent("snom", "D785", "10.1.33.33", "00:04:13:92:2d:24"),
    ),
    (
        "Mozilla/4.0 (compatible; snom710-SIP 8.7.5.35 1.1.5-IFX-05.01.12 000413741767)",
        PhoneAgent("snom", "710", "8.7.5.35", "00:04:13:74:17:67"),
    ),
    (
        # The note quotes only the tail "…snom320-SIP 8.4.18 1.1.3-s)"; this is the whole agent.
        "Mozilla/4.0 (compatible; snom320-SIP 8.4.18 1.1.3-s)",
        PhoneAgent("snom", "320", "8.4.18", None),
    ),
    (
        "Aastra6731i MAC:00-08-5D-23-74-29 V:3.2.0.70-SIP",
        PhoneAgent("aastra", "6731i", "3.2.0.70", "00:08:5d:23:74:29"),
    ),
    (
        "Mitel6940 MAC:14-00-E9-1B-45-24 V:6.4.0.140-SIP",
        PhoneAgent("mitel", "6940", "6.4.0.140", "14:00:e9:1b:45:24"),
    ),
    (
        "Grandstream Model HW GXP2135 SW 1.0.7.97 DevId 000b828aa872",
        PhoneAgent("grandstream", "GXP2135", "1.0.7.97", "00:0b:82:8a:a8:72"),
    ),
    (
        "Grandstream Model HW GXP1628 SW 1.0.4.138 DevId c074ad2bd859",
        PhoneAgent("grandstream", "GXP1628", "1.0.4.138", "c0:74:ad:2b:d8:59"),
    ),
    (
        "Grandstream GXP2000 (gxp2000e.bin:1.2.5.3/boot55e.bin:1.1.6.9) DevId 000b822726c8",
        PhoneAgent("grandstream", "GXP2000", "1.2.5.3", "00:0b:82:27:26:c8"),
    ),
    (
        "Fanvil X4 2.10.2.6887 0c383e07e16c",
        PhoneAgent("fanvil", "X4", "2.10.2.6887", "0c:38:3e:07:e1:6c"),
    ),
    (
        "Fanvil X5U-V2 2.12.16.17 0c383e557eb1",
        PhoneAgent("fanvil", "X5U-V2", "2.12.16.17", "0c:38:3e:55:7e:b1"),
    ),
    (
        "Fanvil X6U Pro 0.0.10 0c383e2cd782",
        PhoneAgent("fanvil", "X6U Pro", "0.0.10", "0c:38:3e:2c:d7:82"),
    ),
    (
        "Fanvil X5U-V2 2.12.1 0c38…",
        PhoneAgent("fanvil", "X5U-V2", "2.12.1", None),
    ),
    (
        "Panasonic_KX-UT113/01.133 (0080f0c8c381)",
        PhoneAgent("panasonic", "KX-UT113", "01.133", "00:80:f0:c8:c3:81"),
    ),
    (
        "Panasonic_KX-UT670/01.022 (0080f0…)",
        PhoneAgent("panasonic", "KX-UT670", "01.022", None),
    ),
    (
        "Panasonic_KX-TGP500B09/22.90 (<MAC>)",
        PhoneAgent("panasonic", "KX-TGP500B09", "22.90", None),
    ),
]

NOT_PHONES = [
    "",
    "   ",
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)",
    "Yealink",
    "Cisco SPA508G",  # DHCP option 60, not an HTTP agent
    "LINKSYS SPA-942",
    "Fanvil",
    "Fanvil 2.10.2.6887 0c383e07e16c",  # no model before the version
    "Grandstream Model HW GXP2135",
]


@pytest.mark.parametrize(("user_agent", "expected"), DOCUMENTED_AGENTS)
def test_every_documented_agent_is_recognised(user_agent: str, expected: PhoneAgent) -> None:
    assert parse_user_agent(user_agent) == expected


@pytest.mark.parametrize("user_agent", NOT_PHONES)
def test_agents_that_are_not_phones_are_not_recognised(user_agent: str) -> None:
    assert parse_user_agent(user_agent) is None


def test_the_serial_after_a_cisco_mac_is_never_taken_for_the_mac() -> None:
    agent = parse_user_agent("Cisco/SPA504G-7.5.5 (CBT1414000A)(8843E1AABBCC)")
    assert agent is not None
    assert agent.mac == "88:43:e1:aa:bb:cc"


def test_a_linksys_serial_of_twelve_hex_digits_is_not_reported_as_a_mac() -> None:
    agent = parse_user_agent("Linksys/SPA-942-6.1.5(a) (000E08AABBCC)")
    assert agent == PhoneAgent("linksys", "SPA-942", "6.1.5(a)", None)


def test_grandstream_with_a_hardware_version_keeps_model_and_firmware() -> None:
    agent = parse_user_agent("Grandstream Model HW GXP2160 V2.6A SW 1.0.11.3 DevId 000b82aabbcc")
    assert agent == PhoneAgent("grandstream", "GXP2160", "1.0.11.3", "00:0b:82:aa:bb:cc")


def test_surrounding_whitespace_does_not_change_the_result() -> None:
    bare = "Fanvil X4 2.10.2.6887 0c383e07e16c"
    assert parse_user_agent(f"  {bare}\t") == parse_user_agent(bare)


def test_an_agent_longer_than_the_bound_is_refused_even_if_it_starts_like_a_phone() -> None:
    agent = "Yealink SIP-T46G 28.72.0.1 00:15:65:4a:a9:37 " + "x" * MAX_USER_AGENT_LENGTH
    assert parse_user_agent(agent) is None


@pytest.mark.parametrize(
    "prefix",
    [
        "Yealink SIP-",
        "Grandstream Model HW ",
        "Grandstream GXP2000 (",
        "Cisco/SPA508G-",
        "Mozilla/4.0 (compatible; snom",
        "Aastra6731i MAC:",
        "Fanvil ",
        "Panasonic_",
        "FileTransport PolycomVVX-",
    ],
)
def test_hostile_agents_of_the_maximum_length_are_parsed_quickly(prefix: str) -> None:
    fillers = [" ", "a", "a ", "1.", ":", "(", "a(", "-", "/", "1.1 "]
    started = time.perf_counter()
    for filler in fillers:
        body = prefix + filler * MAX_USER_AGENT_LENGTH
        parse_user_agent(body[:MAX_USER_AGENT_LENGTH])
    # Catastrophic backtracking would take seconds on inputs this long; linear matching takes µs.
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "text",
    ["0004f200106c", "0004F200106C", "00:04:f2:00:10:6c", "00-04-F2-00-10-6C"],
)
def test_each_mac_notation_normalises_to_lowercase_with_colons(text: str) -> None:
    assert mac_from_text(text) == "00:04:f2:00:10:6c"


@pytest.mark.parametrize(
    "text",
    ["0004f200106", "0004f200106c0", "00:04:f2-00:10:6c", "0004f200106g", "CBT141900G7", ""],
)
def test_text_that_is_not_exactly_one_mac_gives_none(text: str) -> None:
    assert mac_from_text(text) is None


def test_non_ascii_digits_are_not_accepted_in_a_mac() -> None:
    assert mac_from_text("\u0660\u066004f200106c") is None


@given(st.text(max_size=MAX_USER_AGENT_LENGTH + 20))
def test_any_text_is_either_unrecognised_or_yields_a_normalised_mac(text: str) -> None:
    agent = parse_user_agent(text)
    assert agent is None or agent.mac is None or mac_from_text(agent.mac) == agent.mac


@given(
    st.text(
        alphabet=st.sampled_from("YealinkSIP-T46GCisco/()snomMAC:DevId 0123456789abcdef.…"),
        max_size=120,
    )
)
def test_phone_like_fragments_never_raise(text: str) -> None:
    agent = parse_user_agent(text)
    assert agent is None or isinstance(agent, PhoneAgent)


@given(st.binary(min_size=6, max_size=6))
def test_any_mac_in_a_yealink_or_aastra_agent_comes_back_normalised(raw: bytes) -> None:
    mac = ":".join(f"{octet:02x}" for octet in raw)
    yealink = parse_user_agent(f"Yealink SIP-T46S 66.86.0.15 {mac}")
    aastra = parse_user_agent(f"Aastra6731i MAC:{mac.upper().replace(':', '-')} V:3.2.0.70-SIP")
    assert yealink is not None
    assert aastra is not None
    assert yealink.mac == aastra.mac == mac
