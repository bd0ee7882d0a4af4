"""First run: build the database from the bundled sample when it is missing."""
from __future__ import annotations

from pathlib import Path

from chuangshu.paths import db_path, sample_dir
from etl.extract import ledger_files
from etl import marts, migrations
from etl.load import LoadReport, load_files, stored_meta

SAMPLE_SEED = 2022


def generate_sample(out: Path | None = None, seed: int = SAMPLE_SEED, force: bool = False) -> Path:
    """Write the sample ledgers (unless already there) and return their folder."""
    from etl.sample import generate

    out = Path(out or sample_dir())
    if force or not (out / "manifest.json").exists():
        generate(out, seed=seed)
    return out


def ensure_sample_db(db: Path | None = None, force: bool = False) -> LoadReport | None:
    """Build ``db`` from the sample if it does not exist (or ``force``); None if nothing to do."""
    db = Path(db or db_path())
    if db.exists() and not force:
        return None
    folder = generate_sample(force=force)
    if force and db.exists():
        db.unlink()
    db.parent.mkdir(parents=True, exist_ok=True)
    return load_files(ledger_files([folder]), db, dataset="sample")


def ensure_current(db: Path | None = None) -> LoadReport | None:
    """Migrate the schema and rebuild the marts of a database written by older code (None if it
    is current or missing); raises migrations.SchemaTooNew for a database of newer code.

    The metric SQL reads marts and columns that a database loaded before they existed (or
    changed) lacks; a load without files migrates it and rebuilds them, publishing atomically
    like any load.
    """
    db = Path(db or db_path())
    if not db.exists():
        return None
    if migrations.check_version(db) == migrations.SCHEMA_VERSION \
            and stored_meta(db, "marts_version") == marts.VERSION:
        return None
    return load_files([], db)
