"""The error boundary around every page: a calm Chinese message on screen, the traceback in the log.

Streamlit's own error box shows the exception, the server's file paths and "Ask Google" links;
:func:`run` catches any exception a page raises, logs it with a short incident number and shows
only that number and what to do. Streamlit's control flow (st.stop, st.rerun, st.switch_page)
raises BaseException subclasses, which pass through untouched. Fragments (the big screen's
rotating views) rerun on their own, outside the page, so they are wrapped with :func:`guarded`.
"""
from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

log = logging.getLogger("chuangshu.pages")
MESSAGE = ("页面出错了，已记录在服务器日志中（编号 {incident}）。请刷新页面，或放宽筛选条件后重试；"
           "如果问题持续，请把编号告诉管理员。")
F = TypeVar("F", bound=Callable[..., Any])


def report(exc: BaseException, where: str = "page") -> str:
    """Log ``exc`` with its traceback and show the Chinese message; returns the incident number."""
    incident = secrets.token_hex(3)
    log.error("%s failed (incident %s)", where, incident, exc_info=exc)
    st.error(MESSAGE.format(incident=incident), icon=":material/error:")
    return incident


def run(page: Callable[[], Any], where: str = "page") -> None:
    """Run ``page`` (``st.navigation(...).run``): an exception becomes the message, control flow passes."""
    try:
        page()
    except Exception as exc:  # noqa: BLE001 - the boundary: every exception, never st.stop/st.rerun
        report(exc, where)


def guarded(fn: F) -> F:
    """The same boundary for a fragment or callback body."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - see run()
            report(exc, getattr(fn, "__name__", "fragment"))
            return None

    return wrapper  # type: ignore[return-value]
