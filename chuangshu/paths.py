"""Where the project keeps its files: the dashboard's name for :mod:`etl.paths`, which owns them.

The ETL needs the same folders (reference data, database, sample) and must not import the
dashboard package, so the settings live in etl/ and are re-exported here unchanged.
"""
from __future__ import annotations

from etl.paths import ROOT, data_dir, db_path, local_state_dir, reference_dir, sample_dir

__all__ = ["ROOT", "data_dir", "db_path", "local_state_dir", "reference_dir", "sample_dir"]
