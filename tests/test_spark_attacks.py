"""Spark's own dangers, judged by their harm on a real local Spark (tests/spark.py).

Each attack runs three ways:
1. straight into Spark (`session.sql(…)`, no querygpt): it really does harm there — so refusing
   it is not refusing something harmless;
2. through querygpt with the guard on, on the analyst's own Spark Connect session: refused with
   PERMISSION_DENIED, no harm, and the session left as it was (conf, temp views, functions,
   cache, tags);
3. through querygpt with the guard switched off (test-only `_off_for_tests`): Spark's own parser
   is the second wall for statements (every query runs as a subquery, where no command can
   stand), and this table says plainly which attacks only the guard stops (functions that call
   into the JVM, TRANSFORM, SQL on files of the analyst's own session).
"""
from __future__ import annotations

import os
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any, Callable

import pytest

import querygpt_jupyter as qg
from querygpt_jupyter.errors import PermissionDenied
from querygpt_jupyter.sql import guard
from spark import spark  # noqa: F401  (fixture)

PROTECTED = "qg_attack"        # a table every attack tries to change
ROWS = 3
CANARY = "canary-5d1e0b2a"


@dataclass
class Scene:
    """What an attack aims at, and how harm shows."""

    session: Any          # the analyst's own Spark Connect session
    classic: Any          # the server's classic session (the JVM), to look from outside
    folder: str           # the allowed folder (the working directory)
    secret: str           # a canary file outside it
    marker: str           # a file a program run by the server would create
    jar: str              # a jar-shaped file an ADD JAR could load
    prop: str = "qg.attack"  # a JVM system property the reflection attacks set (one per test)
    last_rows_hold_canary: bool = False

    def count(self) -> int:
        self.classic.catalog.refreshTable(PROTECTED)   # another session wrote it: no stale file listing
        return self.classic.sql(f"SELECT count(*) FROM {PROTECTED}").collect()[0][0]


@dataclass(frozen=True)
class Attack:
    sql: str
    harmed: Callable[[Scene], bool]   # after running `sql` straight into Spark
    wall_stops: bool                  # Spark's own parser stops it with the guard off


def _rows_changed(scene: Scene) -> bool:
    return not scene.classic.catalog.tableExists(PROTECTED) or scene.count() != ROWS


def _conf(key: str, value: str) -> Callable[[Scene], bool]:
    return lambda scene: scene.session.conf.get(key, None) == value


def _jvm_property(scene: Scene) -> bool:
    return scene.classic.sparkContext._jvm.java.lang.System.getProperty(scene.prop) is not None


ATTACKS: dict[str, Attack] = {
    "insert": Attack(f"INSERT INTO {PROTECTED} VALUES (99)", _rows_changed, True),
    "insert-overwrite": Attack(f"INSERT OVERWRITE TABLE {PROTECTED} SELECT 1", _rows_changed, True),
    "from-first-insert": Attack(f"FROM {PROTECTED} INSERT INTO {PROTECTED} SELECT *", _rows_changed, True),
    "cte-insert": Attack(f"WITH x AS (SELECT 7 AS id) INSERT INTO {PROTECTED} SELECT * FROM x", _rows_changed, True),
    "drop": Attack(f"DROP TABLE {PROTECTED}", _rows_changed, True),
    "sql-script": Attack(f"BEGIN INSERT INTO {PROTECTED} VALUES (8); END", _rows_changed, True),
    "execute-immediate": Attack(f"EXECUTE IMMEDIATE 'INSERT INTO {PROTECTED} VALUES (9)'", _rows_changed, True),
    "ctas": Attack("CREATE TABLE qg_attack_ctas AS SELECT 1 AS x",
                   lambda s: s.classic.catalog.tableExists("qg_attack_ctas"), True),
    "temp-view-shadows-a-table": Attack(f"CREATE OR REPLACE TEMP VIEW {PROTECTED} AS SELECT 1 AS id",
                                        lambda s: s.session.sql(f"SELECT count(*) FROM {PROTECTED}").collect()[0][0] != ROWS,
                                        True),
    "cache-table": Attack(f"CACHE TABLE {PROTECTED}", lambda s: s.session.catalog.isCached(PROTECTED), True),
    "cache-as-select": Attack("CACHE TABLE qg_attack_cached AS SELECT 1 AS x",
                              lambda s: s.session.catalog.tableExists("qg_attack_cached"), True),
    "analyze": Attack(f"ANALYZE TABLE {PROTECTED} COMPUTE STATISTICS",
                      lambda s: any("rows" in str(r[1]) for r in s.classic.sql(f"DESCRIBE EXTENDED {PROTECTED}").collect()
                                    if r[0] == "Statistics"), True),
    "set": Attack("SET spark.sql.ansi.enabled=false", _conf("spark.sql.ansi.enabled", "false"), True),
    "reset": Attack("RESET", lambda s: s.session.conf.get("spark.qg.analyst", None) is None, True),
    "declare-variable": Attack("DECLARE VARIABLE qg_var INT DEFAULT 1",
                               lambda s: _runs(s.session, "SELECT qg_var"), True),
    "add-jar": Attack("ADD JAR {jar}", lambda s: any(os.path.basename(s.jar) in str(r) for r in s.session.sql("LIST JARS").collect()), True),
    "add-file": Attack("ADD FILE {secret}", lambda s: any(s.secret in str(r) for r in s.session.sql("LIST FILES").collect()), True),
    "create-function-using-jar": Attack("CREATE FUNCTION qg_attack_fn AS 'java.lang.Object' USING JAR '{jar}'",
                                        lambda s: s.classic.catalog.functionExists("qg_attack_fn"), True),
    "file-query-text": Attack("SELECT * FROM text.`{secret}`", lambda s: s.last_rows_hold_canary, False),
    "file-query-csv": Attack("SELECT * FROM csv.`{secret}`", lambda s: s.last_rows_hold_canary, False),
    "file-query-url": Attack("SELECT * FROM text.`file://{secret}`", lambda s: s.last_rows_hold_canary, False),
    "reflect-sets-a-jvm-property": Attack("SELECT reflect('java.lang.System', 'setProperty', '{prop}', 'x')",
                                          _jvm_property, False),
    "java-method": Attack("SELECT java_method('java.lang.System', 'setProperty', '{prop}', 'x')", _jvm_property, False),
    "try-reflect": Attack("SELECT try_reflect('java.lang.System', 'setProperty', '{prop}', 'x')", _jvm_property, False),
    "transform-runs-a-program": Attack("SELECT TRANSFORM(1) USING 'touch {marker}' AS (x)",
                                       lambda s: os.path.exists(s.marker), False),
}

# Refused by the guard; their harm is not observable on a local, Hive-less Spark (no Hive
# tables for LOAD DATA, no partitions to repair), so only the refusal is tested.
REFUSED_ONLY = [
    f"LOAD DATA LOCAL INPATH '/tmp/x' INTO TABLE {PROTECTED}",
    f"MSCK REPAIR TABLE {PROTECTED}",
    f"REFRESH TABLE {PROTECTED}",
    "CLEAR CACHE",
    f"UNCACHE TABLE {PROTECTED}",
    "ADD ARCHIVE /tmp/x.zip",
    "LIST JARS",
    "SELECT * FROM IDENTIFIER('text.`/etc/passwd`')",
    "SELECT * FROM read_files('/etc/passwd')",
    "SELECT * FROM parquet.`/etc`",
    "SELECT * FROM `org.apache.spark.sql.parquet`.`/etc`",
    "SET VAR qg_var = 2",
    "CREATE TEMPORARY FUNCTION f AS 'x.Y'",
    "USE default",
    "DESCRIBE TABLE cars",
    "SHOW TABLES",
    "EXPLAIN SELECT 1",
    "CALL sys.rollback_to_snapshot('t', 1)",
]


def _runs(session, sql: str) -> bool:
    try:
        session.sql(sql).collect()
        return True
    except Exception:
        return False


@pytest.fixture()
def scene(spark, tmp_path, monkeypatch):
    from pyspark.sql import SparkSession

    allowed, outside = tmp_path / "allowed", tmp_path / "secret"
    allowed.mkdir()
    outside.mkdir()
    secret = outside / "canary.txt"
    secret.write_text(f"{CANARY}\n")
    jar = outside / f"qg_attack_{uuid.uuid4().hex}.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    monkeypatch.chdir(allowed)
    classic = spark.classic
    if not classic.catalog.tableExists(PROTECTED) or classic.sql(f"SELECT count(*) FROM {PROTECTED}").collect()[0][0] != ROWS:
        classic.sql(f"DROP TABLE IF EXISTS {PROTECTED}")
        classic.sql(f"CREATE TABLE {PROTECTED} USING parquet AS SELECT id FROM range({ROWS})")
    for leftover in ("qg_attack_ctas", "qg_attack_cached"):
        classic.sql(f"DROP TABLE IF EXISTS {leftover}")
    classic.sql("DROP FUNCTION IF EXISTS qg_attack_fn")
    session = SparkSession.builder.remote(spark.url).create()   # the analyst's own, fresh per test
    session.conf.set("spark.qg.analyst", "kept")
    scene = Scene(session, classic, str(allowed), str(secret), str(outside / f"pwned-{uuid.uuid4().hex}"), str(jar),
                  prop=f"qg.attack.{uuid.uuid4().hex}")
    yield scene
    session.stop()


def _sql(attack: Attack, scene: Scene) -> str:
    return attack.sql.format(secret=scene.secret, marker=scene.marker, jar=scene.jar, prop=scene.prop)


def _state(scene: Scene) -> dict:
    """What the analyst's session is: what an attack through querygpt must leave as it was."""
    session = scene.session
    return {
        "conf": session.conf.get("spark.sql.ansi.enabled", None),
        "analyst conf": session.conf.get("spark.qg.analyst", None),
        "temp views": sorted(t.name for t in session.catalog.listTables() if t.isTemporary),
        "user functions": sorted(r[0] for r in session.sql("SHOW USER FUNCTIONS").collect()),
        "cached": session.catalog.isCached(PROTECTED),
        "tags": sorted(session.getTags()),
        "jars": sorted(str(r) for r in session.sql("LIST JARS").collect()),
        "rows": scene.count(),
    }


def _no_harm(attack: Attack, scene: Scene, answer) -> None:
    scene.last_rows_hold_canary = CANARY in str(answer.to_dict())
    assert not scene.last_rows_hold_canary, "the canary reached the answer"
    assert not attack.harmed(scene), "the attack did harm"


@pytest.mark.parametrize("name", list(ATTACKS))
def test_spark_attack_does_harm_on_spark_itself(scene, name):
    attack = ATTACKS[name]
    try:
        rows = scene.session.sql(_sql(attack, scene)).collect()
        scene.last_rows_hold_canary = CANARY in str(rows)
        assert attack.harmed(scene), f"{name} did no harm straight on Spark: the case tests nothing"
    finally:
        _undo(scene)


def _undo(scene: Scene) -> None:
    """Harm done to what all sessions share (the table, its statistics, the cache) is undone."""
    scene.classic.catalog.clearCache()
    scene.classic.sql(f"DROP TABLE IF EXISTS {PROTECTED}")
    scene.classic.sql(f"CREATE TABLE {PROTECTED} USING parquet AS SELECT id FROM range({ROWS})")


@pytest.mark.parametrize("name", list(ATTACKS))
def test_spark_attack_is_refused_and_leaves_the_session_as_it_was(scene, name):
    attack = ATTACKS[name]
    before = _state(scene)
    answer = qg.run_sql(_sql(attack, scene), db=scene.session, timeout_s=30)
    assert answer.error is not None and answer.error.code == "PERMISSION_DENIED", answer.error
    _no_harm(attack, scene, answer)
    assert _state(scene) == before


@pytest.mark.parametrize("name", [n for n, a in ATTACKS.items() if a.wall_stops])
def test_spark_own_parser_stops_statements_with_the_guard_off(scene, name, monkeypatch):
    monkeypatch.setattr(guard, "_off_for_tests", True)
    attack = ATTACKS[name]
    before = _state(scene)
    answer = qg.run_sql(_sql(attack, scene), db=scene.session, timeout_s=30)
    assert answer.error is not None
    _no_harm(attack, scene, answer)
    assert _state(scene) == before


@pytest.mark.parametrize("name", [n for n, a in ATTACKS.items() if not a.wall_stops])
def test_only_the_guard_stops_these_on_the_analysts_own_session(scene, name, monkeypatch):
    """Said plainly (docs/databases.md): with the guard off these run on Spark through querygpt."""
    monkeypatch.setattr(guard, "_off_for_tests", True)
    attack = ATTACKS[name]
    try:
        answer = qg.run_sql(_sql(attack, scene), db=scene.session, timeout_s=30)
        scene.last_rows_hold_canary = CANARY in str(answer.to_dict())
        assert attack.harmed(scene)
    finally:
        _undo(scene)


@pytest.mark.parametrize("sql", REFUSED_ONLY)
def test_spark_statement_is_refused(sql):
    with pytest.raises(PermissionDenied):
        guard.check(sql, guard.GuardPolicy("spark", ("/nonexistent-allowed",)))


def test_a_file_under_the_allowed_folder_may_be_read(scene):
    path = os.path.join(scene.folder, "ok.csv")
    with open(path, "w") as f:
        f.write("a\n1\n")
    answer = qg.run_sql(f"SELECT * FROM csv.`{path}`", db=scene.session)
    assert answer.error is None and answer.df.iloc[:, 0].tolist() == ["a", "1"]


WAREHOUSE_DIALECTS = ["trino", "bigquery", "snowflake", "databricks", "spark"]
WAREHOUSE_REFUSALS = [
    "INSERT INTO t VALUES (1)",
    "CREATE TABLE t2 AS SELECT 1 AS x",
    "DELETE FROM t",
    "DROP TABLE t",
    "SET x = 1",
    "SELECT 1; SELECT 2",
    "GRANT SELECT ON t TO someone",
]


@pytest.mark.parametrize("dialect", WAREHOUSE_DIALECTS)
@pytest.mark.parametrize("sql", WAREHOUSE_REFUSALS)
def test_warehouse_dialects_refuse_writes_settings_and_second_statements(dialect, sql):
    """Trino, BigQuery, Snowflake and Databricks are tested through the guard only (no engine here)."""
    with pytest.raises(PermissionDenied):
        guard.check(sql, guard.GuardPolicy(dialect, ("/nonexistent-allowed",)))


@pytest.mark.parametrize("sql", ["SELECT * FROM parquet.`/etc`", "SELECT reflect('java.lang.System', 'exit', 1)",
                                 "SELECT TRANSFORM(1) USING 'id' AS (x)"])
def test_databricks_gets_sparks_rules(sql):
    with pytest.raises(PermissionDenied):
        guard.check(sql, guard.GuardPolicy("databricks", ("/nonexistent-allowed",)))
