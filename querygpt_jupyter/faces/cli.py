"""The `querygpt` command: a thin shell over the library API (`ask`, `run_sql`, `schema`).

Exit status: 0 answered; 2 usage error; 3 refused by the guard; 4 database error or timeout;
5 the model failed or is unavailable."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from .. import __version__, errors


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="querygpt", description="Ask a database questions in plain language.")
    parser.add_argument("--version", action="version", version=f"querygpt-jupyter {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo-db", help="Write the demo DuckDB database (vega_datasets) to PATH.")
    demo.add_argument("path", metavar="PATH")

    def add_db(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", default="demo",
                       help="SQLAlchemy URL, .duckdb/.db/.sqlite path, or 'demo' (the default).")
        p.add_argument("--json", action="store_true", help="Print one JSON object.")

    def add_run_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--max-rows", type=int, help="Row cap (default 10000).")
        p.add_argument("--timeout", type=float, help="Seconds before the query is cancelled (default 60).")
        p.add_argument("--max-memory-mb", type=int, help="Memory the engine may use for the query (default 2048).")
        p.add_argument("--no-chart", action="store_true", help="Do not choose a chart.")
        p.add_argument("--chart", metavar="PATH", type=_chart_path,
                       help="Also save the chart to PATH (.svg, .png or .html); without it no image is drawn.")
        p.add_argument("--allow-path", action="append", default=None,
                       help="Directory queries may read files from (repeatable; default: the working directory).")

    ask = commands.add_parser("ask", help="Ask a question in plain language.")
    ask.add_argument("question", metavar="QUESTION")
    add_db(ask)
    ask.add_argument("--model", help="LiteLLM model string or querygpt/offline (default).")
    ask.add_argument("--api-base", help="Base URL of an OpenAI-compatible server.")
    ask.add_argument("--key-env", help="Environment variable holding the API key (default: the provider's usual one).")
    ask.add_argument("--tools", choices=("auto", "on", "off"), help="Offer schema tools to the model (default auto).")
    add_run_options(ask)

    sql = commands.add_parser("sql", help="Run SQL through the same guard and executor (no model).")
    sql.add_argument("sql", metavar="SQL")
    add_db(sql)
    add_run_options(sql)

    schema = commands.add_parser("schema", help="Show the tables, columns and keys querygpt sees.")
    add_db(schema)

    context = commands.add_parser("context", help="What the model would read about the schema for a question.")
    source = context.add_mutually_exclusive_group()
    source.add_argument("--db", help="SQLAlchemy URL, .duckdb/.db/.sqlite path, or 'demo' (the default).")
    source.add_argument("--schema", metavar="FILE", help="A schema document (`querygpt schema --json`, .json or .json.gz).")
    context.add_argument("--question", required=True, metavar="Q")
    context.add_argument("--budget", type=int, default=2000, help="Tokens the schema part may use (default 2000).")
    context.add_argument("--json", action="store_true", help="Print one JSON object.")

    history = commands.add_parser("history", help="Turns recorded from notebooks, the CLI and the API, newest first.")
    history.add_argument("--json", action="store_true", help="Print one JSON object: {\"turns\": [...]}.")
    history.add_argument("--all", action="store_true", help="Every turn (oldest first), not only the latest --limit.")
    history.add_argument("--search", metavar="TEXT", help="Only turns whose question or SQL match TEXT.")
    history.add_argument("--limit", type=int, default=20, help="How many turns (default 20).")
    return parser


def _chart_path(text: str) -> str:
    if not text.lower().endswith(_CHART_SUFFIXES):
        raise argparse.ArgumentTypeError(f"{text!r}: the file name must end in {', '.join(_CHART_SUFFIXES)}")
    return text


_CHART_SUFFIXES = (".svg", ".png", ".html")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # shown with the sub-command's own usage, not the top-level one
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        commands.choices[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        with errors.speaking_to("cli"):
            return _COMMANDS[args.command](args)
    except errors.QueryGPTError as error:
        _print_error(error, as_json=getattr(args, "json", False), question=getattr(args, "question", None))
        return error.exit_status
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


def _demo_db(args) -> int:
    from ..connections.demo import build_demo_db

    path = build_demo_db(args.path)
    print(f"Wrote the demo database to {path}", file=sys.stderr)
    return 0


def _ask(args) -> int:
    from ..api import ask

    answer = ask(args.question, db=args.db, model=args.model, api_base=args.api_base, key_env=args.key_env,
                 tools=args.tools, on_event=_stderr_progress(args), record_as="cli", **_run_options(args))
    return _print_answer(answer, args.json, args.chart)


def _sql(args) -> int:
    from ..api import run_sql

    answer = run_sql(args.sql, db=args.db, record_as="cli", **_run_options(args))
    return _print_answer(answer, args.json, args.chart)


def _schema(args) -> int:
    from ..api import schema
    from .render.schema import catalog_text

    catalog = schema(db=args.db)
    print(json.dumps(catalog.to_dict(), indent=1) if args.json else catalog_text(catalog))
    return 0


def _context(args) -> int:
    from ..api import schema_context

    ctx = schema_context(_schema_file(args.schema) if args.schema else None, args.question, args.budget,
                         db=None if args.schema else (args.db or "demo"))
    if args.json:
        print(json.dumps(ctx.to_dict(), default=str))
    else:
        print(ctx.text)
        print(f"-- {len(ctx.tables)} tables, {ctx.tokens} of {ctx.budget} tokens ({ctx.counter})"
              + (", the whole schema" if ctx.whole else ""), file=sys.stderr)
    return 0


def _schema_file(path: str) -> dict:
    import gzip

    try:
        with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
            data = json.load(f)
    except (OSError, ValueError) as error:
        raise errors.UsageError(f"Cannot read the schema document {path}: {error}.",
                                "Give a file written by `querygpt schema --db DB --json`.") from None
    if not isinstance(data, dict) or not isinstance(data.get("tables"), list):
        raise errors.UsageError(f"{path} is not a schema document (no \"tables\" list).",
                                "Give a file written by `querygpt schema --db DB --json`.")
    return data


def _history(args) -> int:
    from ..history.index import default_index
    from .render.history import records_text

    index = default_index()
    if args.search:
        records = index.search(args.search, limit=args.limit)
    elif args.all:
        records = list(index.all())
    else:
        records = index.recent(args.limit)
    if args.json:
        print(json.dumps({"turns": [r.to_dict() for r in records]}, default=str))
    else:
        print(records_text(records))
    return 0


def _run_options(args) -> dict:
    return {
        "max_rows": args.max_rows,
        "timeout_s": args.timeout,
        "max_memory_mb": args.max_memory_mb,
        "chart": False if args.no_chart else None,
        "allowed_paths": args.allow_path,
    }


def _stderr_progress(args):
    if args.json or not sys.stderr.isatty():
        from ..events import ignore

        return ignore

    def show(event) -> None:
        if not event.message:
            return
        print(f"\r\033[2K{event.message}", end="" if event.stage not in ("done", "error") else "\n",
              file=sys.stderr, flush=True)

    return show


def _print_answer(answer, as_json: bool, chart_path: str | None = None) -> int:
    if chart_path and answer.error is None:
        _save_chart(answer, chart_path)
    if as_json:
        print(json.dumps(answer.to_dict(), default=str))
    elif answer.error is not None:
        _print_error(answer.error, as_json=False)
    else:
        from .render.answer import answer_text

        print(answer_text(answer))
        if answer.chart_description:
            print(f"[{answer.chart_description}{'; ' + answer.chart_note if answer.chart_note else ''}]")
    return 0 if answer.error is None else answer.error.exit_status


def _save_chart(answer, path: str) -> None:
    """Only here is an image drawn: the printed answer describes its chart from the spec."""
    if answer.chart_spec is None:
        print(f"No chart suits this result; {path} was not written.", file=sys.stderr)
        return
    from ..charts.render import save_chart

    print(f"Saved the chart to {save_chart(answer.chart_spec, path)}", file=sys.stderr)


def _print_error(error: errors.QueryGPTError, as_json: bool, question: str | None = None) -> None:
    if as_json:
        from ..answer import Answer

        print(json.dumps(Answer(question=question, error=error).to_dict()))
    else:
        print(f"{error.label}: {error}", file=sys.stderr)


_COMMANDS = {"demo-db": _demo_db, "ask": _ask, "sql": _sql, "schema": _schema, "context": _context,
             "history": _history}


if __name__ == "__main__":
    sys.exit(main())
