"""Where the project keeps its files; every path can be overridden by an environment variable.

Owned by the ETL (which must not import the dashboard package); chuangshu.paths re-exports it.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Folder for generated data (sample ledgers, database, local state)."""
    return Path(os.environ.get("CHUANGSHU_DATA_DIR", ROOT / "data"))


def db_path() -> Path:
    """The published analytics database the dashboard reads."""
    return Path(os.environ.get("CHUANGSHU_DB", data_dir() / "guicheng.duckdb"))


def sample_dir() -> Path:
    """Where the bundled sample ledgers are generated."""
    return Path(os.environ.get("CHUANGSHU_SAMPLE_DIR", data_dir() / "sample"))


def reference_dir() -> Path:
    """Versioned reference data (communities, compounds, categories...)."""
    return ROOT / "data" / "reference"


def local_state_dir() -> Path:
    """State that must survive a reload of the analytics database (saved queries, audit log)."""
    path = Path(os.environ.get("CHUANGSHU_STATE_DIR", data_dir() / "local"))
    path.mkdir(parents=True, exist_ok=True)
    return path
