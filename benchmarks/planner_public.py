"""Precision and coverage of the offline planner on public databases it was not designed on.

The databases (benchmarks/data/public/, see the README there) are GeoQuery's `geography`, Chinook,
the `restaurants` database of text2sql-data and Northwind. Each question in
benchmarks/data/public_questions.jsonl has a hand-written gold SQL; the planner's SQL and the gold
run on the same SQLite file and are compared like benchmarks/offline_planner.py compares them.
`expect` says what the planner does today ("answer": right; "refuse"): the tests hold it to that.

    python benchmarks/planner_public.py [--data FILE] [--verbose]

precision = correct / answered, coverage = answered / asked, per database and overall.
Target: precision ≥ 98 %.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
PUBLIC = os.path.join(HERE, "data", "public")
DATA = os.path.join(HERE, "data", "public_questions.jsonl")
TARGET_PRECISION = 0.98


def database_path(name: str) -> str:
    return os.path.join(PUBLIC, f"{name}.sqlite")


def open_public(name: str):
    """One public database as the planner sees it (catalogue, probe) and a way to run SQL."""
    os.environ.setdefault("QUERYGPT_HOME", "/tmp/qg-planner-home")
    from benchmarks.offline_planner import Demo
    from querygpt_jupyter.agent.offline import make_probe
    from querygpt_jupyter.connections.introspect import introspect
    from querygpt_jupyter.connections.resolve import open_connection
    from querygpt_jupyter.sql.execute import run_blocking

    adapter = open_connection(database_path(name), allowed_paths=(PUBLIC,))
    return Demo(adapter, introspect(adapter), make_probe(lambda sql: run_blocking(adapter, sql, 30), adapter.dialect))


def main(argv: list[str] | None = None) -> int:
    from benchmarks.offline_planner import evaluate, load_cases, summary

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DATA, help="JSONL file of {db, q, sql, expect, ordered?, subset_cols?}")
    parser.add_argument("--verbose", action="store_true", help="also print the SQL of correct answers")
    args = parser.parse_args(argv)
    by_db: dict[str, list[dict]] = defaultdict(list)
    for case in load_cases(args.data):
        by_db[case["db"]].append(case)
    everything = []
    print(f"{'database':<14}{'asked':>6}{'answered':>10}{'correct':>9}{'precision':>11}{'coverage':>10}")
    details = []
    for name, cases in by_db.items():
        outcomes = evaluate(open_public(name), cases)
        everything += outcomes
        precision, coverage = summary(outcomes)
        answered = sum(o.status != "refused" for o in outcomes)
        correct = sum(o.status == "correct" for o in outcomes)
        print(f"{name:<14}{len(outcomes):>6}{answered:>10}{correct:>9}{precision:>11.1%}{coverage:>10.1%}")
        details += [(name, o) for o in outcomes]
    precision, coverage = summary(everything)
    answered = sum(o.status != "refused" for o in everything)
    correct = sum(o.status == "correct" for o in everything)
    print(f"{'all':<14}{len(everything):>6}{answered:>10}{correct:>9}{precision:>11.1%}{coverage:>10.1%}")
    for status in ("wrong", "refused") + (("correct",) if args.verbose else ()):
        group = [(name, o) for name, o in details if o.status == status]
        print(f"\n{status} ({len(group)}):")
        for name, o in group:
            print(f"  - [{name}] {o.question}")
            if o.sql:
                print(f"      sql: {o.sql}")
            if o.detail:
                print(f"      {o.detail}")
    return 0 if precision >= TARGET_PRECISION else 1


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(HERE))
    sys.exit(main())
