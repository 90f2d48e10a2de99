"""What the offline planner hands back: a `Plan`, or a refusal that says how to get an answer.

A wrong answer is worse than a refusal, so every stage refuses through `refuse` with the same hint.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import AgentFailure, how


@dataclass(frozen=True)
class Plan:
    """What a planner hands the pipeline: SQL to guard and run, and how to present it."""

    sql: str                       # in catalog.dialect
    explanation: str               # one sentence: what the query computes
    chart_hint: str | None = None  # "bar", "line", "none", or None to let the chart chooser decide


def refusal_hint() -> str:
    """What to do when the offline planner refuses, in the caller's terms (errors.how)."""
    return f"Rephrase naming the table and column, or configure a model: {how('configure_model')}."


def refuse(message: str) -> AgentFailure:
    return AgentFailure(message, hint=refusal_hint())
