"""The offline planner: the stages a question goes through, in order, and the join fallback.

Each stage takes the previous one's frozen hand-off and returns the next, or raises
`AgentFailure` (a refusal). A question about one table goes through `STAGES`; when a stage after
`tokens.split` refuses it, `join.plan_joins` reads it against pairs of tables linked by a foreign
key through the same reading and writing stages.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

from ...config import OFFLINE_MODEL
from ...connections.catalog import Catalog
from ...errors import AgentFailure
from . import build, check, choose, explain, join, link, read, tokens
from .outcome import Plan
from .probe import RememberingProbe, ValueProbe

Stage = Callable[[Any], Any]

READING: tuple[Stage, ...] = (
    link.link,          # Subject  → Mentions: each word tied to a column, value, keyword … or refused
    read.read,          # Mentions → Reading: the query the mentions ask for, its shape settled
    check.check,        # Reading  → Reading: refuse values another table names, rows that repeat
)
WRITING: tuple[Stage, ...] = (
    build.build,        # Reading   → Statement: the SQL (sqlglot) and the chart the question asks for
    explain.explain,    # Statement → Plan: with one sentence saying what the SQL computes
)
STAGES: tuple[Stage, ...] = (
    tokens.split,       # Request  → Words: the question's words; refuses empty, non-English, no tables
    choose.choose,      # Words    → Subject: the one table the question is about
    *READING,
    *WRITING,
)


def run(stages: tuple[Stage, ...], value: Any) -> Any:
    """`value` through `stages` in order."""
    for stage in stages:
        value = stage(value)
    return value


class OfflinePlanner:
    """Plans questions about one table, or two linked by one foreign key, without a model;
    refuses (AgentFailure) when unsure."""

    model = OFFLINE_MODEL

    def plan(self, question: str, catalog: Catalog, probe: ValueProbe | None = None) -> Plan:
        request = tokens.Request(question, catalog, RememberingProbe(probe) if probe is not None else None)
        words = STAGES[0](request)  # tokens.split: its refusals are final, no join is tried
        try:
            return run(STAGES[1:], words)
        except AgentFailure as refusal:
            # only a question one table cannot answer is tried on a join: one-table answers stay as they were
            return join.plan_joins(words, refusal, read=partial(run, READING), write=partial(run, WRITING))
