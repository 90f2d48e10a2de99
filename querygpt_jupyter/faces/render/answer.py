"""How an Answer looks in a notebook: HTML for the text parts, and the chart as one raw mimebundle
(Vega-Lite v5 key + SVG + text) so it draws offline in JupyterLab and in nbconvert's HTML."""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...answer import Answer

TABLE_HEAD_ROWS = 10

_STYLE = """<style>
.qg-answer{font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;line-height:1.45}
.qg-answer .qg-text{margin:2px 0 6px}
.qg-answer .qg-meta{color:var(--jp-ui-font-color2,#666);font-size:12px;margin:4px 0}
.qg-answer details{margin:4px 0}
.qg-answer summary{cursor:pointer;color:var(--jp-ui-font-color2,#555)}
.qg-answer .qg-error{border-left:3px solid var(--jp-error-color1,#d32f2f);padding:4px 8px;background:var(--jp-error-color3,#fdecea)}
.qg-answer table.qg-timings td{padding:0 8px 0 0}
.qg-answer pre.qg-sql{margin:4px 0;padding:6px 8px;background:var(--jp-layout-color2,#f5f5f5);overflow-x:auto;white-space:pre-wrap;word-break:normal;overflow-wrap:normal}
</style>"""


def highlight_sql(sql: str) -> str:
    """SQL as highlighted HTML (inline styles, so it survives nbconvert and GitHub)."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import SqlLexer

        body = highlight(sql, SqlLexer(), HtmlFormatter(noclasses=True, nowrap=True, style="default"))
    except ImportError:
        body = html.escape(sql)
    return f'<pre class="qg-sql">{body}</pre>'


def answer_html(answer: "Answer", view: str = "user", show_chart_note: bool = True) -> str:
    parts = [_STYLE, '<div class="qg-answer">']
    if answer.error is not None:
        parts.append(
            f'<div class="qg-error"><b>{html.escape(answer.error.code)}</b>: {html.escape(answer.error.message)}'
            f'<br><span class="qg-meta">{html.escape(answer.error.hint or "")}</span></div>'
        )
    elif answer.explanation:
        parts.append(f'<div class="qg-text">{html.escape(answer.explanation)}</div>')
    if answer.sql:
        if view == "developer" or answer.error is not None:
            parts.append(highlight_sql(answer.sql))
        else:
            parts.append(f"<details><summary>SQL</summary>{highlight_sql(answer.sql)}</details>")
    if answer.df is not None and answer.error is None:
        parts.append(_table_html(answer))
    if show_chart_note and answer.chart_note:
        parts.append(f'<div class="qg-meta">{html.escape(answer.chart_note)}</div>')
    parts.extend(f'<div class="qg-meta">{html.escape(note)}</div>' for note in answer.notes)
    if answer.connection_name or answer.connection:
        parts.append(f'<div class="qg-meta qg-connection">{html.escape(connection_line(answer))}</div>')
    if view == "developer":
        parts.append(_developer_html(answer))
    parts.append("</div>")
    return "".join(parts)


def connection_line(answer: "Answer") -> str:
    """Which connection answered, and why when it was chosen among several: on every answer."""
    label = answer.connection or ""
    frames = label[len("dataframes:"):] if label.startswith("dataframes:") else ""
    name = answer.connection_name or ("dataframes" if frames else label) or "—"
    if frames and frames != name:
        name += f" (DataFrames {frames.replace(',', ', ')})"
    line = f"Connection: {name}"
    if answer.connection_reason:
        line += f" — chosen automatically: {answer.connection_reason} (--conn NAME asks another)"
    return line


def _table_html(answer: "Answer") -> str:
    df = answer.df
    shown = df.head(TABLE_HEAD_ROWS)
    table = shown.to_html(index=False, border=0, max_cols=30, classes="dataframe qg-table")
    rows = f"{answer.row_count:,} row{'s' if answer.row_count != 1 else ''} × {len(df.columns)} column{'s' if len(df.columns) != 1 else ''}"
    if answer.truncated:
        rows += " — truncated at the row or byte cap (raise it with %config Ask.max_rows or Ask.max_result_mb)"
    elif len(df) > TABLE_HEAD_ROWS:
        rows += f", first {TABLE_HEAD_ROWS} shown"
    return f'{table}<div class="qg-meta">{html.escape(rows)}</div>'


def _developer_html(answer: "Answer") -> str:
    timings = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.1f} ms</td></tr>" for k, v in answer.timings.items())
    usage = answer.usage
    meta = (
        f"model: {answer.model or '—'} · connection: {answer.connection or '—'} · dialect: {answer.dialect or '—'} · "
        f"prompt tokens: {usage.prompt_tokens} · completion tokens: {usage.completion_tokens} · "
        f"prompt size: {answer.prompt_tokens_first_call} tokens · retries: {max(len(answer.attempts) - 1, 0)}"
    )
    attempts = ""
    if len(answer.attempts) > 1 or any(a.error for a in answer.attempts):
        attempts = f'<pre class="qg-sql">{html.escape(attempts_text(answer))}</pre>'
    executed = ""
    if answer.executed_sql and answer.executed_sql != answer.sql:
        executed = f"<details><summary>SQL as executed (with the row cap)</summary>{highlight_sql(answer.executed_sql)}</details>"
    kept = f'<div class="qg-meta qg-schema-kept">{html.escape(answer.schema_kept.note())}</div>' if answer.schema_kept else ""
    return (f'<div class="qg-meta">{html.escape(meta)}</div><table class="qg-timings">{timings}</table>'
            f'{kept}{attempts}{executed}')


def attempts_text(answer: "Answer") -> str:
    """Each SQL candidate the model gave and why it was sent back (developer view)."""
    lines = []
    for i, attempt in enumerate(answer.attempts, 1):
        outcome = "accepted" if attempt.error is None else f"{attempt.error.code}: {attempt.error}"
        lines.append(f"attempt {i}: {outcome}\n  {(attempt.sql or '(no SQL)').strip()}")
    return "\n".join(lines)


def answer_text(answer: "Answer") -> str:
    if answer.error is not None:
        return f"{answer.error.label}: {answer.error}"
    lines = [answer.explanation] if answer.explanation else []
    if answer.sql:
        lines.append(answer.sql)
    if answer.df is not None:
        lines.append(answer.df.head(TABLE_HEAD_ROWS).to_string(index=False))
        lines.append(f"({answer.row_count} rows{', truncated' if answer.truncated else ''})")
    lines.extend(answer.notes)
    if answer.connection_name or answer.connection:
        lines.append(connection_line(answer))
    return "\n".join(lines)


def chart_bundle(answer: "Answer") -> dict | None:
    """The raw mimebundle of the answer's chart, or None."""
    if answer.chart_spec is None:
        return None
    from ...charts.render import spec_mimebundle

    return spec_mimebundle(answer.chart_spec, answer.chart_description or "Chart")


def answer_mimebundle(answer: "Answer") -> dict:
    """For `Answer._repr_mimebundle_` (e.g. the value of `ask(...)` in a cell): text parts only;
    the chart is one more output, shown by `show_answer`."""
    return {"text/html": answer_html(answer), "text/plain": answer_text(answer)}


def show_answer(answer: "Answer", view: str = "user", metadata: dict | None = None) -> None:
    from IPython.display import display

    bundle = chart_bundle(answer) if answer.error is None else None
    if view == "user" and answer.explanation and answer.error is None:
        # user view: the answer first, then the chart, then table and folded SQL
        display({"text/html": _STYLE + f'<div class="qg-answer"><div class="qg-text">{html.escape(answer.explanation)}</div></div>',
                 "text/plain": answer.explanation}, raw=True)
        text_answer = _without_explanation(answer)
    else:
        text_answer = answer
    if bundle is not None and view == "user":
        display(bundle, raw=True, metadata=metadata or {})
    display({"text/html": answer_html(text_answer, view), "text/plain": answer_text(text_answer)}, raw=True,
            metadata={} if bundle is not None else (metadata or {}))
    if bundle is not None and view != "user":
        display(bundle, raw=True, metadata=metadata or {})


def _without_explanation(answer: "Answer") -> "Answer":
    from dataclasses import replace

    return replace(answer, explanation="")
