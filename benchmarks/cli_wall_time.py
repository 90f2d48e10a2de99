"""Figures: wall time of `querygpt ask` on the demo database against `querygpt sql` of the SQL it
wrote, measured in the same run (median of several fresh processes each, interleaved so a busy
machine slows both alike). The gap is what the question costs beyond running its SQL: planning
and the chart. `--before DIR` also times an older checkout of the package (e.g. `git worktree add
DIR <commit>`), interleaved with this one, so a loaded machine cannot favour either.

    python benchmarks/cli_wall_time.py [--runs 7] [--question "..."] [--before DIR]
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
    return [exe] if exe else [sys.executable, "-m", "querygpt_jupyter.faces.cli"]


def _timed(args: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    return (time.perf_counter() - started) * 1000, done.stdout


def measure(question: str, runs: int, env: dict, before: dict | None = None) -> dict:
    cli = _querygpt()
    _, out = _timed([*cli, "ask", question, "--db", "demo", "--json"], env)   # also builds the demo db once
    sql = json.loads(out)["sql"]
    times: dict[str, list[float]] = {"ask": [], "sql": [], "ask_before": [], "sql_before": []}
    for _ in range(runs):
        for suffix, environ in (("", env), ("_before", before)):
            if environ is None:
                continue
            times["ask" + suffix].append(_timed([*cli, "ask", question, "--db", "demo"], environ)[0])
            times["sql" + suffix].append(_timed([*cli, "sql", sql, "--db", "demo"], environ)[0])
    return {"question": question, "runs": runs, **{k: statistics.median(v) for k, v in times.items() if v}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--question", action="append", help="repeatable; default: three demo questions")
    parser.add_argument("--before", metavar="DIR", help="a checkout of an older commit to time alongside")
    args = parser.parse_args()
    env = {**os.environ, "QUERYGPT_HOME": os.environ.get("QUERYGPT_HOME") or tempfile.mkdtemp(prefix="querygpt-bench-")}
    before = {**env, "PYTHONPATH": os.path.abspath(args.before)} if args.before else None
    for question in args.question or QUESTIONS:
        r = measure(question, args.runs, env, before)
        line = (f"{r['question']!r}: ask median {r['ask']:.0f} ms, sql of the same query {r['sql']:.0f} ms, "
                f"ask − sql {r['ask'] - r['sql']:.0f} ms")
        if before:
            line += (f"; before: ask {r['ask_before']:.0f} ms, sql {r['sql_before']:.0f} ms, "
                     f"ask − sql {r['ask_before'] - r['sql_before']:.0f} ms")
        print(line + f" ({r['runs']} runs each)", flush=True)


if __name__ == "__main__":
    main()
