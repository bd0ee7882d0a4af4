"""The ETL's public API: everything the dashboard (chuangshu/, pages/) and the CLI may call.

Layers point one way: pages → chuangshu → this module (plus etl.paths for folders and etl.kinds,
the catalogue of ledger kinds). Nothing else in etl/ is imported from outside it, and etl never
imports the dashboard (tests/test_layers.py checks both). What lies behind these names (staging,
the loader's private objects, the parsers) may change without touching a page.

Intake, as the 数据上报 page and ``python -m etl load`` both do it:

* :func:`check_file` — the limits on one file's bytes (raises :class:`Refused`);
* :func:`parse_file` — one file checked and parsed, never raises (``ParsedFile.error``);
* :func:`preview_files` — the dry run: what loading would do, per file and sheet; writes nothing;
* :func:`load_files` — the load, published atomically (raises :class:`LoadFailed` on a disk or
  permission fault, with the database unchanged);
* :func:`file_submissions` — the submission rows a parsed file gives (community, months);
* :func:`read_sheets` — a file's raw grids (for the clerk's error report).

Database upkeep (:func:`ensure_current`, :func:`ensure_sample_db`, :func:`build_marts`, the
schema errors :class:`SchemaTooNew` and :class:`SchemaMismatch`) and the clerks' templates
(:func:`build_template`, :func:`template_file_name`, :func:`resolve_community`) are here too.

All of them apply :data:`LIMITS` unless given other :class:`Limits` (``None``: none at all, the
office's ``--no-limits``).
"""
from __future__ import annotations

from etl.bootstrap import ensure_current, ensure_sample_db
from etl.errors import LedgerError, LoadFailed, Problem
from etl.extract import ledger_files, read_sheets
from etl.kinds import BY_NAME, KINDS
from etl.limits import ACCEPTED, LIMITS, Limits, Refused, check_file, is_refusal, size_text, with_overrides
from etl.load import (FileSummary, LoadReport, PreviewReport, SheetSummary, file_submissions, load_files,
                      preview_files, print_summary)
from etl.marts import build as build_marts
from etl.migrations import SchemaMismatch, SchemaTooNew
from etl.pipeline import ParsedFile, Reject, content_hash, parse_file
from etl.reference import DIRECTIONS, PERIODS, SCOPE_KINDS, SOURCES, Reference, load_reference
from etl.template import build as build_template
from etl.template import file_name as template_file_name
from etl.template import resolve_community

STATUS_LOADED, STATUS_UNCHANGED, STATUS_UNREADABLE = "已载入", "未变化", "无法读取"  # FileSummary.status


def kind_title(name: str | None) -> str:
    """The Chinese title of a ledger kind (事项台账 …), '' for none."""
    return BY_NAME[name].title if name else ""


__all__ = [
    "ACCEPTED", "BY_NAME", "DIRECTIONS", "KINDS", "LIMITS", "PERIODS", "SCOPE_KINDS", "SOURCES", "STATUS_LOADED", "STATUS_UNCHANGED", "STATUS_UNREADABLE",
    "FileSummary", "LedgerError", "Limits", "LoadFailed", "LoadReport", "ParsedFile", "PreviewReport", "Problem",
    "Reference", "Refused", "Reject", "SchemaMismatch", "SchemaTooNew", "SheetSummary", "build_marts",
    "build_template", "check_file", "content_hash", "ensure_current", "ensure_sample_db", "file_submissions",
    "is_refusal", "kind_title", "ledger_files", "load_files", "load_reference", "parse_file", "preview_files",
    "print_summary", "read_sheets", "resolve_community", "size_text", "template_file_name", "with_overrides",
]
