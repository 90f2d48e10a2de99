"""Figures for the history index:
- 8 processes × 50 turns written at once → 400 turns in the index, none lost or corrupted;
- `querygpt history` (and `%ask history`'s query) on an index of 100,000 turns: target ≤ 200 ms."""
from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

WRITER = """
import sys, time
from querygpt_jupyter.history.index import HistoryIndex
from querygpt_jupyter.history.records import TurnRecord
worker, count = int(sys.argv[1]), int(sys.argv[2])
index = HistoryIndex()
for i in range(count):
    index.add(TurnRecord(id=f"{worker}-{i}", conversation_id=str(worker), created_at=time.time(),
                         question=f"worker{worker} question {i} about cars per origin", explanation=None,
                         sql='SELECT "Origin", COUNT(*) FROM cars GROUP BY 1', dialect="duckdb", connection="demo",
                         fingerprint="fp", model="querygpt/offline", status="ok", error_code=None, row_count=3,
                         truncated=False, chart=None, timings_ms={"total": 12.5}))
"""


def concurrency(processes: int = 8, turns: int = 50) -> None:
    home = tempfile.mkdtemp(prefix="qg-history-")
    env = {**os.environ, "QUERYGPT_HOME": home}
    started = time.perf_counter()
    workers = [subprocess.Popen([sys.executable, "-c", WRITER, str(w), str(turns)], env=env) for w in range(processes)]
    codes = [w.wait(timeout=300) for w in workers]
    elapsed = time.perf_counter() - started
    con = sqlite3.connect(os.path.join(home, "history.sqlite"))
    count = con.execute("SELECT count(*) FROM turns").fetchone()[0]
    ids = {r[0] for r in con.execute("SELECT id FROM turns")}
    expected = {f"{w}-{i}" for w in range(processes) for i in range(turns)}
    integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    print(f"{processes} processes x {turns} turns at once: {count} turns in the index "
          f"(expected {processes * turns}; missing {len(expected - ids)}; exit codes {sorted(set(codes))}; "
          f"integrity {integrity}; {elapsed:.1f} s)")


def large_index(turns: int = 100_000) -> None:
    home = tempfile.mkdtemp(prefix="qg-history-big-")
    os.environ["QUERYGPT_HOME"] = home
    from querygpt_jupyter.history.index import HistoryIndex
    from querygpt_jupyter.history.records import TurnRecord

    index = HistoryIndex()
    con = index._con()
    now = time.time()
    con.execute("BEGIN")
    for i in range(turns):
        record = TurnRecord(id=f"t{i}", conversation_id=f"c{i // 20}", created_at=now - turns + i,
                            question=f"question {i} average horsepower by origin {i % 97}", explanation=None,
                            sql=f"SELECT {i}", dialect="duckdb", connection="demo", fingerprint="fp",
                            model="querygpt/offline", status="ok", error_code=None, row_count=3, truncated=False, chart=None)
        index_add_in_transaction(con, record)
    con.execute("COMMIT")
    cli = [os.path.join(os.path.dirname(sys.executable), "querygpt"), "history"]

    def timed(fn, runs=7):
        samples = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t) * 1000)
        return statistics.median(samples)

    recent_ms = timed(lambda: index.recent(20))
    search_ms = timed(lambda: index.search("horsepower origin 42", limit=20))
    cli_ms = timed(lambda: subprocess.run(cli, capture_output=True, check=True, env={**os.environ}), runs=3)
    cli_json_ms = timed(lambda: subprocess.run(cli + ["--json", "--search", "horsepower"], capture_output=True, check=True), runs=3)
    print(f"index of {index.count():,} turns: %ask history query {recent_ms:.1f} ms, search {search_ms:.1f} ms "
          f"(median of 7; target <= 200 ms)")
    print(f"  `querygpt history` whole command {cli_ms:.0f} ms, `--json --search` {cli_json_ms:.0f} ms "
          "(median of 3, including Python start-up)")


def index_add_in_transaction(con, record) -> None:
    import json

    from querygpt_jupyter.history.records import normalize_question

    con.execute(
        "INSERT INTO turns (id, conversation_id, created_at, question, question_key, sql, connection, fingerprint, model, "
        "status, error_code, row_count, source, notebook, feedback_kind, feedback_text, record) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (record.id, record.conversation_id, record.created_at, record.question, normalize_question(record.question),
         record.sql, record.connection, record.fingerprint, record.model, record.status, None, record.row_count,
         record.source, None, None, None, json.dumps(record.to_dict())))


if __name__ == "__main__":
    concurrency()
    large_index()
