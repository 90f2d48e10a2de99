"""A turn record: what a later replay, search or example needs — never result rows or secrets.

Format (version 1) is documented in docs/history.md; it rides in the notebook (output metadata
`querygpt`) and in the index (column `record`)."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..answer import Answer

FORMAT_VERSION = 1
FEEDBACK_KINDS = {"correct": "correct", "good": "correct", "partial": "partial", "partially": "partial",
                  "wrong": "wrong", "bad": "wrong", "suggestion": "suggestion", "suggest": "suggestion"}


@dataclass(frozen=True)
class TurnRecord:
    id: str
    conversation_id: str
    created_at: float
    question: str | None
    explanation: str | None
    sql: str | None
    dialect: str | None
    connection: str | None          # label, password hidden
    fingerprint: str | None         # of the schema the SQL was written for
    model: str | None
    status: str                     # "ok" | "error"
    error_code: str | None
    row_count: int
    truncated: bool
    chart: dict | None              # the chart's spec without its data values
    timings_ms: dict[str, float] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    feedback: dict | None = None    # {"kind": correct|partial|wrong|suggestion, "text": ...}
    source: str = "api"             # magic | sidebar | cli | api
    notebook: str | None = None     # the notebook's path when known
    format: int = FORMAT_VERSION

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TurnRecord":
        """A record from JSON that may come from anywhere (a notebook someone sent): ValueError
        or TypeError unless every field has its type and a sane size, so a bad record can be
        skipped instead of failing a later comparison or date conversion."""
        if not isinstance(data, dict):
            raise TypeError("a turn record is a JSON object")
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        for name, value in values.items():
            if not _FIELD_CHECKS[name](value):
                raise ValueError(f"bad value for {name!r} in a turn record")
        return cls(**values)


MAX_TEXT = 1_000_000
MAX_TIMESTAMP = 32503680000.0   # year 3000: beyond it datetime cannot show the date


def _text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT


def _optional_text(value: Any) -> bool:
    return value is None or _text(value)


def _number(value: Any, low: float, high: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def _numbers(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and _number(v, -1e15, 1e15) for k, v in value.items())


def _feedback(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and _text(value.get("kind")) and _optional_text(value.get("text")))


_FIELD_CHECKS = {
    "id": lambda v: _text(v) and 0 < len(v) <= 200,
    "conversation_id": lambda v: _text(v) and len(v) <= 200,
    "created_at": lambda v: _number(v, 0, MAX_TIMESTAMP),
    "question": _optional_text, "explanation": _optional_text, "sql": _optional_text, "dialect": _optional_text,
    "connection": _optional_text, "fingerprint": _optional_text, "model": _optional_text,
    "status": lambda v: v in ("ok", "error"),
    "error_code": _optional_text,
    "row_count": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63,
    "truncated": lambda v: isinstance(v, bool),
    "chart": lambda v: v is None or isinstance(v, dict),
    "timings_ms": _numbers,
    "usage": lambda v: isinstance(v, dict),
    "feedback": _feedback,
    "source": _text,
    "notebook": _optional_text,
    "format": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 < v <= FORMAT_VERSION,
}


def record_of(answer: "Answer", *, conversation_id: str, source: str, notebook: str | None = None) -> TurnRecord:
    """The record of a finished turn; reads the answer, never changes it."""
    return TurnRecord(
        id=answer.turn_id,
        conversation_id=conversation_id,
        created_at=time.time(),
        question=scrub(answer.question),
        explanation=scrub((answer.plan_explanation if answer.plan_explanation is not None else answer.explanation) or None),
        sql=scrub(answer.sql, shapes=False),
        dialect=answer.dialect,
        connection=scrub(answer.connection),
        fingerprint=answer.fingerprint,
        model=answer.model,
        status="ok" if answer.error is None else "error",
        error_code=None if answer.error is None else answer.error.code,
        row_count=answer.row_count,
        truncated=answer.truncated,
        chart=_chart_without_data(answer.chart_spec_if_built),
        timings_ms={k: round(v, 1) for k, v in answer.timings.items()},
        usage=answer.usage.to_dict(),
        feedback=answer.feedback,
        source=source,
        notebook=scrub(notebook),
    )


def normalize_question(question: str | None) -> str:
    """Questions that differ only in case, spacing or final punctuation replay the same record."""
    return " ".join((question or "").lower().split()).rstrip("?.! ")


def feedback_kind(word: str) -> str:
    from ..errors import UsageError

    kind = FEEDBACK_KINDS.get(word.lower())
    if kind is None:
        raise UsageError(f"Unknown feedback {word!r}.", hint="Use good (correct), partial, bad (wrong) or suggest TEXT.")
    return kind


def scrub(text: str | None, shapes: bool = True) -> str | None:
    """Remove API keys and passwords (redact.scrub) from a record's text fields."""
    from ..redact import scrub as scrub_secrets

    return None if text is None else scrub_secrets(text, shapes=shapes)


def _chart_without_data(spec: dict | None) -> dict | None:
    if not spec:
        return None
    small = {k: v for k, v in spec.items() if k not in ("data", "datasets")}
    return small
