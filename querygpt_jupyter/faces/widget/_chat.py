"""The chat widget's Python side: synced traits hold all the state the front end draws; the front
end sends four kinds of message (ask, stop, feedback, refresh). Turns go through the notebook's
`Session`, so sidebar turns and `%%ask` turns are one conversation."""
from __future__ import annotations

import logging
import pathlib
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets as t

from . import _view
from ._runner import TurnWorker

if TYPE_CHECKING:
    from ...answer import Answer
    from ...events import Event
    from ...session import Session

log = logging.getLogger("querygpt")
_STATIC = pathlib.Path(__file__).resolve().parent.parent.parent / "static"
TOKEN_UPDATES_PER_S = 10        # streamed tokens reach the front end at most this often
STOP_GRACE_S = 3.0              # after this, a stopped turn is shown as stopped even if still unwinding


class ChatWidget(anywidget.AnyWidget):
    """A notebook's conversation with its databases. Use `querygpt_jupyter.chat()` to get the one
    widget of this kernel (inline) or `chat(dock=True)` / `%ask chat` to dock it in the sidebar."""

    _esm = _STATIC / "chat.js"
    _css = _STATIC / "chat.css"

    turns = t.List(t.Dict(), help="Finished turns, oldest first (see _view.finished_turn).").tag(sync=True)
    live = t.Dict(allow_none=True, default_value=None, help="The turn running now, with its events.").tag(sync=True)
    busy = t.Bool(False).tag(sync=True)
    view = t.Unicode("user", help="'user' or 'developer'").tag(sync=True)
    model_name = t.Unicode("", help="The model sidebar turns ask (a LiteLLM string).").tag(sync=True)
    models = t.List(t.Unicode()).tag(sync=True)
    connection = t.Unicode("", help="The connection sidebar turns ask; empty = as %%ask would choose.").tag(sync=True)
    connections = t.List(t.Unicode()).tag(sync=True)
    kernel_id = t.Unicode("", help="Lets the JupyterLab extension find this kernel's notebook.").tag(sync=True)
    notice = t.Unicode("", help="A one-line problem of the widget itself (shown, never swallowed).").tag(sync=True)
    chart_style = t.Dict(help="Width (px) and theme colours the front end measured; charts are drawn for them "
                              "(see _view.chart_view).").tag(sync=True)

    def __init__(self, session: "Session", **kwargs: Any):
        super().__init__(**kwargs)
        self.session = session
        self._answers: dict[str, "Answer"] = {}        # turn id -> Answer (for feedback)
        self._own: set[int] = set()                   # ids of Answers this widget produced
        self._worker: TurnWorker | None = None
        self._lock = threading.RLock()                 # worker thread vs comm handlers on `turns`
        self.kernel_id = _kernel_id()
        self.view = session.config.view
        self.model_name = session.config.model
        self.refresh_pickers()
        for answer in session.answers:                 # the conversation so far
            self._add_finished(answer, source="notebook")
        session.subscribe(self._on_session_answer)
        self.on_msg(self._on_message)
        self.observe(self._on_chart_style, names=["chart_style"])

    # -- messages from the front end -----------------------------------------------------------
    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        try:
            kind = content.get("type") if isinstance(content, dict) else None
            if kind == "ask":
                self.ask(str(content.get("text", "")))
            elif kind == "stop":
                self.stop()
            elif kind == "feedback":
                self.feedback(str(content.get("id", "")), str(content.get("kind", "")), str(content.get("text", "")))
            elif kind == "refresh":
                self.refresh_pickers()
            else:
                self.notice = f"Unknown message from the chat: {kind!r}."
        except Exception as exc:   # an error in a comm handler is otherwise lost: show it
            log.exception("querygpt: the chat failed on a message")
            self.notice = f"{type(exc).__name__}: {exc}"

    # -- the actions ---------------------------------------------------------------------------
    def ask(self, question: str) -> str | None:
        """Start a turn in the background; returns its id (None if empty or one is running).
        Everything slow, opening the connection included, happens in the worker thread, so the
        comm handler returns at once and the stop button stays live."""
        question = question.strip()
        if not question:
            return None
        with self._lock:
            if self._worker is not None:
                self.notice = "A question is still running: stop it first."
                return None
            turn_id = uuid.uuid4().hex[:12]
            self.notice = ""
            self.live = _view.live_turn(turn_id, question)
            self.busy = True
            listener = _ThrottledListener(self, turn_id)
            opened: dict = {}     # the prepared turn, once the worker has it (stop() interrupts its adapter)
            overrides = {"conn": self.connection or None, "model": self.model_name or None, "view": self.view}
            worker = TurnWorker(
                work=lambda: self._run(question, overrides, opened, listener),
                on_done=lambda result, error: self._finish(turn_id, opened.get("turn"), result, error, listener),
                interrupt=lambda: opened["turn"].adapter.interrupt() if "turn" in opened else None,
            )
            self._worker = worker
        worker.start()
        return turn_id

    def _run(self, question: str, overrides: dict, opened: dict, listener) -> "Answer":
        """The turn itself, as `%%ask` runs it (conversation.run_turn); `_finish` adds it to the session."""
        from ...conversation import prepare_turn, run_turn

        conn = overrides.pop("conn", None)
        prepared = opened["turn"] = prepare_turn(self.session, conn, question=question, how="the sidebar's picker",
                                                 pick_with="the Connection menu above", **overrides)
        return run_turn(self.session, question, listener=listener, prepared=prepared, source="sidebar",
                        record=False).answer

    def stop(self) -> None:
        """Stop the running turn (Escape / the stop button)."""
        worker = self._worker
        if worker is None or not worker.stop():
            return
        if self.live is not None:
            self.live = {**self.live, "status": "stopping"}
        threading.Thread(target=self._release_if_stuck, args=(worker,), daemon=True).start()

    def _release_if_stuck(self, worker: TurnWorker) -> None:
        """A turn blocked in C code (a model call) may take long to see the interrupt: after a grace
        period the sidebar is free again and the late result is dropped."""
        if worker.join(STOP_GRACE_S):
            return
        with self._lock:
            if self._worker is worker and self.live is not None:
                from ... import errors

                error = errors.QueryCancelled("The question was stopped.")
                self.turns = [*self.turns, {**_view.error_turn(self.live["id"], self.live["question"], error),
                                            "events": self.live.get("events", [])}]
                self.live, self.busy, self._worker = None, False, None

    def _finish(self, turn_id: str, prepared, answer: "Answer | None", error: BaseException | None,
                listener: "_ThrottledListener") -> None:
        from ... import errors
        from ...answer import Answer

        with self._lock:
            if self._worker is None or self.live is None or self.live.get("id") != turn_id:
                return                                     # dropped by _release_if_stuck
            question = self.live["question"]
            events = listener.flush_events()
            if prepared is None:                           # no such connection, a bad option: not a turn
                self.turns = [*self.turns, _view.error_turn(turn_id, question, errors.coded(error))]
                self.live, self.busy, self._worker = None, False, None
                return
            if answer is None:                             # stopped or failed outside the turn's own capture
                answer = prepared.stamp(Answer(question=question, model=prepared.options.model,
                                               connection=prepared.adapter.label, error=errors.coded(error)))
            self._own.add(id(answer))
            self.session.add_answer(answer, source="sidebar")
            view = _view.finished_turn(turn_id, answer, "sidebar", prepared.connection,
                                       cell=_cell_for(answer, prepared.connection), events=events,
                                       chart_style=self.chart_style)
            self._answers[turn_id] = answer
            self.turns = [*self.turns, view]
            self.live, self.busy, self._worker = None, False, None
            self.refresh_pickers()

    def feedback(self, turn_id: str, kind: str, text: str = "") -> dict | None:
        """Record feedback on a turn through the session (answer + history index); returns what was stored."""
        from ... import errors
        from ...conversation import record_feedback

        answer = self._answers.get(turn_id)
        if answer is None:
            self.notice = "That turn is no longer in this kernel's conversation."
            return None
        try:
            stored = record_feedback(self.session, answer, kind, text)
        except errors.QueryGPTError as error:
            self.notice = f"{error.code}: {error}"
            return None
        with self._lock:
            self.turns = [{**turn, "feedback": _view.json_safe(stored)} if turn["id"] == turn_id else turn
                          for turn in self.turns]
        return stored

    def refresh_pickers(self) -> None:
        """Connections and models to offer: what the session knows now."""
        from ...config import OFFLINE_MODEL

        try:
            names = self.session.connection_names()
        except Exception as exc:   # a namespace we cannot read must not break the chat
            log.warning("querygpt: listing connections failed", exc_info=True)
            names, self.notice = ["demo"], f"Could not list connections: {exc}"
        self.connections = list(dict.fromkeys(names))
        if self.connection and self.connection not in self.connections:
            self.connection = ""
        used = [a.model for a in self.session.answers if a.model]
        self.models = list(dict.fromkeys([self.session.config.model, OFFLINE_MODEL, *used, self.model_name] if self.model_name
                                         else [self.session.config.model, OFFLINE_MODEL, *used]))

    # -- charts drawn for the width and theme of the view ----------------------------------------
    def _on_chart_style(self, change: dict) -> None:
        """The sidebar was resized or the theme changed: draw the charts again, off the comm thread
        (each SVG takes ~0.1 s)."""
        threading.Thread(target=self._redraw_charts, name="querygpt-chart-redraw", daemon=True).start()

    def _redraw_charts(self) -> None:
        try:
            style = dict(self.chart_style)
            with self._lock:
                ids = [turn["id"] for turn in self.turns if turn.get("chart")]
            charts = {i: _view.chart_view(self._answers[i], style) for i in ids if i in self._answers}
            with self._lock:
                if style == self.chart_style:   # else a newer redraw follows
                    self.turns = [{**turn, "chart": charts[turn["id"]]} if turn["id"] in charts else turn
                                  for turn in self.turns]
        except Exception as exc:   # a thread's error is otherwise lost: show it
            log.exception("querygpt: redrawing the charts failed")
            self.notice = f"Could not redraw the charts: {type(exc).__name__}: {exc}"

    # -- turns from elsewhere (the %%ask magic) --------------------------------------------------
    def _on_session_answer(self, answer: "Answer") -> None:
        if id(answer) in self._own:
            return
        self._add_finished(answer, source="notebook")
        self.refresh_pickers()

    def _add_finished(self, answer: "Answer", source: str) -> None:
        turn_id = uuid.uuid4().hex[:12]
        connection = self._connection_name(answer)
        view = _view.finished_turn(turn_id, answer, source, connection,
                                   cell=_cell_for(answer, connection) if answer.model else "",
                                   chart_style=self.chart_style)
        with self._lock:
            self._answers[turn_id] = answer
            self.turns = [*self.turns, view]

    def _connection_name(self, answer: "Answer") -> str:
        """The name (as `--conn` takes it) of the connection an answer came from, for its cell."""
        if answer.connection_name:
            return answer.connection_name
        if answer.connection:
            for name in self.session.connection_names():
                try:
                    if self.session.adapter(name).label == answer.connection:
                        return name
                except Exception:   # a connection that no longer opens is simply not this one
                    log.debug("querygpt: could not open %s", name, exc_info=True)
        return answer.connection or ""

    def close(self) -> None:
        self.session.unsubscribe(self._on_session_answer)
        super().close()


class _ThrottledListener:
    """The turn's event listener: stage events go to the front end at once, streamed tokens at
    most TOKEN_UPDATES_PER_S times a second."""

    def __init__(self, widget: ChatWidget, turn_id: str):
        self.widget = widget
        self.turn_id = turn_id
        self.turn = dict(widget.live or {})
        self._last_push = 0.0

    def __call__(self, event: "Event") -> None:
        self.turn = _view.with_event(self.turn, event)
        now = time.monotonic()
        if "token" in event.data and now - self._last_push < 1 / TOKEN_UPDATES_PER_S:
            return
        self._last_push = now
        with self.widget._lock:
            live = self.widget.live
            if live is not None and live.get("id") == self.turn_id:
                self.widget.live = {**self.turn, "status": live.get("status", "running")}

    def flush_events(self) -> list:
        return list(self.turn.get("events", []))


def _cell_for(answer: "Answer", connection: str) -> str:
    """The cell the sidebar inserts: the same reproducible `%%ask --sql` cell `%%ask` inserts."""
    if not answer.sql or answer.error is not None:
        return answer.sql or ""
    from ...conversation import reproducible_cell, variable_name

    return reproducible_cell(answer, connection or "demo", variable_name(answer.question or ""))


def _kernel_id() -> str:
    """The kernel's id as the Jupyter server knows it (its connection file is kernel-<id>.json)."""
    try:
        from ipykernel.connect import get_connection_file

        name = pathlib.Path(get_connection_file()).name
    except Exception:   # not in a kernel (tests, a terminal IPython)
        return ""
    return name[len("kernel-"):-len(".json")] if name.startswith("kernel-") and name.endswith(".json") else ""
