"""History for people: `%ask history`, `%ask search`, `querygpt history`."""
from __future__ import annotations

import datetime
import html

from ...history.records import TurnRecord


def _line(record: TurnRecord) -> str:
    when = datetime.datetime.fromtimestamp(record.created_at).strftime("%Y-%m-%d %H:%M")
    outcome = record.error_code or f"{record.row_count} rows"
    feedback = f" [{record.feedback['kind']}]" if record.feedback and record.feedback.get("kind") else ""
    return f"{when}  {record.question or '(SQL)'} — {outcome} · {record.model or 'SQL'}{feedback}"


def records_text(records: list[TurnRecord]) -> str:
    if not records:
        return "No turns recorded yet."
    return "\n".join(_line(r) + (f"\n    {' '.join((r.sql or '').split())[:160]}" if r.sql else "") for r in records)


def records_html(records: list[TurnRecord]) -> str:
    if not records:
        return "<div>No turns recorded yet.</div>"
    items = "".join(
        f"<li>{html.escape(_line(r))}<br><code style='font-size:11px'>{html.escape(' '.join((r.sql or '').split())[:300])}</code></li>"
        for r in records
    )
    return f"<ol style='margin:0;padding-left:1.4em'>{items}</ol>"
