"""How much one render may cost, and the per-render account kept against it.

Account templates are written by users, and 10,000 devices are re-rendered in
bulk, so no template may hang a worker or fill its memory. The limits are
enforced from inside the sandbox (see ``sandbox.py``): every loop iteration and
every call takes a step, every value an operation creates is counted before or
as it is made, and everything written — even into a macro's or a block's buffer —
is counted as it is produced. The deadline is checked on those same hooks, so a
template cannot run long without passing through one of them.

The account is kept in a context variable, so renders in several threads or
tasks each have their own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = [
    "MAX_CALL_DEPTH",
    "MAX_INT_BITS",
    "MAX_ITEMS",
    "MAX_OUTPUT_BYTES",
    "MAX_PRODUCED_CHARS",
    "MAX_RANGE",
    "MAX_SOURCE_CHARS",
    "MAX_STEPS",
    "MAX_TOTAL_ALLOCATED",
    "MAX_VALUE_CHARS",
    "RENDER_SECONDS",
    "RenderBudget",
    "RenderLimitExceeded",
    "active_budget",
    "current_budget",
]

MAX_SOURCE_CHARS = 64 * 1024  # an account template's source
MAX_OUTPUT_BYTES = 256 * 1024  # one rendered file
MAX_VALUE_CHARS = 256 * 1024  # one string made by an operation
MAX_ITEMS = 65_536  # one list made by an operation
MAX_RANGE = 10_000  # items of one range()
MAX_INT_BITS = 4_096  # an integer made by * or **
MAX_PRODUCED_CHARS = 2 * 1024 * 1024  # everything written, buffers included
MAX_TOTAL_ALLOCATED = 16 * 1024 * 1024  # strings and list items made by operations
MAX_STEPS = 50_000  # loop iterations plus calls
MAX_CALL_DEPTH = 40  # nested macro and block calls
RENDER_SECONDS = 2.0  # wall time of one file

# Reading the clock on every hook would cost more than the hook, so it is read
# every few steps; the work between two reads is bounded by the other limits.
_CLOCK_EVERY = 32


class RenderLimitExceeded(Exception):
    """A template went over one of the limits; the message says which."""


@dataclass
class RenderBudget:
    """What one render has used so far."""

    deadline: float
    steps: int = 0
    produced: int = 0
    allocated: int = 0
    depth: int = 0
    _ticks: int = field(default=0, repr=False)

    @classmethod
    def starting_now(cls, seconds: float = RENDER_SECONDS) -> RenderBudget:
        return cls(deadline=time.monotonic() + seconds)

    def step(self) -> None:
        """One loop iteration or one call."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise RenderLimitExceeded(f"more than {MAX_STEPS} loop iterations and calls")
        self._tick()

    def produce(self, chars: int) -> None:
        """Text written, to the file or to a buffer."""
        self.produced += chars
        if self.produced > MAX_PRODUCED_CHARS:
            raise RenderLimitExceeded(f"more than {MAX_PRODUCED_CHARS} characters written")
        self._tick()

    def allocate(self, size: int) -> None:
        """A string of ``size`` characters or a list of ``size`` items was made."""
        self.allocated += size
        if self.allocated > MAX_TOTAL_ALLOCATED:
            raise RenderLimitExceeded("the template builds too much data")

    @contextmanager
    def nested_call(self) -> Iterator[None]:
        self.depth += 1
        try:
            if self.depth > MAX_CALL_DEPTH:
                raise RenderLimitExceeded(f"calls nested more than {MAX_CALL_DEPTH} deep")
            yield
        finally:
            self.depth -= 1

    def _tick(self) -> None:
        self._ticks += 1
        if self._ticks % _CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
            raise RenderLimitExceeded("rendering took too long")


_BUDGET: ContextVar[RenderBudget | None] = ContextVar("magnaprov_render_budget", default=None)


def current_budget() -> RenderBudget:
    """The budget of the render in progress; template code never runs outside one."""
    budget = _BUDGET.get()
    if budget is None:
        raise RenderLimitExceeded("template code ran outside a bounded render")
    return budget


@contextmanager
def active_budget(budget: RenderBudget) -> Iterator[RenderBudget]:
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)
