"""Which connection answers a question the analyst did not aim: the one place that decides, for
the magics, the sidebar and `ask()` alike.

An explicit choice always wins (`--conn`, the sidebar's picker, `%config Ask.conn`). Otherwise
each visible connection's cached catalogue is scored against the question: the words its table
names, column names and sample values account for (for SQL: the tables it reads). One clear
winner answers; a tie or no signal at all falls back to the connection preferred so far (the
one `%ask connect` made current, or the last one asked), then to the analyst's only source of
data over the built-in demo; failing that, the analyst is asked to pick, in one sentence.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .. import errors
from .introspect import introspect

log = logging.getLogger("querygpt")


@dataclass(frozen=True)
class Candidate:
    name: str                                  # as --conn takes it
    open: Callable[[], Any]                    # the adapter, opened only when needed
    own: bool = True                           # the analyst's data (False: the built-in demo)
    describe: str = ""                         # a few words for the picker and the answer ("3 DataFrames")


@dataclass(frozen=True)
class Choice:
    name: str
    adapter: Any
    reason: str                                # why, to show with the answer
    automatic: bool = True                     # False: the analyst named it
    others: tuple[str, ...] = field(default=())  # the other connections that were visible

    def stamp(self, answer: Any) -> Any:
        """Say on the answer which connection it came from, and why when it was chosen among several."""
        if self.name:
            answer.connection_name = self.name
            answer.connection_reason = self.reason if self.automatic and self.others else None
        return answer


def choose(candidates: Sequence[Candidate], *, question: str | None = None, sql: bool = False,
           explicit: str | None = None, explicit_how: str = "--conn",
           open_named: Callable[[str], Any] | None = None, preferred: str | None = None,
           pick_with: str = "--conn NAME") -> Choice:
    """The connection for `question` (SQL text when `sql`); see the module's docstring.
    `open_named` opens an explicit name that is no candidate (a DataFrame's variable name);
    `pick_with` says, in the caller's terms, how to name one when the choice is unclear."""
    by_name = {c.name: c for c in candidates}
    if explicit:
        if explicit in by_name:
            adapter = by_name[explicit].open()
        elif open_named is not None:
            adapter = open_named(explicit)
        else:
            raise errors.UsageError(
                f"No connection named {explicit!r}.",
                hint=f"Known: {', '.join(by_name) or 'none'}. Add one with `%ask connect URL --name NAME`.")
        return Choice(explicit, adapter, f"chosen with {explicit_how}", automatic=False, others=_others(by_name, explicit))
    if not candidates:
        raise errors.UsageError("There is no connection to ask.", hint="Add one with `%ask connect URL --name NAME`.")
    if len(candidates) == 1:
        only = candidates[0]
        return Choice(only.name, only.open(), "the only connection")
    opened: dict[str, Any] = {}
    scores: dict[str, frozenset[str]] = {}
    if question and question.strip():
        for candidate in candidates:
            try:
                adapter = opened[candidate.name] = candidate.open()
                catalog = introspect(adapter)
            except Exception as error:   # a connection that fails to open (closed, unreachable) cannot be the answer
                log.info("querygpt: %s left out of the choice: %s", candidate.name, error)
                continue
            scores[candidate.name] = _evidence(question, catalog, sql)  # a bug here must show, not hide a connection
    best = max((len(words) for words in scores.values()), default=0)
    leaders = [name for name, words in scores.items() if len(words) == best] if best else []
    if len(leaders) == 1:
        name = leaders[0]
        what = "it has the tables the SQL reads" if sql else "its tables have"
        return Choice(name, opened[name], f"{what} {', '.join(sorted(scores[name]))}",
                      others=_others(by_name, name))
    pool = leaders or [c.name for c in candidates if c.name in scores or not scores]
    name, reason = _fallback(pool, by_name, preferred, tied=bool(leaders))
    if name is None:
        raise _which_one(pool, sql, pick_with)
    adapter = opened.get(name) or by_name[name].open()
    return Choice(name, adapter, reason, others=_others(by_name, name))


def _evidence(question: str, catalog: Any, sql: bool) -> frozenset[str]:
    if sql:
        return _tables_read(question, catalog)
    from ..agent.offline import explained_words

    return explained_words(question, catalog)


def _tables_read(sql: str, catalog: Any) -> frozenset[str]:
    """The tables the SQL reads that this catalogue has; nothing unless it has every one."""
    import sqlglot
    from sqlglot import exp

    try:
        trees = [t for t in sqlglot.parse(sql) if t is not None]
    except sqlglot.errors.SqlglotError:
        return frozenset()
    ctes = {cte.alias_or_name.lower() for tree in trees for cte in tree.find_all(exp.CTE)}
    read = {t.name.lower() for tree in trees for t in tree.find_all(exp.Table)
            if t.name and t.name.lower() not in ctes and not isinstance(t.this, exp.Func)}
    known = {t.name.lower() for t in catalog.tables}
    return frozenset(read) if read and read <= known else frozenset()


def _fallback(pool: list[str], by_name: dict[str, Candidate], preferred: str | None,
              tied: bool) -> tuple[str | None, str]:
    """Several fit equally (`tied`), or none fits at all: the connection in use, else — when the
    question points nowhere — the analyst's one source of data over the demo; else nobody."""
    if preferred in pool:
        return preferred, "the connection in use; no other fits the question better"
    if tied:
        return None, ""
    own = [name for name in pool if by_name[name].own]
    if len(own) == 1:
        return own[0], "your data; nothing in the question points elsewhere"
    if not own and len(pool) == 1:
        return pool[0], "the only connection that fits"
    return None, ""


def _which_one(pool: list[str], sql: bool, pick_with: str) -> errors.UsageError:
    """One sentence: the candidates, and how to name one."""
    names = " or ".join([", ".join(pool[:-1]), pool[-1]]) if len(pool) > 1 else pool[0]
    what = "SQL" if sql else "question"
    return errors.UsageError(f"This {what} could be for {names}: say which with {pick_with}.", hint="")


def _others(by_name: dict[str, Candidate], chosen: str) -> tuple[str, ...]:
    return tuple(name for name in by_name if name != chosen)
