"""One local Spark for the whole test run (its JVM start is the slow part): a Spark Connect
server on a loopback port of its own, with demo tables loaded from the demo DuckDB database.

A missing Java or pyspark FAILS these tests (never a skip): `bash scripts/setup` installs the
spark extra and `bash scripts/test` installs Java.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any

import pytest

# Demo tables copied into Spark: the same rows DuckDB answers from.
SPARK_DEMO_TABLES = ("cars", "seattle_weather", "stocks")
PARTITIONED = "qg_closing_prices"       # stocks under other names, partitioned by ticker
ANALYZED = "stocks"                      # has catalogue statistics (ANALYZE … COMPUTE STATISTICS)


@dataclass(frozen=True)
class LocalSpark:
    url: str            # sc://localhost:PORT/;token=… (a secret: holds the token)
    classic: Any        # the classic SparkSession that runs the server (as a notebook's own `spark`)


_started: dict[str, LocalSpark] = {}


def local_spark(demo_path: str) -> LocalSpark:
    if "spark" in _started:
        return _started["spark"]
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Java is not installed: the Spark tests need it (bash scripts/test installs openjdk-17-jre-headless).")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.fail("pyspark is not installed: run bash scripts/setup (it installs the spark extra).")
    import duckdb

    from querygpt_jupyter.connections.spark_adapter import local_classic_session, local_server_url

    url = local_server_url()
    classic = local_classic_session()
    with duckdb.connect(demo_path, read_only=True) as con:
        for name in SPARK_DEMO_TABLES:
            frame = con.sql(f'SELECT * FROM "{name}"').to_arrow_table().to_pandas()
            classic.createDataFrame(frame).write.mode("overwrite").saveAsTable(name)
    (classic.table("stocks").selectExpr("symbol AS ticker", "date AS closed_on", "price AS close")
     .write.mode("overwrite").partitionBy("ticker").saveAsTable(PARTITIONED))
    classic.sql(f"ANALYZE TABLE {ANALYZED} COMPUTE STATISTICS")
    _started["spark"] = LocalSpark(url, classic)
    return _started["spark"]


@pytest.fixture(scope="session")
def spark(demo_path) -> LocalSpark:
    return local_spark(demo_path)
