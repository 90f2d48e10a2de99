"""The demo database: every dataset vega_datasets ships offline, one DuckDB table each."""
from __future__ import annotations

import os
import re
import tempfile

from ..paths import data_home


def demo_path() -> str:
    """Where `--db demo` lives: built on first use in the user data directory."""
    return os.path.join(data_home(), "demo.duckdb")


def table_name(dataset: str) -> str:
    return dataset.replace("-", "_")


def build_demo_db(path: str) -> str:
    """Write the demo database to `path` atomically (a temp file renamed into place)."""
    import duckdb
    from sqlglot import exp
    from vega_datasets import local_data

    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".demo-", suffix=".duckdb", dir=os.path.dirname(path))
    os.close(fd)
    os.unlink(tmp)  # DuckDB refuses an existing empty file
    try:
        con = duckdb.connect(tmp)
        for dataset in local_data.list_datasets():
            name = table_name(dataset)
            loader = getattr(local_data, name)
            frame = loader()
            table = exp.to_identifier(name, quoted=True).sql("duckdb")
            con.register("_frame", frame)
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM _frame")
            con.unregister("_frame")
            description = _plain_text(loader.description or "")
            if description:
                first_sentence = description.split(". ")[0].rstrip(".")[:300]
                comment = exp.Literal.string(first_sentence).sql("duckdb")
                con.execute(f"COMMENT ON TABLE {table} IS {comment}")
        con.close()
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp + ".wal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return path


def _plain_text(rst: str) -> str:
    """The dataset's description without reStructuredText references and links."""
    text = re.sub(r"\s*\[\d+\]_", "", rst)
    text = re.sub(r"`([^<`]+?)\s*<[^>]+>`_", r"\1", text)
    return " ".join(text.split())


def ensure_demo_db() -> str:
    path = demo_path()
    if not os.path.exists(path):
        build_demo_db(path)
    return path
