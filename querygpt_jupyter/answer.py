"""`Answer`: what one turn (or one `run_sql`) produced. `to_dict()` is the `--json` contract.

`Usage` and `Attempt` are the typed parts the planner hands over: built whole by the planner
(or carried by its `AgentFailure`), read by the renderers and the history."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import pandas as pd

    from .context.kept import SchemaKept
    from .errors import QueryGPTError


@dataclass(frozen=True)
class Usage:
    """What the model cost in one turn. `usage["prompt_tokens"]` still reads it, for scripts
    written when it was a dict."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    model_retries: int | None = None   # model calls retried (429, 5xx, timeouts); None: no model was called

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                               "cost_usd": self.cost_usd}
        if self.model_retries is not None:
            out["model_retries"] = self.model_retries
        return out

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)


@dataclass(frozen=True)
class Attempt:
    """One SQL candidate the model gave, and the error it was sent back with (None: accepted)."""
    sql: str
    error: "QueryGPTError | None" = None

    def to_dict(self) -> dict[str, Any]:
        return {"sql": self.sql, "error": None if self.error is None else self.error.to_dict()}


def new_turn_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Answer:
    question: str | None
    sql: str | None = None
    dialect: str | None = None
    df: "pd.DataFrame | None" = None
    truncated: bool = False
    explanation: str = ""
    error: "QueryGPTError | None" = None
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    timings: dict[str, float] = field(default_factory=dict)   # stage -> ms
    _chart_spec: dict | None = None    # Vega-Lite, data inlined (see `chart_spec`)
    chart_note: str | None = None      # said when the chart shows reduced data
    chart_description: str | None = None
    connection: str | None = None      # label without secrets
    connection_name: str | None = None   # as --conn takes it, when a notebook session chose the connection
    connection_reason: str | None = None  # why that one, when several were visible and none was named
    fingerprint: str | None = None
    executed_sql: str | None = None    # with the row cap, as it ran
    attempts: list[Attempt] = field(default_factory=list)   # the model's candidates, in order
    notes: list[str] = field(default_factory=list)       # e.g. "Transpiled from mysql to duckdb."
    prompt_tokens_first_call: int = 0
    schema_kept: "SchemaKept | None" = None   # what the prompt's schema context kept and why (developer view)
    turn_id: str = field(default_factory=new_turn_id)   # the id of its record (history, notebook metadata)
    conversation_id: str | None = None
    feedback: dict | None = None          # {"kind": correct|partial|wrong|suggestion, "text": ...}
    replayed_from: str | None = None      # "notebook" / "history index" when the SQL was reused
    plan_explanation: str | None = None   # what the planner said, before the finding from the rows
    _deferred_chart: Callable[["Answer"], None] | None = field(default=None, repr=False)

    @property
    def chart_spec(self) -> dict | None:
        """The Vega-Lite spec; a chart deferred by `run_sql` is chosen and built on first access,
        so code that only wants `.df` never pays for it."""
        if self._deferred_chart is not None:
            build, self._deferred_chart = self._deferred_chart, None
            build(self)
        return self._chart_spec

    @chart_spec.setter
    def chart_spec(self, spec: dict | None) -> None:
        self._chart_spec = spec

    def defer_chart(self, build: Callable[["Answer"], None]) -> None:
        """Build the chart with `build(answer)` on the first access of `chart_spec`."""
        self._deferred_chart = build

    @property
    def chart_spec_if_built(self) -> dict | None:
        """The spec when a chart was built; never builds a deferred one (a record or a cell
        must not pay for charting the caller never asked for)."""
        return self._chart_spec

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def row_count(self) -> int:
        return 0 if self.df is None else len(self.df)

    @property
    def chart(self):
        """The chart as an Altair object (built lazily from the spec: Altair is slow to import)."""
        if self.chart_spec is None:
            return None
        import altair as alt

        kind = alt.LayerChart if "layer" in self.chart_spec else alt.Chart
        return kind.from_dict(self.chart_spec, validate=False)

    def to_dict(self) -> dict:
        columns: list[str] = [] if self.df is None else [str(c) for c in self.df.columns]
        from .values import json_rows, json_value

        rows = [] if self.df is None else json_rows(self.df)
        return {
            "question": self.question,
            "sql": self.sql,
            "dialect": self.dialect,
            "columns": columns,
            "rows": rows,
            "row_count": self.row_count,
            "truncated": self.truncated,
            "chart": json_value(self.chart_spec),
            "explanation": self.explanation,
            "model": self.model,
            "usage": self.usage.to_dict(),
            "timings_ms": {k: round(v, 2) for k, v in self.timings.items()},
            "error": None if self.error is None else self.error.to_dict(),
            "connection": self.connection_name or self.connection,
        }

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .faces.render.answer import answer_mimebundle

        return answer_mimebundle(self)

    def __repr__(self) -> str:
        if self.error is not None:
            return f"<Answer error={self.error.code}: {self.error}>"
        return f"<Answer {self.row_count} rows{' (truncated)' if self.truncated else ''}: {self.sql!r}>"
