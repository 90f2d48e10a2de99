"""The text the model reads, entry by entry. Database text (comments, values, even names) is data:
JSON-quoted and length-capped, as in the agent's prompts (`agent.prompts.data_text`)."""
from __future__ import annotations

from ..agent.prompts import data_text, one_line
from .families import Entry

COMMENT_CHARS = 100
SAMPLE_CHARS = 40
SAMPLES_SHOWN = 3
FAMILY_NAMES_SHOWN = 6


def header(entry: Entry, named_members: tuple[str, ...] = ()) -> str:
    table = entry.table
    notes = []
    if table.comment:
        notes.append("comment: " + data_text(table.comment, COMMENT_CHARS))
    if table.row_count is not None and not entry.is_family:
        notes.append(f"{table.row_count:,} rows")
    if entry.is_family:
        names = [m.name.rpartition(".")[2] for m in entry.members]
        shown = names if len(names) <= FAMILY_NAMES_SHOWN else [names[0], "…", names[-1]]
        named = [n for n in named_members if n not in shown]
        text = (f"TABLE FAMILY {one_line(entry.name)} -- {len(names)} tables with these columns: "
                + ", ".join(shown))
        if named:
            text += "; the question's: " + ", ".join(named)
    else:
        text = f"TABLE {one_line(table.name)}"
    return text + (f" -- {'; '.join(notes)}" if notes else "")


def column_line(column, key: bool = False) -> str:
    line = f"  {one_line(column.name)} {one_line(column.type, 40)}"
    if column.primary_key:
        line += " PRIMARY KEY"
    elif key:
        line += " KEY"
    notes = []
    if column.comment:
        notes.append("comment: " + data_text(column.comment, COMMENT_CHARS))
    if column.samples:
        notes.append("values: [" + ", ".join(data_text(v, SAMPLE_CHARS) for v in column.samples[:SAMPLES_SHOWN]) + "]")
    return line + (f" -- {'; '.join(notes)}" if notes else "")


def column_item(column, key: bool = False) -> str:
    """A column in the compact list: name and type only."""
    return f"{one_line(column.name)} {one_line(column.type, 40)}" + (" KEY" if key or column.primary_key else "")


def compact_line(items: list[str]) -> str:
    return "  columns: " + ", ".join(items)


def omitted_line(count: int) -> str:
    return f"  … {count} more columns"
