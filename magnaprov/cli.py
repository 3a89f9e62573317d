"""The `magnaprov` command: serve, migrate, create-admin, demo, regenerate, rotate-key."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from types import FrameType
from typing import Annotated

import typer
import uvicorn

from magnaprov.db import create_engine, create_session_factory, is_sqlite
from magnaprov.db.migrations import upgrade_to_head
from magnaprov.resolvers import Services
from magnaprov.resolvers.bootstrap import ADMIN_LOGIN, ensure_admin, reset_admin_password
from magnaprov.resolvers.demo import DemoLogin, create_demo_tree
from magnaprov.resolvers.regeneration import BulkSummary, count_devices, regenerate_in_bulk
from magnaprov.resolvers.secret_rotation import reencrypt_all
from magnaprov.serve.log_config import configure_logging, logging_config
from magnaprov.serve.readiness import wait_for_database
from magnaprov.serve.tftp_service import TftpThread
from magnaprov.settings import Settings, get_settings
from magnaprov.tenancy.secrets import SecretBox, load_keyring, parse_keyring, write_key_file

__all__ = ["app"]

log = logging.getLogger("magnaprov.cli")

app = typer.Typer(help="magnaprov: SIP phone provisioning server.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [MAGNAPROV_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [MAGNAPROV_PORT].")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Migrate the database, create the admin on first start, and serve the API, the device
    routes and (when the global preferences switch it on) TFTP."""
    settings = get_settings()
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
    _migrate(settings)
    asyncio.run(_ensure_admin(settings, reset=False))
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
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
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            proxy_headers=True,
            server_header=False,
            # Its request lines would log device keys; the device routes write their own lines
            # (MAGNAPROV_ACCESS_LOG), naming devices by id.
            access_log=False,
            log_config=logging_config(settings),
        )
    finally:
        if tftp is not None:
            tftp.stop()


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


@app.command("rotate-key")
def rotate_key() -> None:
    """Re-encrypt every stored secret with a new key (or with the primary key given in
    MAGNAPROV_SECRETS_KEYS) and report how many were re-encrypted."""
    settings = get_settings()
    _migrate(settings)
    counts = asyncio.run(_rotate(settings))
    for label, count in counts.items():
        typer.echo(f"{label}: {count} re-encrypted")
    typer.echo(f"Total: {sum(counts.values())} secrets now under the primary key.")


async def _rotate(settings: Settings) -> dict[str, int]:
    from_environment = settings.secrets_keys is not None
    current = (
        parse_keyring(settings.secrets_keys.get_secret_value())
        if settings.secrets_keys
        else load_keyring(None, settings.secrets_key_file)
    )
    # With a key file: add a new primary first (the old key stays until every secret moved),
    # so a crash mid-way leaves a keyring that still opens every row.
    keyring = current if from_environment else current.with_new_primary()
    if not from_environment:
        write_key_file(settings.secrets_key_file, keyring)
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            counts = await reencrypt_all(session, SecretBox(keyring))
    finally:
        await engine.dispose()
    if not from_environment:
        write_key_file(settings.secrets_key_file, keyring.only_primary())
    return counts


def _migrate(settings: Settings) -> None:
    upgrade_to_head(settings.database_url)


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
