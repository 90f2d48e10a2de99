"""Parsers for SQL that sqlglot reads differently from the engine, chosen per dialect.

DuckDB's statement-level `PIVOT … GROUP BY … ORDER BY … LIMIT …` takes query modifiers that
sqlglot's parser stops before (a syntax error). It is read as `SELECT * FROM (PIVOT …) AS _pivot
ORDER BY … LIMIT …`, which DuckDB runs the same way and which renders and re-parses to the same tree.
"""
from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.parser import Parser
from sqlglot.tokens import TokenType

_MODIFIERS = frozenset({TokenType.ORDER_BY, TokenType.LIMIT, TokenType.OFFSET, TokenType.FETCH})


class DuckDBParser(DuckDB.Parser):
    STATEMENT_PARSERS = {
        **DuckDB.Parser.STATEMENT_PARSERS,
        TokenType.PIVOT: lambda self: self._parse_pivot_statement(False),
        TokenType.UNPIVOT: lambda self: self._parse_pivot_statement(True),
    }

    def _parse_pivot_statement(self, is_unpivot: bool) -> exp.Expression:
        pivot = self._parse_simplified_pivot(is_unpivot=is_unpivot)
        if not (self._curr and self._curr.token_type in _MODIFIERS):
            return pivot
        source = exp.Subquery(this=pivot, alias=exp.TableAlias(this=exp.to_identifier("_pivot")))
        return self._parse_query_modifiers(exp.select("*").from_(source))


def parser_for(dialect: Dialect) -> Parser:
    return DuckDBParser(dialect=dialect) if isinstance(dialect, DuckDB) else dialect.parser()
