"""`magnaprov serve` believes X-Forwarded-For only from the proxies MAGNAPROV_TRUSTED_PROXIES
names: by default a local client cannot choose its address, neither to dodge the scanning ban
nor to have another address banned, nor to put another address in the audit log."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from account_tree import ADMIN_PASSWORD, build_tree
from live_process import graphql, serve_process, wait_until
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.db import AuditEntry

THRESHOLD = 5
CREATE_TEMPLATE = """mutation($name: String!) {
  createProvisioningTemplate(name: $name) { provisioningTemplate { id } userErrors { code } } }"""


def forwarded(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, "X-Forwarded-Proto": "https"}


async def healthy(http: httpx.AsyncClient) -> bool:
    return (await http.get("/healthz")).status_code == 200


async def miss(http: httpx.AsyncClient, address: str) -> int:
    return (await http.get("/prov/0015650fffff.cfg", headers=forwarded(address))).status_code


async def audited_address(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.scalar(
            select(AuditEntry.client_address)
            .where(AuditEntry.action.like("template.%"))
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )


@pytest.mark.parametrize("trusted", [False, True], ids=["by default", "loopback named"])
async def test_x_forwarded_for_from_loopback_is_believed_only_from_a_named_proxy(
    engine, session_factory, services, tmp_path: Path, trusted: bool
):
    url = engine.url.render_as_string(hide_password=False)
    environment = {
        "MAGNAPROV_MISS_THRESHOLD": str(THRESHOLD),
        "MAGNAPROV_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    if trusted:
        environment["MAGNAPROV_TRUSTED_PROXIES"] = "127.0.0.0/8"
    with serve_process(url, tmp_path, **environment) as (_process, base_url):
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            await wait_until(lambda: healthy(http), 30)
            tree = await build_tree(session_factory, services)
            http.headers.update(forwarded("192.0.2.77"))
            answer = await graphql(http, CREATE_TEMPLATE, {"name": "Proxied"}, tree["o1"].token)
            assert answer.payload("createProvisioningTemplate") is not None, answer
            del http.headers["X-Forwarded-For"], http.headers["X-Forwarded-Proto"]
            expected = "192.0.2.77" if trusted else "127.0.0.1"
            assert await audited_address(engine) == expected

            rotating = [await miss(http, f"198.51.100.{n}") for n in range(1, 3 * THRESHOLD)]
            if not trusted:
                # One client, whatever it claims: banned at the threshold.
                assert rotating == [404] * THRESHOLD + [429] * (2 * THRESHOLD - 1), rotating
                return
            assert rotating == [404] * (3 * THRESHOLD - 1)
            for _ in range(THRESHOLD):
                assert await miss(http, "192.0.2.99") == 404
            assert await miss(http, "192.0.2.99") == 429
            assert await miss(http, "192.0.2.100") == 404
