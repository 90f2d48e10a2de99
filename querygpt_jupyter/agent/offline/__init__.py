"""The built-in planner, `querygpt/offline`: plain-language questions about one table → SQL, no model.

It links the question's words to one table, its columns and values stored in them, reads the
intent from a small general vocabulary (how many, average, total, highest, per, top N, distinct,
which …) and builds the SQL with sqlglot. It answers only when every word that could change the
meaning is accounted for; otherwise — an unknown word, an ambiguous column, an operation it lacks
(median, comparisons, time buckets) — it raises `AgentFailure` with a hint to configure a model,
because a wrong answer is worse than a refusal.

A question one table cannot answer may still be answered by two tables linked by exactly one
foreign key: the pair is read as one joined table (`view.JoinView`) by the same stages, and answered
only for readings the join cannot distort (see `join.py`). Three tables, two foreign keys
between the pair, or counting the `one` side through the `many` side are refused.

Stages, one module each, listed in order by `planner.STAGES`: tokens (split the question) →
choose (the table; failing that, join: a pair joined along a foreign key) → link (columns,
top-N, keywords, values, then every leftover word accounted for) → read (the mentions as a
query) → check (values and rows that would mislead) → build (the SQL) → explain (one sentence).

No word is dropped silently: each is used, known filler, or the reason for a refusal that names
it. A flag column (`is_open`) filters when its word is said. A value stored in several tables
picks the table whose name column holds it (`population of Texas` reads `state`), and a value
that is also another table's row name (`Queen`) is refused unless its column refers to that table.
"""
from __future__ import annotations

from .choose import explained_words
from .outcome import Plan, refusal_hint
from .planner import STAGES, OfflinePlanner
from .probe import ValueProbe, make_probe

__all__ = ["STAGES", "OfflinePlanner", "Plan", "ValueProbe", "explained_words", "make_probe", "refusal_hint"]
