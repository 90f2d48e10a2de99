"""What the chat front end is sent about one turn: plain JSON, built from an `Answer` (or from the
events of a turn still running). The front end only renders these dicts."""
from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...answer import Answer
    from ...events import Event

PREVIEW_ROWS = 10     # rows of the result table shown in the sidebar
MAX_TOKENS_SHOWN = 4_000

log = logging.getLogger("querygpt")


def live_turn(turn_id: str, question: str, source: str = "sidebar") -> dict:
    """A turn that has just started: the question and, as they come, its progress events."""
    return {"id": turn_id, "source": source, "question": question, "status": "running", "events": [], "tokens": ""}


def with_event(turn: dict, event: "Event") -> dict:
    """`turn` with one more event: stage messages go to `events`, streamed model tokens to `tokens`."""
    turn = dict(turn)
    if "token" in event.data:
        turn["tokens"] = (turn["tokens"] + str(event.data["token"]))[-MAX_TOKENS_SHOWN:]
    elif event.message:
        turn["events"] = [*turn["events"], {"stage": event.stage, "message": event.message,
                                            "elapsed_ms": round(event.elapsed_ms, 1)}]
    return turn


def finished_turn(turn_id: str, answer: "Answer", source: str, connection: str | None = None,
                  cell: str | None = None, events: list | None = None, chart_style: dict | None = None) -> dict:
    """Everything the sidebar shows of a finished turn, in both views (the front end picks)."""
    error = answer.error
    usage = answer.usage
    return {
        "id": turn_id,
        "source": source,
        "question": answer.question or "",
        "status": "error" if error is not None else "done",
        "events": events or [],
        "tokens": "",
        "sql": answer.sql or "",
        "cell": cell or "",
        "explanation": answer.explanation or "",
        "table": table_preview(answer) if error is None else None,
        "chart": chart_view(answer, chart_style) if error is None else None,
        "chart_note": (answer.chart_note or "") if error is None else "",   # also why no chart was drawn
        "error": None if error is None else {"code": error.code, "message": error.message, "hint": error.hint or ""},
        "feedback": answer.feedback,
        "model": answer.model or "",
        "connection": connection or answer.connection or "",
        "connection_note": answer.connection_reason or "",
        "developer": {
            "timings_ms": {k: round(v, 1) for k, v in answer.timings.items()},
            "prompt_tokens": int(usage.prompt_tokens or 0),
            "completion_tokens": int(usage.completion_tokens or 0),
            "cost_usd": float(usage.cost_usd or 0.0),
            "executed_sql": answer.executed_sql or "",
            "dialect": answer.dialect or "",
            "attempts": [a.to_dict() for a in answer.attempts],
            "notes": list(answer.notes) + ([answer.schema_kept.note()] if answer.schema_kept else []),
            "label": answer.connection or "",
        },
    }


def table_preview(answer: "Answer", rows: int = PREVIEW_ROWS) -> dict | None:
    if answer.df is None:
        return None
    df = answer.df
    head = df.head(rows)
    values = json.loads(head.to_json(orient="values", date_format="iso", default_handler=str)) if len(head) else []
    return {"columns": [str(c) for c in df.columns], "rows": values, "row_count": len(df),
            "truncated": bool(answer.truncated)}


def chart_view(answer: "Answer", style: dict | None = None) -> dict | None:
    """The chart as SVG drawn in the kernel by vl-convert (offline by construction), laid out for
    the width the front end measured and coloured from its theme (`style`: ChatWidget.chart_style),
    so it is shown at its own size with readable text. None when the answer has no chart or the
    SVG engine failed."""
    spec = answer.chart_spec
    if spec is None:
        return None
    from ...charts.render import resized, spec_to_svg

    style = style or {}
    width = int(style.get("width") or 0)
    try:
        svg = spec_to_svg(resized(spec, width) if width else spec, style or None)
    except Exception:   # vl-convert raises plain errors; the table still answers the question
        log.warning("querygpt: could not draw the sidebar chart", exc_info=True)
        return None
    return {"svg": svg, "description": answer.chart_description or "Chart", "note": answer.chart_note or "",
            "width": width}


def error_turn(turn_id: str, question: str, error: Any, source: str = "sidebar") -> dict:
    """A turn that failed before it started (no such connection, a bad option)."""
    return {**live_turn(turn_id, question, source), "status": "error",
            "error": {"code": getattr(error, "code", "AGENT_FAILURE"), "message": getattr(error, "message", str(error)),
                      "hint": getattr(error, "hint", "") or ""}}


def json_safe(value: Any) -> Any:
    """Round-trip through JSON so numpy scalars and the like never reach the comm."""
    return json.loads(json.dumps(value, default=str))
