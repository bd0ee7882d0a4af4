"""Everything an AppTest run puts on screen, as text, and the words that must never be there.

Used by the edge sweep (tests/test_edges.py): every element's and block's proto is read field by
field (labels, values, deltas, help, captions, options...), a plotly chart through its JSON spec
(titles, tick labels, hover templates, trace names, category values), an HTML element through its
text, a table through its cells. A table with missing cells must have a placeholder (Streamlit
would show "None"), a date column must be shown as a date (else it shows epoch numbers), and an
empty table must not be drawn at all (Streamlit writes "empty").
"""
from __future__ import annotations

import html as htmllib
import json
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
from google.protobuf.json_format import MessageToDict

MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
          "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
DAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Mon|Tue|Wed|Thu|Fri|Sat|Sun"
FORBIDDEN = {
    "nan": re.compile(r"(?<![A-Za-z])nan(?![A-Za-z])", re.IGNORECASE),
    "None": re.compile(r"(?<![A-Za-z])None(?![A-Za-z])"),
    "NaT": re.compile(r"(?<![A-Za-z])NaT(?![A-Za-z])"),
    "<NA>": re.compile(r"<NA>"),
    "inf": re.compile(r"(?<![A-Za-z])-?inf(inity)?(?![A-Za-z])", re.IGNORECASE),
    "epoch": re.compile(r"(?<!\d)\d{13}(?!\d)"),
    "English month/day": re.compile(rf"(?<![A-Za-z])({MONTHS}|{DAYS})(?![A-Za-z])"),
}
SKIP_KEYS = {"id", "formId", "key", "data", "spec", "arrowData", "deltaPath", "scriptHash", "fragmentId",
             "widgetId", "icon", "font", "family", "fontFamily", "colorscale", "url", "deferredFileId"}
_TAGS = re.compile(r"<style.*?</style>|<[^>]+>", re.DOTALL)


def strings(obj: Any, path: str = "", skip: frozenset[str] | set[str] = SKIP_KEYS) -> Iterator[tuple[str, str]]:
    """(path, text) for every string inside a JSON-like object, skipping ids, bytes and styling keys."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in skip:
                continue
            yield from strings(v, f"{path}.{k}", skip)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from strings(v, f"{path}[{i}]", skip)
    elif isinstance(obj, str):
        yield path, obj


def big_numbers(obj: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Numbers of epoch size (≥ 10^12) in a plotly spec: dates drawn as numbers."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from big_numbers(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from big_numbers(v, f"{path}[{i}]")
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool) and abs(obj) >= 1e12:
        yield path, str(obj)


def plotly_texts(spec: str) -> Iterator[tuple[str, str]]:
    """The text a plotly figure shows: every string of its layout and traces, and epoch-size numbers."""
    fig = json.loads(spec)
    fig.pop("config", None)
    layout = fig.get("layout", {})
    layout.pop("template", None)  # the theme (fonts, colours), not text on screen
    skip = {"font", "family", "colorscale"}
    yield from strings(fig.get("data", []), "plotly.data", skip)
    yield from strings(layout, "plotly.layout", skip)
    yield from big_numbers(fig.get("data", []), "plotly.data")


def shown_columns(node: Any) -> pd.DataFrame:
    """The table's columns as displayed (column_order, when given, hides the others)."""
    df: pd.DataFrame = node.value
    order = [c for c in node.proto.column_order if c in df.columns]
    return df[order] if order else df


def table_problems(node: Any) -> list[str]:
    """Cells a table would show as None / epoch numbers, or an empty grid."""
    df = shown_columns(node)
    problems = []
    if df.shape[0] == 0:
        problems.append("an empty table (Streamlit shows 'empty')")
    if df.isna().to_numpy().any() and not node.proto.placeholder:
        problems.append("missing cells without a placeholder (shown as 'None')")
    config = json.loads(node.proto.columns) if node.proto.columns else {}
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            kind = ((config.get(str(col)) or {}).get("type_config") or {}).get("type")
            if kind not in ("date", "datetime"):
                problems.append(f"datetime column {col!r} shown as {kind or 'default'}")
    return problems


def table_texts(node: Any) -> Iterator[tuple[str, str]]:
    df = shown_columns(node)
    for col in df.columns:
        yield "table.header", str(col)
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            for v in df[col].dropna():
                yield f"table.{col}", str(v)
    config = json.loads(node.proto.columns) if node.proto.columns else {}
    yield from strings(config, "table.config")


def walk(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def rendered(at: Any) -> tuple[list[tuple[str, str]], list[str]]:
    """(every (where, text) on screen, structural problems) of an AppTest after a run."""
    texts: list[tuple[str, str]] = []
    problems: list[str] = []
    for node in walk(at._tree):
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", type(node).__name__)
        if proto is None or not hasattr(proto, "DESCRIPTOR"):
            continue
        name = proto.DESCRIPTOR.name
        if kind == "exception" or name == "Exception":
            problems.append(f"exception: {getattr(proto, 'message', '')}")
            continue
        if kind == "dataframe":
            problems += table_problems(node)
            texts += list(table_texts(node))
            continue
        if name == "PlotlyChart":
            texts += list(plotly_texts(proto.spec))
            continue
        if name == "Html":
            body = _TAGS.sub(" ", proto.body)
            texts.append(("html", htmllib.unescape(body)))
            continue
        texts += [(f"{kind}{path}", text) for path, text in strings(MessageToDict(proto), "")]
    return texts, problems


def forbidden(texts: list[tuple[str, str]]) -> list[str]:
    """'what: where: text' for every text that contains a forbidden word."""
    out = []
    for where, text in texts:
        for what, pattern in FORBIDDEN.items():
            if pattern.search(text):
                out.append(f"{what}: {where}: {text[:160]}")
    return out
