"""Benchmark 4: re-rendering every device of a template after a change."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.db import (
    Account,
    Device,
    ProvisioningTemplate,
    Role,
    TemplateFile,
    create_session_factory,
)
from magnaprov.resolvers import Services
from magnaprov.resolvers.regeneration import regenerate_in_bulk
from magnaprov.settings import Settings

__all__ = ["RegenerationResult", "measure_regeneration"]

OVERRIDE = (
    "{% extends server_default %}{% block extra %}{{ super() }}bench.marker = 1\n{% endblock %}"
)


@dataclass(frozen=True, slots=True)
class RegenerationResult:
    """Devices re-rendered and how long it took."""

    devices: int
    files: int
    seconds: float

    @property
    def devices_per_second(self) -> float:
        """Throughput."""
        return self.devices / self.seconds


async def measure_regeneration(engine: AsyncEngine, settings: Settings) -> RegenerationResult:
    """Put every Yealink T46S on a template with one changed block, then re-render them all."""
    services = Services.from_settings(settings)
    factory = create_session_factory(engine)
    async with factory() as session, session.begin():
        admin = (await session.scalars(select(Account).where(Account.role == Role.ADMIN))).one()
        template = ProvisioningTemplate(owner_id=admin.id, tree_path=admin.tree_path, name="Bench")
        session.add(template)
        await session.flush()
        session.add(
            TemplateFile(
                template_id=template.id,
                manufacturer="yealink",
                model="T46S",
                firmware="V81",
                pattern="{mac}.cfg",
                source=OVERRIDE,
            )
        )
        await session.execute(update(Device).values(template_id=template.id))
        template_id = template.id
    summary = await regenerate_in_bulk(factory, services.secrets, template_id=template_id)
    assert not summary.report.failures, summary.report.failures[:3]
    return RegenerationResult(summary.report.devices, summary.report.files, summary.seconds)
