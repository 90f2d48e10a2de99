"""Precision and coverage of the offline planner (`querygpt/offline`) on the dev questions.

Each question's SQL and the reference SQL both run on the demo database; an answer is correct when
the result sets match: rows in any order unless the case says `"ordered": true`, column names
ignored, floats compared with a tolerance, and with `"subset_cols": true` the reference's columns
need only appear among the answer's. A refusal (AgentFailure) is not an answer.

    python benchmarks/offline_planner.py [--data FILE] [--verbose]

precision = correct / answered, coverage = answered / asked. Targets: ≥ 95 % and ≥ 70 %.
The tests import `load_cases`, `open_demo` and `same_result` from here, so there is one copy.
"""
from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import math
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "dev_offline_questions.jsonl")
REL_TOL = 1e-6


def load_cases(path: str = DATA) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass(frozen=True)
class Demo:
    adapter: Any
    catalog: Any
    probe: Any

    def run(self, sql: str) -> "pd.DataFrame":
        from querygpt_jupyter.sql.execute import run_blocking

        return run_blocking(self.adapter, sql, 30)


def open_demo() -> Demo:
    """The demo database (built on first use under QUERYGPT_HOME), its catalogue and a probe."""
    os.environ.setdefault("QUERYGPT_HOME", "/tmp/qg-planner-home")
    from querygpt_jupyter.agent.offline import make_probe
    from querygpt_jupyter.connections.introspect import introspect
    from querygpt_jupyter.connections.resolve import open_connection
    from querygpt_jupyter.sql.execute import run_blocking

    adapter = open_connection("demo", allowed_paths=(os.getcwd(),))
    catalog = introspect(adapter)
    return Demo(adapter, catalog, make_probe(lambda sql: run_blocking(adapter, sql, 30), adapter.dialect))


# --- comparing result sets -------------------------------------------------------------------

def _cell(value: Any) -> Any:
    """A comparable form: None for nulls, float for numbers, ISO text for dates, str otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    try:
        import numpy as np

        if isinstance(value, np.generic):
            value = value.item()
    except ImportError:  # pragma: no cover - pandas brings numpy
        pass
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    if hasattr(value, "isoformat"):
        try:
            import pandas as pd

            if value is pd.NaT:
                return None
        except ImportError:  # pragma: no cover
            pass
        return value.isoformat() if not isinstance(value, dt.date) or isinstance(value, dt.datetime) \
            else dt.datetime.combine(value, dt.time()).isoformat()
    return str(value)


def _sort_key(row: tuple) -> tuple:
    return tuple((0, "") if v is None else (1, f"{v:.6g}") if isinstance(v, float) else (2, str(v)) for v in row)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-9)
    return a == b


def _rows_equal(got: list[tuple], want: list[tuple], ordered: bool) -> bool:
    if len(got) != len(want):
        return False
    if not ordered:
        got, want = sorted(got, key=_sort_key), sorted(want, key=_sort_key)
    return all(len(g) == len(w) and all(_close(a, b) for a, b in zip(g, w)) for g, w in zip(got, want))


def same_result(got: "pd.DataFrame", want: "pd.DataFrame", *, ordered: bool = False, subset_cols: bool = False) -> bool:
    """Whether `got` answers like `want` (see the module docstring)."""
    got_cols = [[_cell(v) for v in got.iloc[:, i].tolist()] for i in range(got.shape[1])]
    want_cols = [[_cell(v) for v in want.iloc[:, i].tolist()] for i in range(want.shape[1])]
    if len(got) != len(want) or (not subset_cols and len(got_cols) != len(want_cols)):
        return False
    # which answer columns could stand for each reference column (same values, any order)
    candidates = [[g for g, gc in enumerate(got_cols) if _rows_equal([(v,) for v in gc], [(v,) for v in wc], ordered)]
                  for wc in want_cols]
    want_rows = list(zip(*want_cols)) if want_cols else [()] * len(want)

    def search(k: int, chosen: list[int]) -> bool:
        if k == len(want_cols):
            got_rows = list(zip(*[got_cols[g] for g in chosen])) if chosen else [()] * len(got)
            return _rows_equal(got_rows, want_rows, ordered)
        return any(search(k + 1, chosen + [g]) for g in candidates[k] if g not in chosen)

    return search(0, [])


# --- the benchmark ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    question: str
    status: str          # correct, wrong, refused
    sql: str = ""
    detail: str = ""


def evaluate(demo: Demo, cases: list[dict], planner: Any = None) -> list[Outcome]:
    from querygpt_jupyter.agent.offline import OfflinePlanner
    from querygpt_jupyter.errors import AgentFailure, QueryGPTError

    planner = planner or OfflinePlanner()
    outcomes = []
    for case in cases:
        try:
            plan = planner.plan(case["q"], demo.catalog, demo.probe)
        except AgentFailure as refusal:
            outcomes.append(Outcome(case["q"], "refused", detail=refusal.message))
            continue
        try:
            got = demo.run(plan.sql)
        except QueryGPTError as error:
            outcomes.append(Outcome(case["q"], "wrong", plan.sql, f"the SQL failed: {error}"))
            continue
        want = demo.run(case["sql"])
        ok = same_result(got, want, ordered=case.get("ordered", False), subset_cols=case.get("subset_cols", False))
        outcomes.append(Outcome(case["q"], "correct" if ok else "wrong", plan.sql,
                                "" if ok else f"expected {case['sql']}"))
    return outcomes


def summary(outcomes: list[Outcome]) -> tuple[float, float]:
    answered = [o for o in outcomes if o.status != "refused"]
    correct = [o for o in answered if o.status == "correct"]
    precision = len(correct) / len(answered) if answered else 1.0
    coverage = len(answered) / len(outcomes) if outcomes else 0.0
    return precision, coverage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DATA, help="JSONL file of {q, sql, ordered?, subset_cols?}")
    parser.add_argument("--verbose", action="store_true", help="also print the SQL of correct answers")
    args = parser.parse_args(argv)
    outcomes = evaluate(open_demo(), load_cases(args.data))
    precision, coverage = summary(outcomes)
    answered = sum(o.status != "refused" for o in outcomes)
    correct = sum(o.status == "correct" for o in outcomes)
    print(f"questions: {len(outcomes)}  answered: {answered}  correct: {correct}")
    print(f"precision: {precision:.1%}  (correct / answered)")
    print(f"coverage:  {coverage:.1%}  (answered / asked)")
    for status in ("wrong", "refused") + (("correct",) if args.verbose else ()):
        group = [o for o in outcomes if o.status == status]
        print(f"\n{status} ({len(group)}):")
        for o in group:
            print(f"  - {o.question}")
            if o.sql:
                print(f"      sql: {o.sql}")
            if o.detail:
                print(f"      {o.detail}")
    return 0 if precision >= 0.95 and coverage >= 0.70 else 1


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(HERE))
    sys.exit(main())
