"""Figures for schema linking (issue 15) on the Spider2-lite development split
(benchmarks/data/spider2lite-dev): strict recall (every gold table kept, with the gold columns
where the gold SQL names them) and table recall at 1k/2k/4k tokens of cl100k_base, never over
budget; the same for a simple lexical baseline and for today's prompt builder (no budget); the
agent's whole prompt on the largest dev schema; time per question on that schema.

    .venv/bin/python benchmarks/schema_context.py [--budgets 1000,2000,4000] [--misses]

Questions with more than 10 gold tables (date-sharded families) are left out, as the data's
README says. A table is matched on its last name part, as the gold lists are."""
from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "spider2lite-dev")
sys.path.insert(0, os.path.dirname(HERE))
MAX_GOLD_TABLES = 10


def load_questions() -> list[dict]:
    with open(os.path.join(DATA, "questions.jsonl")) as f:
        questions = [json.loads(line) for line in f]
    gold_columns = {}
    path = os.path.join(DATA, "gold_columns.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            gold_columns = {row["id"]: row["gold_columns"] for row in map(json.loads, f)}
    for q in questions:
        q["gold_columns"] = gold_columns.get(q["id"])
    return [q for q in questions if len(q["gold_tables"]) <= MAX_GOLD_TABLES]


_catalogs: dict = {}


def load_catalog(db: str):
    from querygpt_jupyter.connections.catalog import Catalog

    if db not in _catalogs:
        with gzip.open(os.path.join(DATA, "schemas", f"{db}.json.gz")) as f:
            _catalogs[db] = Catalog.from_dict(json.load(f))
    return _catalogs[db]


def all_schema_names() -> list[str]:
    return sorted(name[: -len(".json.gz")] for name in os.listdir(os.path.join(DATA, "schemas")))


def last(name: str) -> str:
    return name.rpartition(".")[2].lower()


def judge(question: dict, kept_columns: dict[str, tuple[str, ...]]) -> tuple[bool, float]:
    """(strict, table recall): kept_columns maps each kept table to the columns shown."""
    kept: dict[str, set[str]] = {}
    for t, cols in kept_columns.items():   # tables of other schemas may share a last name part
        kept.setdefault(last(t), set()).update(c.lower() for c in cols)
    gold = {last(t) for t in question["gold_tables"]}
    found = gold & kept.keys()
    strict = found == gold
    for table, columns in (question["gold_columns"] or {}).items():
        if strict and not {c.lower() for c in columns} <= kept.get(table.lower(), set()):
            strict = False
    return strict, len(found) / len(gold)


def ours(catalog, question: str, budget: int):
    from querygpt_jupyter.context import schema_context

    ctx = schema_context(catalog, question, budget)
    return dict(ctx.columns), ctx.tokens


def baseline(catalog, question: str, budget: int):
    """A simple lexical linker: tables by word overlap with the question (names, columns,
    comments), each as full DDL, while the next one fits."""
    from querygpt_jupyter.agent.prompts import rank_tables, table_ddl
    from querygpt_jupyter.context.tokens import count_tokens

    kept, parts, tokens = {}, [], 0
    for table in rank_tables(catalog, question):
        ddl = table_ddl(table)
        n = count_tokens(ddl) + 2   # + the blank line between tables
        if tokens + n > budget:
            continue
        parts.append(ddl)
        kept[table.name] = tuple(c.name for c in table.columns)
        tokens += n
        if budget - tokens < 20:
            break
    tokens = count_tokens("\n\n".join(parts))
    assert tokens <= budget, "the baseline's sum of parts under-counted"
    return kept, tokens


def today(catalog, question: str, budget: int):
    """The prompt builder before this work (prompts.schema_text until issue 15), no budget: the
    whole DDL up to ~6,000 estimated tokens, else the 12 best-ranked tables in full."""
    from querygpt_jupyter.agent.prompts import rank_tables, table_ddl
    from querygpt_jupyter.context.tokens import count_tokens

    full = "\n\n".join(table_ddl(t) for t in catalog.tables)
    if len(full) // 4 <= 6_000:
        shown, text = catalog.tables, full
    else:
        shown = rank_tables(catalog, question)[:12]
        others = [t.name for t in catalog.tables if t not in shown]
        text = "\n\n".join(table_ddl(t) for t in shown) + "\n\n-- more tables: " + ", ".join(others)
    return {t.name: tuple(c.name for c in t.columns) for t in shown}, count_tokens(text)


def run(method, budget: int, questions: list[dict], misses: bool = False) -> dict:
    strict, recall, tokens, over = [], [], [], 0
    for q in questions:
        kept, n = method(load_catalog(q["db"]), q["question"], budget)
        s, r = judge(q, kept)
        strict.append(s)
        recall.append(r)
        tokens.append(n)
        over += n > budget
        if misses and not s:
            print(f"  miss {q['id']} {q['db']}: gold {sorted(last(t) for t in q['gold_tables'])}; "
                  f"kept {sorted(last(t) for t in kept)[:12]}", file=sys.stderr)
    return {"strict": sum(strict) / len(strict), "table_recall": sum(recall) / len(recall),
            "tokens_median": statistics.median(tokens), "tokens_max": max(tokens), "over_budget": over}


def largest_schema() -> str:
    return max(all_schema_names(), key=lambda db: sum(len(t.columns) for t in load_catalog(db).tables))


def timing(db: str, questions: list[dict], budget: int = 2000) -> dict:
    """The first call builds the schema's index (once per catalogue); then each question is timed
    once (its own ranking, packing and exact count): the schema's own questions, then the rest of
    the dev questions as other realistic text."""
    from querygpt_jupyter.context import schema_context
    from querygpt_jupyter.context.tokens import count_tokens

    from querygpt_jupyter.context import build
    from querygpt_jupyter.context.words import words

    count_tokens("warm up the tokenizer")
    catalog = load_catalog(db)
    build._cache.clear()          # a cold index, as in a new kernel
    words.cache_clear()
    own = [q["question"] for q in questions if q["db"] == db]
    others = [q["question"] for q in questions if q["db"] != db][:40]
    start = time.perf_counter()
    schema_context(catalog, "How many rows are there?", budget)     # builds the per-schema index once
    first = time.perf_counter() - start
    times, cpu = [], []
    for question in own + others:
        start, start_cpu = time.perf_counter(), time.process_time()
        schema_context(catalog, question, budget)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    times.sort()
    cpu.sort()
    return {"db": db, "tables": len(catalog.tables), "columns": sum(len(t.columns) for t in catalog.tables),
            "index_build_s": round(first, 2), "questions": len(times),
            "per_question_ms_median": round(1000 * statistics.median(times), 1),
            "per_question_ms_p90": round(1000 * times[int(0.9 * (len(times) - 1))], 1),
            "per_question_ms_max": round(1000 * max(times), 1),
            "per_question_cpu_ms_median": round(1000 * statistics.median(cpu), 1),
            "per_question_cpu_ms_p90": round(1000 * cpu[int(0.9 * (len(cpu) - 1))], 1)}


def agent_prompt(db: str, questions: list[dict]) -> dict:
    """The whole system prompt the agent sends on the largest schema, and its fixed part."""
    from querygpt_jupyter.agent.prompts import system_prompt
    from querygpt_jupyter.context.tokens import count_tokens

    catalog = load_catalog(db)
    question = next((q["question"] for q in questions if q["db"] == db), "How many rows are there?")
    prompt = system_prompt(catalog, question)
    fixed = system_prompt(type(catalog)(catalog.dialect, catalog.fingerprint, ()), question)
    return {"db": db, "prompt_tokens": count_tokens(prompt), "fixed_instruction_tokens": count_tokens(fixed)}


def values_index_build() -> dict:
    """The values index of benchmarks/postgres_introspection.py's 500-table PostgreSQL schema:
    cold introspection with it (one query per text column) and without (samples only, as before),
    and building the in-memory index schema_context matches questions against."""
    import tempfile

    from postgres_introspection import TABLES, bench_urls, build_schema

    url, admin_url = bench_urls()
    build_schema(admin_url)
    os.environ["QUERYGPT_HOME"] = tempfile.mkdtemp(prefix="qg-bench-home-")
    from querygpt_jupyter.connections import introspect as introspection
    from querygpt_jupyter.connections.resolve import open_connection
    from querygpt_jupyter.context.build import _prepared

    adapter = open_connection(url, ())
    tables = adapter.schema()
    assert len(tables) == TABLES
    start = time.perf_counter()
    for table in tables:
        introspection._with_statistics(adapter, table)          # samples only: the old behaviour
    samples_only = time.perf_counter() - start
    start = time.perf_counter()
    catalog = introspection.introspect(adapter, use_cache=False)  # with the values index
    with_values = time.perf_counter() - start
    start = time.perf_counter()
    prepared = _prepared(catalog, None)
    in_memory = time.perf_counter() - start
    return {"tables": TABLES, "values": len(prepared.values),
            "introspection_samples_only_s": round(samples_only, 2), "introspection_with_values_s": round(with_values, 2),
            "index_in_memory_ms": round(1000 * in_memory, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budgets", default="1000,2000,4000")
    parser.add_argument("--misses", action="store_true", help="List the questions missed at each budget.")
    parser.add_argument("--only", choices=("ours", "baseline", "today"))
    parser.add_argument("--postgres", action="store_true",
                        help='Also time the values index on a 500-table PostgreSQL schema (eval "$(bash scripts/services --env)" first).')
    args = parser.parse_args()
    from querygpt_jupyter.context.tokens import counter_name

    questions = load_questions()
    with_columns = sum(1 for q in questions if q["gold_columns"])
    print(f"{len(questions)} questions on {len({q['db'] for q in questions})} databases "
          f"({with_columns} with gold columns from the gold SQL); tokens: {counter_name()}")
    methods = {"ours": ours, "baseline": baseline}
    if args.only:
        methods = {args.only: {"ours": ours, "baseline": baseline, "today": today}[args.only]}
    for budget in map(int, args.budgets.split(",")):
        for name, method in methods.items():
            figures = run(method, budget, questions, args.misses and name == "ours")
            print(f"budget {budget:>5}  {name:<9} strict {figures['strict']:.1%}  table recall "
                  f"{figures['table_recall']:.1%}  tokens median {figures['tokens_median']:.0f} "
                  f"max {figures['tokens_max']}  over budget {figures['over_budget']}")
    if not args.only or args.only == "today":
        figures = run(today, 0, questions)
        print(f"today's prompt builder (no budget): strict {figures['strict']:.1%}  table recall "
              f"{figures['table_recall']:.1%}  tokens median {figures['tokens_median']:.0f} max {figures['tokens_max']}")
    if not args.only:
        db = largest_schema()
        print("agent prompt on the largest schema:", agent_prompt(db, questions))
        print("time per question on the largest schema:", timing(db, questions))
    if args.postgres:
        print("values index, 500-table PostgreSQL schema:", values_index_build())


if __name__ == "__main__":
    main()
