"""The product's errors: one base with a user-facing code and a one-sentence hint.

Stages raise these; renderers (magic, CLI, widget) format them. Each class maps to one code of
the product spec and one CLI exit status, so callers never parse messages.
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any, Iterator

# ---------------------------------------------------------------------------------------------
# Hints in the caller's own terms: a notebook user is told `%ask model …`, a shell user `--model …`,
# a Python user `model="…"`. Stages write `how("use_offline")`; the face is set by the shell.

FACES = ("python", "notebook", "cli")
_face: ContextVar[str] = ContextVar("querygpt_face", default="python")

HOW: dict[str, dict[str, str]] = {
    "configure_model": {
        "notebook": "`%ask model openai/gpt-4o-mini` (with its key in OPENAI_API_KEY)",
        "cli": "--model openai/gpt-4o-mini (with its key in OPENAI_API_KEY)",
        "python": 'model="openai/gpt-4o-mini" (with its key in OPENAI_API_KEY)',
    },
    "use_offline": {
        "notebook": "`%ask model querygpt/offline`",
        "cli": "--model querygpt/offline",
        "python": 'model="querygpt/offline"',
    },
    "key_env": {
        "notebook": "`%ask model {model} --key-env NAME`",
        "cli": "--key-env NAME",
        "python": 'key_env="NAME"',
    },
    "api_base": {
        "notebook": "`%ask model {model} --api-base URL`",
        "cli": "--api-base URL",
        "python": 'api_base="URL"',
    },
    "check_model": {
        "notebook": "`%ask model`",
        "cli": "--model",
        "python": "model=",
    },
    "show_tables": {
        "notebook": "`%ask tables`",
        "cli": "`querygpt schema --db …`",
        "python": "querygpt_jupyter.schema(db)",
    },
    "raise_timeout": {
        "notebook": "`%config Ask.timeout_s = 120`",
        "cli": "--timeout 120",
        "python": "timeout_s=120",
    },
    "raise_memory": {
        "notebook": "`%config Ask.max_memory_mb = 4096`",
        "cli": "--max-memory-mb 4096",
        "python": "max_memory_mb=4096",
    },
    "choose_db": {
        "notebook": "`%ask connect URL --name NAME` (or --conn NAME)",
        "cli": "--db URL_OR_PATH",
        "python": "db=URL_OR_PATH",
    },
}


def how(action: str, **values: str) -> str:
    """The way to do `action` in the words of the face the user is looking at."""
    return HOW[action][_face.get()].format(**values)


def current_face() -> str:
    return _face.get()


@contextlib.contextmanager
def speaking_to(face: str) -> Iterator[None]:
    """Hints raised inside this block are written for `face` ("notebook", "cli" or "python")."""
    previous = _face.get()
    _face.set(face)
    try:
        yield
    finally:
        # set, not reset(token): a generator closed from another thread's context cannot reset
        _face.set(previous)

from .redact import scrub


class QueryGPTError(Exception):
    """Base of every error a user may see: `code`, a one-sentence `message` and a `hint`."""

    code = "AGENT_FAILURE"
    kind: str | None = None   # a finer name within the code (OUT_OF_MEMORY, UNKNOWN_FUNCTION, TYPE_ERROR)
    exit_status = 5
    default_hint = ""

    def __init__(self, message: str, hint: str | None = None):
        message = scrub(message)   # a driver or a model server may quote a password or API key
        super().__init__(message)
        self.message = message
        self.hint = scrub(self.default_hint.format_map(_Phrases()) if hint is None else hint)

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()

    @property
    def label(self) -> str:
        """The finest name of what happened: the kind when a code covers several (QUERY_TIMEOUT
        for time and memory; SCHEMA_ERROR for unknown names, functions and types), else the code."""
        return self.kind or self.code

    def to_dict(self) -> dict:
        return {"code": self.code, "kind": self.label, "message": str(self)}

    def _render_traceback_(self) -> list[str]:
        """IPython shows this instead of a traceback: one clean line for the analyst."""
        return [f"{self.label}: {self}"]


def coded(exc: BaseException) -> "QueryGPTError":
    """Any failure of a turn as a coded error — the one place this happens: ours as they are,
    Ctrl-C or the stop button as QUERY_CANCELLED, anything else (a bug) as AGENT_FAILURE with the
    traceback kept in the log."""
    if isinstance(exc, QueryGPTError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return QueryCancelled("The question was stopped (interrupted).")
    import logging

    logging.getLogger("querygpt").error("querygpt: unexpected failure", exc_info=exc)
    return AgentFailure(f"querygpt failed unexpectedly: {type(exc).__name__}: {exc}",
                        hint="This is a bug; the full traceback is in the log (logging.getLogger('querygpt')).")


class AgentFailure(QueryGPTError):
    """The planner gave no usable SQL. A model planner says what the failed turn cost and tried,
    so the answer can show it."""
    code = "AGENT_FAILURE"
    exit_status = 5

    def __init__(self, message: str, hint: str | None = None, *, usage: Any = None, attempts: tuple = (),
                 model_ms: float | None = None):
        super().__init__(message, hint)
        self.usage = usage          # answer.Usage, or None when no model was called
        self.attempts = tuple(attempts)   # answer.Attempt, oldest first
        self.model_ms = model_ms


class ModelUnavailable(QueryGPTError):
    code = "MODEL_UNAVAILABLE"
    exit_status = 5
    default_hint = "Set the provider's API key, or use the built-in planner with {use_offline}."


class SqlSyntaxError(QueryGPTError):
    code = "SQL_SYNTAX_ERROR"
    exit_status = 4


class SchemaError(QueryGPTError):
    code = "SCHEMA_ERROR"
    exit_status = 4
    default_hint = "Run {show_tables} to see the tables and columns that exist."


class PermissionDenied(QueryGPTError):
    code = "PERMISSION_DENIED"
    exit_status = 3
    default_hint = "querygpt only runs read-only queries (SELECT, WITH, VALUES)."


class QueryTimeout(QueryGPTError):
    code = "QUERY_TIMEOUT"
    exit_status = 4
    default_hint = "Narrow the question, or raise the limit with {raise_timeout}."


class QueryCancelled(QueryGPTError):
    """The user interrupted (Ctrl-C / stop button); the connection stays usable."""

    code = "QUERY_TIMEOUT"
    exit_status = 4
    default_hint = "The query was stopped; the connection is still usable."


class DatabaseError(QueryGPTError):
    """The database rejected a query for a reason other than the schema (types, runtime errors)."""

    code = "SQL_SYNTAX_ERROR"
    exit_status = 4


class OutOfMemory(QueryGPTError):
    """The query needed more memory (or a bigger result) than the engine's limit allows. The
    engine stopped it; the connection stays usable. Its code is the spec's QUERY_TIMEOUT — the
    code for every limit that stops a query (time, memory, Ctrl-C) — its kind says memory."""

    code = "QUERY_TIMEOUT"
    kind = "OUT_OF_MEMORY"
    exit_status = 4
    default_hint = ("Aggregate or filter in SQL so less data is held at once, or raise the limit with "
                    "{raise_memory}.")


class UnknownFunction(QueryGPTError):
    """The engine has no such function (or construct): a dialect mismatch, not a syntax error.
    Like an unknown table or column it is a SCHEMA_ERROR (a name this database does not have);
    its kind tells it apart, and the hint says the engine's own way where we know it."""

    code = "SCHEMA_ERROR"
    kind = "UNKNOWN_FUNCTION"
    exit_status = 4
    default_hint = "Use a function this database has."


class SqlTypeError(QueryGPTError):
    """Values of the wrong type for an operation (a date minus a number, text compared with a
    date) — refused before running when the engine would silently compute something else. The
    query does not fit the schema's types: a SCHEMA_ERROR of kind TYPE_ERROR, not a syntax error."""

    code = "SCHEMA_ERROR"
    kind = "TYPE_ERROR"
    exit_status = 4
    default_hint = "Cast the values to the types the operation needs."


class DbConnFail(QueryGPTError):
    code = "DB_CONN_FAIL"
    exit_status = 4
    default_hint = "Check the address, that the server is running and that the file exists."


class UsageError(QueryGPTError):
    """Wrong arguments to a command or function; CLI exit status 2."""

    code = "USAGE_ERROR"
    exit_status = 2


class _Phrases(dict):
    """`default_hint.format_map(_Phrases())`: {action} placeholders become `how(action)`."""

    def __missing__(self, action: str) -> str:
        return how(action)
