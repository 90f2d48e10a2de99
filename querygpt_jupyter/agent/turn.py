"""One turn: question → context → (replay | plan) → guard → execute → chart. This is where a
question becomes SQL — a fresh one, a replayed one, one from the sidebar, `ask()` or the CLI:
every face calls `run`. Every stage reports through the event stream and fills `Answer.timings`;
an exception becomes a coded error in one place (`_Turn.capture`, through `errors.coded`).

Why here and not a new `turn/` package: `agent/` already was where a turn is driven, every face
imported it, and the planners it drives sit beside it (agent/plan.py: the `Planner` protocol).
Connections are chosen before the turn by the faces (conversation.prepare_turn for the notebook
and the sidebar, api.py for scripts and the CLI): a turn gets one open connection."""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from .. import errors
from ..answer import Answer
from ..events import Event, Listener, ignore
from .options import TurnOptions  # noqa: F401  (the faces import it from here)

if TYPE_CHECKING:
    from ..connections.base import Adapter

log = logging.getLogger("querygpt")


class _Turn:
    """Bookkeeping shared by both kinds of turn: events, stage timings, error capture."""

    def __init__(self, answer: Answer, listener: Listener):
        self.answer = answer
        self.listener = listener
        self.started = time.perf_counter()
        self.checked = None     # the checked query that ran (before the row cap): a chart may aggregate over it

    def emit(self, stage: str, message: str, **data) -> None:
        event = Event(stage, message, data, (time.perf_counter() - self.started) * 1000)
        try:
            self.listener(event)
        except Exception:  # a broken renderer must not break the turn
            log.exception("querygpt: an event listener failed on %s", stage)

    @contextmanager
    def stage(self, name: str, message: str, **data) -> Iterator[None]:
        self.emit(name, message, **data)
        began = time.perf_counter()
        try:
            yield
        finally:
            self.answer.timings[name] = self.answer.timings.get(name, 0.0) + (time.perf_counter() - began) * 1000

    def finish(self) -> Answer:
        self.answer.timings["total"] = (time.perf_counter() - self.started) * 1000
        if self.answer.error is None:
            self.emit("done", _done_message(self.answer), row_count=self.answer.row_count, truncated=self.answer.truncated)
        else:
            self.emit("error", str(self.answer.error), code=self.answer.error.code)
        return self.answer

    @contextmanager
    def capture(self) -> Iterator[None]:
        try:
            yield
        except (Exception, KeyboardInterrupt) as exc:
            self.answer.error = errors.coded(exc)


def run(text: str, adapter: "Adapter", options: TurnOptions, listener: Listener = ignore, *,
        sql: bool = False, question: str | None = None) -> Answer:
    """The one entry of a turn. `text` is a question in plain language — replayed from its record
    when `options.replay` finds one (the notebook's records first, then the history index), else
    planned — or, with `sql=True`, SQL to run as given (`question`: what it answers, if known)."""
    if sql:
        return sql_turn(text, adapter, options, listener, question=question)
    match = _find_replay(text, adapter, options) if options.replay else None
    if match is None:
        return ask_turn(text, adapter, options, listener)
    if match.schema_changed and _model_ready(options):
        answer = ask_turn(text, adapter, options, listener)
        answer.notes.append("The schema changed since this question was last answered, so it was asked again.")
        return answer
    return _replayed(text, match, adapter, options, listener)


def ask_turn(question: str, adapter: "Adapter", options: TurnOptions, listener: Listener = ignore) -> Answer:
    """Answer a question in plain language on one connection."""
    from ..connections.introspect import introspect

    answer = Answer(question=question, dialect=adapter.dialect, model=options.model, connection=adapter.label)
    turn = _Turn(answer, listener)
    with turn.capture():
        if not question or not question.strip():
            raise errors.UsageError("The question is empty.", hint="Write a question, e.g. `%ask How many cars per origin?`.")
        turn.emit("analyzing", "Reading the question…", question=question)
        with turn.stage("schema", "Looking at the tables…"):
            catalog = introspect(adapter)
            answer.fingerprint = catalog.fingerprint
        _plan_stage(turn, question, catalog, adapter, options)
        _summary_stage(answer, options)
    return turn.finish()


def sql_turn(sql: str, adapter: "Adapter", options: TurnOptions, listener: Listener = ignore,
             question: str | None = None, chart_hint: str | None = None) -> Answer:
    """Run SQL the user (or a recorded turn) gives, through the same guard and executor."""
    answer = Answer(question=question, sql=sql, dialect=adapter.dialect, model=None, connection=adapter.label)
    turn = _Turn(answer, listener)
    with turn.capture():
        if not sql or not sql.strip():
            raise errors.UsageError("The SQL is empty.")
        _check_run_chart(turn, sql, adapter, options, question or "", chart_hint)
    return turn.finish()


def _plan_stage(turn: _Turn, question: str, catalog, adapter: "Adapter", options: TurnOptions) -> None:
    """Plan: the planner's every candidate is checked and run through `validate`, so a database
    error goes back to a model like a schema error does; the plan's SQL is what ran."""
    from ..sql import guard
    from ..sql.execute import run_query
    from .plan import PlanTools, planner_for

    answer = turn.answer
    policy = guard.GuardPolicy(dialect=adapter.dialect, allowed_paths=options.allowed_paths)
    inner_ms = 0.0
    failed: dict = {}      # the SQL whose own error ended the plan, shown with that error

    def probe(sql: str):
        return run_query(adapter, guard.check(sql, policy), max_rows=20, timeout_s=min(options.timeout_s, 10.0)).df

    def validate(sql: str) -> str:
        """Check and run `sql`; the SQL the engine ran (rendered from the checked tree, without
        the row cap) is what the answer shows, records and puts in the new cell."""
        nonlocal inner_ms
        began = time.perf_counter()
        try:
            checked = _check_and_run(turn, sql, adapter, options)
        except errors.QueryGPTError as error:
            failed.update(error=error, sql=sql)
            raise
        finally:
            inner_ms += (time.perf_counter() - began) * 1000
        return guard.render(checked, adapter.dialect)

    def on_token(text: str) -> None:
        turn.emit("generating_sql", "", token=text)

    def on_attempt(attempt) -> None:
        answer.attempts.append(attempt)
        if attempt.error:
            turn.emit("generating_sql", f"Attempt {len(answer.attempts)} failed ({attempt.error.code}); asking again…",
                      attempt=attempt.to_dict())

    planner = planner_for(options, question, adapter.label)
    def look_up(sql: str):
        from ..connections.running import run_blocking

        return run_blocking(adapter, sql, options.timeout_s)

    tools = PlanTools(validate=validate, probe=probe, look_up=look_up, history=options.history,
                      on_token=on_token, on_attempt=on_attempt)
    began = time.perf_counter()
    turn.emit("generating_sql", planner.progress, model=options.model)
    try:
        plan = planner.plan(question, catalog, tools)
    except errors.QueryGPTError as error:
        if failed.get("error") is error:     # the planner gave up on this SQL's own error
            answer.sql = failed["sql"]
        if isinstance(error, errors.AgentFailure):
            answer.usage = error.usage or answer.usage
            if error.model_ms is not None:
                answer.timings["model"] = error.model_ms
        raise
    finally:
        answer.timings["generating_sql"] = (time.perf_counter() - began) * 1000 - inner_ms
    answer.sql = plan.sql
    if plan.model_ms is not None:
        answer.timings["model"] = plan.model_ms   # part of generating_sql: the rest is the agent's own work
    answer.usage = plan.usage or answer.usage
    answer.prompt_tokens_first_call = plan.prompt_tokens_first_call
    answer.schema_kept = plan.schema_kept
    answer.explanation = plan.explanation if options.explain else ""
    if plan.transpiled_from:
        answer.notes.append(f"Transpiled from {plan.transpiled_from} to {adapter.dialect}.")
    _chart_stage(turn, options, question, plan.chart_hint, adapter)


def _summary_stage(answer: Answer, options: TurnOptions) -> None:
    """The planner's sentence becomes a finding read from the rows (the planner's stays for the record)."""
    if options.explain and answer.error is None:
        from .summary import summarize

        answer.plan_explanation = answer.explanation
        answer.explanation = summarize(answer.explanation, answer.df, answer.truncated)


def _check_and_run(turn: _Turn, sql: str, adapter: "Adapter", options: TurnOptions):
    """Guard and run `sql`; returns the checked tree (what ran, before the row cap)."""
    from ..sql import guard
    from ..sql.dialect_check import render_faithfully
    from ..sql.execute import run_query

    answer = turn.answer
    with turn.stage("validating", "Checking the SQL is a read-only query…", sql=sql):
        checked = guard.check(sql, guard.GuardPolicy(dialect=adapter.dialect, allowed_paths=options.allowed_paths))
        render_faithfully(checked, adapter.dialect)  # refuse what the engine's SQL would drop or change
    with turn.stage("executing", "Running the query…"):
        result = run_query(adapter, checked, max_rows=options.max_rows, timeout_s=options.timeout_s,
                           byte_caps=options.byte_caps)
    answer.df, answer.truncated, answer.executed_sql = result.df, result.truncated, result.sql
    turn.checked = checked
    answer.notes.extend(note for note in result.notes if note not in answer.notes)
    return checked


def _check_run_chart(turn: _Turn, sql: str, adapter: "Adapter", options: TurnOptions, question: str,
                     chart_hint: str | None) -> None:
    _check_and_run(turn, sql, adapter, options)
    _chart_stage(turn, options, question, chart_hint, adapter)


def _chart_stage(turn: _Turn, options: TurnOptions, question: str, chart_hint: str | None,
                 adapter: "Adapter | None" = None) -> None:
    answer = turn.answer
    engine = (adapter, turn.checked) if adapter is not None and turn.checked is not None else None
    if options.chart and answer.df is not None and len(answer.df):   # hint "none": only a why-not note
        if options.defer_chart:
            answer.defer_chart(lambda a: _chart(a, question, chart_hint, options, engine))
            return
        with turn.stage("charting", "Choosing a chart…"):
            _chart(answer, question, chart_hint, options, engine)


def _chart(answer: Answer, question: str, hint: str | None, options: TurnOptions, engine=None) -> None:
    """`engine` (adapter, checked query): when the table was cut at the row cap, a chart that
    aggregates is computed there over every row (charts/pushdown.py)."""
    from ..charts.choose import decide_chart, describe_chart, prepare_data
    from ..charts.render import build_spec

    choice, why_not = decide_chart(question, answer.df, hint=hint, max_rows=options.max_chart_rows,
                                   sql=answer.sql, dialect=answer.dialect)
    if choice is None:
        answer.chart_note = why_not
        return
    if answer.truncated:
        choice, data = _chart_of_truncated(answer, choice, options, engine)
    else:
        data = prepare_data(choice, answer.df, max_rows=options.max_chart_rows)
    answer.chart_spec = build_spec(choice, data)
    answer.chart_note = choice.note
    answer.chart_description = describe_chart(choice, len(data))


def _chart_of_truncated(answer: Answer, choice, options: TurnOptions, engine):
    """The chart's aggregation run in the engine over all rows, or the first rows with a note saying so."""
    import dataclasses

    from ..charts import pushdown
    from ..charts.choose import prepare_data

    shown = len(answer.df)
    if engine is not None and pushdown.aggregation_query(choice, engine[1]) is not None:
        try:
            result = pushdown.run_aggregation(choice, engine[1], engine[0], max_groups=options.max_chart_rows,
                                              timeout_s=options.timeout_s, allowed_paths=options.allowed_paths)
        except errors.QueryGPTError as error:   # the table stands; the chart falls back to its rows
            log.info("querygpt: the chart's aggregation could not run in the engine: %s", error)
            result = None
        if result is not None:
            why_not = pushdown.why_not_part(choice, answer.df, options.max_chart_rows)
            return pushdown.chart_over_all_rows(choice, result, why_not, shown, options.max_chart_rows)
    data = prepare_data(choice, answer.df, max_rows=options.max_chart_rows)
    note = " ".join(n for n in (choice.note, pushdown.first_rows_note(shown)) if n)
    return dataclasses.replace(choice, note=note), data


# -- replay: a question asked before on this schema reuses its recorded SQL ------------------------

def _find_replay(question: str, adapter: "Adapter", options: TurnOptions):
    from ..connections.introspect import introspect
    from ..history.notebook import notebook_records
    from ..history.replay import find_replay

    if not question or not question.strip():
        return None
    index = None
    if options.replay_index:
        from ..history.index import default_index

        index = default_index()
    return find_replay(question, introspect(adapter).fingerprint, notebook_records(options.notebook), index)


def _model_ready(options: TurnOptions) -> bool:
    """Whether the configured model could answer now (its key is set): only then does a changed
    schema send a recorded question back to it."""
    from ..config import OFFLINE_MODEL

    if options.model == OFFLINE_MODEL:
        return True
    from .llm import ModelClient

    try:
        ModelClient(options.model_settings).check_ready()
    except errors.QueryGPTError:
        return False
    return True


def _replayed(question: str, match, adapter: "Adapter", options: TurnOptions, listener: Listener) -> Answer:
    from ..charts.render import chart_mark

    record = match.record
    try:  # a record read from a notebook may be malformed: then no hint, never a TypeError
        hint = chart_mark(record.chart) if record.chart else "none"
    except (AttributeError, TypeError):
        hint = None
    hint = hint if isinstance(hint, str) else None
    answer = sql_turn(record.sql, adapter, options, listener, question=question, chart_hint=hint)
    answer.model = record.model
    answer.replayed_from = match.source
    answer.explanation = record.explanation or ""
    when = _when(record.created_at)
    answer.notes.append(f"Replayed the SQL {record.model} wrote {when} (from the {match.source}); --fresh asks again.")
    if match.schema_changed:
        answer.notes.append("The schema changed since it was recorded and no model is available to ask again.")
    _summary_stage(answer, options)
    return answer


def _when(timestamp: float) -> str:
    import datetime

    return "on " + datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _done_message(answer: Answer) -> str:
    rows = f"{answer.row_count:,} row{'s' if answer.row_count != 1 else ''}"
    return f"Done: {rows}{' (truncated)' if answer.truncated else ''}."
