"""One turn of a notebook's conversation, for every front end that shares it (the `%%ask` magic,
the chat sidebar): choose the connection and options as `%%ask` does, run the turn
(`agent.turn.run`, where a question becomes SQL), record it in the session so every other view
sees it.

Preparation failures (an unknown connection, a bad option) raise `QueryGPTError`; failures of the
turn itself are in `answer.error`, as everywhere else."""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .events import Listener, ignore

if TYPE_CHECKING:
    from .answer import Answer
    from .agent.turn import TurnOptions
    from .config import Ask
    from .session import Session


_NAME_STOPWORDS = {
    "a", "an", "the", "of", "in", "on", "for", "is", "are", "was", "were", "what", "which", "who", "how", "many",
    "much", "show", "me", "list", "give", "there", "do", "does", "did", "by", "per", "with", "and", "to", "from",
    "all", "each", "please", "tell", "find", "that", "have", "has", "at", "be",
}


@dataclass(frozen=True)
class PreparedTurn:
    config: "Ask"           # the session's options with this turn's overrides applied
    connection: str         # the connection's name, as `--conn` would take it
    adapter: Any            # the open connection
    options: "TurnOptions"  # what the agent gets, including earlier turns on the same connection
    choice: Any = None      # how the connection was chosen (connections/choose.py `Choice`)

    def stamp(self, answer: "Answer") -> "Answer":
        """Say on the answer which connection it came from, and why when it was chosen among several."""
        if self.choice is not None:
            return self.choice.stamp(answer)
        answer.connection_name = self.connection
        return answer


@dataclass(frozen=True)
class TurnResult:
    answer: "Answer"
    connection: str
    config: "Ask"
    record: Any = None      # what the session's history recorded (the magic puts it in the output's metadata)


def prepare_turn(session: "Session", conn: str | None = None, *, question: str | None = None, sql: bool = False,
                 how: str = "--conn", pick_with: str = "--conn NAME", **overrides: Any) -> PreparedTurn:
    """Options, connection and conversation history for one turn. The connection is `conn` (named
    by `how`: --conn, the sidebar), else the one `question` (SQL text when `sql`) is about — see
    connections/choose.py; when that is unclear, the error says to pick one with `pick_with`. `overrides` are `Ask` option names (`model=`, `chart=`, `view=`); None
    means "as configured"."""
    from .agent.turn import TurnOptions
    from .api import prior_turns
    from .config import make_config

    config = make_config(session.config, **overrides)
    choice = session.choose(conn, question=question, sql=sql, how=how, pick_with=pick_with)
    adapter = choice.adapter
    earlier = [a for a in session.conversation(adapter.label) if a.model]
    options = TurnOptions.from_config(config, prior_turns(earlier), notebook=session.notebook() if config.replay else None)
    return PreparedTurn(config, choice.name, adapter, options, choice)


def run_turn(session: "Session", text: str, *, conn: str | None = None, listener: Listener = ignore,
             sql: bool = False, question: str | None = None, prepared: PreparedTurn | None = None,
             source: str = "magic", record: bool = True, **overrides: Any) -> TurnResult:
    """Ask `text` (or, with `sql=True`, run it as SQL) and add the answer to the conversation
    (`source` says which front end asked: "magic", "sidebar"). Pass `prepared` to reuse a
    `prepare_turn` result (e.g. to interrupt its adapter); `record=False` leaves adding the answer
    to the caller (the sidebar adds a stopped turn, which never returns from here, too)."""
    from .agent.turn import run

    turn = prepared or prepare_turn(session, conn, question=text, sql=sql, **overrides)
    answer = turn.stamp(run(text, turn.adapter, turn.options, listener, sql=sql, question=question))
    added = session.add_answer(answer, source=source) if record else None
    return TurnResult(answer, turn.connection, turn.config, added)


def record_feedback(session: "Session | None", answer: "Answer", kind: str, text: str = "") -> dict:
    """Store feedback on a turn (kinds as `%ask feedback` takes them: good/correct, partial,
    bad/wrong, suggest/suggestion): through `session.feedback` (the answer and the history index),
    or on the answer alone when there is no session. Returns the stored `{"kind", "text"}`."""
    if session is not None:
        return session.feedback(answer, kind, text or None)
    from .history.records import feedback_kind

    answer.feedback = {"kind": feedback_kind(kind), "text": text or None}
    return answer.feedback


def variable_name(question: str) -> str:
    """A readable variable for a question: 'How many cars per origin?' → cars_origin."""
    words = [w for w in re.findall(r"[a-z0-9]+", question.lower()) if w not in _NAME_STOPWORDS]
    name = "_".join(words[:4])[:40].strip("_") or "result"
    if name[0].isdigit():
        name = "q_" + name
    return name + "_" if keyword.iskeyword(name) else name


def reproducible_cell(answer, conn: str, name: str) -> str:
    """The cell inserted below a %%ask: the SQL, runnable with no model, binding `name`."""
    header = f"-- {answer.question.strip().splitlines()[0]}" if answer.question else ""
    options = f"--sql --conn {conn} --name {name}"
    if answer.chart_spec is None:
        options += " --no-chart"
    return "\n".join(part for part in (f"%%ask {options}", header, answer.sql.strip()) if part)
