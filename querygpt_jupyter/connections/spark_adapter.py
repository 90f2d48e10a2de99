"""Apache Spark through PySpark 4: a SparkSession of the analyst's (classic or Spark Connect),
a Spark Connect URL (`sc://host:15002`), or `spark-local`, a local Spark started in this process.

Walls: the guard (sqlglot's `spark` dialect with Spark's own dangers), and Spark's own parser —
every query runs as the subquery of an outer `SELECT * FROM (…)`, where Spark's grammar admits no
command (INSERT, SET, CACHE, ADD JAR, a SQL script…) and no second statement, because
`spark.sql()` runs a command the moment it is called. Sessions we open ourselves also turn SQL on
files off when no folder is allowed. Nothing is ever set on the analyst's own session: each query
carries a job tag of its own (added and removed around it on the running thread), which is what
a timeout or Ctrl-C cancels with `interruptTag`; results come back as Arrow (`toArrow`), which
needs no Arrow setting either. pyspark is imported only here, when a Spark connection is opened.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from .. import errors
from .catalog import Column, Table

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("querygpt")

LOCAL_NAMES = ("spark-local",)   # `--db spark-local`: a local Spark in this process
LOCAL_MASTER = "local[2]"
LOCAL_DRIVER_MEMORY = "3g"  # Spark's default (1g) ran out collecting a 10M-row table (benchmarks/spark.py)
MAX_DATABASES = 20          # introspection reads at most this many databases of the current catalog
MAX_TABLES = 200            # … and this many tables and views in all
STATISTICS_TIMEOUT_S = 5.0  # DESCRIBE … EXTENDED per table, for the catalogue's row count
CANCEL_PERSIST_S = 5.0      # interruptTag again until the query ends (a cancel may precede its start)
CANCEL_RETRY_S = 0.2
_ROWS_IN_STATISTICS = re.compile(r"(\d+)\s+rows")

# Spark's error conditions -> the product's errors (the condition's first word decides)
CONDITION_ERRORS: dict[str, type[errors.QueryGPTError]] = {
    "TABLE_OR_VIEW_NOT_FOUND": errors.SchemaError, "UNRESOLVED_COLUMN": errors.SchemaError,
    "SCHEMA_NOT_FOUND": errors.SchemaError, "UNRESOLVED_FIELD": errors.SchemaError,
    "AMBIGUOUS_REFERENCE": errors.SchemaError, "MISSING_AGGREGATION": errors.SchemaError,
    "UNRESOLVED_ROUTINE": errors.UnknownFunction, "UNRESOLVABLE_TABLE_VALUED_FUNCTION": errors.UnknownFunction,
    "DATATYPE_MISMATCH": errors.SqlTypeError, "CAST_INVALID_INPUT": errors.SqlTypeError,
    "INVALID_SQL_SYNTAX": errors.SqlSyntaxError, "PARSE_SYNTAX_ERROR": errors.SqlSyntaxError,
    "OPERATION_CANCELED": errors.QueryCancelled,
}


def is_spark_session(obj: Any) -> bool:
    """A pyspark SparkSession, classic or Spark Connect (checked without importing pyspark)."""
    return type(obj).__module__.startswith("pyspark.") and type(obj).__name__ == "SparkSession"


@dataclass
class Running:
    tag: str
    done: threading.Event = field(default_factory=threading.Event)


class SparkAdapter:
    kind = "spark"
    dialect = "spark"
    counts_rows = False   # introspection: row counts from catalogue statistics only, samples from the first rows

    def __init__(self, session: Any, label: str, *, owned: bool):
        self._session = session
        self.label = label
        self._owned = owned
        self._running: Running | None = None
        self._names: dict[str, tuple[str, ...]] = {}   # catalogue name -> (database, table) or (table,)
        self._statistics: dict[tuple[str, ...], int | None] = {}   # read once per table: DESCRIBE is a round trip

    # -- opening -----------------------------------------------------------------------------------
    @classmethod
    def wrap(cls, session: Any, name: str) -> "SparkAdapter":
        """The analyst's own session: used as it is (its temp views are visible), never changed."""
        _quiet_pyspark_query_logs()
        kind = "Spark Connect" if type(session).__module__.startswith("pyspark.sql.connect") else "Spark"
        return cls(session, f"{kind} session {name}", owned=False)

    @classmethod
    def open_url(cls, url: str, allowed_paths: tuple[str, ...]) -> "SparkAdapter":
        """A new Spark Connect session (its own server-side state) at `sc://host:port/;params`."""
        label = connect_label(url)
        builder = _spark_session_class().builder
        try:
            session = builder.remote(url).create()
            session.sql("SELECT 1").toArrow()   # connect now: a wrong host fails here, not mid-question
        except Exception as exc:
            raise errors.DbConnFail(
                f"Could not connect to Spark Connect at {label}: {_first_line(exc)}",
                hint="Check the host and port (default 15002), that the Spark Connect server is running, "
                     "and the token if the server asks for one (sc://host:15002/;token=…).",
            ) from None
        _sandbox(session, allowed_paths)
        return cls(session, label, owned=True)

    @classmethod
    def open_local(cls, allowed_paths: tuple[str, ...]) -> "SparkAdapter":
        """`spark-local`: a local Spark with a Spark Connect server on a loopback port of its own
        (one per process), and a Connect session of ours on it."""
        url = local_server_url()
        session = _spark_session_class().builder.remote(url).create()
        _sandbox(session, allowed_paths)
        return cls(session, "spark-local", owned=True)

    # -- the Adapter protocol ----------------------------------------------------------------------
    def fetch(self, sql: str, timeout_s: float | None = None) -> "pd.DataFrame":
        """Run one checked query under a job tag of its own; Arrow all the way to pandas."""
        return self._local_times(self._arrow(as_subquery(sql)).to_pandas())

    def interrupt(self) -> None:
        running = self._running
        if running is None:
            return
        threading.Thread(target=self._keep_cancelling, args=(running,), name="querygpt-spark-cancel",
                         daemon=True).start()

    def schema(self) -> list[Table]:
        """Temp views, then the tables and views of the current catalog's databases (bounded): the
        current database's by name, the others as `database.table`. Partition columns say so in
        their comment; row counts come only from the catalogue's statistics (ANALYZE), never a count."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return self._tables()

    def _tables(self) -> list[Table]:
        catalog = self._session.catalog
        current = catalog.currentDatabase()
        databases = [current] + sorted(d.name for d in catalog.listDatabases() if d.name != current)
        found: list[Table] = []
        seen: set[str] = set()
        for database in databases[:MAX_DATABASES]:
            for entry in catalog.listTables(dbName=database):
                if len(found) >= MAX_TABLES:
                    break
                if entry.isTemporary and database != current:
                    continue   # temp views are listed with every database: once is enough
                parts = (entry.name,) if entry.isTemporary or database == current else (database, entry.name)
                if entry.namespace and entry.namespace != [database] and not entry.isTemporary:
                    parts = (*entry.namespace, entry.name)   # global_temp and the like
                name = ".".join(parts)
                if name in seen:
                    continue
                seen.add(name)
                try:
                    columns = catalog.listColumns(".".join(parts) if len(parts) > 1 else entry.name)
                except Exception:   # a view whose source is gone: leave it out, as the engine would fail it
                    log.debug("querygpt: cannot list the columns of %s", name, exc_info=True)
                    continue
                self._names[name] = parts
                if entry.isTemporary or entry.tableType == "VIEW":
                    rows = None
                elif parts in self._statistics:
                    rows = self._statistics[parts]
                else:
                    rows = self._statistics[parts] = self._statistics_rows(parts)
                found.append(Table(name, tuple(_column(c) for c in columns), entry.description or None, rows))
        return found

    def table_reference(self, name: str) -> exp.Table:
        parts = self._names.get(name, (name,))
        ident = [exp.to_identifier(p, quoted=True) for p in parts]
        return exp.table_(ident[-1], db=ident[-2] if len(ident) > 1 else None, catalog=ident[-3] if len(ident) > 2 else None)

    def classify(self, error: BaseException) -> errors.QueryGPTError:
        message = _first_line(error)
        condition = _condition(error)
        for key, cls in CONDITION_ERRORS.items():
            if condition.startswith(key) or f"[{key}" in message:
                if cls is errors.QueryCancelled:
                    return errors.QueryCancelled("The Spark job was cancelled.")
                if cls is errors.SqlSyntaxError:
                    return cls(message, hint="Check the SQL's syntax for Spark SQL.")
                return cls(message)
        name = type(error).__name__
        if "Grpc" in name or "Connection" in name or "UNAVAILABLE" in message:
            return errors.DbConnFail(f"Lost the connection to Spark ({self.label}): {message}",
                                     hint="Check that the Spark Connect server is running.")
        if name == "ParseException":
            return errors.SqlSyntaxError(message, hint="Check the SQL's syntax for Spark SQL.")
        if name == "AnalysisException":
            return errors.SchemaError(message)
        return errors.DatabaseError(message, hint="Spark rejected the query; check types and values.")

    def close(self) -> None:
        if self._owned:
            try:
                self._session.stop()
            except Exception:  # the server may be gone already
                log.debug("querygpt: stopping %s failed", self.label, exc_info=True)

    # -- helpers -----------------------------------------------------------------------------------
    def _arrow(self, sql: str):
        """`sql` as an Arrow table, under a fresh job tag that interrupt() cancels. Tags belong to
        the calling thread (and, on Spark Connect, to this client), so the analyst's own jobs and
        their own tags are untouched; the tag is removed again whatever happens."""
        import warnings

        running = Running(f"querygpt-{uuid.uuid4().hex}")
        self._running = running
        self._session.addTag(running.tag)
        _QUIET.on = True
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)   # "pandas >= 3 is not fully supported"
                return self._session.sql(sql).toArrow()
        finally:
            _QUIET.on = False
            self._running = None
            running.done.set()
            self._session.removeTag(running.tag)

    def _local_times(self, df: "pd.DataFrame") -> "pd.DataFrame":
        """Spark's TIMESTAMP is an instant shown in the session's time zone: shown that way here
        too, without a zone, as `spark.sql(…).show()` and the other engines show their timestamps."""
        import pandas as pd

        zoned = [i for i, dtype in enumerate(df.dtypes) if isinstance(dtype, pd.DatetimeTZDtype)]
        if not zoned:
            return df
        zone = self._session.conf.get("spark.sql.session.timeZone", None) or "UTC"
        df = df.copy()
        for position in zoned:
            df.isetitem(position, df.iloc[:, position].dt.tz_convert(zone).dt.tz_localize(None))
        return df

    def _keep_cancelling(self, running: Running) -> None:
        deadline = time.monotonic() + CANCEL_PERSIST_S
        while not running.done.is_set() and time.monotonic() < deadline:
            try:
                self._session.interruptTag(running.tag)
            except Exception:  # the query may have ended meanwhile; the next round tells
                log.debug("querygpt: interruptTag on %s failed", self.label, exc_info=True)
            running.done.wait(CANCEL_RETRY_S)

    def _statistics_rows(self, parts: tuple[str, ...]) -> int | None:
        """The row count the catalogue holds (after ANALYZE TABLE … COMPUTE STATISTICS), if any."""
        from .running import run_blocking

        describe = exp.Describe(this=self.table_reference(".".join(parts)), style="EXTENDED")
        self._names.setdefault(".".join(parts), parts)
        try:
            frame = run_blocking(_Described(self), describe.sql("spark"), STATISTICS_TIMEOUT_S)
        except errors.QueryGPTError:
            return None
        for name, value in zip(frame.iloc[:, 0], frame.iloc[:, 1]):
            if str(name).strip() == "Statistics":
                match = _ROWS_IN_STATISTICS.search(str(value))
                return int(match.group(1)) if match else None
        return None


class _Described:
    """The adapter running our own DESCRIBE (a command, so not through the subquery wall)."""

    def __init__(self, adapter: SparkAdapter):
        self._adapter = adapter

    def fetch(self, sql: str, timeout_s: float | None = None):
        return self._adapter._arrow(sql).to_pandas()

    def interrupt(self) -> None:
        self._adapter.interrupt()

    def classify(self, error: BaseException) -> errors.QueryGPTError:
        return self._adapter.classify(error)


_QUIET = threading.local()   # set while this thread runs one of our queries


class _OwnQueriesQuiet(logging.Filter):
    """PySpark logs every failed query (a JSON record with a stack trace) on loggers of its own,
    straight to stderr: ours become one clean error line instead. The analyst's stay logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_QUIET, "on", False)


def _quiet_pyspark_query_logs() -> None:
    from pyspark.logger import PySparkLogger   # its loggers must be of its class: created through it

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logger = PySparkLogger.getLogger(name)
        if not any(isinstance(f, _OwnQueriesQuiet) for f in logger.filters):
            logger.addFilter(_OwnQueriesQuiet())


def as_subquery(sql: str) -> str:
    """The checked query as the subquery of `SELECT * FROM (…)`. Textual on purpose: this wall
    must not depend on sqlglot. Spark's own parser then refuses whatever is not one query — a
    command, a script, a second statement; a line comment in `sql` cannot swallow the ')'."""
    return "SELECT * FROM (\n" + sql + "\n) AS _querygpt_query"


def _sandbox(session: Any, allowed_paths: tuple[str, ...]) -> None:
    """On a session of our own: no SQL on files when no folder is allowed (the subquery wall
    keeps SET from turning it back on)."""
    if not allowed_paths:
        session.conf.set("spark.sql.runSQLOnFiles", "false")


def _column(column: Any) -> Column:
    notes = [column.description] if column.description else []
    if getattr(column, "isPartition", False):
        notes.append("partition column")
    return Column(column.name, str(column.dataType).upper(), "; ".join(notes) or None)


def _condition(error: BaseException) -> str:
    getter = getattr(error, "getCondition", None) or getattr(error, "getErrorClass", None)
    try:
        return str(getter() or "") if getter else ""
    except Exception:  # an error object from another pyspark version
        return ""


def _first_line(error: BaseException) -> str:
    from ..redact import scrub

    text = str(error).strip()
    if not text:
        return type(error).__name__
    line = text.splitlines()[0]
    for marker in ("\nJVM stacktrace", "JVM stacktrace"):
        line = line.split(marker)[0]
    return scrub(line.strip())


def _spark_session_class():
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)   # "pandas >= 3 not fully supported"
            from pyspark.sql import SparkSession
            import pyspark.sql.connect.session  # noqa: F401  (fails without the connect extra)
    except ImportError as exc:
        raise errors.DbConnFail(
            f"Spark needs PySpark 4 with Spark Connect, which is not installed ({exc.name}).",
            hint="pip install 'querygpt-jupyter[spark]'  (local Spark also needs Java 17+).",
        ) from None
    _quiet_pyspark_query_logs()
    return SparkSession


# -- sc:// URLs -----------------------------------------------------------------------------------

def is_connect_url(text: str) -> bool:
    return text.lower().startswith("sc://") or text.strip().lower() in LOCAL_NAMES


def connect_label(url: str) -> str:
    """sc://host:port — safe to show and store: the `;token=…` and other parameters go (and
    any secret among them is remembered for masking)."""
    from ..redact import remember

    address, _, params = url.partition("/;")
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if value and key.strip().lower() in ("token", "password", "secret", "user_agent") or "token" in key.lower():
            remember(value)
    return address.rstrip("/")


# -- the local server ------------------------------------------------------------------------------

_local: dict[str, Any] = {}
_local_lock = threading.Lock()


def local_server_url() -> str:
    """Start (once per process) a local Spark whose Spark Connect server listens on a free
    loopback port with a random token, and return the URL a client connects with (a secret:
    it holds the token)."""
    with _local_lock:
        if "url" in _local:
            return _local["url"]
        _local["url"] = _start_local_server()
        return _local["url"]


def _start_local_server() -> str:
    import shutil
    import socket
    import tempfile

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise errors.DbConnFail("A local Spark needs Java (17 or later), which is not installed.",
                                hint="Install a Java runtime (e.g. apt-get install openjdk-17-jre-headless).")
    _spark_session_class()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from pyspark import SparkConf, SparkContext
        from pyspark.sql.session import SparkSession as ClassicSession

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = uuid.uuid4().hex
    from ..redact import remember

    remember(token)
    scratch = tempfile.mkdtemp(prefix="querygpt-spark-")
    conf = SparkConf().setMaster(LOCAL_MASTER).setAppName("querygpt spark-local").setAll([
        ("spark.plugins", "org.apache.spark.sql.connect.SparkConnectPlugin"),
        ("spark.connect.grpc.binding.address", "127.0.0.1"),
        ("spark.connect.grpc.binding.port", str(port)),
        ("spark.connect.authenticate.token", token),
        ("spark.driver.memory", LOCAL_DRIVER_MEMORY),
        ("spark.ui.enabled", "false"),
        ("spark.ui.showConsoleProgress", "false"),
        ("spark.sql.shuffle.partitions", "4"),
        ("spark.sql.warehouse.dir", os.path.join(scratch, "warehouse")),
        ("spark.local.dir", os.path.join(scratch, "tmp")),
        ("spark.driver.extraJavaOptions", f"-Dderby.system.home={scratch}"),
    ])
    try:
        classic = ClassicSession(SparkContext.getOrCreate(conf))
    except Exception as exc:
        raise errors.DbConnFail(f"Could not start a local Spark: {_first_line(exc)}",
                                hint="Check that Java 17 or later is installed (java -version).") from None
    classic.sparkContext.setLogLevel("ERROR")
    _local["classic"] = classic
    return f"sc://localhost:{port}/;token={token}"


def local_classic_session() -> Any:
    """The classic SparkSession behind `spark-local` (started if needed): what a notebook that
    made its own `SparkSession.builder.getOrCreate()` holds."""
    local_server_url()
    return _local["classic"]
