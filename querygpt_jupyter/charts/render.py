"""Draw a `ChartChoice` as a Vega-Lite v5 spec, sized for the width it is shown at, and render
images of it only where they are shown or saved.

The spec is written here as plain JSON, not through Altair: `import altair` alone costs ~2 s, which
was most of a CLI answer that only describes its chart in one line. `Answer.chart` still gives an
Altair chart, built from this spec on first access. The spec says `$schema` v5 because it is sent
under JupyterLab's `application/vnd.vegalite.v5+json` key (its bundled renderer warns on a v6
schema); it uses nothing newer than Vega-Lite 5. Images (SVG/PNG/HTML) come from vl-convert (~1 s
for the first, then ~0.1 s), loaded inside the functions that need it.

Layout is a function of the width: the whole chart (axes, titles, legend) fits `width` pixels
(`autosize: fit`), category labels that do not fit level turn the bars horizontal and are cut at
a share of the width, legends move below narrow charts — so axis text stays at Vega's 10–11 px
wherever the chart is shown at its own size.
"""
from __future__ import annotations

import datetime
import decimal
import functools
import json
import logging
import math
import pathlib
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from .choose import ChartChoice

VEGALITE_MIME = "application/vnd.vegalite.v5+json"
VEGALITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"   # matches VEGALITE_MIME
SVG_MIME = "image/svg+xml"
WIDTH = 560                 # the whole chart in a notebook cell: fixed, "container" has no width in an SVG
MIN_WIDTH = 200             # narrower than this and nothing is readable: the chart stays this wide
HEIGHT = 300
PIE_SIZE = 300
BAR_STEP = 22               # height per bar when bars are drawn horizontally
MIN_BAR = 14                # narrowest vertical bar band that still carries a level label
_CHAR_WIDTH = 6.5           # px per label character at Vega-Lite's 10 px label font
_DISCRETE_DATES = 40        # at most this many dates on a bar axis: bars get bands, not hairlines
_NARROW = 420               # below this width legends go under the chart
_META = "querygpt"          # key in the spec's `usermeta`: the ChartChoice it was drawn from

log = logging.getLogger("querygpt")


def build_spec(choice: "ChartChoice", data: "pd.DataFrame", width: int = WIDTH) -> dict:
    """The Vega-Lite spec of `data` (the output of `prepare_data`): data inlined as JSON-safe
    `data.values`, titles from the column names, tooltips, sized to `width` pixels in all."""
    return spec_for(choice, _records(data), width)


def spec_for(choice: "ChartChoice", values: list[dict], width: int = WIDTH) -> dict:
    """The spec for already JSON-safe rows; `resized` calls it again with another width."""
    width = max(MIN_WIDTH, int(width))
    build = {"line": _line, "bar": _bar, "arc": _arc, "point": _point}[choice.mark]   # ChartChoice checks the mark
    body = build(choice, values, width)
    spec: dict[str, Any] = {"$schema": VEGALITE_SCHEMA}
    if choice.title:
        spec["title"] = {"text": _title_lines(choice.title, width), "anchor": "start", "limit": width - 10}
    spec["data"] = {"values": values}
    spec.update(body)
    spec["autosize"] = {"type": "fit", "contains": "padding"}
    spec["usermeta"] = {_META: choice.to_dict()}
    return spec


def resized(spec: dict, width: int) -> dict:
    """The same chart laid out for `width` pixels (the sidebar's), or `spec` itself when it was
    not drawn by `build_spec`."""
    from .choose import ChartChoice

    meta = (spec.get("usermeta") or {}).get(_META)
    if not meta or "values" not in (spec.get("data") or {}):
        return spec
    return spec_for(ChartChoice.from_dict(meta), spec["data"]["values"], width)


def chart_mark(spec: dict | None) -> str | None:
    """The mark a recorded spec was drawn with ("bar", "arc", …), for replaying it the same way."""
    if not spec:
        return None
    meta = (spec.get("usermeta") or {}).get(_META) or {}
    mark = meta.get("mark") or spec.get("mark")
    return mark.get("type") if isinstance(mark, dict) else mark


def spec_mimebundle(spec: dict, description: str, theme: dict | None = None) -> dict:
    """{v5 Vega-Lite key: spec, "image/svg+xml": svg, "text/plain": description} for
    `IPython.display.display(bundle, raw=True)`. If vl-convert fails, the SVG is left out (the
    interactive chart still draws in JupyterLab) and the failure is logged."""
    bundle: dict[str, Any] = {VEGALITE_MIME: spec}
    try:
        bundle[SVG_MIME] = spec_to_svg(spec, theme)
    except Exception:   # vl-convert raises plain ValueError/RuntimeError for any engine error
        log.warning("querygpt: could not draw the static SVG of the chart", exc_info=True)
    bundle["text/plain"] = description
    return bundle


def spec_to_svg(spec: dict, theme: dict | None = None) -> str:
    """The SVG of a Vega-Lite spec, drawn offline by vl-convert. Data URLs are not fetched.
    `theme` (see `theme_config`) colours it like the page it is shown on."""
    import vl_convert

    return vl_convert.vegalite_to_svg(spec, allowed_base_urls=[], config=theme_config(theme) if theme else None)


def save_chart(spec: dict, path: str | pathlib.Path) -> pathlib.Path:
    """Write the chart to `path`; the suffix says how: .svg, .png (2× scale) or .html (a page that
    draws the spec with vega-embed inlined, so it opens offline)."""
    import vl_convert

    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        path.write_text(vl_convert.vegalite_to_svg(spec, allowed_base_urls=[]), encoding="utf-8")
    elif suffix == ".png":
        path.write_bytes(vl_convert.vegalite_to_png(spec, scale=2, allowed_base_urls=[]))
    elif suffix in (".html", ".htm"):
        path.write_text(vl_convert.vegalite_to_html(spec, bundle=True), encoding="utf-8")
    else:
        raise ValueError(f"cannot save a chart as {suffix or 'a file without a suffix'}; use .svg, .png or .html")
    return path


def theme_config(theme: dict) -> dict:
    """A Vega config from a page's theme colours, e.g. JupyterLab's CSS variables as the chat reads
    them: {"dark": bool, "foreground", "muted", "background", "grid", "font"} (all optional)."""
    dark = bool(theme.get("dark"))
    fg = theme.get("foreground") or ("#e0e0e0" if dark else "#222222")
    muted = theme.get("muted") or ("#b0b0b0" if dark else "#555555")
    grid = theme.get("grid") or ("#3c3c3c" if dark else "#e4e4e4")
    config: dict[str, Any] = {
        "background": theme.get("background") or ("#1e1e1e" if dark else "#ffffff"),
        "title": {"color": fg},
        "axis": {"labelColor": muted, "titleColor": fg, "gridColor": grid, "domainColor": muted, "tickColor": muted},
        "legend": {"labelColor": muted, "titleColor": fg},
        "view": {"stroke": grid},
        "text": {"color": fg},
    }
    if dark:   # Vega's default blue and orange are too dark on a dark background
        config["range"] = {"category": ["#4c9be8", "#f5a623", "#e8575a", "#5fc4b8", "#7ccf5b",
                                        "#f2d45c", "#c78ad6", "#ff9fb2", "#b8977a", "#b0b0b0"]}
    if theme.get("font"):
        config["font"] = theme["font"]
    return config


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

def _line(choice: "ChartChoice", values: list[dict], width: int) -> dict:
    points = len(values) <= (60 if not choice.color else 120)
    encoding = {
        "x": _time_or_plain_axis(choice, values, width),
        "y": {"field": _field(choice.y), "type": choice.y_type, "title": _measure_title(choice)},
        "tooltip": _tooltips(choice, values),
    }
    if choice.color:
        encoding["color"] = _color(choice, width)
    return {"mark": {"type": "line", "point": points}, "encoding": encoding, "width": width, "height": HEIGHT}


def _bar(choice: "ChartChoice", values: list[dict], width: int) -> dict:
    labels = _labels(values, choice.x)
    n = len(labels)
    measure = {"field": _field(choice.y), "type": choice.y_type, "title": _measure_title(choice)}
    if choice.x_type == "temporal" and n <= _DISCRETE_DATES:
        # on a continuous time scale bars are hairlines: one band per year/month/day instead
        unit = _time_unit(values, choice.x)
        angle = 0 if n * (_UNIT_CHARS[unit] * _CHAR_WIDTH + 6) <= width - 60 else -45
        category = {"field": _field(choice.x), "type": "ordinal", "timeUnit": unit, "title": choice.x,
                    "axis": {"labelAngle": angle, "format": _UNIT_FORMAT[unit], "formatType": "time"}}
        encoding = {"x": category, "y": measure}
        size = {"width": width, "height": HEIGHT}
    elif choice.x_type == "nominal" and not _fits_level(labels, width):
        # labels that do not fit under the bars: bars across, labels down the side, cut at a share
        # of the width, and a chart as tall as its bars
        narrow = width < _NARROW      # the chart's title names the labels: their axis title gives way
        category = {"field": _field(choice.x), "type": "nominal", "title": None if narrow else choice.x,
                    "axis": {"labelLimit": int(width * (0.55 if narrow else 0.4))}}
        if choice.sort:
            category["sort"] = choice.sort.replace("y", "x")
        encoding = {"y": category, "x": measure}
        size = {"width": width, "height": max(120, BAR_STEP * n)}
    else:
        category = {"field": _field(choice.x), "type": choice.x_type, "title": choice.x}
        if choice.sort:
            category["sort"] = choice.sort
        axis = _x_axis(choice, values, labels, width)
        if axis:
            category["axis"] = axis
        encoding = {"x": category, "y": measure}
        size = {"width": min(width, max(MIN_WIDTH, 90 * n + 80)), "height": HEIGHT}   # a few bars need not be slabs
    if choice.color:
        encoding["color"] = _color(choice, width)
    encoding["tooltip"] = _tooltips(choice, values)
    return {"mark": {"type": "bar"}, "encoding": encoding, **size}


def _arc(choice: "ChartChoice", values: list[dict], width: int) -> dict:
    """A pie with each slice's share printed beside it (and in its tooltip)."""
    size = min(PIE_SIZE, width - (0 if width < _NARROW else 140))
    radius = max(40, size // 2 - 24)          # room for the percentages outside the slices
    value, category = _field(choice.y), _field(choice.color)
    by_value = {"field": value, "op": "sum", "order": "descending"}
    share = {"field": "__share", "type": "quantitative", "title": "share", "format": ".1%"}
    legend = {"title": choice.color, "orient": "bottom" if width < _NARROW else "right",
              "labelLimit": max(80, int(width * 0.4))}
    return {
        "transform": [
            {"joinaggregate": [{"op": "sum", "field": value, "as": "__total"}]},
            {"calculate": f"datum[{json.dumps(choice.y)}] / datum.__total", "as": "__share"},
        ],
        "encoding": {
            "theta": {"field": value, "type": "quantitative", "stack": True, "title": _measure_title(choice)},
            "color": {"field": category, "type": "nominal", "title": choice.color, "sort": by_value, "legend": legend},
            "order": {"field": value, "type": "quantitative", "sort": "descending"},
            "tooltip": [*_tooltips(choice, values), share],
        },
        "layer": [
            {"mark": {"type": "arc", "outerRadius": radius}},
            {"mark": {"type": "text", "radius": radius + 14, "fontSize": 11},
             "encoding": {"text": {"field": "__share", "type": "quantitative", "format": ".0%"}}},   # in its slice's colour
        ],
        "width": width if width < _NARROW else size + 140,
        "height": size + (18 * min(len(values), 6) if width < _NARROW else 0),
    }


def _point(choice: "ChartChoice", values: list[dict], width: int) -> dict:
    x = {"field": _field(choice.x), "type": choice.x_type, "title": choice.x}
    if choice.x_type == "quantitative":
        x["scale"] = {"zero": False}
    encoding = {
        "x": x,
        "y": {"field": _field(choice.y), "type": choice.y_type, "title": _measure_title(choice), "scale": {"zero": False}},
        "tooltip": _tooltips(choice, values),
    }
    if choice.color:
        encoding["color"] = _color(choice, width)
    return {"mark": {"type": "circle", "opacity": 0.7}, "encoding": encoding, "width": width, "height": HEIGHT}


# --- axes ---------------------------------------------------------------------------------------

_UNIT_FORMAT = {"year": "%Y", "yearmonth": "%b %Y", "yearmonthdate": "%Y-%m-%d", "yearmonthdatehoursminutes": "%Y-%m-%d %H:%M"}
_UNIT_CHARS = {"year": 4, "yearmonth": 8, "yearmonthdate": 10, "yearmonthdatehoursminutes": 16}


def _time_or_plain_axis(choice: "ChartChoice", values: list[dict], width: int) -> dict:
    """x of a line: dates read at their own grain (years as '1982', not a month axis); integer
    years without thousands separators."""
    x: dict[str, Any] = {"field": _field(choice.x), "type": choice.x_type, "title": choice.x}
    if choice.x_type == "temporal":
        unit = _time_unit(values, choice.x)
        x["axis"] = {"format": _UNIT_FORMAT[unit], "formatType": "time", "labelOverlap": True}
        if unit == "year":
            x["axis"]["tickCount"] = {"interval": "year", "step": _year_step(values, choice.x, width)}
    else:
        labels = _labels(values, choice.x)
        axis = _x_axis(choice, values, labels, width)
        if axis:
            x["axis"] = axis
    return x


def _x_axis(choice: "ChartChoice", values: list[dict], labels: list[str], width: int) -> dict | None:
    """Whole numbers (years, counts of cylinders) without separators or half steps; category labels
    level when they fit, else slanted and cut."""
    if choice.x_type == "quantitative":
        column = [v.get(choice.x) for v in values]
        numbers = [v for v in column if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numbers and all(float(v).is_integer() for v in numbers):
            return {"format": "d", "tickMinStep": 1, "labelOverlap": True}
        return None
    if choice.x_type in ("nominal", "ordinal") and labels:
        if _fits_level(labels, width):
            return {"labelAngle": 0, "labelLimit": 0}
        return {"labelAngle": -45, "labelLimit": 90, "labelOverlap": True}
    return None


def _fits_level(labels: list[str], width: int) -> bool:
    """Do the labels, level, fit under their bars (with the y axis taking ~60 px)?"""
    if not labels:
        return True
    band = (width - 60) / len(labels)
    return band >= MIN_BAR and max(len(s) for s in labels) * _CHAR_WIDTH + 6 <= band


def _title_lines(title: str, width: int) -> str | list[str]:
    """The title, broken between words into lines that fit `width` (Vega does not wrap titles)."""
    per_line = max(12, int((width - 10) / 7.5))        # 13 px bold: ~7.5 px a character
    if len(title) <= per_line:
        return title
    lines: list[str] = []
    for word in title.split():
        if lines and len(lines[-1]) + 1 + len(word) <= per_line:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _labels(values: list[dict], field: str) -> list[str]:
    return list(dict.fromkeys(str(v.get(field)) for v in values if v.get(field) is not None))


def _color(choice: "ChartChoice", width: int) -> dict:
    legend: dict[str, Any] = {"title": choice.color, "labelLimit": 120}
    if width < _NARROW:
        legend.update(orient="bottom", columns=2 if width < 300 else 3, labelLimit=max(60, width // 3 - 30))
    return {"field": _field(choice.color), "type": "nominal", "title": choice.color, "legend": legend}


def _time_unit(values: list[dict], field: str) -> str:
    """The coarsest calendar unit that tells the dates apart (values are ISO strings)."""
    stamps = [str(v.get(field)) for v in values if v.get(field) is not None]
    times = [s[10:].lstrip("T ") for s in stamps]
    midnight = all(not t.rstrip("0:.") for t in times)
    if not midnight:
        return "yearmonthdatehoursminutes"
    if all(s[5:10] == "01-01" for s in stamps):
        return "year"
    if all(s[8:10] == "01" for s in stamps):
        return "yearmonth"
    return "yearmonthdate"


def _year_step(values: list[dict], field: str, width: int) -> int:
    years = {str(v.get(field))[:4] for v in values if v.get(field) is not None}
    fit = max(1, (width - 80) // 40)              # a 4-digit year needs ~40 px
    return max(1, math.ceil(len(years) / fit))


def _tooltips(choice: "ChartChoice", values: list[dict]) -> list:
    tips: list[dict] = []
    for name, vl_type in ((choice.x, choice.x_type), (choice.color, "nominal"), (choice.y, choice.y_type)):
        if name and name not in {t["title"] for t in tips}:
            tip = {"field": _field(name), "type": vl_type, "title": name}
            if vl_type == "quantitative":
                tip["format"] = ",.4~g" if name == choice.y or not _whole(values, name) else "d"
            elif vl_type == "temporal":
                tip["format"], tip["formatType"] = _UNIT_FORMAT[_time_unit(values, name)], "time"
            tips.append(tip)
    return tips


def _whole(values: list[dict], name: str) -> bool:
    numbers = [v.get(name) for v in values if isinstance(v.get(name), (int, float))]
    return bool(numbers) and all(float(n).is_integer() for n in numbers)


def _measure_title(choice: "ChartChoice") -> str:
    return f"{choice.y} ({choice.aggregate})" if choice.aggregate else str(choice.y)


def _field(name: str) -> str:
    """A column name as a Vega-Lite field: '.', '[' and ']' would otherwise mean nested access."""
    return name.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[").replace("]", "\\]")


# --- JSON ---------------------------------------------------------------------------------------

def _records(data: "pd.DataFrame") -> list[dict]:
    """Rows as JSON-safe dicts: timestamps → ISO strings, NaN → None, Decimal → float."""
    columns = [str(c) for c in data.columns]
    return [{c: _json_safe(v) for c, v in zip(columns, row)} for row in data.itertuples(index=False, name=None)]


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
        return None if _is_missing(value) else _iso(value)
    if hasattr(value, "item"):                               # numpy scalars
        return _json_safe(value.item())
    return None if _is_missing(value) else str(value)


def _iso(value: Any) -> str:
    """Dates at midnight as full timestamps, so Vega parses them as local time like datetimes."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return datetime.datetime(value.year, value.month, value.day).isoformat()
    return value.isoformat()


def _is_missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
