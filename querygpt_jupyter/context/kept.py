"""What a model turn's prompt kept of a schema too large for its budget, and why — for the
developer view (the magic's and the sidebar's), so a wrong answer can be traced to a table the
prompt left out."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .build import SchemaContext

REASON_CHARS = 120      # a reason longer than this is cut in the one-line note
NAMES_PER_REASON = 5    # tables named per reason; the others are counted


@dataclass(frozen=True)
class SchemaKept:
    """The tables the prompt showed, in prompt order, each with why; its tokens and budget."""

    tables: tuple[str, ...]
    reasons: tuple[tuple[str, str], ...]    # (table, why it was kept)
    tokens: int
    budget: int
    of_tables: int                          # tables in the schema

    @classmethod
    def of(cls, context: "SchemaContext", of_tables: int) -> "SchemaKept":
        return cls(tuple(context.tables), tuple((t, context.reasons.get(t, "")) for t in context.tables),
                   context.tokens, context.budget, of_tables)

    def note(self) -> str:
        """One line, tables grouped by reason: 'Schema context: 3 of 240 tables in 1,950 of 5,970
        tokens — orders (why); a, b and 40 more (why)'."""
        groups: dict[str, list[str]] = {}
        for table, why in self.reasons:
            groups.setdefault(why[:REASON_CHARS], []).append(table)
        kept = "; ".join(f"{_names(tables)} ({why})" if why else _names(tables) for why, tables in groups.items())
        return (f"Schema context: {len(self.tables)} of {self.of_tables} tables in {self.tokens:,} of "
                f"{self.budget:,} tokens — {kept or 'no table fitted'}.")

    def to_dict(self) -> dict:
        return {"tables": list(self.tables), "reasons": dict(self.reasons), "tokens": self.tokens,
                "budget": self.budget, "of_tables": self.of_tables}


def _names(tables: list[str]) -> str:
    shown = ", ".join(tables[:NAMES_PER_REASON])
    return shown + (f" and {len(tables) - NAMES_PER_REASON} more" if len(tables) > NAMES_PER_REASON else "")
