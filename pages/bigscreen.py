"""大屏: a full-screen dark 1920×1080 view for the office screen, rotating through the headline views.

Open http://host:8501/bigscreen (optional: ?interval=15 seconds per view, default 20;
?view=1..5 to hold one view; ?chrome=1 to keep Streamlit's sidebar and header). The
global filter parameters in the link (asof, years, c, k) apply as on every page. A small
fragment polls the published database's version and reloads the screen when a new load
is published. The views, tiles and styles are in chuangshu/bigscreen_ui.py.
"""
from __future__ import annotations

import streamlit as st

from chuangshu import bigscreen_ui as screen_ui
from chuangshu import guard, theme, ui

screen = screen_ui.settings(st.query_params)
theme.register(dark=True)
f = ui.filters()
screen_ui.style(screen.chrome)
screen_ui.header(f)


@st.fragment(run_every=screen.run_every)
@guard.guarded  # a fragment reruns on its own, outside the page's error boundary
def rotating_view() -> None:
    """The held view, or the next one each interval."""
    screen_ui.show_view(screen_ui.next_view(screen.pinned), f)


@st.fragment(run_every=screen_ui.POLL_S)
@guard.guarded
def watch_for_new_load() -> None:
    """Reload the whole screen (header included) as soon as a new load is published."""
    if screen_ui.new_load_published():
        st.rerun(scope="app")


rotating_view()
watch_for_new_load()
screen_ui.footer(f, screen)
