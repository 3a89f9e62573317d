"""The in-memory reference: a bare Starlette app answering `/prov/{key}/{file}` from a dict.

It sends what magnaprov sends (same bytes, ETag, Last-Modified, Content-Type, Cache-Control) and
answers If-None-Match with 304, and nothing else: no database, cache checks, logging or
accounting. It is the ceiling a Python server on this stack can reach.

Run: `python -m bench.memory_app <copy root> <port>`, with uvicorn's options of `magnaprov serve`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["create_memory_app"]

_NOT_FOUND = Response(b"Not Found\n", status_code=404, media_type="text/plain")


def create_memory_app(root: Path) -> Starlette:
    """The app serving the copy under `root` (see `bench.served_files`)."""
    headers = json.loads((root / "headers.json").read_text())
    files = {
        path: ((root / "www" / path.lstrip("/")).read_bytes(), entry)
        for path, entry in headers.items()
    }

    async def serve_file(request: Request) -> Response:
        params = request.path_params
        found = files.get(f"/prov/{params['key']}/{params['file']}")
        if found is None:
            return _NOT_FOUND
        content, entry = found
        common = {
            "etag": entry["etag"],
            "last-modified": entry["last_modified"],
            "cache-control": "private, no-cache",
        }
        wanted = request.headers.get("if-none-match")
        if wanted is not None and entry["etag"].removeprefix("W/") in {
            tag.strip().removeprefix("W/") for tag in wanted.split(",")
        }:
            return Response(status_code=304, headers=common)
        return Response(content, headers=common, media_type=entry["content_type"])

    return Starlette(routes=[Route("/prov/{key}/{file}", serve_file)])


def main() -> None:
    """Serve on 127.0.0.1 with the uvicorn options `magnaprov serve` uses."""
    root, port = Path(sys.argv[1]), int(sys.argv[2])
    uvicorn.run(
        create_memory_app(root),
        host="127.0.0.1",
        port=port,
        proxy_headers=True,
        server_header=False,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
