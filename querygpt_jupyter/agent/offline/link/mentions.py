"""Stage 3, link — the board its steps write on: which tokens of the question are linked to what.

Linking is greedy and ordered (columns before keywords before values), so a stage only claims
tokens still free and never steals one; `Span.used` is then set by the reader as it reads them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..tokens import Token, name_stems

if TYPE_CHECKING:
    from ....connections.catalog import Table


@dataclass(eq=False)
class Span:
    """A run of tokens [start, end) linked to something: a table, a column, a value, a keyword."""

    kind: str        # table column value number rows count agg common distinct group which top conj
    start: int
    end: int
    arg: Any = None  # Table | Column | (Column, value) | number | keyword argument | (n, direction, word)
    text: str = ""
    used: bool = False
    describes_value: bool = False  # a column named before its value ("state AK"); may still group


class Links:
    """Which token belongs to which span; stages claim free tokens and never steal."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.owner: list[Span | None] = [None] * len(tokens)
        self.singular_values: dict[int, tuple[str, Any]] = {}  # plural words whose singular is a value

    def free(self, start: int, end: int) -> bool:
        return end <= len(self.tokens) and all(o is None for o in self.owner[start:end])

    def claim(self, span: Span) -> Span:
        span.text = " ".join(t.text for t in self.tokens[span.start:span.end])
        for i in range(span.start, span.end):
            self.owner[i] = span
        return span

    def kind_at(self, i: int) -> str | None:
        if 0 <= i < len(self.tokens) and self.owner[i] is not None:
            return self.owner[i].kind
        return None

    def spans(self) -> list[Span]:
        seen, out = set(), []
        for span in self.owner:
            if span is not None and id(span) not in seen:
                seen.add(id(span))
                out.append(span)
        return out


def table_mentions(tokens: list[Token], table: Table) -> list[tuple[int, int]]:
    """Token ranges naming `table` (by the stems of its name)."""
    stems = name_stems(table.name)
    n = len(stems)
    return [(i, i + n) for i in range(len(tokens) - n + 1) if tuple(t.stem for t in tokens[i:i + n]) == stems]
