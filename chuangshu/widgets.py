"""Chinese date widgets bounded by the data: 年/月/日 selectboxes and a year-range slider.

Streamlit's st.date_input takes its calendar's language and first weekday from the browser
(an English browser shows "June" and weeks from Sunday), so dates are picked here from three
selectboxes whose options are only the valid days between two bounds. The year slider's upper
end follows the as-of date, and a range that reached the old upper end keeps reaching the new one.
"""
from __future__ import annotations

import calendar
from datetime import date
from typing import Any

import streamlit as st


def _clamp(value: Any, options: list[int], fallback: int) -> int:
    try:
        value = int(value)
    except (TypeError, ValueError):
        value = fallback
    return min(max(value, options[0]), options[-1])


def date_parts_keys(key: str) -> tuple[str, str, str]:
    """The session-state keys of a date_select's three boxes."""
    return f"{key}_y", f"{key}_m", f"{key}_d"


def set_date(key: str, day: date) -> None:
    """Preset a date_select (before it is drawn in this run)."""
    for k, v in zip(date_parts_keys(key), (day.year, day.month, day.day)):
        st.session_state[k] = v


def date_select(label: str, key: str, low: date, high: date, default: date, *, help: str | None = None,
                container: Any = None) -> date:
    """A date from 年 / 月 / 日 selectboxes between ``low`` and ``high`` (both included); the boxes
    only offer valid days, and a day that no longer exists (31 → June) moves to the last valid one."""
    box = container if container is not None else st
    state = st.session_state
    ky, km, kd = date_parts_keys(key)
    high = max(high, low)
    default = min(max(default, low), high)
    years = list(range(low.year, high.year + 1))
    y = _clamp(state.get(ky, default.year), years, default.year)
    months = list(range(low.month if y == low.year else 1, (high.month if y == high.year else 12) + 1))
    m = _clamp(state.get(km, default.month), months, default.month)
    last = calendar.monthrange(y, m)[1]
    days = list(range(low.day if (y, m) == (low.year, low.month) else 1,
                      (high.day if (y, m) == (high.year, high.month) else last) + 1))
    d = _clamp(state.get(kd, default.day), days, default.day)
    state[ky], state[km], state[kd] = y, m, d
    row = box.container(key=f"{key}-datebox")  # compact boxes (ui.global_style): 2022年 / 6月 / 30日 fit a sidebar
    a, b, c = row.columns([1.3, 1, 1], gap="xsmall", vertical_alignment="bottom")
    a.selectbox(label, years, key=ky, format_func=lambda v: f"{v}年", help=help)
    b.selectbox(f"{label}（月）", months, key=km, format_func=lambda v: f"{v}月", label_visibility="hidden")
    c.selectbox(f"{label}（日）", days, key=kd, format_func=lambda v: f"{v}日", label_visibility="hidden")
    return date(y, m, d)


def year_range(label: str, key: str, low: int, high: int, default: tuple[int, int], *, help: str | None = None,
               container: Any = None) -> tuple[int, int]:
    """A year range between ``low`` and ``high`` (the as-of year): a slider, or plain text when only
    one year is possible. A range that ended at the previous upper end follows a new upper end."""
    box = container if container is not None else st
    state = st.session_state
    top_key = f"{key}__top"
    a, b = sorted(state.get(key, default))
    previous_top = state.get(top_key)
    if previous_top is not None and b == previous_top:
        b = high  # the range ran to the as-of year: it still does
    a, b = min(max(a, low), high), min(max(b, low), high)
    state[top_key] = high
    if low >= high:
        state.pop(key, None)
        box.markdown(f"**{label}**：{high}年", help=help)
        return high, high
    state[key] = (a, b)
    value = box.slider(label, low, high, key=key, help=help, format="%d年")
    return int(value[0]), int(value[1])


def forget(*keys: str) -> None:
    """Drop widgets' state (the 恢复默认 button), date_select and year_range parts included."""
    for key in keys:
        for k in (key, f"{key}__top", *date_parts_keys(key)):
            st.session_state.pop(k, None)
