"""大屏: a full-screen dark view for the office screen or the hall's projector, rotating through the headline views.

Open http://host:8501/bigscreen. Link options: ?interval=15 seconds per view (default 20);
?views=1,3,5 (or keys: kpis,trend,ranking,teams,milestones,assessment,qr) the views to rotate through, in
that order; ?view=2 to hold one view; ?qr=0 without the QR code; ?chrome=1 to keep Streamlit's
sidebar and header. The global filter parameters in the link (asof, years, c, k) apply as on
every page. The screen scales to any window (1280×720 to 3840×2160, 16:9, 16:10, 4:3) without
scrolling. A small fragment polls the published database's version and reloads the screen when a
new load is published. The views, the stage and the styles are in chuangshu/bigscreen_ui.py.
"""
from __future__ import annotations

import streamlit as st

from chuangshu import bigscreen_ui as screen_ui
from chuangshu import guard, theme, ui

screen = screen_ui.settings(st.query_params)
theme.register(dark=True)
f = ui.filters()
screen_ui.style(screen.chrome)
screen_ui.header(f, screen)


@st.fragment(run_every=screen.run_every)
@guard.guarded  # a fragment reruns on its own, outside the page's error boundary
def rotating_view() -> None:
    """The held view, or the next one each interval."""
    screen_ui.show_view(screen_ui.next_view(screen), f, screen)


@st.fragment(run_every=screen_ui.POLL_S)
@guard.guarded
def watch_for_new_load() -> None:
    """Reload the whole screen (header included) as soon as a new load is published."""
    if screen_ui.new_load_published():
        st.rerun(scope="app")


rotating_view()
watch_for_new_load()
screen_ui.footer(f, screen)
