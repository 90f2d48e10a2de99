"""What the offline planner hands back: a `Plan` (agent/plan.py, the type every planner returns), or a refusal that says how to get an answer.

A wrong answer is worse than a refusal, so every stage refuses through `refuse` with the same hint.
"""
from __future__ import annotations

from ...errors import AgentFailure, how
from ..plan import Plan  # noqa: F401  (the one Plan type of every planner; re-exported)


def refusal_hint() -> str:
    """What to do when the offline planner refuses, in the caller's terms (errors.how)."""
    return f"Rephrase naming the table and column, or configure a model: {how('configure_model')}."


def refuse(message: str) -> AgentFailure:
    return AgentFailure(message, hint=refusal_hint())
