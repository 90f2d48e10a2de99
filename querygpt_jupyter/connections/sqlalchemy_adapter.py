"""Server databases through SQLAlchemy: PostgreSQL, MySQL/MariaDB, and others as a fallback.

SQLAlchemy parses the URL, loads the user's driver and pools connections; the SQL itself goes to
the driver's cursor with no parameters, so a `%` in `LIKE '%x%'` stays a `%`. Each query runs in
its own transaction that the engine itself makes read-only, under a server-side time limit, and
is always rolled back. What differs per engine (the read-only statements, how to cancel, the
catalogue queries, the error codes) lives in `postgres_adapter.py` and `mysql_adapter.py`, chosen
from ENGINE_ADAPTERS by the URL's backend.
"""
from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from sqlglot import exp

from .. import errors
from .catalog import Column, ForeignKey, Table

if TYPE_CHECKING:
    import pandas as pd

    from .budget import Budget

log = logging.getLogger("querygpt")

# backend name (as SQLAlchemy reports it) -> "module:class" of its adapter
ENGINE_ADAPTERS = {
    "postgresql": "postgres_adapter:PostgresAdapter",
    "mysql": "mysql_adapter:MySQLAdapter",
    "mariadb": "mysql_adapter:MySQLAdapter",
}

# sqlglot dialect of backends without an adapter of their own (guard + rollback only)
FALLBACK_DIALECTS = {
    "sqlite": "sqlite", "duckdb": "duckdb", "mssql": "tsql", "oracle": "oracle",
    "snowflake": "snowflake", "bigquery": "bigquery", "redshift": "redshift", "trino": "trino",
}

# Server-side limit on one statement when the caller gives none: a backstop for a client that
# went away, generous so that it never cuts a query the caller's own timeout would have allowed.
BACKSTOP_TIMEOUT_S = 3600.0
CATALOG_TIMEOUT_S = 60.0     # the catalogue queries of schema()
CANCEL_RETRY_S = 0.25        # a cancel that reached the server before the query is sent again
CANCEL_PERSIST_S = 10.0


def open_url(url: str, memory_mb: int | None = None):
    """An adapter for a SQLAlchemy URL, connected once so that a wrong address fails now.
    `memory_mb`: Ask.max_memory_mb, for engines with a per-query memory setting."""
    import sqlalchemy

    try:
        parsed = sqlalchemy.engine.make_url(url)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError: not a URL at all
        raise errors.DbConnFail(
            f"Could not read the connection URL: {_without_secrets(str(exc), url)}",
            hint="Write it as dialect+driver://user:password@host:port/database, e.g. postgresql://me@localhost/shop.",
        ) from None
    _require_known_dialect(parsed)
    cls = adapter_class(parsed.get_backend_name())
    parsed = cls.with_installed_driver(parsed)
    try:
        engine = sqlalchemy.create_engine(parsed, connect_args=cls.connect_args(parsed), pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        package = cls.DRIVERS.get(parsed.get_driver_name(), (exc.name, exc.name))[1]
        raise errors.DbConnFail(
            f"The {cls.engine_name} driver {parsed.get_driver_name()!r} is not installed.",
            hint=f"Install it (pip install {package}), or name an installed driver in the URL "
                 f"({', '.join(f'{parsed.get_backend_name()}+{d}://' for d in cls.DRIVERS) or 'dialect+driver://'}).",
        ) from None
    except Exception as exc:
        from sqlalchemy.exc import NoSuchModuleError

        if isinstance(exc, NoSuchModuleError):
            raise errors.DbConnFail(
                f"{parsed.get_backend_name()} has no driver named {parsed.get_driver_name()!r} here.",
                hint=f"Name an installed driver ({', '.join(f'{parsed.get_backend_name()}+{d}://' for d in cls.DRIVERS) or 'dialect+driver://'}), "
                     "or leave the driver out.",
            ) from None
        raise errors.DbConnFail(
            f"Could not use the connection URL (host {where(parsed)}): {_without_secrets(str(exc).splitlines()[0], url)}",
            hint="Check the URL's form and that its driver is installed.",
        ) from None
    adapter = cls(engine, owned=True)
    adapter.memory_mb = memory_mb
    adapter.check_connection()
    return adapter


def _require_known_dialect(parsed) -> None:
    """`notascheme://x` names no database SQLAlchemy knows: say that, not a plugin-loader error."""
    from sqlalchemy.dialects import registry
    from sqlalchemy.exc import NoSuchModuleError

    try:
        registry.load(parsed.get_backend_name())
    except NoSuchModuleError:
        raise errors.DbConnFail(
            f"{parsed.get_backend_name()}:// is not a kind of database querygpt can open "
            "(no SQLAlchemy dialect of that name is installed).",
            hint="Use postgresql://, mysql+pymysql://, sqlite:///FILE, duckdb:///FILE, a .duckdb/.sqlite path, or demo.",
        ) from None
    except Exception:  # the dialect exists but its module failed to import: the create_engine step says why
        return


def for_engine(engine, *, owned: bool = False, memory_mb: int | None = None):
    """An adapter over a user's own engine (their pool, their driver options)."""
    adapter = adapter_class(engine.url.get_backend_name())(engine, owned=owned)
    adapter.memory_mb = memory_mb
    return adapter


def adapter_class(backend: str) -> type["SQLAlchemyAdapter"]:
    target = ENGINE_ADAPTERS.get(backend)
    if target is None:
        return SQLAlchemyAdapter
    module, name = target.split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), name)


def where(url) -> str:
    """host:port/database of a URL, for messages: never the password or the query string."""
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    user = f" as user {url.username!r}" if url.username else ""
    return f"{host}{port}, database {url.database or '(default)'!r}{user}"


def safe_label(url) -> str:
    """backend://user@host:port/database: safe to show and store (no password, no query string,
    where some drivers take a password too)."""
    user = f"{url.username}@" if url.username else ""
    port = f":{url.port}" if url.port else ""
    return f"{url.drivername}://{user}{url.host or ''}{port}/{url.database or ''}"


def _without_secrets(text: str, *secrets: Any) -> str:
    for secret in secrets:
        password = getattr(secret, "password", None) if not isinstance(secret, str) else _password_of(secret)
        if password:
            text = text.replace(str(password), "***")
    return text


def _password_of(url: str) -> str | None:
    try:
        import sqlalchemy

        return sqlalchemy.engine.make_url(url).password
    except Exception:  # not a URL: nothing to hide
        return None


@dataclass
class Running:
    """The query in flight: what interrupt() needs to cancel it from another thread."""

    dbapi: Any
    session_id: Any = None               # the server's id of the connection (MySQL: KILL QUERY id)
    done: threading.Event = field(default_factory=threading.Event)


class SQLAlchemyAdapter:
    """Any SQLAlchemy backend: the guard plus one rolled-back transaction per query. Engines with
    an adapter of their own (ENGINE_ADAPTERS) add a read-only transaction, a server-side timeout,
    a real cancel and catalogue queries by overriding the hooks below."""

    kind = "sqlalchemy"
    engine_name = "the database"
    memory_mb: int | None = None   # Ask.max_memory_mb: engines with a per-query memory setting apply it
    # SQLAlchemy driver name -> (module to import, package to install); the order is our
    # preference when a URL names no driver (SQLAlchemy would insist on its own default).
    DRIVERS: dict[str, tuple[str, str]] = {}
    # reason shown for a connection failure: (words in the driver's message, reason, hint)
    CONNECT_FAILURES: tuple[tuple[tuple[str, ...], str, str], ...] = ()

    def __init__(self, engine, *, owned: bool):
        self._engine = engine
        self._owned = owned
        self.url = engine.url
        self.dialect = self.dialect_for(engine)
        self.label = safe_label(engine.url)
        self._lock = threading.Lock()
        self._running: Running | None = None
        self._names: dict[str, tuple[str | None, str]] = {}   # catalogue name -> (schema, table)

    @classmethod
    def with_installed_driver(cls, url):
        """`postgresql://…` names no driver: use one that is installed (an explicit one is kept)."""
        import importlib.util

        if "+" in url.drivername or not cls.DRIVERS:
            return url
        for driver, (module, _) in cls.DRIVERS.items():
            if importlib.util.find_spec(module.split(".")[0]) is not None:
                return url.set(drivername=f"{url.get_backend_name()}+{driver}")
        return url

    # -- hooks for engine adapters --------------------------------------------------------------
    @classmethod
    def dialect_for(cls, engine) -> str:
        backend = engine.url.get_backend_name()
        return FALLBACK_DIALECTS.get(backend, backend)

    @classmethod
    def connect_args(cls, url) -> dict:
        """Driver options for engines we create (e.g. a connect timeout)."""
        return {}

    def begin_read_only(self, cursor, dbapi, timeout_s: float) -> None:
        """Open this query's transaction inside the engine's read-only wall."""

    def end_transaction(self, cursor, dbapi) -> None:
        dbapi.rollback()

    def session_id(self, dbapi) -> Any:
        return None

    def cancel(self, running: Running) -> None:
        cancel = getattr(running.dbapi, "cancel", None)
        if cancel is not None:
            cancel()

    def read(self, cursor, sql: str, budget: "Budget | None" = None) -> "pd.DataFrame":
        """Run the query and return its rows as a DataFrame, read in batches within `budget`."""
        from .budget import read_rows

        cursor.execute(sql)  # no parameters: a `%` in the SQL stays a `%`
        names = [d[0] for d in cursor.description or ()]
        return read_rows(cursor.fetchmany, names, budget)

    def schema(self) -> list[Table]:
        """Tables, columns, keys and comments, through SQLAlchemy's inspector (slow: queries per
        table). Engine adapters override this with a few catalogue queries."""
        import sqlalchemy

        inspector = sqlalchemy.inspect(self._engine)
        tables = []
        for name in inspector.get_table_names() + inspector.get_view_names():
            pk = set((inspector.get_pk_constraint(name) or {}).get("constrained_columns") or ())
            columns = tuple(
                Column(c["name"], str(c["type"]), c.get("comment"), c["name"] in pk) for c in inspector.get_columns(name)
            )
            fks = tuple(
                ForeignKey(tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                for fk in inspector.get_foreign_keys(name)
            )
            try:
                comment = (inspector.get_table_comment(name) or {}).get("text")
            except NotImplementedError:
                comment = None
            tables.append(Table(name, columns, comment, None, fks))
        return tables

    def classify_driver_error(self, error: BaseException) -> errors.QueryGPTError | None:
        """The product error for an engine error, from its code; None: use the generic rules."""
        return None

    # -- the Adapter protocol -------------------------------------------------------------------
    def check_connection(self) -> None:
        with self._connect():
            pass

    reads_within_budget = True

    def fetch(self, sql: str, timeout_s: float | None = None, budget: "Budget | None" = None) -> "pd.DataFrame":
        """Run one checked query in a read-only transaction that is then rolled back. The server
        stops it after `timeout_s` (default: a generous backstop; the executor cancels sooner);
        reading stops at `budget` (connections/budget.py)."""
        return self._in_read_only_transaction(lambda cursor: self.read(cursor, sql, budget),
                                              timeout_s or BACKSTOP_TIMEOUT_S)

    def rows(self, sql: str, timeout_s: float = CATALOG_TIMEOUT_S) -> list[tuple]:
        """Rows of a catalogue query, inside the same read-only wall."""

        def collect(cursor) -> list[tuple]:
            cursor.execute(sql)
            return list(cursor.fetchall())

        return self._in_read_only_transaction(collect, timeout_s)

    def interrupt(self) -> None:
        """Cancel the running query on the server. A cancel that reaches the server just before
        the query (PostgreSQL then ignores it) is sent again until that query has ended."""
        running = self._running
        if running is None:
            return
        threading.Thread(target=self._keep_cancelling, args=(running,), name="querygpt-cancel", daemon=True).start()

    def table_reference(self, name: str) -> exp.Table:
        """The table a catalogue name stands for, as SQL (`sales.orders` for another schema)."""
        schema, table = self._names.get(name, (None, name))
        return exp.table_(exp.to_identifier(table, quoted=True),
                          db=exp.to_identifier(schema, quoted=True) if schema else None)

    def classify(self, error: BaseException) -> errors.QueryGPTError:
        error = getattr(error, "orig", None) or error
        known = self.classify_driver_error(error)
        if known is not None:
            return known
        message = self._message(error)
        lowered = message.lower()
        if "cancel" in lowered or "interrupt" in lowered or "timeout" in lowered:
            return errors.QueryTimeout(message)
        if "does not exist" in lowered or "unknown column" in lowered or "doesn't exist" in lowered:
            return errors.SchemaError(message)
        if "read-only" in lowered or "read only" in lowered or "permission denied" in lowered:
            return errors.PermissionDenied(message)
        if "syntax" in lowered:
            return errors.SqlSyntaxError(message)
        if "connect" in lowered:
            return self.connection_failure(error)
        return errors.DatabaseError(message)

    def close(self) -> None:
        if self._owned:
            self._engine.dispose()

    # -- naming of tables by schema --------------------------------------------------------------
    def name_tables(self, tables: list[tuple[str, str]], default_schema: str | None) -> dict[tuple[str, str], str]:
        """Catalogue names: a bare name for the default schema, `schema.table` for the others.
        Remembered, so that table_reference() finds the schema again."""
        names = {}
        for schema, table in tables:
            name = table if schema == default_schema else f"{schema}.{table}"
            names[(schema, table)] = name
            self._names[name] = (schema, table)
        return names

    # -- the read-only transaction -------------------------------------------------------------
    def _in_read_only_transaction(self, work: Callable[[Any], Any], timeout_s: float) -> Any:
        with self._lock, self._connect() as connection:
            dbapi = connection.connection.dbapi_connection
            running = Running(dbapi, self.session_id(dbapi))
            self._running = running
            cursor = dbapi.cursor()
            try:
                self.begin_read_only(cursor, dbapi, timeout_s)
                return work(cursor)
            finally:
                self._running = None
                running.done.set()
                self._finish(cursor, dbapi, connection)

    def _finish(self, cursor, dbapi, connection) -> None:
        try:
            self.end_transaction(cursor, dbapi)
            cursor.close()
        except Exception:  # the connection broke (server gone, killed): never hand it out again
            log.debug("querygpt: discarding a broken connection to %s", self.label, exc_info=True)
            connection.invalidate()

    def _connect(self):
        try:
            return self._engine.connect()
        except Exception as exc:
            raise self.connection_failure(getattr(exc, "orig", None) or exc) from None

    def _keep_cancelling(self, running: Running) -> None:
        deadline = time.monotonic() + CANCEL_PERSIST_S
        while not running.done.is_set() and time.monotonic() < deadline:
            try:
                self.cancel(running)
            except Exception:  # the query may have ended meanwhile; the next round tells
                log.debug("querygpt: cancel on %s failed", self.label, exc_info=True)
            running.done.wait(CANCEL_RETRY_S)

    # -- messages ------------------------------------------------------------------------------
    def connection_failure(self, error: BaseException) -> errors.DbConnFail:
        """DB_CONN_FAIL naming host, port and database (never the password), with a hint."""
        detail = self._message(error)
        lowered = detail.lower()
        for words, reason, hint in self.CONNECT_FAILURES:
            if any(word in lowered for word in words):
                return errors.DbConnFail(f"Could not connect to {self.engine_name} at {where(self.url)}: {reason}.",
                                         hint=hint)
        return errors.DbConnFail(
            f"Could not connect to {self.engine_name} at {where(self.url)}: {detail}",
            hint="Check the host, port, database name, user and password, and that the server is running.",
        )

    def _message(self, error: BaseException) -> str:
        text = " ".join(str(error).split()) or type(error).__name__
        return _without_secrets(text, self.url)
