"""Generated documents from schema.graphql, sent by anonymous, u1, o1, p1 and the admin.

Every answer is data or an expected refusal (never a 500, never a masked "Unexpected error."),
every mutation answers with its payload or a coded refusal, and the database never holds a
half-written row or a secret in clear. Documents are generated from the schema: one root field
each, random arguments (awkward strings among them), random nested selections; arguments with a
known meaning mostly get values that reach deeper (IDs of the arranged rows, catalog equipment,
well-formed MACs and passwords), so that mutations succeed often enough to exercise rendering,
cascades and encryption. 2,500 documents per database, 5,000 per run.
"""

from __future__ import annotations

import base64
import json
import re
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import graphql
import pytest
from account_tree import ADMIN_PASSWORD, Member, build_tree
from conftest import PROJECT_ROOT, make_settings, wipe
from device_fixtures import provision
from extension_fixtures import create_extension
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.db import (
    UNSCOPED,
    AccessToken,
    Account,
    Base,
    Device,
    Extension,
    ExtensionType,
    RenderedFile,
    SipPreferences,
    TokenKind,
    utcnow,
)
from magnaprov.resolvers import Services
from magnaprov.resolvers.pagination import encode_cursor
from magnaprov.schema.node import encode_global_id
from magnaprov.settings import Settings
from magnaprov.templating import Equipment, expand_pattern, find_equipment, load_catalog
from magnaprov.tenancy import SecretDecryptionError, hash_token, new_token

SCHEMA = graphql.build_schema((PROJECT_ROOT / "schema.graphql").read_text())
# 2,500 per database: 5,000 documents per run with SQLite and PostgreSQL, in about a minute.
DOCUMENTS_PER_DATABASE = 2500
# Generated deletions strip the arranged rows; every so often they are arranged afresh.
REBUILD_EVERY = 250
CALLERS = ("anonymous", "u1", "o1", "p1", "admin")
EXPECTED_CODES = {"UNAUTHENTICATED", "BAD_USER_INPUT"}
MASKED = "Unexpected error."
FULL_NUMBER = re.compile(r"[0-9]{4}\*[0-9]{3}")
NODE_TYPES = ("Account", "Extension", "Device", "ProvisioningTemplate", "TemplateFile", "ApiToken")

# Clear values the arranged rows and the deeper-reaching arguments use; none may be stored.
PHONE_PASSWORDS = ("Sip-Line-9183x", "Sip-Line-2746y", "Sip-Line-5530z")
ADMIN_PASSWORDS = ("Web-Admin-7731q", "Web-Admin-1866r")
GENERATED_PASSWORDS = ("Fuzz-Pass-4821k", "Other#Secret-77", "Zz9!fuzz-Line-0")
U1_PASSWORD = "Zq9!005Kw#pass"  # build_tree's password of u1: logins succeed now and then
MACS = (*(f"00:15:65:AA:BB:{n:02X}" for n in range(1, 7)), "00:15:65:aa:bb:01", "0015.65aa.bb02")
SOURCES = (
    "{% extends server_default %}",
    "{{ device.mac }}\n{{ line.password }}",
    "{% for x in range(10**9) %}{% endfor %}",
    "{{ ''.__class__.__mro__ }}",
    "{% if %}",
)
EQUIPMENT: tuple[Equipment, ...] = tuple(load_catalog().equipment())
# Strings validation must handle: NUL (PostgreSQL refuses it in text), non-ASCII digits that
# `str.isdigit` and `\d` accept, LIKE wildcards, markup, line breaks, bidi overrides, length.
AWKWARD_STRINGS = (
    "a\x00b",
    "",
    " ",
    "\t\r\n",
    "x" * 600,
    "\u0661\u0662\u0663",
    "\uff11\uff12\uff13",
    "\u00b2",
    "%",
    "_",
    "\\",
    "' OR 1=1 --",
    '<a href="x">&amp;</a>',
    "{{ 7 * 7 }}",
    "line\r\nInjected = 1",
    "\u202eevil",
    "\U0001f600",
    "e\u0301",
    "\ufeff",
    "99999999999999999999",
    "-1",
)


def _raw_global_id(type_name: str, row: str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{row}".encode()).decode()


def _ids_of(type_name: str, rows: int) -> st.SearchStrategy[str]:
    """IDs of the arranged rows of `type_name` (numbered from 1; 0 is the Server default)."""
    return st.builds(encode_global_id, st.just(type_name), st.integers(0, rows))


def _global_ids() -> st.SearchStrategy[str]:
    """IDs of arranged rows mostly, then of absent rows, odd row parts and plain noise."""
    return st.one_of(
        st.builds(encode_global_id, st.sampled_from(NODE_TYPES), st.integers(0, 24)),
        st.builds(encode_global_id, st.sampled_from(NODE_TYPES), st.integers(2**31, 2**70)),
        st.builds(_raw_global_id, st.sampled_from(NODE_TYPES), st.text(max_size=12)),
        st.text(max_size=40),
    )


def _literal(value: str | list[str]) -> str:
    """The GraphQL literal of a string or list of strings (JSON string syntax is GraphQL's)."""
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _cursors() -> st.SearchStrategy[str]:
    raw = st.one_of(st.integers(0, 12).map(str), st.integers(2**31, 2**70).map(str), st.text())
    return st.one_of(st.integers(0, 12).map(encode_cursor), raw.map(_raw_cursor))


def _raw_cursor(row: str) -> str:
    return base64.urlsafe_b64encode(f"cursor:{row}".encode()).decode()


def _deep_values(equipment: Equipment) -> dict[str, st.SearchStrategy[str]]:
    """Literals that often pass validation, by argument name, for one catalog equipment."""
    keys = equipment.keys
    networks = st.lists(st.sampled_from(["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32"]))
    accounts = _ids_of("Account", 10)
    values: dict[str, st.SearchStrategy[Any]] = {
        "manufacturer": st.just(keys[0]),
        "model": st.just(keys[1]),
        "firmware": st.just(keys[2]),
        "fileName": st.sampled_from([spec.pattern for spec in equipment.firmware.files]),
        "mac": st.sampled_from(MACS),
        "number": st.integers(0, 12).map("{:03d}".format),
        "login": st.sampled_from(["u1", "o1", "admin", "fuzz-new", "Fuzz-Other"]),
        "name": st.sampled_from(["Desk Phone", "Line Two", "Template A"]),
        "friendlyName": st.sampled_from(["DeskPhone", "Lobby01"]),
        "email": st.just("fuzz@example.com"),
        "baseUrl": st.sampled_from(["https://prov.example.com", "http://10.0.0.1:8080/x"]),
        "tftpHost": st.just("10.0.0.2"),
        "registrarHost": st.just("sip.example.com"),
        "ntpServer": st.just("pool.ntp.org"),
        "registrarTransport": st.sampled_from(["UDP", "TCP", "TLS"]),
        "timeZone": st.sampled_from(["Europe/Berlin", "UTC", "Mars/Olympus"]),
        "applicationVersion": st.just("P0S3-08-11-00"),
        "adminUsername": st.just("admin"),
        "notes": st.just("Front desk"),
        "equipmentDescription": st.just("Yealink on the front desk"),
        "objectType": st.sampled_from(["device", "template"]),
        "source": st.sampled_from(SOURCES),
        "allowedRegistrationIps": networks,
        "tftpAllowedNetworks": networks,
        "extensionId": _ids_of("Extension", 5),
        "deviceId": _ids_of("Device", 3),
        "deviceIds": st.lists(_ids_of("Device", 3), max_size=3),
        "templateId": _ids_of("ProvisioningTemplate", 1),
        "ownerId": accounts,
        "parentId": accounts,
        "accountId": accounts,
        "after": _cursors(),
        **dict.fromkeys(PASSWORD_ARGUMENTS, st.nothing()),  # the document's one password
    }
    literals = {name: strategy.map(_literal) for name, strategy in values.items()}
    literals["passwordGeneration"] = st.just("MANUAL")
    numbers = {
        "updateInterval": st.integers(1, 3600),
        "registrarPort": st.integers(1, 65535),
        "expiresInDays": st.integers(1, 30),
        "first": st.integers(0, 3),
    }
    return literals | {name: strategy.map(str) for name, strategy in numbers.items()}


PASSWORD_ARGUMENTS = (
    "password",
    "currentPassword",
    "interfacePassword",
    "phonePassword",
    "phonePasswordConfirmation",
    "adminPassword",
    "adminPasswordConfirmation",
)


_COIN = st.booleans()
_MOSTLY = st.integers(0, 7).map(bool)  # true 7 times in 8
_NEARLY = st.integers(0, 15).map(bool)  # true 15 times in 16
_PASSWORD = st.sampled_from(
    GENERATED_PASSWORDS + PHONE_PASSWORDS + ADMIN_PASSWORDS + (U1_PASSWORD,)
).map(_literal)
_EQUIPMENT_INDEX = st.integers(0, len(EQUIPMENT) - 1)
_CALLER = st.sampled_from(CALLERS)
# Nested selections stop here: deep enough for every relation, well inside the depth limit.
MAX_DEPTH = 4
_SCALARS: dict[str, st.SearchStrategy[str]] = {
    "String": st.one_of(st.text(max_size=40), st.sampled_from(AWKWARD_STRINGS)).map(_literal),
    "ID": _global_ids().map(_literal),
    "Int": st.integers(-(2**31), 2**31 - 1).map(str),
    "Boolean": st.sampled_from(["true", "false"]),
}
_INPUTS: dict[str, st.SearchStrategy[str]] = {}
_FIELD_PICKS: dict[str, st.SearchStrategy[list[str]]] = {}
_FRAGMENT_PICKS: dict[str, st.SearchStrategy[list[graphql.GraphQLObjectType]]] = {}


def _input_values(type_: graphql.GraphQLInputType) -> st.SearchStrategy[str]:
    """Literals of an argument type: null where allowed, lists, enums, scalars."""
    key = str(type_)
    if key not in _INPUTS:
        if isinstance(type_, graphql.GraphQLNonNull):
            strategy = _non_null_values(type_.of_type)
        else:
            strategy = st.one_of(st.just("null"), _non_null_values(type_))
        _INPUTS[key] = strategy
    return _INPUTS[key]


def _non_null_values(type_: graphql.GraphQLInputType) -> st.SearchStrategy[str]:
    if isinstance(type_, graphql.GraphQLList):
        items = st.lists(_input_values(type_.of_type), max_size=3)
        return items.map(lambda values: "[" + ", ".join(values) + "]")
    if isinstance(type_, graphql.GraphQLEnumType):
        return st.sampled_from(sorted(type_.values))
    assert isinstance(type_, graphql.GraphQLScalarType), type_
    return _SCALARS[type_.name]


def _arguments(
    draw: st.DrawFn,
    field: graphql.GraphQLField,
    deep: dict[str, st.SearchStrategy[str]],
    password: str,
) -> str:
    """Every required argument and some others; those with a known meaning mostly meaningful.

    Password arguments take the document's one `password`, so confirmations can match.
    """
    parts = []
    for name, argument in field.args.items():
        if not graphql.is_required_argument(argument) and not draw(
            _MOSTLY if name in deep else _COIN
        ):
            continue
        if name in deep and draw(_NEARLY):
            value = password if name in PASSWORD_ARGUMENTS else draw(deep[name])
        else:
            value = draw(_input_values(argument.type))
        parts.append(f"{name}: {value}")
    return f"({', '.join(parts)})" if parts else ""


def _selection(draw: st.DrawFn, type_: graphql.GraphQLOutputType, depth: int) -> str:
    """A selection set for `type_` ("" for leaves): a few fields, nested to MAX_DEPTH."""
    named = graphql.get_named_type(type_)
    if isinstance(named, graphql.GraphQLInterfaceType):
        fragments = [
            f"... on {kind.name} {{ {_fields(draw, kind, depth, kind.name)} }}"
            for kind in draw(_fragment_picks(named))
        ]
        return " ".join(["id", *fragments])
    if isinstance(named, graphql.GraphQLObjectType):
        return _fields(draw, named, depth, "")
    return ""


def _fields(draw: st.DrawFn, type_: graphql.GraphQLObjectType, depth: int, alias: str) -> str:
    """Fields of one object type; inside fragments aliased per type, so they never conflict."""
    parts = []
    for name in draw(_field_picks(type_)):
        field = type_.fields[name]
        selection = _selection(draw, field.type, depth + 1)
        if selection and depth >= MAX_DEPTH:
            continue
        prefix = f"{alias}_{name}: " if alias else ""
        parts.append(prefix + name + _arguments(draw, field, {}, "null"))
        if selection:
            parts[-1] += f" {{ {selection} }}"
    return " ".join(parts) or "__typename"


def _field_picks(type_: graphql.GraphQLObjectType) -> st.SearchStrategy[list[str]]:
    if type_.name not in _FIELD_PICKS:
        names = st.sampled_from(sorted(type_.fields))
        _FIELD_PICKS[type_.name] = st.lists(names, min_size=1, max_size=4, unique=True)
    return _FIELD_PICKS[type_.name]


def _fragment_picks(
    interface: graphql.GraphQLInterfaceType,
) -> st.SearchStrategy[list[graphql.GraphQLObjectType]]:
    if interface.name not in _FRAGMENT_PICKS:
        types = st.sampled_from(sorted(SCHEMA.get_possible_types(interface), key=str))
        _FRAGMENT_PICKS[interface.name] = st.lists(types, max_size=2, unique_by=str)
    return _FRAGMENT_PICKS[interface.name]


@dataclass(frozen=True)
class Call:
    """One generated document and who sends it."""

    caller: str
    document: str
    is_mutation: bool
    root_field: str


assert SCHEMA.mutation_type is not None
_ROOT_FIELDS = st.sampled_from(
    [("query", name, field) for name, field in SCHEMA.query_type.fields.items()]
    + [("mutation", name, field) for name, field in SCHEMA.mutation_type.fields.items()]
)
# Built once: strategies made inside a composite are looked up by their (hashed) arguments.
DEEP_VALUES = tuple(_deep_values(equipment) for equipment in EQUIPMENT)


@st.composite
def calls(draw: st.DrawFn) -> Call:
    """A query or mutation of one root field with random arguments and selection, and a caller.

    Every query and mutation is drawn equally often; a mutation always selects its payload's
    userErrors, by which the answer is judged.
    """
    operation, name, field = draw(_ROOT_FIELDS)
    deep = DEEP_VALUES[draw(_EQUIPMENT_INDEX)]
    arguments = _arguments(draw, field, deep, draw(_PASSWORD))
    selection = _selection(draw, field.type, 1)
    if operation == "mutation":
        selection += " userErrors { field code message }"
    document = (
        f"{operation} {{ {name}{arguments} {{ {selection} }} }}"
        if selection
        else (f"{operation} {{ {name}{arguments} }}")
    )
    return Call(draw(_CALLER), document, operation == "mutation", name)


SET_PHONE_PASSWORD = """mutation($id: ID!, $p: String!) { updateSipPreferences(extensionId: $id,
  phonePassword: $p, phonePasswordConfirmation: $p) { userErrors { field code } } }"""
CREATE_TEMPLATE = """mutation($owner: ID) {
  createProvisioningTemplate(name: "Fuzz", ownerId: $owner) {
    provisioningTemplate { id } userErrors { field code } } }"""
SET_TEMPLATE_FILE = """mutation($id: ID!) {
  setTemplateFile(templateId: $id, manufacturer: "yealink", model: "T46S", firmware: "V81",
                  fileName: "{mac}.cfg", source: "{% extends server_default %}") {
    userErrors { field code } } }"""


class World:
    """The arranged rows, the callers' tokens, and what the checks need to know."""

    def __init__(
        self, gql: Any, session_factory: Any, services: Services, engine: AsyncEngine
    ) -> None:
        self.gql = gql
        self.session_factory = session_factory
        self.services = services
        self.engine = engine
        self.members: dict[str, Member] = {}
        self.examples = 0
        self.recent: deque[Call] = deque(maxlen=20)  # shown when the integrity check fails

    def __repr__(self) -> str:
        return f"World(after {self.examples} examples)"

    async def arrange(self) -> None:
        """A small tree with extensions, SIP passwords, a template and devices, via the API."""
        await wipe(self.engine)
        self.members = await build_tree(self.session_factory, self.services)
        token = {name: member.token for name, member in self.members.items()}
        phones = []
        for owner, actor, kind in [
            ("u1", "o1", "PHONE_TERMINAL"),
            ("u1", "o1", "PHONE_TERMINAL"),
            ("u1", "o1", "QUEUE"),
            ("u3", "p1", "PHONE_TERMINAL"),
            ("u4", "p2", "PHONE_TERMINAL"),
        ]:
            made = await create_extension(
                self.gql, token[actor], self.members[owner].gid, type_=kind
            )
            if kind == "PHONE_TERMINAL":
                phones.append((actor, made["extension"]["id"]))
        for (actor, extension), password in zip(phones, PHONE_PASSWORDS * 2, strict=False):
            body = await self.gql(
                SET_PHONE_PASSWORD, {"id": extension, "p": password}, token[actor]
            )
            assert body["data"]["updateSipPreferences"]["userErrors"] == [], body
        template = await self.gql(CREATE_TEMPLATE, {"owner": self.members["o1"].gid}, token["o1"])
        template_id = template["data"]["createProvisioningTemplate"]["provisioningTemplate"]["id"]
        body = await self.gql(SET_TEMPLATE_FILE, {"id": template_id}, token["o1"])
        assert body["data"]["setTemplateFile"]["userErrors"] == [], body
        manual = {"passwordGeneration": "MANUAL", "adminPassword": ADMIN_PASSWORDS[0]}
        manual["adminPasswordConfirmation"] = ADMIN_PASSWORDS[0]
        for (actor, extension), mac, extra in [
            (phones[0], MACS[0], {**manual, "template": template_id}),
            (phones[1], MACS[1], {"passwordGeneration": "AUTO"}),
            (phones[3], MACS[3], {}),
        ]:
            payload = await provision(self.gql, token[actor], extension, mac, **extra)
            assert payload["userErrors"] == [], payload

    async def send(self, call: Call) -> tuple[int, Any]:
        """The status and decoded body of the answer to `call`."""
        self.recent.append(call)
        token = None if call.caller == "anonymous" else self.members[call.caller].token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.gql.http.post(
            "/graphql", json={"query": call.document}, headers=headers
        )
        return (
            response.status_code,
            response.json() if response.status_code < 500 else response.text,
        )

    async def after(self, call: Call, body: dict[str, Any]) -> None:
        """Renew a caller whose session a generated logout ended; arrange afresh periodically."""
        self.examples += 1
        if self.examples % REBUILD_EVERY == 0:
            await self.check_integrity()
            await self.arrange()
            return
        refused = {error.get("extensions", {}).get("code") for error in body.get("errors", [])}
        if call.caller != "anonymous" and "UNAUTHENTICATED" in refused:
            await self.renew(call.caller)

    async def renew(self, caller: str) -> None:
        """A fresh session for `caller`, or a fresh world if its account was deleted."""
        member = self.members[caller]
        token = new_token()
        async with self.session_factory() as session:
            if await session.get(Account, member.id) is None:
                await self.arrange()
                return
            expires = utcnow() + timedelta(hours=1)
            session.add(
                AccessToken(
                    account_id=member.id,
                    kind=TokenKind.SESSION,
                    token_hash=hash_token(token),
                    created_at=utcnow(),
                    expires_at=expires,
                )
            )
            await session.commit()
        self.members[caller] = Member(
            member.id, member.login, member.password, token, member.tree_path, member.role
        )

    async def check_integrity(self) -> None:
        """No half-written rows, no secret in clear."""
        problems = await broken_rows(self.session_factory)
        problems += await secrets_in_clear(self.session_factory, self.services, self.engine)
        assert not problems, "\n".join([*problems, "after:", *(c.document for c in self.recent)])


async def broken_rows(session_factory: Any) -> list[str]:
    """Devices without their files, extensions without owner, SIP preferences or ASCII number."""
    problems = []
    async with session_factory() as session:
        devices = (await session.scalars(select(Device).execution_options(**UNSCOPED))).all()
        names = await session.execute(select(RenderedFile.device_id, RenderedFile.name_key))
        rendered: dict[int, set[str]] = {}
        for device_id, name in names:
            rendered.setdefault(device_id, set()).add(name)
        for device in devices:
            equipment = find_equipment(device.manufacturer, device.model, device.firmware)
            expected = {
                expand_pattern(spec.pattern, device.mac).lower()
                for spec in (equipment.firmware.files if equipment else ())
            }
            if device.generation_enabled and rendered.get(device.id, set()) != expected:
                problems.append(
                    f"device {device.id}: files {rendered.get(device.id)} != {expected}"
                )
        orphans = await session.scalars(
            select(Extension.id)
            .outerjoin(Account, Account.id == Extension.owner_id)
            .where(Account.id.is_(None))
            .execution_options(**UNSCOPED)
        )
        problems += [f"extension {row} has no owner" for row in orphans]
        bare = await session.scalars(
            select(Extension.id)
            .outerjoin(SipPreferences, SipPreferences.extension_id == Extension.id)
            .where(Extension.type == ExtensionType.PHONE_TERMINAL)
            .where(SipPreferences.extension_id.is_(None))
            .execution_options(**UNSCOPED)
        )
        problems += [f"phone extension {row} has no sip_preferences" for row in bare]
        numbers = await session.execute(
            select(Extension.id, Extension.full_number).execution_options(**UNSCOPED)
        )
        problems += [
            f"extension {row} is numbered {number!r}"
            for row, number in numbers
            if not FULL_NUMBER.fullmatch(number)
        ]
        files_without_device = await session.scalar(
            select(func.count())
            .select_from(RenderedFile)
            .outerjoin(Device, Device.id == RenderedFile.device_id)
            .where(Device.id.is_(None))
        )
        if files_without_device:
            problems.append(f"{files_without_device} rendered files without a device")
    return problems


async def secrets_in_clear(
    session_factory: Any, services: Services, engine: AsyncEngine
) -> list[str]:
    """Every secret blob decrypts with its row identity; no column holds a known password."""
    box = services.secrets
    blobs: list[tuple[str, bytes | None]] = []
    async with session_factory() as session:
        for sip in await session.scalars(select(SipPreferences)):
            blobs.append((sip.password_identity(), sip.phone_password))
        for device in await session.scalars(select(Device).execution_options(**UNSCOPED)):
            blobs.append((device.secret_identity("admin_password"), device.admin_password))
            blobs.append((device.secret_identity("key"), device.key_secret))
            blobs.append((device.secret_identity("digest_password"), device.digest_password))
    problems = []
    for identity, blob in blobs:
        if blob is None:
            continue
        if bytes(blob[:1]) != b"\x01":
            problems.append(f"{identity}: not a ciphertext")
            continue
        try:
            box.decrypt(bytes(blob), identity)
        except SecretDecryptionError as error:
            problems.append(f"{identity}: {error}")
    return problems + await known_passwords_stored(engine)


KNOWN_PASSWORDS = {ADMIN_PASSWORD, *PHONE_PASSWORDS, *ADMIN_PASSWORDS, *GENERATED_PASSWORDS}
KNOWN_PASSWORDS |= {f"Zq9!{index:03d}Kw#pass" for index in range(20)}  # build_tree's


async def known_passwords_stored(engine: AsyncEngine) -> list[str]:
    """Cells equal to a clear password anywhere, or containing one in the audit log."""
    problems = []
    clear = KNOWN_PASSWORDS | {password.encode() for password in KNOWN_PASSWORDS}
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in await connection.execute(select(table)):
                for column, value in row._mapping.items():
                    if isinstance(value, memoryview):
                        value = bytes(value)
                    if value in clear:
                        problems.append(f"{table.name}.{column} holds a clear password")
        details = await connection.scalars(text("SELECT details FROM audit_entry"))
        for detail in details:
            problems += [f"audit entry shows {p!r}" for p in KNOWN_PASSWORDS if p in detail]
    return problems


def unexpected(call: Call, status: int, body: Any) -> list[str]:
    """What is wrong with the answer: a 5xx, a masked or uncoded error, a missing payload."""
    if status != 200:
        return [f"HTTP {status}: {body}"]
    problems = []
    errors = body.get("errors") or []
    data = body.get("data")
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        if error["message"] == MASKED:
            problems.append(f"masked internal error at {error.get('path')}")
        elif code not in EXPECTED_CODES and not (data is None and "path" not in error):
            problems.append(f"unexpected error: {error}")
    if call.is_mutation and data is not None:
        payload = data.get(call.root_field)
        has_payload = isinstance(payload, dict) and isinstance(payload.get("userErrors"), list)
        if not has_payload and not any(error.get("path") for error in errors):
            problems.append(f"neither a payload nor a refusal: {payload}")
    return problems


@pytest.fixture
def settings(engine: AsyncEngine) -> Settings:
    """The test settings, with a MAC-conflict throttle thousands of documents do not reach:
    the world is arranged again and again from the same accounts, and the throttle (tested on
    its own) would refuse its devices."""
    return make_settings(
        engine.url.render_as_string(hide_password=False), mac_conflicts_per_account=1_000_000
    )


@pytest.fixture
async def world(
    gql: Any, session_factory: Any, services: Services, engine: AsyncEngine
) -> AsyncIterator[World]:
    """The arranged world; its final state is checked too."""
    arranged = World(gql, session_factory, services, engine)
    await arranged.arrange()
    yield arranged
    await arranged.check_integrity()


@hypothesis_settings(
    max_examples=DOCUMENTS_PER_DATABASE,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)
@given(call=calls())
async def test_generated_documents_get_data_or_an_expected_refusal(
    call: Call, world: World
) -> None:
    status, body = await world.send(call)
    problems = unexpected(call, status, body)
    assert not problems, f"{call.caller} sent:\n{call.document}\n" + "\n".join(problems)
    await world.after(call, body)


@hypothesis_settings(max_examples=300, deadline=None)
@given(call=calls())
def test_generated_documents_are_valid_for_the_schema(call: Call) -> None:
    # Otherwise the server's validation errors, which the fuzz accepts, would hide a bad generator.
    assert graphql.validate(SCHEMA, graphql.parse(call.document)) == [], call.document
