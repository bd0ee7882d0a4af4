"""One look for every chart, slide and screen: font, palette, category colours."""
from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"
ACCENT = "#C0392B"  # party-building red, used as an accent only
GOLD = "#C9A227"
INK = "#1F2A37"
MUTED = "#6B7280"
GRID = "#E5E7EB"

CATEGORY_COLORS = {
    "加装电梯": "#2F6690", "邻里矛盾": "#C0392B", "环境卫生": "#3A7D44", "治安": "#6C4F8C",
    "公共设施": "#D08C34", "安全隐患": "#B5651D", "停车": "#4A9BB5", "其他": "#9CA3AF",
}
ROLE_COLORS = {"楼长": "#2F6690", "巷长": "#D08C34", "街长": "#3A7D44"}
ORG_COLORS = {"街坊会": "#C0392B", "自治小组": "#2F6690", "社团": "#3A7D44", "红色业委会": "#8E2C22",
              "创熟加油站": "#C9A227", "楼道微信群": "#4A9BB5"}
ACTIVITY_COLORS = {"邻里节": "#C0392B", "志愿服务": "#2F6690", "文化活动": "#3A7D44", "宣讲": "#D08C34",
                   "防疫": "#6C4F8C", "其他": "#9CA3AF"}
SEQUENTIAL = ["#F4F6F8", "#C9DCEB", "#8DB5D4", "#4C86B3", "#2F6690", "#1B3F5C"]


def known_order(values: object) -> list[str]:
    """Distinct values in the programme's canonical order (categories, roles, kinds), others after."""
    canon = [*CATEGORY_COLORS, *ROLE_COLORS, *ORG_COLORS, *ACTIVITY_COLORS]
    distinct = list(dict.fromkeys(values))  # type: ignore[call-overload]
    return sorted(distinct, key=lambda v: canon.index(v) if v in canon else len(canon))


def colors_for(values: list[str]) -> dict[str, str]:
    """Fixed colours for known categories, roles, org and activity kinds; palette for the rest."""
    known = {**CATEGORY_COLORS, **ROLE_COLORS, **ORG_COLORS, **ACTIVITY_COLORS}
    palette = ["#2F6690", "#D08C34", "#3A7D44", "#6C4F8C", "#4A9BB5", "#B5651D", "#9CA3AF"]
    return {v: known.get(v, palette[i % len(palette)]) for i, v in enumerate(values)}


def register(dark: bool = False) -> str:
    """Register the plotly template ('chuangshu' or 'chuangshu_dark') and return its name."""
    name = "chuangshu_dark" if dark else "chuangshu"
    if name in pio.templates:
        return name
    fg, bg, grid = ("#E5E7EB", "#0B1220", "#1F2937") if dark else (INK, "white", GRID)
    pio.templates[name] = go.layout.Template(layout=go.Layout(
        font=dict(family=FONT, size=14 if not dark else 20, color=fg),
        title=dict(font=dict(size=17 if not dark else 28, color=fg), x=0, xanchor="left"),
        paper_bgcolor=bg, plot_bgcolor=bg,
        colorway=list(CATEGORY_COLORS.values()),
        # plain numbers (12,000), never plotly's SI suffixes (12k) on an axis or in a hover label
        xaxis=dict(showgrid=False, linecolor=grid, ticks="outside", tickcolor=grid, title_font=dict(color=MUTED),
                   exponentformat="none", separatethousands=True),
        yaxis=dict(gridcolor=grid, zeroline=False, title_font=dict(color=MUTED), exponentformat="none",
                   separatethousands=True),
        legend=dict(orientation="h", yanchor="top", y=-0.3, xanchor="left", x=0, title_text=""),
        margin=dict(l=10, r=10, t=60, b=30),
        hoverlabel=dict(font_family=FONT),
        separators=".,",
    ))
    return name
