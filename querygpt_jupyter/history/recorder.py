"""Recording a finished turn: into the index (every source) — never letting a history failure
break the analyst's answer."""
from __future__ import annotations

import logging

from .records import TurnRecord, record_of

log = logging.getLogger("querygpt")


def record(answer, *, source: str, notebook: str | None = None, store: bool = True) -> TurnRecord | None:
    """The turn's record (for the notebook's output metadata), added to the index when `store`."""
    try:
        turn = record_of(answer, conversation_id=answer.conversation_id or "standalone", source=source, notebook=notebook)
        if store:
            from .index import default_index

            default_index().add(turn)
        return turn
    except Exception:  # a locked or unwritable index must not cost the analyst their answer
        log.warning("querygpt: could not record the turn in the history index", exc_info=True)
        return None
