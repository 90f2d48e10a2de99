"""The event stream of a turn. The magic, the sidebar and the CLI only render these; no stage
knows which renderer listens."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

STAGES = ("analyzing", "schema", "generating_sql", "validating", "executing", "charting", "done", "error")


@dataclass(frozen=True)
class Event:
    stage: str                    # one of STAGES
    message: str                  # one line for a person ("Running the query…")
    data: dict[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0       # since the turn started

    def to_dict(self) -> dict:
        return {"stage": self.stage, "message": self.message, "data": self.data, "elapsed_ms": round(self.elapsed_ms, 1)}


Listener = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The listener used when nobody listens."""
