"""Per-kernel state of the notebook shells: configuration, named connections, the current one,
and the turns asked so far. One `Session` per IPython shell; plain scripts have none."""
from __future__ import annotations

import sys
import uuid
from typing import Any

from . import errors
from .config import Ask

_session: "Session | None" = None

# type modules whose objects are connections we can query
_CONNECTION_MODULES = ("duckdb", "sqlite3", "sqlalchemy", "pyspark")
JUPYSQL_NAME = "jupysql"  # JupySQL's current %sql connection, when JupySQL is loaded
# names that always mean a built-in connection: `%ask connect … --name` cannot take them
RESERVED_NAMES = {"demo": "the demo database", "dataframes": "the namespace's DataFrames",
                  JUPYSQL_NAME: "JupySQL's current connection"}


class Session:
    def __init__(self, shell: Any = None):
        self.shell = shell
        self.config = Ask(parent=shell, config=getattr(shell, "config", None))
        self.named: dict[str, Any] = {}      # %ask connect URL --name N
        self.current: str | None = None      # in use: the last connected or answered; preferred in a tie
        self.answers: list = []              # every turn of this kernel, oldest first
        self.conversation_id = uuid.uuid4().hex
        self._produced: set[int] = set()     # ids of DataFrames querygpt bound (not the user's data)
        self._listeners: list = []           # called with each new Answer (the sidebar listens)

    # -- the conversation --------------------------------------------------------------------------
    def add_answer(self, answer, source: str = "magic"):
        """Every turn, from a magic or the sidebar, goes through here: it joins the conversation,
        is recorded in the history index, and every view sees it."""
        answer.conversation_id = answer.conversation_id or self.conversation_id
        self.answers.append(answer)
        from .history.recorder import record

        turn = record(answer, source=source, notebook=self.notebook(), store=self.config.history)
        if answer.connection_name and answer.error is None:
            self.current = answer.connection_name   # follow-ups with nothing to tell stay on it
        for listener in list(self._listeners):
            try:
                listener(answer)
            except Exception:  # a broken view must not break the turn
                import logging

                logging.getLogger("querygpt").exception("querygpt: an answer listener failed")
        return turn

    def new_conversation(self) -> str:
        self.conversation_id = uuid.uuid4().hex
        return self.conversation_id

    def conversation(self, connection_label: str | None = None) -> list:
        """Answers of the current conversation (on one connection when given) — the follow-up context."""
        return [a for a in self.answers if a.conversation_id == self.conversation_id
                and (connection_label is None or a.connection == connection_label)]

    def feedback(self, answer, kind: str, text: str | None = None) -> dict:
        """Record feedback on a turn (correct / partial / wrong / suggestion) in the answer and the index."""
        from .history.records import feedback_kind

        answer.feedback = {"kind": feedback_kind(kind), "text": text or None}
        if self.config.history and answer.turn_id:
            from .history.index import default_index

            default_index().set_feedback(answer.turn_id, answer.feedback["kind"], answer.feedback["text"])
        return answer.feedback

    def notebook(self) -> str | None:
        from .history.notebook import current_notebook

        return current_notebook(self.shell.user_ns if self.shell is not None else None, configured=self.config.notebook)

    def subscribe(self, listener) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def unsubscribe(self, listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # -- connections -------------------------------------------------------------------------------
    def connect(self, spec: Any, name: str | None = None) -> str:
        """Remember a connection under `name` and make it the one in use; opening it now surfaces
        errors early. The built-in names (demo, dataframes, jupysql) cannot be taken."""
        if name and name.lower() in RESERVED_NAMES and not (name.lower() == "demo" and _is_demo(spec)):
            raise errors.UsageError(
                f"{name!r} is the name of a built-in connection ({RESERVED_NAMES[name.lower()]}); choose another name.",
                hint="For example: %ask connect URL --name mydb")
        name = name or _default_name(spec)
        from .connections.resolve import open_connection

        open_connection(spec, self.config.resolved_allowed_paths(), self.config.max_memory_mb)
        self.named[name] = spec
        self.current = name
        return name

    def choose(self, name: str | None = None, question: str | None = None, sql: bool = False,
               how: str = "--conn", pick_with: str = "--conn NAME"):
        """The connection a turn uses, opened (a `connections.choose.Choice`): the one named (by
        `how`: --conn, the sidebar), else `Ask.conn`, else the one the question is about."""
        from .connections.choose import choose

        explicit = name or self.config.conn or None
        how = how if name else "%config Ask.conn"
        return choose(self.candidates(), question=question, sql=sql, explicit=explicit, explicit_how=how,
                      open_named=self._open_named, preferred=self.current, pick_with=pick_with)

    def adapter(self, name: str | None = None, question: str | None = None):
        return self.choose(name, question).adapter

    def candidates(self) -> list:
        """Every connection a question may go to: named ones, connection objects in the
        namespace (and JupySQL's), the namespace's DataFrames together, and the demo database."""
        from .connections.choose import Candidate
        from .connections.resolve import open_connection

        paths = self.config.resolved_allowed_paths()
        found = [Candidate(name, (lambda spec=spec: open_connection(spec, paths)), own=not _is_demo(spec))
                 for name, spec in self.named.items()]
        for name, obj in self.namespace_connections().items():
            if name not in self.named and (name not in RESERVED_NAMES or name == JUPYSQL_NAME):
                found.append(Candidate(name, lambda name=name: self._open_named(name)))
        if self.namespace_frames() and "dataframes" not in self.named:
            found.append(Candidate("dataframes", lambda: self._open_named("dataframes")))
        if "demo" not in self.named:
            found.append(Candidate("demo", lambda: open_connection("demo", paths), own=False))
        return found

    def _open_named(self, name: str):
        """An adapter for a name as --conn takes it: a built-in, a named connection, a variable
        holding a connection or a DataFrame, or JupySQL's connection."""
        from .connections.resolve import from_object, open_connection

        paths, memory = self.config.resolved_allowed_paths(), self.config.max_memory_mb
        if name in self.named:
            return open_connection(self.named[name], paths, memory)
        if name == "demo":
            return open_connection("demo", paths, memory)
        if name == "dataframes":
            frames = self.namespace_frames()
            if not frames:
                raise errors.UsageError("There are no DataFrames in the namespace to ask about.")
            return from_object(frames, paths, name="dataframes", memory_mb=memory)
        namespace = self._namespace()
        if name in namespace and _is_queryable(namespace[name]):
            return from_object(namespace[name], paths, name=name, memory_mb=memory)
        discovered = self.namespace_connections()
        if name in discovered:
            return from_object(discovered[name], paths, name=name, memory_mb=memory)
        raise errors.UsageError(
            f"No connection named {name!r}.",
            hint=f"Known: {', '.join(self.connection_names()) or 'none'}. Add one with `%ask connect URL --name NAME`.",
        )

    def connection_names(self) -> list[str]:
        return [c.name for c in self.candidates()]

    def namespace_connections(self) -> dict[str, Any]:
        """Connection objects in the namespace, plus JupySQL's current `%sql` connection (named
        "jupysql") when JupySQL is loaded and that connection is not one of them already."""
        found = {k: v for k, v in self._namespace().items() if _is_connection(v)}
        current = jupysql_connection()
        if current is not None and not any(_same_connection(current, v) for v in found.values()):
            found[JUPYSQL_NAME] = current
        return found

    def namespace_frames(self) -> dict[str, Any]:
        from .connections.frames import is_dataframe

        return {k: v for k, v in self._namespace().items() if is_dataframe(v) and id(v) not in self._produced}

    def bind(self, name: str, frame: Any) -> None:
        """Put a result in the user's namespace, remembering it is ours (not a data source)."""
        self._produced.add(id(frame))
        if self.shell is not None:
            self.shell.user_ns[name] = frame

    def _namespace(self) -> dict[str, Any]:
        if self.shell is None:
            return {}
        hidden = getattr(self.shell, "user_ns_hidden", {})
        return {k: v for k, v in self.shell.user_ns.items() if not k.startswith("_") and k not in hidden}


def jupysql_connection() -> Any:
    """The connection JupySQL's `%sql` uses now, when JupySQL is loaded (it is never imported
    here): its SQLAlchemy connection, or the DuckDB/sqlite3 connection it wraps. None otherwise."""
    module = sys.modules.get("sql.connection")
    manager = getattr(module, "ConnectionManager", None)
    current = getattr(manager, "current", None)
    if current is None or not hasattr(manager, "connections"):
        return None
    for attribute in ("connection_sqlalchemy", "_connection"):
        inner = getattr(current, attribute, None)
        if _is_connection(inner):
            return inner
    return None


def _same_connection(a: Any, b: Any) -> bool:
    """One database object seen twice: the same object, or a SQLAlchemy connection of that engine."""
    return a is b or getattr(a, "engine", a) is getattr(b, "engine", b)


def _is_connection(obj: Any) -> bool:
    module = type(obj).__module__.split(".")[0].lstrip("_")
    if module not in _CONNECTION_MODULES:
        return False
    name = type(obj).__name__
    return name in ("DuckDBPyConnection", "Connection", "Engine", "SparkSession")


def _is_queryable(obj: Any) -> bool:
    from .connections.frames import is_dataframe

    return _is_connection(obj) or is_dataframe(obj)


def _is_demo(spec: Any) -> bool:
    return isinstance(spec, str) and spec.strip().lower() == "demo"


def _default_name(spec: Any) -> str:
    """A name from the URL or path (`shop` for shop.duckdb); never a built-in's name (a file
    demo.duckdb becomes demo_db)."""
    if _is_demo(spec):
        return "demo"
    if isinstance(spec, str):
        import os

        tail = spec.rstrip("/").split("/")[-1].split("?")[0]
        stem = os.path.splitext(tail)[0] or "db"
        name = "".join(ch if ch.isalnum() else "_" for ch in stem).strip("_") or "db"
        return f"{name}_db" if name.lower() in RESERVED_NAMES else name
    return "db"


def current_session() -> "Session | None":
    return _session


def start_session(shell: Any) -> Session:
    global _session
    if _session is None or _session.shell is not shell:
        _session = Session(shell)
    return _session


def end_session() -> None:
    global _session
    _session = None
