"""Reading the catalog's TOML data files into the catalog types.

Each file under ``catalog/`` describes one manufacturer: its MAC prefixes, its
firmware profiles (the file set a firmware asks for) and its models. A model
names the profiles it runs and the values (``vars``) that fill the model-specific
parts of file names, such as Yealink's ``y000000000066.cfg``.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, NamedTuple, cast, get_args

from .boot_paths import BootPath, BootStep, BootTransport
from .catalog import (
    Catalog,
    Equipment,
    FileSpec,
    FirmwareVersion,
    LinkStyle,
    MacCase,
    Manufacturer,
    Model,
    UpdateProtocol,
)
from .file_names import pattern_has_mac
from .formats import FileFormat

__all__ = [
    "CatalogError",
    "find_equipment",
    "load_catalog",
    "read_manufacturer",
    "template_resource",
]

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_PREFIX = re.compile(r"^[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MAC_NAMES = ("mac", "MAC")


class CatalogError(ValueError):
    """A catalog data file is malformed; the message names the file and the entry."""


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The whole equipment catalog, read once per process."""
    folder = resources.files(__package__).joinpath("catalog")
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".toml")),
        key=lambda entry: entry.name,
    )
    makers = tuple(read_manufacturer(entry) for entry in files)
    _require_unique([maker.key for maker in makers], "manufacturer key", "catalog")
    return Catalog(makers)


def find_equipment(manufacturer: str, model: str, firmware: str) -> Equipment | None:
    """The (manufacturer, model, firmware) triple with these keys, or None."""
    return load_catalog().find(manufacturer, model, firmware)


def template_resource(path: str) -> Traversable:
    """The Server default template file at ``path`` (relative to ``defaults/``)."""
    node = resources.files(__package__).joinpath("defaults")
    for part in path.split("/"):
        node = node.joinpath(part)
    return node


def read_manufacturer(entry: Traversable) -> Manufacturer:
    """One manufacturer's data file, validated; `CatalogError` names the file and entry."""
    where = entry.name
    data = tomllib.loads(entry.read_text(encoding="utf-8"))
    key = _key(data, "key", where)
    prefixes = tuple(_texts(data, "mac_prefixes", where))
    for prefix in prefixes:
        if not _PREFIX.match(prefix):
            raise CatalogError(f"{where}: MAC prefix {prefix!r} is not like '00:15:65'")
    profiles = _table(data, "firmwares", where)
    defaults = _ModelDefaults(
        protocols=_protocols(_texts(data, "protocols", where), where),
        link_style=_link_style(_text(data, "link_style", where, "directory"), where),
        boot=_table(data, "boot", where, {}),
    )
    models = tuple(
        _read_model(item, profiles, defaults, f"{where} model")
        for item in _tables(data, "models", where)
    )
    _require_unique([model.key for model in models], "model key", where)
    return Manufacturer(
        key=key,
        name=_text(data, "name", where),
        mac_prefixes=prefixes,
        mac_case=_mac_case(_text(data, "mac_case", where), where),
        models=models,
    )


class _ModelDefaults(NamedTuple):
    """What a manufacturer's models have unless they say otherwise."""

    protocols: tuple[UpdateProtocol, ...]
    link_style: LinkStyle
    boot: dict[str, Any]  # the boot path of profiles without one of their own


def _read_model(
    data: dict[str, Any], profiles: dict[str, Any], defaults: _ModelDefaults, where: str
) -> Model:
    key = _key(data, "key", where)
    where = f"{where} {key}"
    variables = {name: str(value) for name, value in _table(data, "vars", where, {}).items()}
    firmware_keys = _texts(data, "firmwares", where)
    if not firmware_keys:
        raise CatalogError(f"{where}: no firmware")
    firmwares = tuple(
        _read_firmware(
            name, _table(profiles, name, f"{where} firmware"), variables, defaults.boot, where
        )
        for name in firmware_keys
    )
    _require_unique([firmware.key for firmware in firmwares], "firmware key", where)
    protocols = (
        _protocols(_texts(data, "protocols", where), where)
        if "protocols" in data
        else defaults.protocols
    )
    return Model(
        key=key,
        name=_text(data, "name", where),
        lines=_positive_int(data, "lines", where),
        protocols=protocols,
        link_style=_link_style(_text(data, "link_style", where, defaults.link_style), where),
        firmwares=firmwares,
        variables=variables,
    )


def _read_firmware(
    profile: str,
    data: dict[str, Any],
    variables: dict[str, str],
    default_boot: dict[str, Any],
    where: str,
) -> FirmwareVersion:
    # A profile's table name is unique in its file; "key" lets two profiles (say,
    # with and without a model common file) show the same firmware key.
    where = f"{where} firmware {profile}"
    key = _key(data, "key", where) if "key" in data else profile
    if not _KEY.match(key):
        raise CatalogError(f"{where}: bad key")
    files = tuple(_read_file(item, variables, where) for item in _tables(data, "files", where))
    _require_unique([spec.pattern.lower() for spec in files], "file pattern", where)
    _require_unique([spec.role for spec in files], "file role", where)
    if not any(spec.per_device for spec in files):
        raise CatalogError(f"{where}: no per-device file")
    return FirmwareVersion(
        key=key,
        name=_text(data, "name", where),
        requires_application_version=bool(data.get("requires_application_version", False)),
        files=files,
        boot=_read_boot(_table(data, "boot", where, default_boot), files, variables, where),
    )


def _read_boot(
    data: dict[str, Any], files: tuple[FileSpec, ...], variables: dict[str, str], where: str
) -> BootPath:
    """The factory boot of a firmware: every name it answers or points to is one of its files,
    every miss says why, and its main file is reached."""
    where = f"{where} boot"
    if not data:
        raise CatalogError(f"{where}: missing (a 'boot' table of the firmware or the maker)")
    patterns = {spec.pattern.lower(): spec.pattern for spec in files}
    options = _dhcp_options(data, where)
    user_agent_mac = _flag(data, "user_agent_mac", where, None)
    steps = tuple(
        _read_boot_step(item, patterns, variables, user_agent_mac, f"{where} request {index + 1}")
        for index, item in enumerate(_tables(data, "requests", where))
    )
    if not steps or steps[0].fallback:
        raise CatalogError(f"{where}: the first request cannot be a fallback (or none)")
    main = _known_file(_fill_pattern(_text(data, "main", where), variables, where), patterns, where)
    reached = {step.answer for step in steps} | {name for step in steps for name in step.leads_to}
    if main not in reached or not pattern_has_mac(main):
        raise CatalogError(f"{where}: main file {main!r} must carry the MAC and be reached")
    note = data.get("note", "")
    if not isinstance(note, str):
        raise CatalogError(f"{where}: 'note' must be a string")
    return BootPath(options, user_agent_mac, steps, main, note)


def _dhcp_options(data: dict[str, Any], where: str) -> tuple[int, ...]:
    options = data.get("dhcp_options")
    if (
        not isinstance(options, list)
        or not options
        or not all(type(option) is int and 1 <= option <= 254 for option in options)
    ):
        raise CatalogError(f"{where}: 'dhcp_options' must be a list of DHCP option numbers")
    return tuple(options)


def _flag(data: dict[str, Any], name: str, where: str, default: bool | None = False) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise CatalogError(f"{where}: {name!r} must be true or false")
    return value


def _read_boot_step(
    data: dict[str, Any],
    patterns: dict[str, str],
    variables: dict[str, str],
    user_agent_mac: bool,
    where: str,
) -> BootStep:
    name = _fill_pattern(_text(data, "name", where), variables, where)
    where = f"{where} {name}"
    over = _texts(data, "over", where)
    if not over or any(item not in get_args(BootTransport) for item in over):
        raise CatalogError(f"{where}: 'over' must list TFTP and/or HTTP")
    answer = _known_file(name, patterns, where) if _flag(data, "answered", where) else None
    pointed = _texts(data, "leads_to", where) if "leads_to" in data else []
    leads_to = tuple(
        _known_file(_fill_pattern(item, variables, where), patterns, where) for item in pointed
    )
    if leads_to and answer is None:
        raise CatalogError(f"{where}: a miss leads nowhere ('leads_to' needs 'answered')")
    note = data.get("note", "")
    if not isinstance(note, str) or (answer is None and not note):
        raise CatalogError(f"{where}: a miss needs a 'note' saying why it is not answered")
    step = BootStep(
        name=name,
        over=tuple(cast(BootTransport, item) for item in over),
        answer=answer,
        leads_to=leads_to,
        note=note,
        user_agent_mac=user_agent_mac,
        fallback=_flag(data, "fallback", where),
    )
    if answer is not None and not step.answered_over and "TFTP" not in over:
        raise CatalogError(
            f"{where}: answered, but neither its name nor the User-Agent tells the device"
        )
    return step


def _known_file(name: str, patterns: dict[str, str], where: str) -> str:
    found = patterns.get(name.lower())
    if found is None:
        raise CatalogError(f"{where}: {name!r} is no file of this firmware")
    return found


def _read_file(data: dict[str, Any], variables: dict[str, str], where: str) -> FileSpec:
    pattern = _fill_pattern(_text(data, "pattern", where), variables, where)
    where = f"{where} file {pattern}"
    try:
        file_format = FileFormat(_text(data, "format", where))
    except ValueError as error:
        raise CatalogError(f"{where}: unknown format") from error
    template = _text(data, "template", where)
    if not template_resource(template).is_file():
        raise CatalogError(f"{where}: template {template!r} does not exist")
    xml_root = data.get("xml_root")
    if (file_format is FileFormat.XML) != isinstance(xml_root, str):
        raise CatalogError(f"{where}: xml_root is required for XML files and only for them")
    return FileSpec(
        pattern=pattern,
        role=_key(data, "role", where),
        format=file_format,
        template=template,
        xml_root=xml_root if isinstance(xml_root, str) else None,
    )


def _fill_pattern(pattern: str, variables: dict[str, str], where: str) -> str:
    """Put the model's values into a file name pattern, leaving the MAC placeholders."""

    def fill(found: re.Match[str]) -> str:
        name = found.group(1)
        if name in _MAC_NAMES:
            return found.group(0)
        if name not in variables:
            raise CatalogError(f"{where}: pattern {pattern!r} needs model var {name!r}")
        return variables[name]

    filled = _PLACEHOLDER.sub(fill, pattern)
    if sum(filled.count("{" + name + "}") for name in _MAC_NAMES) > 1 or "/" in filled:
        raise CatalogError(f"{where}: pattern {filled!r} must be one name with at most one MAC")
    return filled


def _require_unique(values: list[str], what: str, where: str) -> None:
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise CatalogError(f"{where}: duplicate {what}: {', '.join(duplicates)}")


def _text(data: dict[str, Any], name: str, where: str, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str) or not value:
        raise CatalogError(f"{where}: {name!r} must be a non-empty string")
    return value


def _key(data: dict[str, Any], name: str, where: str) -> str:
    value = _text(data, name, where)
    if not _KEY.match(value):
        raise CatalogError(f"{where}: {name} {value!r} has characters a key cannot have")
    return value


def _texts(data: dict[str, Any], name: str, where: str) -> list[str]:
    value = data.get(name)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise CatalogError(f"{where}: {name!r} must be a list of strings")
    return cast(list[str], value)


def _positive_int(data: dict[str, Any], name: str, where: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise CatalogError(f"{where}: {name!r} must be a positive integer")
    return value


def _table(
    data: dict[str, Any], name: str, where: str, default: dict[str, Any] | None = None
) -> dict[str, Any]:
    value = data.get(name, default)
    if not isinstance(value, dict):
        raise CatalogError(f"{where}: {name!r} must be a table")
    return cast(dict[str, Any], value)


def _tables(data: dict[str, Any], name: str, where: str) -> list[dict[str, Any]]:
    value = data.get(name)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise CatalogError(f"{where}: {name!r} must be a list of tables")
    return cast(list[dict[str, Any]], value)


def _protocols(values: list[str], where: str) -> tuple[UpdateProtocol, ...]:
    allowed = get_args(UpdateProtocol)
    if not values or any(value not in allowed for value in values):
        raise CatalogError(f"{where}: protocols must be among {', '.join(allowed)}")
    return tuple(cast(UpdateProtocol, value) for value in values)


def _link_style(value: str, where: str) -> LinkStyle:
    if value not in get_args(LinkStyle):
        raise CatalogError(f"{where}: unknown link_style {value!r}")
    return cast(LinkStyle, value)


def _mac_case(value: str, where: str) -> MacCase:
    if value not in get_args(MacCase):
        raise CatalogError(f"{where}: mac_case must be 'lower' or 'upper'")
    return cast(MacCase, value)
