"""Figures: wall time of `querygpt ask` on the demo database against `querygpt sql` of the SQL it
wrote, measured in the same run (median of several fresh processes each, interleaved so a busy
machine slows both alike). The gap is what the question costs beyond running its SQL: planning
and the chart. Run it on two commits (e.g. `git stash`) to compare before and after.

    python benchmarks/cli_wall_time.py [--runs 7] [--question "..."]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

QUESTIONS = ("Average horsepower by origin", "Average price per date for each symbol", "Top 5 cars by Horsepower")


def _querygpt() -> list[str]:
    exe = shutil.which("querygpt", path=os.path.dirname(sys.executable)) or shutil.which("querygpt")
    return [exe] if exe else [sys.executable, "-m", "querygpt_jupyter.cli"]


def _timed(args: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    return (time.perf_counter() - started) * 1000, done.stdout


def measure(question: str, runs: int, env: dict) -> dict:
    cli = _querygpt()
    _, out = _timed([*cli, "ask", question, "--db", "demo", "--json"], env)   # also builds the demo db once
    sql = json.loads(out)["sql"]
    ask_ms, sql_ms = [], []
    for _ in range(runs):
        ask_ms.append(_timed([*cli, "ask", question, "--db", "demo"], env)[0])
        sql_ms.append(_timed([*cli, "sql", sql, "--db", "demo"], env)[0])
    return {"question": question, "ask_ms": statistics.median(ask_ms), "sql_ms": statistics.median(sql_ms),
            "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--question", action="append", help="repeatable; default: three demo questions")
    args = parser.parse_args()
    env = {**os.environ, "QUERYGPT_HOME": os.environ.get("QUERYGPT_HOME") or tempfile.mkdtemp(prefix="querygpt-bench-")}
    for question in args.question or QUESTIONS:
        r = measure(question, args.runs, env)
        print(f"{r['question']!r}: ask median {r['ask_ms']:.0f} ms, sql of the same query {r['sql_ms']:.0f} ms, "
              f"ask − sql {r['ask_ms'] - r['sql_ms']:.0f} ms ({r['runs']} runs each)")


if __name__ == "__main__":
    main()
