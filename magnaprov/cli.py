"""The `magnaprov` command: serve, check, migrate, create-admin, demo, regenerate, rotate-key,
backup, restore."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn

from magnaprov import backup as backups
from magnaprov.db import create_engine, create_session_factory, is_sqlite
from magnaprov.db.engine import COMMAND_TIMEOUT_SECONDS
from magnaprov.db.migrations import upgrade_to_head
from magnaprov.db.revisions import migrate_for_serving
from magnaprov.resolvers import Services
from magnaprov.resolvers.bootstrap import ADMIN_LOGIN, ensure_admin, reset_admin_password
from magnaprov.resolvers.configuration_check import Finding, check_configuration
from magnaprov.resolvers.demo import DemoLogin, create_demo_tree
from magnaprov.resolvers.regeneration import BulkSummary, count_devices, regenerate_in_bulk
from magnaprov.resolvers.secret_rotation import reencrypt_all
from magnaprov.resolvers.services import secret_box_for
from magnaprov.serve.listeners import serve_http_and_https
from magnaprov.serve.log_config import configure_logging, logging_config
from magnaprov.serve.readiness import wait_for_database
from magnaprov.serve.shared_metrics import (
    create_shared_folder,
    forget_shared_folder,
    remove_shared_folder,
)
from magnaprov.serve.tftp_service import TftpThread
from magnaprov.settings import Settings, get_settings
from magnaprov.tenancy.secrets import (
    Keyring,
    SecretBox,
    load_keyring,
    parse_keyring,
    write_key_file,
)

__all__ = ["app"]

log = logging.getLogger("magnaprov.cli")

app = typer.Typer(help="magnaprov: SIP phone provisioning server.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [MAGNAPROV_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [MAGNAPROV_PORT].")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    tls_cert: Annotated[
        Path | None, typer.Option(help="TLS certificate (PEM) [MAGNAPROV_TLS_CERT_FILE].")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="TLS private key (PEM) [MAGNAPROV_TLS_KEY_FILE].")
    ] = None,
    https_port: Annotated[
        int | None, typer.Option(help="Port HTTPS listens on [MAGNAPROV_HTTPS_PORT].")
    ] = None,
) -> None:
    """Migrate the database, create the admin on first start, and serve the API, the device
    routes, HTTPS (when given a certificate) and (when the global preferences switch it on)
    TFTP."""
    settings = _with_flags(
        HOST=host, PORT=port, TLS_CERT_FILE=tls_cert, TLS_KEY_FILE=tls_key, HTTPS_PORT=https_port
    )
    if workers > 1 and settings.tls_served:
        typer.echo(
            "Refusing --workers > 1 with TLS: HTTPS is served by one process. Use one worker, "
            "or terminate TLS in a reverse proxy in front of several workers (see the README).",
            err=True,
        )
        raise typer.Exit(code=2)
    if workers > 1 and is_sqlite(settings.database_url):
        typer.echo(
            "Refusing --workers > 1 with SQLite: each worker caches provisioning files and only "
            "PostgreSQL tells the others when they change. Use one worker, or set "
            "MAGNAPROV_DATABASE_URL=postgresql+asyncpg://user:pass@host/db.",
            err=True,
        )
        raise typer.Exit(code=2)
    configure_logging(settings)
    asyncio.run(_wait_for_database(settings))
    _migrate_for_serving(settings)
    asyncio.run(_ensure_admin(settings, reset=False))
    for finding in asyncio.run(_findings(settings)):
        logging.getLogger("magnaprov.check").warning(
            "%s: %s %s", finding.code, finding.message, finding.advice
        )
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    options = {
        # X-Forwarded-For and -Proto only from the proxies named in the settings: uvicorn's
        # default believes loopback, which would let any local client choose its address.
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": settings.trusted_proxies or None,
        "server_header": False,
        "access_log": False,
        "log_config": logging_config(settings),
    }
    # Several workers sum their metrics through a folder of this run only (see shared_metrics).
    metrics_folder = create_shared_folder() if workers > 1 else None
    if metrics_folder is None:
        forget_shared_folder()
    if settings.tls_served:
        asyncio.run(serve_http_and_https(settings, **options))
        return
    # TFTP (idle until the global preferences switch it on) must run once per host: on the
    # worker's event loop with one worker, in this supervising process with several.
    tftp = TftpThread(settings) if workers > 1 else None
    if tftp is not None:
        tftp.start()
    factory = "create_served_app" if tftp is None else "create_worker_app"
    try:
        uvicorn.run(
            f"magnaprov.serve.app:{factory}",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            # access_log off: its request lines would log device keys; the device routes write
            # their own lines (MAGNAPROV_ACCESS_LOG), naming devices by id.
            **options,  # type: ignore[arg-type]
        )
    finally:
        if tftp is not None:
            tftp.stop()
        if metrics_folder is not None:
            remove_shared_folder(metrics_folder)


def _with_flags(**flags: object) -> Settings:
    """The settings with `serve`'s flags written over them, in the environment too: the
    workers, and every render deriving links from where the server listens, read them there."""
    given = {name: value for name, value in flags.items() if value is not None}
    if not given:
        return get_settings()
    for name, value in given.items():
        os.environ[f"MAGNAPROV_{name}"] = str(value)
    get_settings.cache_clear()
    return get_settings()


@app.command()
def check() -> None:
    """Report what keeps phones from being provisioned (settings, files, database), each with
    what to do; exit status 1 when anything is wrong."""
    settings = get_settings()
    _migrate(settings)
    findings = asyncio.run(_findings(settings))
    for finding in findings:
        typer.echo(f"[{finding.code}] {finding.message}\n    -> {finding.advice}")
    if findings:
        typer.echo(f"{len(findings)} problem(s) found.")
        raise typer.Exit(code=1)
    typer.echo("No problems found.")


async def _findings(settings: Settings) -> list[Finding]:
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            return await check_configuration(session, settings)
    finally:
        await engine.dispose()


async def _wait_for_database(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        await wait_for_database(engine, settings.startup_wait_seconds)
    except RuntimeError as error:
        log.error("not serving: %s", error)
        raise typer.Exit(code=1) from None
    finally:
        await engine.dispose()


def _exit_on_sigterm(_signal: int, _frame: FrameType | None) -> None:
    # uvicorn finishes in-flight requests and the lifespan shutdown, then re-raises SIGTERM:
    # a requested stop is a success.
    raise SystemExit(0)


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest version."""
    _migrate(get_settings())
    typer.echo("Database is at the newest schema version.")


@app.command("create-admin")
def create_admin(
    reset: Annotated[
        bool, typer.Option("--reset", help="Give the existing admin a new password.")
    ] = False,
) -> None:
    """Create the admin account (password from MAGNAPROV_ADMIN_PASSWORD, or generated)."""
    settings = get_settings()
    _migrate(settings)
    asyncio.run(_ensure_admin(settings, reset=reset))


@app.command()
def demo() -> None:
    """Fill a believable tree (2 providers, 3 organizations, 6 users) and print the logins."""
    settings = get_settings()
    _migrate(settings)
    asyncio.run(_ensure_admin(settings, reset=False))
    try:
        logins = asyncio.run(_demo(settings))
    except RuntimeError as error:
        typer.echo(f"Demo not created: {error}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"{'role':<13} {'name':<20} {'login':<14} password")
    for entry in logins:
        typer.echo(f"{entry.role.value:<13} {entry.name:<20} {entry.login:<14} {entry.password}")


@app.command()
def regenerate(
    template: Annotated[
        int | None, typer.Option("--template", help="Only devices using this template (row id).")
    ] = None,
) -> None:
    """Re-render provisioning files in bulk, with a progress bar and a summary."""
    settings = get_settings()
    _migrate(settings)
    summary = asyncio.run(_regenerate(settings, template))
    report = summary.report
    typer.echo(
        f"Devices: {report.devices}  Files: {report.files}  "
        f"Seconds: {summary.seconds:.1f}  Failures: {len(report.failures)}"
    )
    for failure in report.failures:
        typer.echo(f"  device {failure.device_id}: {failure.reason}")
    if report.failures:
        raise typer.Exit(code=1)


async def _regenerate(settings: Settings, template: int | None) -> BulkSummary:
    engine = create_engine(settings.database_url)
    services = Services.from_settings(settings)
    try:
        session_factory = create_session_factory(engine)
        async with session_factory() as session:
            total = await count_devices(session, template)
        with typer.progressbar(length=total, label="Rendering", file=sys.stderr) as bar:
            return await regenerate_in_bulk(
                session_factory, services.secrets, template_id=template, on_progress=bar.update
            )
    finally:
        await engine.dispose()


# Running servers take up a new key file at their next encryption; what one encrypted just
# before (its transaction still open) may commit under the old key up to a statement timeout
# later. The sweep after this wait moves those secrets before the old key leaves the file.
GRACE_SECONDS = COMMAND_TIMEOUT_SECONDS


@app.command("rotate-key")
def rotate_key(
    grace_seconds: Annotated[
        float,
        typer.Option(
            min=0,
            help="Key file only: how long servers beside it may still write with the old key "
            "before it is dropped (what they wrote meanwhile is then re-encrypted).",
        ),
    ] = GRACE_SECONDS,
) -> None:
    """Re-encrypt every stored secret with a new key (or with the primary key given in
    MAGNAPROV_SECRETS_KEYS) and report how many were re-encrypted."""
    settings = get_settings()
    _migrate(settings)
    counts = asyncio.run(_rotate(settings, grace_seconds))
    for label, count in counts.items():
        typer.echo(f"{label}: {count} re-encrypted")
    typer.echo(f"Total: {sum(counts.values())} secrets now under the primary key.")


async def _rotate(settings: Settings, grace_seconds: float) -> dict[str, int]:
    if settings.secrets_keys:
        # The servers already hold this keyring (README: new key first everywhere, rotate,
        # then remove the old one): nothing can be written with the old key meanwhile.
        return await _reencrypt(settings, parse_keyring(settings.secrets_keys.get_secret_value()))
    key_file = settings.secrets_key_file
    # A new primary first, the old key staying until every secret moved: a crash mid-way
    # leaves a keyring that still opens every row, and running servers take the new key up.
    keyring = load_keyring(None, key_file).with_new_primary()
    write_key_file(key_file, keyring)
    counts = await _reencrypt(settings, keyring)
    if grace_seconds:
        typer.echo(f"Waiting {grace_seconds:g} s for running servers to take up the new key.")
        await asyncio.sleep(grace_seconds)
    late = await _reencrypt(settings, keyring, only_other_keys=True)
    write_key_file(key_file, keyring.only_primary())
    if sum(late.values()):
        typer.echo(f"Written with the old key during the rotation: {sum(late.values())}")
    return {label: count + late[label] for label, count in counts.items()}


async def _reencrypt(
    settings: Settings, keyring: Keyring, *, only_other_keys: bool = False
) -> dict[str, int]:
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            return await reencrypt_all(session, SecretBox(keyring), only_other_keys=only_other_keys)
    finally:
        await engine.dispose()


PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="File whose first line is the keyring's passphrase [MAGNAPROV_BACKUP_PASSPHRASE].",
    ),
]


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="Archive to write (a .tar.gz).")],
    include_keyring: Annotated[
        bool, typer.Option("--include-keyring", help="Add the keyring, sealed with a passphrase.")
    ] = False,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Write a consistent snapshot of the database (safe while serving) into an archive."""
    settings = get_settings()
    try:
        passphrase = backups.read_passphrase(passphrase_file, settings)
        manifest = backups.make_backup(
            settings, file, include_keyring=include_keyring, passphrase=passphrase
        )
    except (ValueError, backups.BackupError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=2) from None
    keyring = "with the keyring" if manifest.includes_keyring else "without the keyring"
    typer.echo(
        f"Wrote {file}: {manifest.database} at migration {manifest.alembic_revision}, {keyring}."
    )


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="Archive written by `magnaprov backup`.")],
    passphrase_file: PassphraseFile = None,
) -> None:
    """Restore an archive into the configured database, which must be empty, and migrate it."""
    settings = get_settings()
    try:
        passphrase = backups.read_passphrase(passphrase_file, settings)
        outcome = backups.restore_backup(settings, file, passphrase=passphrase)
    except (ValueError, backups.BackupError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"Restored {file} (made {outcome.manifest.created_at}); the database is migrated.")
    if outcome.key_file is not None:
        typer.echo(f"Wrote the keyring to {outcome.key_file}.")
    if outcome.keyring_note is not None:
        typer.echo(outcome.keyring_note, err=True)


def _migrate(settings: Settings) -> None:
    # The keyring of these settings encrypts rows a revision must (never a new key: rows to
    # encrypt mean secrets exist, made with a key that must be there already).
    upgrade_to_head(settings.database_url, partial(secret_box_for, settings, create=False))


def _migrate_for_serving(settings: Settings) -> None:
    newer = migrate_for_serving(
        settings.database_url, partial(secret_box_for, settings, create=False)
    )
    if newer is not None:
        typer.echo(
            f"The database is at migration {newer}, newer than this release knows: serving "
            "without migrating (an upgrade is under way; upgrade this worker next).",
            err=True,
        )


async def _ensure_admin(settings: Settings, *, reset: bool) -> None:
    try:
        await _bootstrap_admin(settings, reset=reset)
    except (ValueError, LookupError) as error:
        typer.echo(f"Admin account not changed: {error}", err=True)
        raise typer.Exit(code=2) from None


async def _bootstrap_admin(settings: Settings, *, reset: bool) -> None:
    engine = create_engine(settings.database_url)
    services = Services.from_settings(settings)
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    try:
        async with create_session_factory(engine)() as session:
            if reset:
                if given is None:
                    raise ValueError("set MAGNAPROV_ADMIN_PASSWORD to the new password")
                await reset_admin_password(session, services, given)
                typer.echo("The admin password was reset.")
                return
            outcome = await ensure_admin(session, services, given)
    finally:
        await engine.dispose()
    if outcome.generated_password:
        # Shown once, on the console only; it is never logged or stored in clear.
        typer.echo(
            f"Created the admin account. Login: {ADMIN_LOGIN}  "
            f"Password: {outcome.generated_password}"
        )
    elif outcome.created:
        typer.echo(f"Created the admin account '{ADMIN_LOGIN}' with MAGNAPROV_ADMIN_PASSWORD.")


async def _demo(settings: Settings) -> list[DemoLogin]:
    engine = create_engine(settings.database_url)
    try:
        return await create_demo_tree(
            create_session_factory(engine), Services.from_settings(settings)
        )
    finally:
        await engine.dispose()


if __name__ == "__main__":
    app()
