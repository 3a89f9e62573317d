"""Announcing which devices' served files a transaction changes, to every serving process.

The device routes cache what they serve. Whatever changes it announces the device ids inside
the transaction that makes the change: renders (`magnaprov.resolvers.rendering`) call
`announce_changes` themselves; the session hooks installed by `install_change_hooks` cover the
rest (a device changed or deleted through the ORM, bulk deletes of devices, extensions or
accounts, the global preferences). A device added or changed through the ORM also announces its
MAC: the routes remember MACs that named no device, and a MAC that now names one must be
served at once. The announcement reaches:

* this process, after commit, through `subscribe`d callbacks (all SQLite needs);
* every process, on PostgreSQL, through `pg_notify` on `FILES_CHANNEL` in the same
  transaction, which PostgreSQL delivers on commit only.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable

from sqlalchemy import event, func, select
from sqlalchemy.exc import UnboundExecutionError
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from magnaprov.db.account import Account
from magnaprov.db.device import Device
from magnaprov.db.extension import Extension
from magnaprov.db.global_preferences import GlobalPreferences

__all__ = [
    "EVERYTHING",
    "FILES_CHANNEL",
    "Subscriber",
    "announce_changes",
    "install_change_hooks",
    "subscribe",
    "unsubscribe",
]

FILES_CHANNEL = "magnaprov_files"
# The payload meaning "anything may have changed": drop the whole cache.
EVERYTHING = "*"
_CHANGED_DEVICES = "magnaprov.changed_devices"
_CHANGED_ALL = "magnaprov.changed_all"
_CHANGED_MACS = "magnaprov.changed_macs"
# A payload is comma-separated ids and MACs (a MAC holds colons, an id never does): 400 of
# them, at most 18 bytes each, stay well under NOTIFY's 8000-byte payload limit.
_TOKENS_PER_PAYLOAD = 400

# Called after a commit of this process with the changed ids (None for "everything") and the
# MACs (lower case with colons) of the devices added or changed.
Subscriber = Callable[[set[int] | None, set[str]], None]
# Bound methods, held weakly: a cache that is gone stops being called without unsubscribing.
_subscribers: list[weakref.WeakMethod[Subscriber]] = []
_hooks_installed = False


def subscribe(callback: Subscriber) -> None:
    """Call the bound method `callback` after every commit that announced changes."""
    _subscribers.append(weakref.WeakMethod(callback))


def unsubscribe(callback: Subscriber) -> None:
    """Stop calling `callback`."""
    _subscribers[:] = [ref for ref in _subscribers if ref() not in (None, callback)]


def announce_changes(
    session: Session, device_ids: Iterable[int] | None, macs: Iterable[str] = ()
) -> None:
    """Announce, within `session`'s transaction, that these devices (None: all) change, and
    that these MACs now name a device (or name another one)."""
    if device_ids is None:
        session.info[_CHANGED_ALL] = True
        payloads = [EVERYTHING]
    else:
        ordered = sorted(set(device_ids))
        named = sorted(set(macs))
        if not ordered and not named:
            return
        session.info.setdefault(_CHANGED_DEVICES, set()).update(ordered)
        session.info.setdefault(_CHANGED_MACS, set()).update(named)
        tokens = [*map(str, ordered), *named]
        payloads = [
            ",".join(tokens[start : start + _TOKENS_PER_PAYLOAD])
            for start in range(0, len(tokens), _TOKENS_PER_PAYLOAD)
        ]
    try:
        dialect = session.get_bind().dialect.name
    except UnboundExecutionError:
        return
    if dialect == "postgresql":
        with session.no_autoflush:
            for payload in payloads:
                session.execute(select(func.pg_notify(FILES_CHANNEL, payload)))


def install_change_hooks() -> None:
    """Make this process announce changes that do not go through a render (idempotent)."""
    global _hooks_installed
    if _hooks_installed:
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "do_orm_execute", _before_bulk_statement)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _hooks_installed = True


def _before_flush(session: Session, _context: UOWTransaction, _instances: object) -> None:
    changed = (*session.dirty, *session.deleted)
    ids = {obj.id for obj in changed if isinstance(obj, Device) and obj.id is not None}
    macs = {
        obj.mac
        for obj in (*session.new, *session.dirty)
        if isinstance(obj, Device) and isinstance(obj.mac, str)
    }
    everything = any(isinstance(obj, Extension | Account) for obj in session.deleted) or any(
        isinstance(obj, GlobalPreferences) for obj in (*session.dirty, *session.new)
    )
    if everything or ids or macs:
        announce_changes(session, None if everything else ids, macs)


def _before_bulk_statement(state: ORMExecuteState) -> None:
    if not (state.is_delete or state.is_update):
        return
    mapper = state.bind_mapper
    if mapper is not None and mapper.class_ in (Device, Extension, Account, GlobalPreferences):
        announce_changes(state.session, None)


def _after_commit(session: Session) -> None:
    device_ids = session.info.pop(_CHANGED_DEVICES, None) or set()
    macs = session.info.pop(_CHANGED_MACS, None) or set()
    everything = session.info.pop(_CHANGED_ALL, False)
    if everything or device_ids or macs:
        for ref in list(_subscribers):
            callback = ref()
            if callback is not None:
                callback(None if everything else set(device_ids), set(macs))


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED_DEVICES, None)
    session.info.pop(_CHANGED_MACS, None)
    session.info.pop(_CHANGED_ALL, False)
