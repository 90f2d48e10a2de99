"""The plan stage's one interface: every planner — the built-in offline one or a model — takes the
question, the catalogue and the turn's `PlanTools`, and returns one `Plan`. The turn never asks
which kind of planner it holds; `planner_for` is the only place that knows them all."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol

from ..answer import Attempt, Usage

if TYPE_CHECKING:
    import pandas as pd

    from ..connections.catalog import Catalog
    from ..context.kept import SchemaKept
    from .options import TurnOptions

log = logging.getLogger("querygpt")
@dataclass(frozen=True)
class PlanTools:
    """What a planner may use of the turn. `validate` guards and runs candidate SQL (raising the
    error to feed back, or to fail with) and returns the SQL as it ran; a plan's SQL has been
    through it."""
    validate: Callable[[str], str]
    probe: Callable[[str], "pd.DataFrame"]      # a small guarded query (a model's look-up tools)
    look_up: Callable[[str], "pd.DataFrame"]    # the planner's own read-only look-up SQL (offline: values)
    history: tuple = ()                          # prompts.PriorTurn of this conversation, oldest first
    on_token: Callable[[str], None] | None = None
    on_attempt: Callable[[Attempt], None] | None = None


@dataclass(frozen=True)
class Plan:
    """What a planner hands the pipeline: SQL that passed `PlanTools.validate`, and how to present it."""
    sql: str
    explanation: str
    chart_hint: str | None = None        # "bar", "line", "none", or None to let the chart chooser decide
    usage: Usage | None = None           # None: no model was called
    attempts: tuple[Attempt, ...] = ()
    transpiled_from: str | None = None   # the dialect the model wrote in, when not the engine's
    prompt_tokens_first_call: int = 0
    model_ms: float | None = None        # time spent waiting for the model
    schema_kept: "SchemaKept | None" = None   # what the prompt's schema context kept, when it pruned


class Planner(Protocol):
    model: str
    progress: str          # the generating_sql event's message ("Asking openai/gpt-4o-mini…")

    def plan(self, question: str, catalog: "Catalog", tools: PlanTools) -> Plan: ...


class OfflineStage:
    """The built-in planner (agent/offline.py) behind the `Planner` protocol: it writes the SQL
    from the catalogue and the value probe, then the SQL goes through `validate` like a model's."""

    def __init__(self):
        from ..config import OFFLINE_MODEL
        from .offline import OfflinePlanner

        self.model = OFFLINE_MODEL
        self.progress = f"Writing SQL with {OFFLINE_MODEL}…"
        self._planner = OfflinePlanner()

    def plan(self, question: str, catalog: "Catalog", tools: PlanTools) -> Plan:
        from .offline import make_probe

        found = self._planner.plan(question, catalog, make_probe(tools.look_up, catalog.dialect))
        tools.validate(found.sql)     # the offline SQL is shown as written: it is already the engine's dialect
        return Plan(found.sql, found.explanation, found.chart_hint)


def planner_for(options: "TurnOptions", question: str, connection: str) -> Planner:
    """The planner `options.model` names, constructed with everything it needs (a model's
    examples: question→SQL pairs marked correct on this connection)."""
    from ..config import OFFLINE_MODEL

    if options.model == OFFLINE_MODEL:
        return OfflineStage()
    from .llm import ModelClient
    from .model_planner import ModelPlanner

    use_tools = {"on": True, "off": False}.get(options.tools)
    examples = _examples(question, connection) if options.examples else ()
    return ModelPlanner(ModelClient(options.model_settings), options.limits, use_tools=use_tools, notes=options.notes,
                        examples=examples)


def _examples(question: str, connection: str) -> tuple[tuple[str, str], ...]:
    from ..history.index import default_index

    try:
        return tuple((r.question, r.sql) for r in default_index().examples(question, connection))
    except Exception:  # examples improve a prompt; an unreadable index must not stop the turn
        log.warning("querygpt: could not read examples from the history index", exc_info=True)
        return ()
