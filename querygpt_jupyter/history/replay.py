"""Replay: a question asked again on the same schema reuses its recorded SQL instead of the model,
so re-running a notebook (even headless, with no model reachable) gives the same SQL and results."""
from __future__ import annotations

from dataclasses import dataclass

from .records import TurnRecord, normalize_question


@dataclass(frozen=True)
class ReplayMatch:
    record: TurnRecord
    source: str            # "notebook" or "history index"
    schema_changed: bool   # recorded for another schema fingerprint


def find_replay(question: str, fingerprint: str, notebook_records: list[TurnRecord], index=None) -> ReplayMatch | None:
    """The newest answered record of this question: same schema first, notebook before index."""
    key = normalize_question(question)
    from_notebook = [r for r in notebook_records
                     if normalize_question(r.question) == key and r.status == "ok" and r.sql and r.model]
    from_notebook.sort(key=lambda r: r.created_at, reverse=True)
    from_index = index.replay_candidates(question, fingerprint) if index is not None else []
    for source, records in (("notebook", from_notebook), ("history index", from_index)):
        for record in records:
            if record.fingerprint == fingerprint:
                return ReplayMatch(record, source, False)
    for source, records in (("notebook", from_notebook), ("history index", from_index)):
        if records:
            return ReplayMatch(records[0], source, True)
    return None
