"""Turn whatever the user hands us (`demo`, a path, a URL, a live connection object, DataFrames)
into one open, read-only adapter; opened adapters are reused per process."""
from __future__ import annotations

import os
from typing import Any

from .. import errors
from ..config import DEFAULT_MAX_MEMORY_MB

_SQLITE_MAGIC = b"SQLite format 3\x00"
_opened: dict[tuple, Any] = {}


def open_connection(db: Any, allowed_paths: tuple[str, ...], memory_mb: int | None = None) -> Any:
    """An adapter for `db`: "demo", a .duckdb/.db/.sqlite path, a SQLAlchemy URL, a DuckDB,
    sqlite3 or SQLAlchemy connection/engine, a DataFrame, or a {name: DataFrame} dict.
    `memory_mb`: the engine's memory limit where it has one (default Ask.max_memory_mb's)."""
    memory_mb = memory_mb or DEFAULT_MAX_MEMORY_MB
    if db is None or (isinstance(db, str) and db.strip().lower() == "demo"):
        from .demo import ensure_demo_db

        path = ensure_demo_db()
        return _cached(("duckdb-file", path, allowed_paths, memory_mb), lambda: _duckdb_file(path, allowed_paths, memory_mb))
    if isinstance(db, os.PathLike):
        db = os.fspath(db)
    if isinstance(db, str):
        return _from_string(db.strip(), allowed_paths, memory_mb)
    return from_object(db, allowed_paths, name="df", memory_mb=memory_mb)


def from_object(obj: Any, allowed_paths: tuple[str, ...], name: str, memory_mb: int | None = None) -> Any:
    memory_mb = memory_mb or DEFAULT_MAX_MEMORY_MB
    module = type(obj).__module__.split(".")[0].lstrip("_")
    if module == "duckdb":
        from .duckdb_adapter import DuckDBAdapter

        if _has_temporary_objects(obj):
            return _cached(("duckdb-object-itself", id(obj)), lambda: _duckdb_itself(obj, name), owner=obj)
        return _cached(("duckdb-object", id(obj)), lambda: DuckDBAdapter.wrap(obj, f"duckdb connection {name}"), owner=obj)
    if module == "pyspark":
        from .spark_adapter import SparkAdapter, is_spark_session

        if is_spark_session(obj):
            return _cached(("spark-object", id(obj)), lambda: SparkAdapter.wrap(obj, name), owner=obj)
    if module == "sqlite3":
        from .sqlite_adapter import SQLiteAdapter

        return _cached(("sqlite-object", id(obj)), lambda: SQLiteAdapter.from_connection(obj, memory_mb), owner=obj)
    if module == "sqlalchemy":
        engine = getattr(obj, "engine", obj)
        from ..redact import remember_url

        remember_url(getattr(engine, "url", None))
        return _cached(("sqlalchemy-object", id(engine)), lambda: _sqlalchemy_engine(engine, allowed_paths, memory_mb),
                       owner=engine)
    if module == "pandas" or isinstance(obj, dict):
        from .duckdb_adapter import DuckDBAdapter

        frames = obj if isinstance(obj, dict) else {name: obj}
        return DuckDBAdapter.for_frames(frames, allowed_paths, memory_mb)
    raise errors.UsageError(
        f"querygpt cannot query a {type(obj).__name__}.",
        hint="Pass a SQLAlchemy URL or engine, a DuckDB or sqlite3 connection, a SparkSession, a file path, "
             "a DataFrame, or 'demo'.",
    )


def _has_temporary_objects(con: Any) -> bool:
    """Whether the analyst registered DataFrames (or made temp tables) on this DuckDB connection:
    those live in its own `temp` catalogue, which a cursor of it does not see."""
    try:
        return bool(con.execute(
            "SELECT (SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal) + "
            "(SELECT count(*) FROM duckdb_tables() WHERE temporary)").fetchone()[0])
    except Exception:  # a closed connection: the cursor path reports it properly
        return False


def _duckdb_itself(con: Any, name: str) -> Any:
    """The analyst's connection itself (not a cursor, which would miss its registered frames),
    every query rolled back; its catalogue is cached in memory only, per connection."""
    from .duckdb_adapter import SHARED_ONE_WALL, DuckDBAdapter

    adapter = DuckDBAdapter(con, f"duckdb connection {name} {SHARED_ONE_WALL}", owned=False)
    adapter.data_version = f"connection {id(con)}"
    return adapter


def _from_string(text: str, allowed_paths: tuple[str, ...], memory_mb: int) -> Any:
    from .spark_adapter import is_connect_url

    if is_connect_url(text):   # sc://host:15002 (Spark Connect) or spark-local
        from .spark_adapter import LOCAL_NAMES, SparkAdapter

        if text.lower() in LOCAL_NAMES:
            return _cached(("spark-local", allowed_paths), lambda: SparkAdapter.open_local(allowed_paths))
        return _cached(("spark-url", text, allowed_paths), lambda: SparkAdapter.open_url(text, allowed_paths))
    if "://" in text:
        from ..redact import remember_url

        remember_url(text)  # its password is masked in every later message
        scheme, _, rest = text.partition("://")
        backend = scheme.split("+")[0].lower()
        if backend in ("duckdb", "sqlite") and rest.split("?")[0] in ("", "/", "/:memory:"):
            raise errors.DbConnFail(
                f"{text} names no database file: querygpt would open an empty in-memory database.",
                hint=f"Give the file, e.g. {scheme}:///path/to/file.{'duckdb' if backend == 'duckdb' else 'sqlite'}, "
                     "or pass your own connection object.",
            )
        if backend in ("duckdb", "sqlite") and rest.startswith("/"):
            return _from_path(rest[1:], allowed_paths, memory_mb, prefer=backend)
        from .sqlalchemy_adapter import open_url

        # PostgreSQL and MySQL/MariaDB get adapters of their own (sqlalchemy_adapter.ENGINE_ADAPTERS)
        return _cached(("url", text, memory_mb), lambda: open_url(text, memory_mb))
    return _from_path(text, allowed_paths, memory_mb)


def _from_path(path: str, allowed_paths: tuple[str, ...], memory_mb: int, prefer: str | None = None) -> Any:
    if not path.strip():
        raise errors.DbConnFail("No database was given (the path is empty).",
                                hint="Pass a .duckdb/.sqlite file, a SQLAlchemy URL, or demo.")
    path = os.path.realpath(os.path.expanduser(path))
    if not os.path.exists(path):
        raise errors.DbConnFail(f"No database file at {path}.", hint="Check the path: querygpt opens existing databases and never creates one.")
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:  # a folder, or a file we may not read
        raise errors.DbConnFail(f"Could not read {path} as a database file: {exc.strerror or exc}.",
                                hint="Pass a .duckdb or SQLite file (not a folder), a SQLAlchemy URL, or demo.") from None
    if head == _SQLITE_MAGIC or (prefer == "sqlite" and not head):
        from .sqlite_adapter import SQLiteAdapter

        return _cached(("sqlite-file", path, memory_mb), lambda: SQLiteAdapter(path, memory_mb))
    if head[8:12] == b"DUCK" or prefer == "duckdb" or path.endswith(".duckdb"):
        return _cached(("duckdb-file", path, allowed_paths, memory_mb), lambda: _duckdb_file(path, allowed_paths, memory_mb))
    raise errors.DbConnFail(
        f"{path} is neither a DuckDB nor a SQLite database.",
        hint="Pass a .duckdb or SQLite file, or a SQLAlchemy URL.",
    )


def _duckdb_file(path: str, allowed_paths: tuple[str, ...], memory_mb: int) -> Any:
    """One adapter per file and allowed folders. DuckDB shares one database instance per file in
    a process, and its sandbox (allowed folders) is fixed when first opened: the same file with
    other folders is attached read-only to an in-memory instance with a sandbox of its own."""
    from .duckdb_adapter import DuckDBAdapter

    if not any(key[:2] == ("duckdb-file", path) for key in _opened):
        return DuckDBAdapter.open_file(path, allowed_paths, memory_mb)
    return _duckdb_file_attached(path, allowed_paths, memory_mb)


def _duckdb_file_attached(path: str, allowed_paths: tuple[str, ...], memory_mb: int) -> Any:
    import duckdb
    from sqlglot import exp

    from .duckdb_adapter import DuckDBAdapter, _sandbox

    con = duckdb.connect(":memory:")
    alias = exp.to_identifier(os.path.splitext(os.path.basename(path))[0] or "db", quoted=True).sql("duckdb")
    try:
        con.execute(f"ATTACH {exp.Literal.string(path).sql('duckdb')} AS {alias} (READ_ONLY)")
        con.execute(f"USE {alias}")
        _sandbox(con, allowed_paths, memory_mb)
    except duckdb.Error as exc:
        con.close()
        raise errors.DbConnFail(f"Could not open the DuckDB file {path}: {str(exc).splitlines()[0]}") from None
    return DuckDBAdapter(con, f"duckdb:///{path}", owned=True)


def _sqlalchemy_engine(engine: Any, allowed_paths: tuple[str, ...], memory_mb: int) -> Any:
    """A user's engine: SQLite and DuckDB files go through our own read-only adapters."""
    from .sqlalchemy_adapter import for_engine

    backend = engine.url.get_backend_name()
    database = engine.url.database
    if backend in ("sqlite", "duckdb") and database and database != ":memory:":
        return _from_path(database, allowed_paths, memory_mb, prefer=backend)
    return for_engine(engine, owned=False, memory_mb=memory_mb)


_owners: dict[tuple, Any] = {}  # the objects keyed by id(): held, so that no new object reuses their id


def _cached(key: tuple, make, owner: Any = None) -> Any:
    adapter = _opened.get(key)
    if adapter is None:
        adapter = _opened[key] = make()
        if owner is not None:
            _owners[key] = owner
    return adapter
