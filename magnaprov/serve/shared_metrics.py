"""The folder where several workers' metrics meet (prometheus-client's multiprocess mode).

With several workers each process writes its metric values to memory-mapped files in the
folder named by `PROMETHEUS_MULTIPROC_DIR`, and whichever worker answers `/metrics` sums them
all: a scrape no longer sees one worker's counts, which Prometheus would read as resets.
`magnaprov serve --workers N` makes a new owner-only folder for each run (so no count of an
earlier run is summed) and removes it when it stops. prometheus-client chooses its mode when
it is first imported, from the same variable, so the folder is named before any worker starts.

A worker that stops cleanly retires itself: its live gauges leave the sums (its counters stay
in them, so totals never go down). A worker that was killed cannot, so every scrape first
retires the workers whose process is gone; each worker leaves a `<pid>.pid` file for that.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

__all__ = [
    "FOLDER_VARIABLE",
    "create_shared_folder",
    "forget_shared_folder",
    "reap_dead_workers",
    "register_worker",
    "remove_shared_folder",
    "retire_worker",
    "shared_folder",
    "shared_registry",
]

FOLDER_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_PID_SUFFIX = ".pid"  # not `.db`: the collector reads only those


def create_shared_folder() -> Path:
    """A new, empty, owner-only folder, named in the environment the workers inherit."""
    folder = Path(tempfile.mkdtemp(prefix="magnaprov-metrics-"))  # mode 0700
    os.environ[FOLDER_VARIABLE] = str(folder)
    return folder


def forget_shared_folder() -> None:
    """One process serves alone: its own counts are the totals, whatever the environment said."""
    os.environ.pop(FOLDER_VARIABLE, None)


def remove_shared_folder(folder: Path) -> None:
    """Remove the folder once every worker has stopped."""
    if os.environ.get(FOLDER_VARIABLE) == str(folder):
        del os.environ[FOLDER_VARIABLE]
    shutil.rmtree(folder, ignore_errors=True)


def shared_folder() -> Path | None:
    """The folder this process writes its metrics to, or None when it serves alone."""
    named = os.environ.get(FOLDER_VARIABLE)
    return Path(named) if named else None


def register_worker(folder: Path) -> None:
    """Leave this process's pid in the folder, so a scrape can tell when it has died."""
    (folder / f"{os.getpid()}{_PID_SUFFIX}").touch()


def retire_worker(folder: Path, pid: int) -> None:
    """Drop the live gauges of a worker that stopped; its counters stay in the totals."""
    mark_process_dead(pid, str(folder))  # type: ignore[no-untyped-call]
    (folder / f"{pid}{_PID_SUFFIX}").unlink(missing_ok=True)


def reap_dead_workers(folder: Path) -> None:
    """Retire every worker whose process no longer exists (killed before it could itself)."""
    for marker in folder.glob(f"*{_PID_SUFFIX}"):
        pid = int(marker.stem) if marker.stem.isdigit() else None
        if pid is not None and not _alive(pid):
            retire_worker(folder, pid)


def shared_registry(folder: Path) -> CollectorRegistry:
    """A registry that collects every worker's values from the folder, for one scrape."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(folder))  # type: ignore[no-untyped-call]
    return registry


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or its number is someone else's now
        return False
    return True
