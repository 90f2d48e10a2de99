"""Server databases through SQLAlchemy (PostgreSQL, MySQL/MariaDB, ...), each query in a
read-only transaction that is always rolled back."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .. import errors
from .catalog import Column, ForeignKey, Table

if TYPE_CHECKING:
    import pandas as pd

# sqlglot dialect and the statement that makes the current transaction read-only, per backend
_BACKENDS = {
    "postgresql": ("postgres", "SET TRANSACTION READ ONLY"),
    "mysql": ("mysql", "SET TRANSACTION READ ONLY"),
    "mariadb": ("mysql", "SET TRANSACTION READ ONLY"),
    "sqlite": ("sqlite", None),
    "duckdb": ("duckdb", None),
    "mssql": ("tsql", None),
    "oracle": ("oracle", "SET TRANSACTION READ ONLY"),
    "snowflake": ("snowflake", None),
    "bigquery": ("bigquery", None),
}


class SQLAlchemyAdapter:
    kind = "sqlalchemy"

    def __init__(self, engine, *, owned: bool):
        self._engine = engine
        self._owned = owned
        backend = engine.url.get_backend_name()
        self.dialect, self._read_only_sql = _BACKENDS.get(backend, (backend, None))
        self.label = engine.url.render_as_string(hide_password=True)
        self._running = None
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> "SQLAlchemyAdapter":
        import sqlalchemy

        try:
            engine = sqlalchemy.create_engine(url)
        except Exception as exc:  # bad URL or missing driver
            raise errors.DbConnFail(f"Could not use the connection URL: {str(exc).splitlines()[0]}",
                                    hint="Check the URL's form and that its driver is installed.") from None
        return cls(engine, owned=True)

    def fetch(self, sql: str) -> "pd.DataFrame":
        import pandas as pd

        with self._lock, self._engine.connect() as connection:
            if self._read_only_sql:
                connection.exec_driver_sql(self._read_only_sql)
            self._running = connection
            try:
                cursor = connection.connection.driver_connection.cursor()
                cursor.execute(sql)  # no parameters: a `%` in the SQL stays a `%`
                names = [d[0] for d in cursor.description or ()]
                rows = cursor.fetchall()
            finally:
                self._running = None
                connection.rollback()
        return pd.DataFrame.from_records(rows, columns=names)

    def interrupt(self) -> None:
        running = self._running
        cancel = getattr(getattr(getattr(running, "connection", None), "driver_connection", None), "cancel", None)
        if cancel:
            cancel()

    def schema(self) -> list[Table]:
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

    def classify(self, error: BaseException) -> errors.QueryGPTError:
        message = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        lowered = message.lower()
        if "cancel" in lowered or "interrupt" in lowered or "statement timeout" in lowered or "max_execution_time" in lowered:
            return errors.QueryCancelled(message)
        if "does not exist" in lowered or "unknown column" in lowered or "doesn't exist" in lowered:
            return errors.SchemaError(message)
        if "read-only" in lowered or "read only" in lowered or "permission denied" in lowered:
            return errors.PermissionDenied(message)
        if "syntax" in lowered:
            return errors.SqlSyntaxError(message)
        if "connect" in lowered:
            return errors.DbConnFail(message)
        return errors.DatabaseError(message)

    def close(self) -> None:
        if self._owned:
            self._engine.dispose()
