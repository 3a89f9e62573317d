"""nginx serving the folder of rendered files: one worker, loopback, a config in a temp dir.

The access log is on, written to a file, as magnaprov's is; `keepalive_requests` is raised so
that nginx, like uvicorn, never closes a busy keep-alive connection.
"""

from __future__ import annotations

import getpass
import os
import shutil
from pathlib import Path

from bench.processes import Server

__all__ = ["find_nginx", "nginx_server"]

CONFIG = """\
{user}worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    server_tokens off;
    types {{ application/xml xml; }}
    default_type "text/plain; charset=utf-8";
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {www};
        location /prov/ {{
            add_header Cache-Control "private, no-cache";
        }}
    }}
}}
"""


def find_nginx() -> str | None:
    """The nginx binary, also where Debian puts it outside a non-root PATH."""
    found = shutil.which("nginx")
    if found is None and os.access("/usr/sbin/nginx", os.X_OK):
        found = "/usr/sbin/nginx"
    return found


def nginx_server(binary: str, www: Path, folder: Path, port: int) -> Server:
    """A `Server` for nginx over `www`, its config and logs under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    # As root, workers would drop to an account that cannot read our private temp dir.
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    config = folder / "nginx.conf"
    config.write_text(CONFIG.format(user=user, folder=folder, port=port, www=www))
    probe = next(www.glob("prov/*/*")).relative_to(www)
    return Server(
        "nginx",
        [binary, "-c", str(config), "-e", str(folder / "error.log")],
        port=port,
        probe_path=f"/{probe}",
        log_file=folder / "stderr.log",
    )
