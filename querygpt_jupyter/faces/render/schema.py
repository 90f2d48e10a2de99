"""The catalogue for people: `%ask tables` (HTML) and `querygpt schema` (text)."""
from __future__ import annotations

import html

from ...connections.catalog import Catalog


def catalog_text(catalog: Catalog) -> str:
    lines = [f"{len(catalog.tables)} tables ({catalog.dialect}, fingerprint {catalog.fingerprint})"]
    for table in catalog.tables:
        rows = "?" if table.row_count is None else f"{table.row_count:,}"
        lines.append(f"\n{table.name} ({rows} rows){' — ' + table.comment if table.comment else ''}")
        for column in table.columns:
            flags = " PK" if column.primary_key else ""
            samples = f"  e.g. {', '.join(map(str, column.samples[:5]))}" if column.samples else ""
            lines.append(f"  {column.name:<24} {column.type}{flags}{samples}")
        for fk in table.foreign_keys:
            lines.append(f"  FK ({', '.join(fk.columns)}) → {fk.references}({', '.join(fk.ref_columns)})")
    return "\n".join(lines)


def catalog_html(catalog: Catalog) -> str:
    parts = [f"<div><b>{len(catalog.tables)} tables</b> <span style='color:#888'>({html.escape(catalog.dialect)})</span></div>"]
    for table in catalog.tables:
        rows = "?" if table.row_count is None else f"{table.row_count:,}"
        cols = ", ".join(
            f"<code>{html.escape(c.name)}</code> <span style='color:#888'>{html.escape(c.type.lower())}</span>"
            + (" 🔑" if c.primary_key else "")
            for c in table.columns
        )
        comment = f"<div style='color:#888'>{html.escape(table.comment)}</div>" if table.comment else ""
        parts.append(f"<details><summary><b>{html.escape(table.name)}</b> · {rows} rows</summary>{comment}<div>{cols}</div></details>")
    return "".join(parts)


def catalogs_text(named: "list[tuple[str, Catalog | Exception]]") -> str:
    """Several connections' catalogues (`%ask tables`), each under the name --conn takes; a
    connection that failed to open shows its error instead."""
    return "\n\n".join(f"Connection {name}: " + (catalog_text(catalog) if isinstance(catalog, Catalog)
                                                  else f"could not be opened: {catalog}")
                         for name, catalog in named)


def catalogs_html(named: "list[tuple[str, Catalog | Exception]]") -> str:
    return "".join(
        f"<div style='margin-top:6px'>Connection <b>{html.escape(name)}</b></div>"
        + (catalog_html(catalog) if isinstance(catalog, Catalog) else f"<div>could not be opened: {html.escape(str(catalog))}</div>")
        for name, catalog in named)
