"""The product's errors: one base with a user-facing code and a one-sentence hint.

Stages raise these; renderers (magic, CLI, widget) format them. Each class maps to one code of
the product spec and one CLI exit status, so callers never parse messages.
"""
from __future__ import annotations

from .redact import scrub


class QueryGPTError(Exception):
    """Base of every error a user may see: `code`, a one-sentence `message` and a `hint`."""

    code = "AGENT_FAILURE"
    exit_status = 5
    default_hint = ""

    def __init__(self, message: str, hint: str | None = None):
        message = scrub(message)   # a driver or a model server may quote a password or API key
        super().__init__(message)
        self.message = message
        self.hint = scrub(self.default_hint if hint is None else hint)

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()

    def to_dict(self) -> dict:
        return {"code": self.code, "message": str(self)}

    def _render_traceback_(self) -> list[str]:
        """IPython shows this instead of a traceback: one clean line for the analyst."""
        return [f"{self.code}: {self}"]


class AgentFailure(QueryGPTError):
    code = "AGENT_FAILURE"
    exit_status = 5


class ModelUnavailable(QueryGPTError):
    code = "MODEL_UNAVAILABLE"
    exit_status = 5
    default_hint = "Set the provider's API key, or use the built-in planner with --model querygpt/offline."


class SqlSyntaxError(QueryGPTError):
    code = "SQL_SYNTAX_ERROR"
    exit_status = 4


class SchemaError(QueryGPTError):
    code = "SCHEMA_ERROR"
    exit_status = 4
    default_hint = "Run `%ask tables` (or `querygpt schema`) to see the tables and columns that exist."


class PermissionDenied(QueryGPTError):
    code = "PERMISSION_DENIED"
    exit_status = 3
    default_hint = "querygpt only runs read-only queries (SELECT, WITH, VALUES)."


class QueryTimeout(QueryGPTError):
    code = "QUERY_TIMEOUT"
    exit_status = 4
    default_hint = "Narrow the question, or raise the limit with %config Ask.timeout_s = 120 (or --timeout)."


class QueryCancelled(QueryGPTError):
    """The user interrupted (Ctrl-C / stop button); the connection stays usable."""

    code = "QUERY_TIMEOUT"
    exit_status = 4
    default_hint = "The query was stopped; the connection is still usable."


class DatabaseError(QueryGPTError):
    """The database rejected a query for a reason other than the schema (types, runtime errors)."""

    code = "SQL_SYNTAX_ERROR"
    exit_status = 4


class OutOfMemory(DatabaseError):
    """The query needed more memory (or a bigger result) than the engine's limit allows. The
    engine stopped it; the connection stays usable."""

    code = "OUT_OF_MEMORY"
    exit_status = 4
    default_hint = ("Aggregate or filter in SQL so less data is held at once, or raise the limit with "
                    "%config Ask.max_memory_mb = 4096 (or --max-memory-mb).")


class DbConnFail(QueryGPTError):
    code = "DB_CONN_FAIL"
    exit_status = 4
    default_hint = "Check the address, that the server is running and that the file exists."


class UsageError(QueryGPTError):
    """Wrong arguments to a command or function; CLI exit status 2."""

    code = "USAGE_ERROR"
    exit_status = 2
