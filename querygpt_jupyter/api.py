"""The library API every shell is built on: `ask()` and `run_sql()` return an `Answer`; failures
are in `Answer.error`, never raised (only misuse of the API itself raises `UsageError`)."""
from __future__ import annotations

from typing import Any, Sequence

from . import errors
from .answer import Answer
from .events import Listener, ignore


def ask(question: str, db: Any = None, model: str | None = None, *, on_event: Listener = ignore,
        history: Sequence[Answer] = (), record_as: str = "api", **options) -> Answer:
    """Ask `db` (URL, path, connection object, DataFrame or "demo"; default: the notebook's current
    connection, else the demo database) a question in plain language. `history`: earlier answers
    of the conversation, so that follow-ups ("only Europe") work.

    Replay (a question answered before on the same schema reuses its recorded SQL, as `%%ask`
    does) follows `Ask.replay` in a notebook; a script, which has no notebook to reproduce,
    replays only when it passes `replay=True`."""
    from .agent.turn import TurnOptions, run
    from .session import current_session

    if current_session() is None:
        options.setdefault("replay", False)
    cfg = _config(model=model, **options)
    opened, failed = _open(db, cfg, question=question, model=cfg.model)
    if failed:
        return failed
    answer = run(question, opened.adapter, TurnOptions.from_config(cfg, prior_turns(history), _notebook(cfg)), on_event)
    return _recorded(opened.stamp(answer), cfg, record_as)


def _notebook(cfg) -> str | None:
    """The notebook whose records replay reads first, when called from one."""
    from .session import current_session

    session = current_session()
    return session.notebook() if session is not None and cfg.replay else None


def _recorded(answer: Answer, cfg, source: str) -> Answer:
    """Every turn of the API and the CLI lands in the history index too (Ask.history)."""
    if cfg.history:
        from .history.recorder import record

        record(answer, source=source)
    return answer


def prior_turns(answers: Sequence[Answer]) -> tuple:
    """What the model is told of earlier turns: question, SQL and the result's shape — no rows."""
    from .agent.prompts import PriorTurn

    return tuple(
        PriorTurn(a.question, a.sql, tuple(str(c) for c in a.df.columns) if a.df is not None else (), a.row_count,
                  a.error.code if a.error is not None else None)
        for a in answers if a.question
    )


def run_sql(sql: str, db: Any = None, *, on_event: Listener = ignore, question: str | None = None,
            record_as: str = "api", **options) -> Answer:
    """Run SQL through the same guard and executor as `ask()`, with no model. The chart is built
    when first asked for (`.chart`, `.to_dict()`, display), so `.df` alone costs no charting."""
    from dataclasses import replace

    from .agent.turn import TurnOptions, run

    cfg = _config(**options)
    opened, failed = _open(db, cfg, question=question, sql=sql)
    if failed:
        return failed
    turn_options = replace(TurnOptions.from_config(cfg), defer_chart=True)
    answer = run(sql, opened.adapter, turn_options, on_event, sql=True, question=question)
    return _recorded(opened.stamp(answer), cfg, record_as)


def schema(db: Any = None, **options):
    """The catalogue of `db` (what `%ask tables` and `querygpt schema` show)."""
    from .connections.introspect import introspect

    cfg = _config(**options)
    return introspect(_session_or_open(db, cfg).adapter)


def schema_context(schema_doc: Any, question: str, budget: int = 2000, *, db: Any = None, **options):
    """The schema context for `question` (querygpt_jupyter.context): `schema_doc` is a Catalog or
    the `querygpt schema --json` dict; None with `db=` introspects that database (values index
    included)."""
    from .context import schema_context as build

    if schema_doc is None:
        schema_doc = schema(db=db, **options)
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
        raise errors.UsageError(f"budget={budget!r} is not a number of tokens.", "Give a positive whole number, e.g. 2000.")
    return build(schema_doc, question, budget)


def _config(**overrides):
    from .config import make_config
    from .session import current_session

    session = current_session()
    return make_config(session.config if session else None, **overrides)


def _session_or_open(db: Any, cfg, text: str | None = None, sql: bool = False):
    """The connection to ask, as a `connections.choose.Choice`: `db` when given; in a notebook
    with no `db`, the one the question (or SQL) is about, as `%%ask` chooses it."""
    from .connections.choose import Choice
    from .connections.resolve import open_connection
    from .session import current_session

    session = current_session()
    if db is None and session is not None:
        return session.choose(None, question=text, sql=sql, pick_with="db=, or %config Ask.conn = 'NAME'")
    return Choice("", open_connection(db, cfg.resolved_allowed_paths(), cfg.max_memory_mb), "given as db", automatic=False)


def _open(db: Any, cfg, **answer_fields):
    text = answer_fields.get("sql") or answer_fields.get("question")
    try:
        return _session_or_open(db, cfg, text, sql="sql" in answer_fields), None
    except errors.QueryGPTError as error:
        if isinstance(error, errors.UsageError):
            raise
        return None, Answer(error=error, **answer_fields)
