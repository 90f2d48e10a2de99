"""A turn record: what a later replay, search or example needs — never result rows or secrets.

Format (version 1) is documented in docs/history.md; it rides in the notebook (output metadata
`querygpt`) and in the index (column `record`)."""
from __future__ import annotations

import time
import uuid
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
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def record_of(answer: "Answer", *, conversation_id: str, source: str, notebook: str | None = None) -> TurnRecord:
    turn_id = getattr(answer, "turn_id", None) or uuid.uuid4().hex
    answer.turn_id = turn_id
    return TurnRecord(
        id=turn_id,
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
        chart=_chart_without_data(answer._chart_spec),
        timings_ms={k: round(v, 1) for k, v in answer.timings.items()},
        usage={k: v for k, v in (answer.usage or {}).items()},
        feedback=getattr(answer, "feedback", None),
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
