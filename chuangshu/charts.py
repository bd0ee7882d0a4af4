"""Chart builders: DataFrame in, themed plotly figure out (Chinese titles, axis units, honest periods).

Three rules hold for every chart built here:

* A per-year frame from the metric layer (``year``, ``period``, ``partial`` columns, see
  :func:`chuangshu.metrics.with_periods`) is drawn on its period labels (2022年（1—6月）), and a
  partial year is hatched and lighter, with a legend entry saying so.
* Value axes count in Chinese units (0.5万, 1万, 1.5万 — never plotly's 15k) with whole steps for
  counts (no 0.5 件 ticks): :func:`value_axis`.
* A category's legend shows its full name (the frame's ``label`` column), in the canonical order.
"""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from chuangshu import fmt
from chuangshu.theme import ACCENT, GOLD, MUTED, SEQUENTIAL, colors_for, known_order, register

PARTIAL_PATTERN = "/"
PARTIAL_OPACITY = 0.55
BLUE = "#2F6690"


def _layout(fig: go.Figure, title: str, x_title: str | None, y_title: str | None, dark: bool = False,
            height: int = 380) -> go.Figure:
    fig.update_layout(template=register(dark), title_text=title, height=height,
                      xaxis_title=x_title, yaxis_title=y_title)
    return fig


def value_axis(fig: go.Figure, top: float, axis: str = "y", *, integer: bool = True, suffix: str = "") -> None:
    """Tick values and Chinese labels (1.5万) on a value axis whose data reach ``top``."""
    values, texts = fmt.axis_ticks(top, integer=integer, suffix=suffix)
    update = fig.update_yaxes if axis == "y" else fig.update_xaxes
    update(tickmode="array", tickvals=values, ticktext=texts)


def _whole(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    return bool((numbers == numbers.round()).all())


def bars(df: pd.DataFrame, x: str, y: str, title: str, *, color: str | None = None, x_title: str | None = None,
         y_title: str | None = None, stacked: bool = True, horizontal: bool = False, order: list[str] | None = None,
         text: bool = False, dark: bool = False, height: int = 380) -> go.Figure:
    """Bars (stacked or grouped by ``color``); horizontal bars read top-down in the frame's order.

    With ``x="year"`` on a frame that has ``period``/``partial`` columns the bars stand on the
    period labels and a partial year is hatched and lighter. With ``color="category"`` the legend
    shows the frame's ``label`` (full name) when it has one.
    """
    fig = go.Figure()
    periods = x == "year" and {"period", "partial"} <= set(df.columns) and not horizontal
    cat_col = "period" if periods else x
    partial = set(df.loc[df["partial"].astype(bool), "period"]) if periods else set()
    groups = (order or known_order(df[color])) if color else [None]
    palette = colors_for([g for g in groups if g is not None]) if color else {}
    names = dict(zip(df[color], df["label"])) if color == "category" and "label" in df.columns else {}
    unit = f" {y_title.split('（')[-1].rstrip('）')}" if y_title and "（" in y_title else ""
    for g in groups:
        part = df if g is None else df[df[color] == g]
        if part.empty:
            continue
        cats = part[cat_col]
        xs, ys = (part[y], cats) if horizontal else (cats, part[y])
        name = names.get(g, str(g)) if g is not None else (y_title or y)
        marker: dict = {"color": palette.get(g, BLUE) if g is not None else BLUE}
        if partial:
            flags = [c in partial for c in cats]
            marker["pattern"] = {"shape": [PARTIAL_PATTERN if p else "" for p in flags], "fillmode": "overlay",
                                 "fgcolor": "white", "solidity": 0.3}
            marker["opacity"] = [PARTIAL_OPACITY if p else 1.0 for p in flags]
        fig.add_bar(x=xs, y=ys, name=name, orientation="h" if horizontal else "v", marker=marker,
                    text=part[y] if text else None, texttemplate="%{text:,}" if text else None,
                    hovertemplate=("%{y}：%{x:,}" if horizontal else "%{x}：%{y:,}") + unit
                    + f"<extra>{name if g is not None else ''}</extra>")
    if partial:
        first = next(iter(df[cat_col]))
        fig.add_bar(x=[first], y=[0], name="不完整年份（斜线、浅色）", hoverinfo="skip", showlegend=True,
                    marker={"color": MUTED, "opacity": PARTIAL_OPACITY,
                            "pattern": {"shape": PARTIAL_PATTERN, "fillmode": "overlay", "fgcolor": "white",
                                        "solidity": 0.3}})
    fig.update_layout(barmode="stack" if stacked else "group", showlegend=color is not None or bool(partial),
                      legend_traceorder="normal")
    categories = _axis_order(df[cat_col]) if not periods else list(dict.fromkeys(df.sort_values("year")["period"]))
    axis = dict(type="category", categoryorder="array", categoryarray=categories)
    if horizontal:
        fig.update_yaxes(autorange="reversed", **axis)
    else:
        fig.update_xaxes(**axis)
        if len(categories) <= 3:  # one or two years: bars of a normal width, not a wall
            fig.update_layout(bargap=0.85 - 0.15 * len(categories))
    if len(df):
        values = pd.to_numeric(df[y], errors="coerce").fillna(0)
        top = values.groupby(df[cat_col]).sum().max() if stacked and color else values.max()
        value_axis(fig, top, "x" if horizontal else "y", integer=_whole(df[y]))
    return _layout(fig, title, x_title, y_title, dark, height)


def index_bars(df: pd.DataFrame, title: str, *, dark: bool = False, height: int = 380) -> go.Figure:
    """The 创熟指数 of ranked communities as horizontal bars, top-down in the frame's order (``short_name``,
    ``index``, ``change_label``), each labelled with its value and rank change (107.5　↑3); a dotted
    line at 100 marks "every metric exactly on target"."""
    values = pd.to_numeric(df["index"], errors="coerce")
    labels = [f"{fmt.metric_value(v, '', 'score')}　{c}" for v, c in zip(values, df["change_label"])]
    fig = go.Figure(go.Bar(x=values, y=df["short_name"], orientation="h", marker={"color": BLUE}, text=labels,
                           textposition="outside", cliponaxis=False, name="创熟指数",
                           hovertemplate="%{y}：%{x:.1f} 分<extra></extra>"))
    fig.add_vline(x=100, line_dash="dot", line_color=MUTED, annotation_text="100 = 恰好达到目标",
                  annotation_position="top")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(showlegend=False)
    if len(df):
        top = max(120.0, float(values.max() if values.notna().any() else 0) * 1.25)  # room for the labels
        value_axis(fig, top, "x")
        fig.update_xaxes(range=[0, top])
    return _layout(fig, title, "创熟指数（分）", None, dark, height)


def _axis_order(values: pd.Series) -> list:
    """Category axis order: numbers (years) ascending, anything else as the frame lists it."""
    distinct = list(dict.fromkeys(values))
    if all(isinstance(v, (int, float)) or hasattr(v, "item") for v in distinct):
        return sorted(distinct)
    return distinct


def lines(df: pd.DataFrame, x: str, y: str, title: str, *, color: str | None = None, x_title: str | None = None,
          y_title: str | None = None, dark: bool = False, height: int = 380) -> go.Figure:
    """Lines per ``color`` group (trends)."""
    fig = go.Figure()
    groups = known_order(df[color]) if color else [None]
    palette = colors_for([g for g in groups if g is not None]) if color else {}
    for g in groups:
        part = df if g is None else df[df[color] == g]
        fig.add_scatter(x=part[x], y=part[y], mode="lines+markers", name=str(g) if g else y_title or y,
                        line=dict(color=palette.get(g, BLUE), width=2.5), marker=dict(size=6))
    fig.update_layout(showlegend=color is not None)
    if len(df):
        value_axis(fig, pd.to_numeric(df[y], errors="coerce").max(), integer=_whole(df[y]))
    return _layout(fig, title, x_title, y_title, dark, height)


def heatmap(matrix: pd.DataFrame, title: str, *, colorbar_title: str, dark: bool = False,
            height: int | None = None) -> go.Figure:
    """A community × category heatmap with counts in the cells (columns as the matrix orders them)."""
    top = float(matrix.to_numpy().max()) if matrix.size else 1.0
    values, texts = fmt.axis_ticks(top)
    fig = go.Figure(go.Heatmap(
        z=matrix.to_numpy(), x=list(matrix.columns), y=list(matrix.index), colorscale=SEQUENTIAL,
        text=matrix.to_numpy(), texttemplate="%{text:,}", hovertemplate="%{y} · %{x}：%{z:,} 件<extra></extra>",
        colorbar=dict(title=dict(text=colorbar_title), tickmode="array", tickvals=values, ticktext=texts)))
    fig.update_xaxes(type="category", side="top")  # 45 rows: the category names stay at hand
    fig.update_yaxes(autorange="reversed", type="category")
    _layout(fig, title, None, None, dark, height or max(380, 22 * len(matrix) + 170))
    fig.update_layout(margin=dict(t=100), title_y=0.995, title_yanchor="top")
    return fig


def date_axis(fig: go.Figure, first: object, last: object, axis: str = "x") -> None:
    """Chinese tick labels on a date axis (2021年, or 2022年3月 over short spans): never 'Jan 2021'."""
    span = (pd.Timestamp(last) - pd.Timestamp(first)).days if first is not None and last is not None else 9999
    if span > 3 * 366:
        kwargs = dict(dtick="M12", tickformat="%Y年")
    elif span > 366:
        kwargs = dict(dtick="M3", tickformat="%Y年%-m月")
    else:
        kwargs = dict(dtick="M1", tickformat="%Y年%-m月")
    (fig.update_xaxes if axis == "x" else fig.update_yaxes)(hoverformat="%Y年%-m月%-d日", **kwargs)


def milestones_over_trend(monthly: pd.DataFrame, milestones: pd.DataFrame, title: str,
                          dark: bool = False) -> go.Figure:
    """Monthly cases received as an area, with each milestone as a marked vertical line.

    A partial last month (the window ends inside it) is drawn as a dotted step with a hollow marker."""
    fig = go.Figure()
    partial = monthly["partial"].astype(bool) if "partial" in monthly.columns else pd.Series(False, index=monthly.index)
    labels = monthly["period"] if "period" in monthly.columns else monthly["month"].astype(str)
    whole = monthly[~partial]
    fig.add_scatter(x=whole["month"], y=whole["received"], mode="lines", name="每月受理事项（件）",
                    customdata=labels[~partial], hovertemplate="%{customdata}：%{y:,} 件<extra></extra>",
                    line=dict(color=BLUE, width=2), fill="tozeroy", fillcolor="rgba(47,102,144,0.15)")
    if partial.any():
        tail = monthly.loc[partial]
        before = whole.tail(1)
        fig.add_scatter(x=[*before["month"], *tail["month"]], y=[*before["received"], *tail["received"]],
                        mode="lines+markers", name="不完整月份（虚线）",
                        customdata=[*labels[~partial].tail(1), *labels[partial]],
                        hovertemplate="%{customdata}：%{y:,} 件<extra></extra>",
                        line=dict(color=BLUE, width=2, dash="dot"),
                        marker=dict(size=[0] * len(before) + [9] * len(tail), color="white",
                                    line=dict(color=BLUE, width=2)))
    top = float(monthly["received"].max()) if len(monthly) else 1.0
    top = top or 1.0
    for i, row in enumerate(milestones.itertuples(index=False)):
        level = top * (1.15 + 0.12 * (i % 3))
        fig.add_scatter(x=[row.happened_on, row.happened_on], y=[0, level], mode="lines", showlegend=False,
                        line=dict(color=GOLD, width=1, dash="dot"), hoverinfo="skip")
        fig.add_scatter(x=[row.happened_on], y=[level], mode="markers+text", showlegend=False,
                        marker=dict(color=ACCENT, size=9), text=[row.title], textposition="top center",
                        textfont=dict(size=11, color=MUTED),
                        hovertemplate=f"{getattr(row, 'when', '')} {row.title}<br>{row.detail}<extra></extra>")
    fig.update_yaxes(range=[0, top * 1.65])
    values, texts = fmt.axis_ticks(top)
    fig.update_yaxes(tickmode="array", tickvals=values, ticktext=texts)
    first = last = None
    if len(milestones):  # room on the left for the first milestone's label
        first = pd.Timestamp(milestones["happened_on"].min()) - pd.DateOffset(months=10)
    if len(monthly):  # room on the right for the last milestone's label too
        ends = [pd.Timestamp(monthly["month"].max()), *([pd.Timestamp(milestones["happened_on"].max())]
                                                        if len(milestones) else [])]
        last = max(ends) + pd.DateOffset(months=7)
        first = first if first is not None else pd.Timestamp(monthly["month"].min())
    if first is not None and last is not None:
        fig.update_xaxes(range=[first, last])
    date_axis(fig, first, last)
    fig.update_layout(showlegend=bool(partial.any()))
    return _layout(fig, title, "月份", "受理事项（件）", dark, 520)


QUICK_MAX_ROWS = 5000  # a quick chart draws at most this many rows of a query result


def quick(df: pd.DataFrame, kind: str, x: str, y: str, color: str | None = None) -> go.Figure:
    """A plain bar, line or scatter chart of a query result (即席查询's 快速作图), first QUICK_MAX_ROWS rows,
    in the dashboard's look: its colours, Chinese date ticks and Chinese number units."""
    data = df if len(df) <= QUICK_MAX_ROWS else df.head(QUICK_MAX_ROWS)
    template = register()
    kwargs = {"x": x, "y": y, "color": color, "template": template}
    if color is None:
        kwargs["color_discrete_sequence"] = [BLUE]
    if kind == "bar":
        fig = px.bar(data, barmode="group", **kwargs)
    elif kind == "line":
        fig = px.line(data.sort_values(x), markers=True, **kwargs)
    else:
        fig = px.scatter(data, **kwargs)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend_title_text=None)
    # on the figure itself, not only in the theme: Streamlit's chart theme replaces the template's axis
    # defaults in the browser, and the hover labels would read 30.828k
    fig.update_xaxes(exponentformat="none", separatethousands=True)
    fig.update_yaxes(exponentformat="none", separatethousands=True)
    column = data[x]
    if _date_like(column):  # dates, or text plotly reads as dates ('2021-01'): Chinese ticks, not 'Jan 2021'
        dates = pd.to_datetime(column.astype("str"), errors="coerce", format="mixed")
        date_axis(fig, dates.min(), dates.max())
    elif pd.api.types.is_numeric_dtype(column) and _whole(column) and column.between(1900, 2100).all():
        fig.update_xaxes(type="category")  # years: not 2,021
    elif pd.api.types.is_numeric_dtype(column) and kind != "bar" and _from_zero(column):
        value_axis(fig, column.max(), axis="x", integer=_whole(column))  # 20万, not 200k
    numbers = pd.to_numeric(data[y], errors="coerce")
    if numbers.notna().any() and (kind == "bar" or _from_zero(numbers)) and numbers.min() >= 0:
        top = numbers.groupby(column).sum().max() if kind == "bar" and color is None else numbers.max()
        value_axis(fig, top, integer=_whole(numbers))
    fig.update_traces(hovertemplate=None)
    return fig


def _from_zero(values: pd.Series) -> bool:
    """Non-negative numbers spread over at least half of 0…max: ticks from 0 (axis_ticks) show on their
    axis. A narrow band far from zero (100,200–100,500) keeps plotly's own ticks, as plain numbers."""
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    return bool(len(numbers)) and numbers.min() >= 0 and numbers.max() > 0 and numbers.min() <= numbers.max() / 2


def _values(data: object) -> list:
    """A trace's data as a flat list (lists, tuples, numpy arrays of any shape)."""
    if data is None:
        return []
    if hasattr(data, "ravel"):
        return list(data.ravel().tolist())
    return [v for row in data for v in (_values(row) if isinstance(row, (list, tuple)) or hasattr(row, "ravel")
                                        else [row])]


_ISO_DATE = r"^\d{4}-\d{2}(-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?)?$"


def _date_like(column: pd.Series) -> bool:
    """Dates, timestamps, or text in ISO form that plotly would draw on a date axis."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return True
    values = column.dropna()
    if values.empty:
        return False
    first = values.iloc[0]
    if hasattr(first, "isoformat") and not isinstance(first, str):
        return True
    return bool(pd.api.types.is_string_dtype(column) and values.astype("str").str.match(_ISO_DATE).all())


def is_blank(fig: go.Figure) -> bool:
    """True when no trace of the figure has a non-zero value (an all-zero or empty chart)."""
    for trace in fig.data:
        if trace.type == "heatmap":
            values = _values(trace.z)
        elif trace.type == "bar" and trace.orientation == "h":
            values = _values(trace.x)
        elif getattr(trace, "showlegend", None) is False and trace.mode in ("lines", "markers+text"):
            continue  # decoration (milestone lines and markers)
        else:
            values = _values(getattr(trace, "y", None))
        if any(not fmt.missing(v) and v != 0 for v in values):
            return False
    return True


def sparkline_values(values: list[float]) -> list[float]:
    """Values for st.metric's chart_data (a plain list)."""
    return [float(v) for v in values]


SPARK_W, SPARK_H = 240, 40  # the SVG's own units; the card stretches it to its width


def sparkline_points(values: list, width: int = SPARK_W, height: int = SPARK_H) -> list[tuple[float, float]]:
    """Where each value lies on a sparkline: x evenly spaced, y from zero (the bottom) to the largest value
    (1 px margin); missing values are skipped, [] when fewer than two remain."""
    points = [float(v) for v in values if not fmt.missing(v)]
    if len(points) < 2:
        return []
    low, top = min(0.0, min(points)), max(points)
    span = (top - low) or 1.0
    step = width / (len(points) - 1)
    return [(round(i * step, 1), round(height - 1 - (v - low) / span * (height - 2), 1)) for i, v in enumerate(points)]


def sparkline_svg(values: list, color: str = BLUE, width: int = SPARK_W, height: int = SPARK_H) -> str:
    """A KPI card's sparkline drawn by us (a line over a light area, no chart runtime in the browser):
    a standalone SVG that stretches to any box; "" when there is nothing to draw."""
    points = sparkline_points(values, width, height)
    if not points:
        return ""
    line = " ".join(f"{x},{y}" for x, y in points)
    area = f"0,{height} {line} {width},{height}"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" preserveAspectRatio="none">'
            f'<polygon points="{area}" fill="{color}" fill-opacity="0.15"/>'
            f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="2" '
            f'vector-effect="non-scaling-stroke" stroke-linejoin="round"/></svg>')
