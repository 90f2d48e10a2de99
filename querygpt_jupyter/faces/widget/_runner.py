"""Run one turn in a worker thread so the kernel keeps handling comm messages (the stop button)
while the turn runs. Stopping has Ctrl-C's meaning: the engine's interrupt cancels a running
query, and a KeyboardInterrupt raised in the worker ends the turn with QueryCancelled."""
from __future__ import annotations

import ctypes
import logging
import threading
from typing import Any, Callable

from ...errors import speaking_to

log = logging.getLogger("querygpt")


class TurnWorker:
    """`work()` in a daemon thread; `on_done(result, error)` is called in that thread when it ends.

    `interrupt` (e.g. `adapter.interrupt`) is called by `stop()` before the KeyboardInterrupt is
    raised in the worker, which Python delivers at the worker's next bytecode (a blocking C call
    finishes first: that is what `interrupt` is for)."""

    def __init__(self, work: Callable[[], Any], on_done: Callable[[Any, BaseException | None], None],
                 interrupt: Callable[[], None] | None = None, name: str = "querygpt-chat-turn"):
        self._work = work
        self._on_done = on_done
        self._interrupt = interrupt
        self._lock = threading.Lock()
        self._finished = False
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> "TurnWorker":
        self.thread.start()
        return self

    def _run(self) -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            try:
                with speaking_to("notebook"):  # the chat's hints use magic syntax
                    result = self._work()
            except BaseException as exc:   # KeyboardInterrupt from stop() included: reported, not raised
                error = exc
            with self._lock:               # from here on stop() sends no more interrupts
                self._finished = True
        except KeyboardInterrupt as exc:   # a stop() that landed between work() and the lock
            error = error or exc
            with self._lock:
                self._finished = True
        try:
            self._on_done(result, error)
        except Exception:
            log.exception("querygpt: the chat could not show a finished turn")

    def stop(self) -> bool:
        """Ask the turn to stop; True when a stop was sent (False if it had already finished)."""
        with self._lock:
            if self._finished or not self.thread.is_alive():
                return False
            self.stopped = True
            if self._interrupt is not None:
                try:
                    self._interrupt()
                except Exception:  # the KeyboardInterrupt below still stops the turn's Python code
                    log.warning("querygpt: interrupting the query failed", exc_info=True)
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.thread.ident),
                                                       ctypes.py_object(KeyboardInterrupt))
            return True

    def join(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()
