"""PNG and SVG of any plotly chart, with Chinese rendered in the CJK font (kaleido 1.x + Debian's chromium).

Kaleido drives a headless chromium. The first image starts one shared chromium for the
process (``kaleido.start_sync_server``, a few seconds); later images take about 0.2 s.
Kaleido's sync server is a single queue and is not safe for concurrent callers, so calls
are serialised here with a lock. Chromium is found through $BROWSER_PATH, which is set
to Debian's /usr/bin/chromium when it is not set already.

A static render does not run plotly's automatic margins the way the browser does, so
figures are copied with explicit margins wide enough for tick labels and axis titles
(``for_export``). SVG text stays text (searchable, editable); fonts are named in the
SVG, so the viewer needs a CJK font too — use PNG for slides and documents.
"""
from __future__ import annotations

import os
import shutil
import threading
from typing import Any, Literal

import plotly.graph_objects as go

from chuangshu.theme import register

Format = Literal["png", "svg"]
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
                  "/usr/bin/google-chrome-stable")
EXPORT_WIDTH = 1200
DEFAULT_SCALE = 2
MIME = {"png": "image/png", "svg": "image/svg+xml"}
MISSING_MESSAGE = ("未找到 Chromium 浏览器，无法生成图片。请管理员安装：sudo apt-get install chromium fonts-noto-cjk"
                   "（或执行 make sysdeps），也可以在图表右上角的工具栏里用“下载为 PNG”。")

_lock = threading.Lock()


class ImageExportUnavailable(RuntimeError):
    """No chromium to render with; the message says, in Chinese, how to fix it."""


def browser_path() -> str | None:
    """The chromium kaleido will use: $BROWSER_PATH, else Debian's chromium or another on the PATH."""
    env = os.environ.get("BROWSER_PATH")
    if env and os.path.exists(env):
        return env
    for path in CHROMIUM_PATHS:
        if os.path.exists(path):
            return path
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _server() -> Any:
    """The process-wide kaleido server, started (or restarted, if its thread died) on first use."""
    import kaleido
    from kaleido import _global_server  # the singleton behind start_sync_server

    path = browser_path()
    if path is None:
        raise ImageExportUnavailable(MISSING_MESSAGE)
    os.environ.setdefault("BROWSER_PATH", path)
    thread = getattr(_global_server, "_thread", None)
    if _global_server.is_running() and thread is not None and not thread.is_alive():
        kaleido.stop_sync_server(silence_warnings=True)  # chromium went away: start afresh
    if not _global_server.is_running():
        kaleido.start_sync_server(silence_warnings=True)
    return _global_server


def start() -> None:
    """Start the shared renderer now (optional: the first image does it)."""
    with _lock:
        _server()


def _longest_label(values: Any) -> int:
    if values is None:
        return 0
    try:
        return max((len(str(v)) for v in values), default=0)
    except TypeError:
        return 0


def _labels_on_y(trace: Any) -> bool:
    """True for traces whose category labels sit on the y axis (horizontal bars, heatmap rows)."""
    return trace.type == "heatmap" or getattr(trace, "orientation", None) == "h"


def for_export(fig: go.Figure, width: int | None = None, height: int | None = None,
               caption: str | None = None) -> go.Figure:
    """A copy of ``fig`` sized for a file, with margins that fit its labels (no automargin in static renders).

    ``caption`` (source, as-of date, filters; 示例数据 for the sample) is written under the chart, so an
    image taken out of the dashboard still says where its numbers come from.
    """
    out = go.Figure(fig)
    layout = out.layout
    dark = layout.template is not None and layout.template.layout.paper_bgcolor not in (None, "white")
    if layout.template is None or layout.template.layout.font.family is None:
        out.update_layout(template=register(dark))
    size = layout.font.size or (20 if dark else 14)
    y_labels = max((_longest_label(t.y) for t in out.data if _labels_on_y(t)), default=0)
    left = max(70, int(y_labels * size * 1.05) + 30) + (int(size * 2.2) if layout.yaxis.title.text else 0)
    x_labels = max((_longest_label(t.x) for t in out.data if getattr(t, "x", None) is not None
                    and not _labels_on_y(t)), default=0)
    bottom = int(size * 2 + 12) + (int(size * 2.2) if layout.xaxis.title.text else 0) + (20 if x_labels > 6 else 0)
    legend = bool(layout.showlegend) or (layout.showlegend is None and len(out.data) > 1)
    top = (int(size * 3.6) if layout.title.text else 30) + (int(size * 2.4) if legend else 0)
    small = max(11, int(size * 0.8))
    if caption:
        bottom += small + 16
    w, h = width or layout.width or EXPORT_WIDTH, height or layout.height or 500
    h = max(h, top + bottom + 150)
    out.update_layout(margin=dict(l=left, r=40, t=top, b=bottom, autoexpand=True), width=w, height=h,
                      title=dict(x=0.012, xanchor="left", xref="container", y=1 - 14 / h, yanchor="top",
                                 yref="container"))
    if legend:
        out.update_layout(legend=dict(y=1.0, yanchor="bottom"))
    if caption:
        out.add_annotation(text=caption, showarrow=False, xref="paper", yref="paper", xanchor="left",
                           yanchor="bottom", x=-(left - 12) / max(w - left - 40, 1),
                           y=-(bottom - 8) / max(h - top - bottom, 1), align="left",
                           font=dict(size=small, color="#9CA3AF" if dark else "#6B7280"))
    return out


def to_image(fig: go.Figure, fmt: Format = "png", *, width: int | None = None, height: int | None = None,
             scale: float = DEFAULT_SCALE, caption: str | None = None) -> bytes:
    """The chart as PNG or SVG bytes (raises ImageExportUnavailable without chromium)."""
    if fmt not in MIME:
        raise ValueError(f"fmt must be one of {tuple(MIME)}")
    figure = for_export(fig, width, height, caption)
    spec = figure.to_plotly_json()
    opts = {"format": fmt, "width": figure.layout.width, "height": figure.layout.height,
            "scale": scale if fmt == "png" else 1}
    from kaleido.errors import ChromeNotFoundError

    with _lock:
        try:
            server = _server()
            data = server.call_function("calc_fig", spec, opts=opts)
        except ChromeNotFoundError as exc:
            raise ImageExportUnavailable(MISSING_MESSAGE) from exc
    return data if isinstance(data, bytes) else str(data).encode("utf-8")


def to_png(fig: go.Figure, **kwargs: Any) -> bytes:
    return to_image(fig, "png", **kwargs)


def to_svg(fig: go.Figure, **kwargs: Any) -> bytes:
    return to_image(fig, "svg", **kwargs)
