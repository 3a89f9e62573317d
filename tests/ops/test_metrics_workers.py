"""`magnaprov serve --workers 2` on PostgreSQL: /metrics sums every worker's counts whichever
worker answers the scrape, never goes back (which Prometheus would read as a reset), keeps a
killed worker's counts, and shows GraphQL operations with their labels.

Each request goes on a new connection, so the kernel hands them to both workers; the request
id's prefix names the worker that answered (`request_ids`)."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from account_tree import ADMIN_PASSWORD, build_tree
from conftest import GraphQL, make_settings
from live_process import serve_process, wait_until
from metric_samples import Scrape, parse_scrape
from phones import Phone, add_phone, set_registrar
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.db import create_session_factory
from magnaprov.resolvers import Services
from magnaprov.serve.graphql_metrics import MAX_NAME_CHARS
from magnaprov.serve.metrics import PUBLISH_SECONDS

FETCHED = "magnaprov_device_requests_total"
OPERATIONS = "magnaprov_graphql_operations_total"
SECONDS = "magnaprov_graphql_operation_seconds"
ROUNDS, MAX_ROUNDS, FETCHES_PER_ROUND = 6, 100, 12
NEW_CONNECTIONS = httpx.Limits(max_keepalive_connections=0)
ME = "query Me { viewer { login } }"
Served = tuple[subprocess.Popen[bytes], str, Path]


@pytest.fixture
def served(migrated_postgres: str, tmp_path: Path) -> Iterator[Served]:
    """Two workers; their temporary folders go to a folder of the test's own."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    with serve_process(
        migrated_postgres,
        tmp_path,
        arguments=("--workers", "2"),
        TMPDIR=str(temporary),
        MAGNAPROV_ADMIN_PASSWORD=ADMIN_PASSWORD,
    ) as (process, url):
        yield process, url, temporary
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def worker(response: httpx.Response) -> str:
    return response.headers["x-request-id"].split("-")[0]


def fetches(scrape: Scrape) -> float:
    return scrape.total(FETCHED, route="/prov/{key}/{file}", status="200")


async def arrange(
    pg_engine: AsyncEngine, url: str, http: httpx.AsyncClient
) -> tuple[str, list[Phone]]:
    services = Services.from_settings(make_settings(url))
    tree = await build_tree(create_session_factory(pg_engine), services)
    gql = GraphQL(http)
    await set_registrar(gql, tree["admin"].token)
    token = tree["o1"].token
    phones = [
        await add_phone(gql, token, tree["u1"].gid, f"Desk {n}", f"00:15:65:00:01:{n:02x}")
        for n in range(1, 4)
    ]
    return tree["admin"].token, phones


class Scraper:
    """Scrapes /metrics, checking that no total ever goes back, and who answered."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.previous = 0.0
        self.latest: dict[str, float] = {}  # the fetch total each worker last gave

    async def scrape(self) -> Scrape:
        response = await self.http.get("/metrics")
        assert response.status_code == 200
        scrape = parse_scrape(response.text)
        total = fetches(scrape)
        assert total >= self.previous, f"went back from {self.previous} to {total}"
        self.previous = total
        self.latest[worker(response)] = total
        return scrape

    async def until_every_worker_gives(self, total: float) -> None:
        async def given() -> bool:
            await self.scrape()
            return len(self.latest) == 2 and set(self.latest.values()) == {total}

        await wait_until(given, 10 * PUBLISH_SECONDS + 10)


async def test_every_scrape_counts_the_fetches_of_both_workers_and_never_goes_back(
    pg_engine, migrated_postgres, served
):
    process, url, temporary = served
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=NEW_CONNECTIONS) as http:
        await wait_until(lambda: ready(http), 60)
        _admin, phones = await arrange(pg_engine, migrated_postgres, http)
        scraper, answered, fetched = Scraper(http), set(), 0
        for round_ in range(MAX_ROUNDS):  # more rounds until both workers have answered
            if round_ >= ROUNDS and len(answered) == 2:
                break
            answers = await asyncio.gather(
                *(http.get(phones[n % len(phones)].url) for n in range(FETCHES_PER_ROUND))
            )
            assert {answer.status_code for answer in answers} == {200}
            answered.update(worker(answer) for answer in answers)
            fetched += len(answers)
            await scraper.scrape()
            assert scraper.previous <= fetched
        assert len(answered) == 2  # the fetches were spread over both workers
        await scraper.until_every_worker_gives(fetched)
        listening = await scraper.scrape()
        assert listening.value("magnaprov_file_change_listener_up") == 1

        [folder] = temporary.glob("magnaprov-metrics-*")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        # A killed worker cannot retire itself: its counts stay, its marker goes at a scrape.
        [killed, *_] = [pid for pid in children(process.pid) if (folder / f"{pid}.pid").exists()]
        os.kill(killed, signal.SIGKILL)
        await wait_until(lambda: gone(scraper, folder, killed), 30)
        assert fetches(await scraper.scrape()) == fetched
    process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(process.wait, 30) == 0
    assert not folder.exists()  # removed when serve stopped


async def test_graphql_operations_are_summed_over_the_workers_with_bounded_names(
    pg_engine, migrated_postgres, served
):
    _process, url, _temporary = served
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=NEW_CONNECTIONS) as http:
        await wait_until(lambda: ready(http), 60)
        admin, _phones = await arrange(pg_engine, migrated_postgres, http)
        bearer = {"Authorization": f"Bearer {admin}"}
        answered, asked = set(), 0
        while asked < 8 or len(answered) < 2:
            assert asked < 400, "one worker answered everything"
            answers = await asyncio.gather(
                *(http.post("/graphql", json={"query": ME}, headers=bearer) for _ in range(4))
            )
            assert {answer.json()["data"]["viewer"]["login"] for answer in answers} == {"admin"}
            answered.update(worker(answer) for answer in answers)
            asked += len(answers)
        hostile = "Evil" + "x" * 3000
        await http.post("/graphql", json={"query": f"query {hostile} {{ __typename }}"})
        scrape = await Scraper(http).scrape()

    assert scrape.value(OPERATIONS, type="query", operation="Me", outcome="ok") == asked
    assert scrape.value(f"{SECONDS}_count", type="query", operation="Me") == asked
    assert scrape.value(f"{SECONDS}_bucket", type="query", operation="Me", le="+Inf") == asked
    created = scrape.value(
        OPERATIONS, type="mutation", operation="(anonymous)", outcome="ok"
    )  # the arrangement's mutations
    assert created is not None and created >= 1
    cut = hostile[:MAX_NAME_CHARS]
    assert scrape.value(OPERATIONS, type="query", operation=cut, outcome="ok") == 1
    names = {labels["operation"] for labels in scrape.labels_of(OPERATIONS)}
    assert max(len(name) for name in names) <= MAX_NAME_CHARS


async def ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200


async def gone(scraper: Scraper, folder: Path, pid: int) -> bool:
    await scraper.scrape()
    return not (folder / f"{pid}.pid").exists()


def children(pid: int) -> set[int]:
    """The live child processes of `pid` (Linux)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found
