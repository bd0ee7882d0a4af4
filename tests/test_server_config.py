"""The server's Streamlit settings that the crowd and the error boundary depend on (.streamlit/config.toml)."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

CONFIG = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text("utf-8"))


@pytest.mark.parametrize(("section", "option", "value", "why"), [
    ("runner", "postScriptGC", False, "a full collection after every run stalled the server under a crowd"),
    ("client", "showErrorDetails", "none", "no traceback reaches the browser (chuangshu/guard.py)"),
    ("browser", "gatherUsageStats", False, "nothing leaves the district's network"),
])
def test_server_setting(section: str, option: str, value: object, why: str) -> None:
    assert CONFIG[section][option] == value, why
