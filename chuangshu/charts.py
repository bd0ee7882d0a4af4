"""Chart builders: DataFrame in, themed plotly figure out (Chinese titles, axis units)."""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from chuangshu.theme import ACCENT, GOLD, MUTED, SEQUENTIAL, colors_for, known_order, register


def _layout(fig: go.Figure, title: str, x_title: str | None, y_title: str | None, dark: bool = False,
            height: int = 380) -> go.Figure:
    fig.update_layout(template=register(dark), title_text=title, height=height,
                      xaxis_title=x_title, yaxis_title=y_title)
    return fig


def bars(df: pd.DataFrame, x: str, y: str, title: str, *, color: str | None = None, x_title: str | None = None,
         y_title: str | None = None, stacked: bool = True, horizontal: bool = False, order: list[str] | None = None,
         text: bool = False, dark: bool = False, height: int = 380) -> go.Figure:
    """Bars (stacked or grouped by ``color``); horizontal bars read top-down in the frame's order."""
    fig = go.Figure()
    groups = (order or known_order(df[color])) if color else [None]
    palette = colors_for([g for g in groups if g is not None]) if color else {}
    for g in groups:
        part = df if g is None else df[df[color] == g]
        if part.empty:
            continue
        xs, ys = (part[y], part[x]) if horizontal else (part[x], part[y])
        fig.add_bar(x=xs, y=ys, name=str(g) if g is not None else y_title or y,
                    orientation="h" if horizontal else "v",
                    marker_color=palette.get(g, "#2F6690") if g is not None else "#2F6690",
                    text=part[y] if text else None, texttemplate="%{text:,}" if text else None,
                    hovertemplate=("%{y}: %{x:,}" if horizontal else "%{x}: %{y:,}") + f"<extra>{g or ''}</extra>")
    fig.update_layout(barmode="stack" if stacked else "group", showlegend=color is not None,
                      legend_traceorder="normal")
    axis = dict(type="category", categoryorder="array", categoryarray=_axis_order(df[x if not horizontal else y]))
    if horizontal:
        fig.update_yaxes(autorange="reversed", **axis)
    else:
        fig.update_xaxes(**axis)
    return _layout(fig, title, x_title, y_title, dark, height)


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
                        line=dict(color=palette.get(g, "#2F6690"), width=2.5), marker=dict(size=6))
    fig.update_layout(showlegend=color is not None)
    return _layout(fig, title, x_title, y_title, dark, height)


def heatmap(matrix: pd.DataFrame, title: str, *, colorbar_title: str, dark: bool = False,
            height: int | None = None) -> go.Figure:
    """A community × category heatmap with counts in the cells."""
    fig = go.Figure(go.Heatmap(
        z=matrix.to_numpy(), x=list(matrix.columns), y=list(matrix.index), colorscale=SEQUENTIAL,
        text=matrix.to_numpy(), texttemplate="%{text:,}", hovertemplate="%{y} · %{x}: %{z:,}<extra></extra>",
        colorbar=dict(title=dict(text=colorbar_title))))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, None, None, dark, height or max(380, 22 * len(matrix) + 120))


def milestones_over_trend(monthly: pd.DataFrame, milestones: pd.DataFrame, title: str,
                          dark: bool = False) -> go.Figure:
    """Monthly cases received as an area, with each milestone as a marked vertical line."""
    fig = go.Figure()
    fig.add_scatter(x=monthly["month"], y=monthly["received"], mode="lines", name="每月受理事项（件）",
                    line=dict(color="#2F6690", width=2), fill="tozeroy", fillcolor="rgba(47,102,144,0.15)")
    top = float(monthly["received"].max()) if len(monthly) else 1.0
    for i, row in enumerate(milestones.itertuples(index=False)):
        level = top * (1.15 + 0.12 * (i % 3))
        fig.add_scatter(x=[row.happened_on, row.happened_on], y=[0, level], mode="lines", showlegend=False,
                        line=dict(color=GOLD, width=1, dash="dot"), hoverinfo="skip")
        fig.add_scatter(x=[row.happened_on], y=[level], mode="markers+text", showlegend=False,
                        marker=dict(color=ACCENT, size=9), text=[row.title], textposition="top center",
                        textfont=dict(size=11, color=MUTED),
                        hovertemplate=f"{getattr(row, 'when', '')} {row.title}<br>{row.detail}<extra></extra>")
    fig.update_yaxes(range=[0, top * 1.65])
    if len(milestones):  # room on the left for the first milestone's label
        first = pd.Timestamp(milestones["happened_on"].min()) - pd.DateOffset(months=10)
        last = pd.Timestamp(monthly["month"].max()) + pd.DateOffset(months=4) if len(monthly) else None
        fig.update_xaxes(range=[first, last] if last is not None else None)
    return _layout(fig, title, "月份", "受理事项（件）", dark, 520)


QUICK_MAX_ROWS = 5000  # a quick chart draws at most this many rows of a query result


def quick(df: pd.DataFrame, kind: str, x: str, y: str, color: str | None = None) -> go.Figure:
    """A plain bar, line or scatter chart of a query result (即席查询's 快速作图), first QUICK_MAX_ROWS rows."""
    data = df if len(df) <= QUICK_MAX_ROWS else df.head(QUICK_MAX_ROWS)
    kwargs = {"x": x, "y": y, "color": color}
    if kind == "bar":
        fig = px.bar(data, barmode="group", **kwargs)
    elif kind == "line":
        fig = px.line(data.sort_values(x), markers=True, **kwargs)
    else:
        fig = px.scatter(data, **kwargs)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend_title_text=None)
    return fig


def sparkline_values(values: list[float]) -> list[float]:
    """Values for st.metric's chart_data (a plain list)."""
    return [float(v) for v in values]
