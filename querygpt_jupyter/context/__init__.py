"""Schema context: what the model reads about a database for one question, within a token budget
and without calling a model — the right tables and columns (BM25 over names and comments, the
values index, foreign-key bridges), the literal values the question names, and the join paths.

`schema_context(schema_doc, question, budget)` takes the ▶ schema document (a `Catalog` or its
`to_dict()` shape) and returns a `SchemaContext`. The whole schema is sent when it fits."""
from __future__ import annotations

from .build import SchemaContext, schema_context

__all__ = ["SchemaContext", "schema_context"]
