"""Running one statement on an adapter so that it can be stopped: in a worker thread, with the
engine's own interrupt on a timeout or Ctrl-C. Everything that runs SQL (the executor, the
introspection, the planners' look-ups) goes through `run_blocking`."""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from .. import errors

if TYPE_CHECKING:
    from .base import Adapter


def run_blocking(adapter: "Adapter", sql: str, timeout_s: float, budget: Any = None) -> Any:
    """`adapter.fetch(sql)` in a worker thread, so that a timeout or Ctrl-C can cancel it with the
    engine's own interrupt while this thread stays responsive. A `budget` (connections/budget.py) goes to
    adapters that read within one."""
    outcome: dict[str, Any] = {}
    options = {"budget": budget} if budget is not None else {}

    def work() -> None:
        try:
            outcome["value"] = adapter.fetch(sql, timeout_s=timeout_s, **options)
        except BaseException as exc:  # handed back to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="querygpt-query", daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout_s
    try:
        while worker.is_alive():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _cancel(adapter, worker)
                raise errors.QueryTimeout(f"The query ran longer than {timeout_s:g} s and was cancelled.")
            worker.join(min(remaining, 0.25))
    except KeyboardInterrupt:
        _cancel(adapter, worker)
        raise errors.QueryCancelled("The query was stopped (interrupted).") from None
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, errors.QueryGPTError):
            raise error
        if isinstance(error, MemoryError):
            raise errors.OutOfMemory("The query's result did not fit in memory.") from None
        raise adapter.classify(error) from None
    return outcome["value"]


def _cancel(adapter: "Adapter", worker: threading.Thread) -> None:
    adapter.interrupt()
    worker.join(10)
