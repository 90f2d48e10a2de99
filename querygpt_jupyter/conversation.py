"""One turn of a notebook's conversation, for every front end that shares it (the `%%ask` magic,
the chat sidebar): choose the connection and options as `%%ask` does, run the turn, record it in
the session so every other view sees it.

Preparation failures (an unknown connection, a bad option) raise `QueryGPTError`; failures of the
turn itself are in `answer.error`, as everywhere else."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .events import Listener, ignore

if TYPE_CHECKING:
    from .answer import Answer
    from .agent.turn import TurnOptions
    from .config import Ask
    from .session import Session


@dataclass(frozen=True)
class PreparedTurn:
    config: "Ask"           # the session's options with this turn's overrides applied
    connection: str         # the connection's name, as `--conn` would take it
    adapter: Any            # the open connection
    options: "TurnOptions"  # what the agent gets, including earlier turns on the same connection


@dataclass(frozen=True)
class TurnResult:
    answer: "Answer"
    connection: str
    config: "Ask"


def prepare_turn(session: "Session", conn: str | None = None, **overrides: Any) -> PreparedTurn:
    """Options, connection and conversation history for one turn. `overrides` are `Ask` option
    names (`model=`, `chart=`, `view=`); None means "as configured"."""
    from .agent.turn import TurnOptions
    from .api import prior_turns
    from .config import make_config

    config = make_config(session.config, **overrides)
    name = session.resolve_name(conn)
    adapter = session.adapter(name)
    same_connection = [a for a in session.answers if a.connection == adapter.label and a.model]
    return PreparedTurn(config, name, adapter, TurnOptions.from_config(config, prior_turns(same_connection)))


def run_turn(session: "Session", text: str, *, conn: str | None = None, listener: Listener = ignore,
             sql: bool = False, question: str | None = None, prepared: PreparedTurn | None = None,
             **overrides: Any) -> TurnResult:
    """Ask `text` (or, with `sql=True`, run it as SQL) and add the answer to the conversation.
    Pass `prepared` to reuse a `prepare_turn` result (e.g. to interrupt its adapter)."""
    from .agent.turn import ask_turn, sql_turn

    turn = prepared or prepare_turn(session, conn, **overrides)
    if sql:
        answer = sql_turn(text, turn.adapter, turn.options, listener, question=question)
    else:
        answer = ask_turn(text, turn.adapter, turn.options, listener)
    session.add_answer(answer)
    return TurnResult(answer, turn.connection, turn.config)


def record_feedback(session: "Session | None", answer: "Answer", kind: str, text: str = "") -> str:
    """Store feedback on a turn: through the session's history when it offers `feedback`, else on
    the answer itself (`answer.feedback`). Returns where it went: "session" or "answer"."""
    if kind not in FEEDBACK_KINDS:
        from .errors import UsageError

        raise UsageError(f"Unknown feedback {kind!r}.", hint=f"One of: {', '.join(FEEDBACK_KINDS)}.")
    if session is not None and hasattr(session, "feedback"):
        session.feedback(answer, kind, text)
        return "session"
    answer.feedback = {"kind": kind, "text": text}
    return "answer"


# the four kinds of `%ask feedback` (DESIGN.md): correct, partially correct, wrong, a suggestion
FEEDBACK_KINDS = ("good", "partial", "bad", "suggest")
