"""First run: build the database from the bundled sample when it is missing."""
from __future__ import annotations

from pathlib import Path

from chuangshu.paths import db_path, sample_dir
from etl.extract import ledger_files
from etl.load import LoadReport, load_files

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
