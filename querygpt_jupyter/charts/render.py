"""Draw a `ChartChoice` with Altair, and show it offline as one raw mimebundle.

Altair 6's own renderers do not work offline in JupyterLab (the default loads vega from a CDN; the
`mimetype` one uses a v6 key JupyterLab cannot draw and nbformat rejects). `chart_mimebundle`
returns the spec under the v5 key (JupyterLab's bundled renderer draws it) plus a vl-convert SVG
(nbconvert HTML, GitHub, VS Code) and a one-line text. Altair (~2 s) and vl-convert (~1 s for the
first SVG) load inside the functions, so importing this module costs nothing.
"""
from __future__ import annotations

import datetime
import decimal
import functools
import json
import logging
import math
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import altair
    import pandas as pd

    from .choose import ChartChoice

VEGALITE_MIME = "application/vnd.vegalite.v5+json"
SVG_MIME = "image/svg+xml"
WIDTH = 480                 # fixed: "container" has no width in nbconvert HTML or an SVG
HEIGHT = 300
PIE_SIZE = 300
BAR_STEP = 22               # height per bar when bars are drawn horizontally
_HORIZONTAL_AFTER = 10      # more categories than this, or long labels: horizontal bars
_LONG_LABEL = 12
_DISCRETE_DATES = 60        # at most this many dates: bars get bands, not hairlines
_CHAR_WIDTH = 7             # px per label character at Vega-Lite's default font size

log = logging.getLogger("querygpt")


def build_chart(choice: "ChartChoice", data: "pd.DataFrame") -> "altair.Chart":
    """A clean Altair chart of `data` (the output of `prepare_data`): title, axis titles from the
    column names, tooltips, fixed size, sorted bars, pies with a legend."""
    import altair as alt

    build = {"line": _line, "bar": _bar, "arc": _arc, "point": _point}[choice.mark]   # ChartChoice checks the mark
    chart = build(alt, choice, data)
    if choice.title:
        chart = chart.properties(title=alt.TitleParams(choice.title, anchor="start"))
    return chart


def chart_spec(chart: "altair.TopLevelMixin") -> dict:
    """`chart.to_dict()` with the data inlined as `data.values` and every value JSON-safe
    (timestamps → ISO strings, NaN → None, Decimal → float), with no row limit."""
    import altair as alt

    # Altair's default transformer refuses more than 5,000 rows; the cap is prepare_data's job.
    with alt.data_transformers.enable("default", max_rows=None):
        spec = chart.to_dict()
    return _json_safe(_inline_datasets(spec))


def chart_mimebundle(chart: "altair.TopLevelMixin", description: str) -> dict:
    """{v5 Vega-Lite key: spec, "image/svg+xml": svg, "text/plain": description} for
    `IPython.display.display(bundle, raw=True)`. If vl-convert fails, the SVG is left out (the
    interactive chart still draws in JupyterLab) and the failure is logged."""
    spec = chart_spec(chart)
    bundle: dict[str, Any] = {VEGALITE_MIME: spec}
    try:
        bundle[SVG_MIME] = spec_to_svg(spec)
    except Exception:   # vl-convert raises plain ValueError/RuntimeError for any engine error
        log.warning("querygpt: could not draw the static SVG of the chart", exc_info=True)
    bundle["text/plain"] = description
    return bundle


def spec_to_svg(spec: dict) -> str:
    """The SVG of a Vega-Lite spec, drawn offline by vl-convert. Data URLs are not fetched."""
    import vl_convert

    return vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])


def warm_up() -> None:
    """Start vl-convert's JavaScript engine in a daemon thread (the first SVG costs ~1 s) and
    return at once. Later calls do nothing."""
    _start_warm_up()


@functools.cache
def _start_warm_up() -> None:
    threading.Thread(target=_warm, name="querygpt-chart-warm-up", daemon=True).start()


def _warm() -> None:
    try:
        spec_to_svg({"data": {"values": [{"a": 1}]}, "mark": "point", "encoding": {"x": {"field": "a", "type": "quantitative"}}})
    except Exception:   # only a head start: the first real chart reports any real problem
        log.debug("querygpt: chart warm-up failed", exc_info=True)


# --- marks -------------------------------------------------------------------------------------

def _line(alt, choice: "ChartChoice", data: "pd.DataFrame") -> "altair.Chart":
    encoding = {
        "x": alt.X(field=_field(choice.x), type=choice.x_type, title=choice.x, axis=_x_axis(alt, data, choice)),
        "y": alt.Y(field=_field(choice.y), type=choice.y_type, title=_measure_title(choice)),
        "tooltip": _tooltips(alt, choice),
    }
    if choice.color:
        encoding["color"] = alt.Color(field=_field(choice.color), type="nominal", title=choice.color)
    points = len(data) <= 60 if not choice.color else len(data) <= 120
    return alt.Chart(data).mark_line(point=points).encode(**encoding).properties(width=WIDTH, height=HEIGHT)


def _bar(alt, choice: "ChartChoice", data: "pd.DataFrame") -> "altair.Chart":
    n = int(data[choice.x].nunique())
    labels = data[choice.x].dropna().astype(str)
    horizontal = choice.x_type == "nominal" and (n > _HORIZONTAL_AFTER or (labels.str.len().max() or 0) > _LONG_LABEL)
    if horizontal:
        category = alt.Y(field=_field(choice.x), type=choice.x_type, title=choice.x,
                         sort="-x" if choice.sort else None)
        measure = alt.X(field=_field(choice.y), type=choice.y_type, title=_measure_title(choice))
        encoding = {"y": category, "x": measure}
        size = {"width": WIDTH, "height": max(120, BAR_STEP * n)}
    elif choice.x_type == "temporal" and n <= _DISCRETE_DATES:
        # on a continuous time scale bars are hairlines: one band per year/month/day instead
        category = alt.X(field=_field(choice.x), type="ordinal", timeUnit=_time_unit(data[choice.x]),
                         title=choice.x, axis=alt.Axis(labelAngle=0 if n <= 12 else -40))
        measure = alt.Y(field=_field(choice.y), type=choice.y_type, title=_measure_title(choice))
        encoding = {"x": category, "y": measure}
        size = {"width": WIDTH, "height": HEIGHT}
    else:
        category = alt.X(field=_field(choice.x), type=choice.x_type, title=choice.x,
                         sort="-y" if choice.sort else None, axis=_x_axis(alt, data, choice))
        measure = alt.Y(field=_field(choice.y), type=choice.y_type, title=_measure_title(choice))
        encoding = {"x": category, "y": measure}
        size = {"width": min(WIDTH, max(200, 80 * n)), "height": HEIGHT}   # a few bars need not be slabs
    if choice.color:
        encoding["color"] = alt.Color(field=_field(choice.color), type="nominal", title=choice.color)
    return alt.Chart(data).mark_bar().encode(tooltip=_tooltips(alt, choice), **encoding).properties(**size)


def _arc(alt, choice: "ChartChoice", data: "pd.DataFrame") -> "altair.Chart":
    value, category = _field(choice.y), _field(choice.color)
    by_value = alt.EncodingSortField(field=value, op="sum", order="descending")
    tooltip = [*_tooltips(alt, choice), alt.Tooltip(field="__share", type="quantitative", title="share", format=".1%")]
    return (
        alt.Chart(data)
        .transform_joinaggregate([alt.JoinAggregateFieldDef(op="sum", field=value, **{"as": "__total"})])
        .transform_calculate(__share=f"datum[{json.dumps(choice.y)}] / datum.__total")
        .mark_arc()
        .encode(
            theta=alt.Theta(field=value, type="quantitative", stack=True, title=_measure_title(choice)),
            color=alt.Color(field=category, type="nominal", title=choice.color, sort=by_value,
                            legend=alt.Legend(title=choice.color, orient="right")),
            order=alt.Order(field=value, type="quantitative", sort="descending"),
            tooltip=tooltip,
        )
        .properties(width=PIE_SIZE, height=PIE_SIZE)
    )


def _point(alt, choice: "ChartChoice", data: "pd.DataFrame") -> "altair.Chart":
    encoding = {
        "x": alt.X(field=_field(choice.x), type=choice.x_type, title=choice.x,
                   scale=alt.Scale(zero=False) if choice.x_type == "quantitative" else alt.Undefined),
        "y": alt.Y(field=_field(choice.y), type=choice.y_type, title=_measure_title(choice), scale=alt.Scale(zero=False)),
        "tooltip": _tooltips(alt, choice),
    }
    if choice.color:
        encoding["color"] = alt.Color(field=_field(choice.color), type="nominal", title=choice.color)
    return alt.Chart(data).mark_circle(opacity=0.7).encode(**encoding).properties(width=WIDTH, height=HEIGHT)


def _time_unit(column: "pd.Series") -> str:
    """The coarsest calendar unit that tells the dates apart."""
    import pandas as pd

    dates = pd.to_datetime(column.dropna())
    if ((dates.dt.month == 1) & (dates.dt.day == 1)).all() and dates.dt.normalize().eq(dates).all():
        return "year"
    if (dates.dt.day == 1).all() and dates.dt.normalize().eq(dates).all():
        return "yearmonth"
    if dates.dt.normalize().eq(dates).all():
        return "yearmonthdate"
    return "yearmonthdatehoursminutes"


def _tooltips(alt, choice: "ChartChoice") -> list:
    tips = []
    for name, vl_type in ((choice.x, choice.x_type), (choice.color, "nominal"), (choice.y, choice.y_type)):
        if name and name not in {t.title for t in tips}:
            number = {"format": ",.4~g"} if vl_type == "quantitative" else {}
            tips.append(alt.Tooltip(field=_field(name), type=vl_type, title=name, **number))
    return tips


def _measure_title(choice: "ChartChoice") -> str:
    return f"{choice.y} ({choice.aggregate})" if choice.aggregate else str(choice.y)


def _x_axis(alt, data: "pd.DataFrame", choice: "ChartChoice"):
    """Whole numbers (years, counts of cylinders) without thousands separators or half steps;
    short category labels level instead of Vega-Lite's default vertical ones."""
    from pandas.api import types

    column = data[choice.x].dropna()
    if choice.x_type == "quantitative":
        if types.is_numeric_dtype(column.dtype) and not types.is_bool_dtype(column.dtype) \
                and len(column) and bool(((column % 1) == 0).all()):
            return alt.Axis(format="d", tickMinStep=1)
    elif choice.x_type in ("nominal", "ordinal") and len(column):
        labels = column.astype(str)
        fits = labels.nunique() * (labels.str.len().max() * _CHAR_WIDTH + 8) <= WIDTH
        return alt.Axis(labelAngle=0 if fits else -40)
    return alt.Undefined


def _field(name: str) -> str:
    """A column name as a Vega-Lite field: '.', '[' and ']' would otherwise mean nested access."""
    return name.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[").replace("]", "\\]")


# --- JSON ---------------------------------------------------------------------------------------

def _inline_datasets(spec: dict) -> dict:
    """Altair puts data in top-level `datasets` referenced by name; a single dataset reads more
    plainly (and survives copy-and-paste into the Vega editor) as `data.values`."""
    datasets = spec.get("datasets") or {}
    name = (spec.get("data") or {}).get("name")
    if name in datasets and len(datasets) == 1:
        spec = dict(spec)
        spec["data"] = {"values": datasets[name]}
        del spec["datasets"]
    return spec


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, (datetime.date, datetime.time)):   # includes datetime and pd.Timestamp
        return None if _is_missing(value) else value.isoformat()
    if hasattr(value, "item"):                               # numpy scalars
        return _json_safe(value.item())
    return None if _is_missing(value) else str(value)


def _is_missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
