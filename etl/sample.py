"""Generate the bundled sample ledgers (样例数据, all invented) and their manifest.

`generate(out_dir, seed)` writes one set of ledger files per community (cases, 三长 roster,
organisations, micro-projects, activities) as real clerks would send them, plus `manifest.json`
listing every file, sheet, variation and deliberately bad row. The good rows reproduce the
published figures exactly at the as-of date. The same seed gives byte-identical files.

The sheet writers `write_ledger` / `write_ledger_csv` are re-exported for tests that need
small edge-case fixtures.

manifest.json keys: format_version, sample_data, note, generator, seed, as_of, programme_start,
kinds ({code: Chinese name}), totals ({kind: files, sheets, good_rows, bad_rows}), figures (what
the good rows give at as_of), files ([{file, community, format, encoding, kinds, variations,
sheets: [{sheet, kind, header_row, good_rows, bad_rows, variations}]}]; sheet is null for CSV and
kind null for an empty sheet), bad_rows ([{file, sheet, row, kind, reason, detail}]; row is the
spreadsheet row or CSV line the clerk sees), variations ({code: [{file, sheet}]}) and
new_compounds ([{community, compound}] not in compounds.csv). The true records themselves,
each with its file/sheet/row, are on `SampleManifest.truth` (in memory only).
"""
from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from etl.sample_cases import generate_cases
from etl.sample_events import generate_activities, generate_projects
from etl.sample_files import FilePlan, Planner, SheetPlan, build_layout, render_rows
from etl.sample_io import write_csv, write_ledger, write_ledger_csv, write_workbook
from etl.sample_model import (AS_OF, KINDS, PROGRAMME_START, Reference, Source, Truth, load_reference, rng_for)
from etl.sample_people import NameBook
from etl.sample_registers import generate_organizations, generate_volunteers
from etl.sample_rows import BadRows, RowContext

__all__ = ["generate", "SampleManifest", "build_truth", "published_figures", "write_ledger", "write_ledger_csv",
           "BAD_ROWS", "REQUIRED_VARIATIONS", "MANIFEST_NAME"]

MANIFEST_NAME = "manifest.json"
# The rows every sample carries that the loader must reject: (ledger kind, reason code).
BAD_ROWS = (("cases", "unknown_community"), ("cases", "missing_required"), ("cases", "missing_required"),
            ("cases", "invalid_date"), ("cases", "invalid_date"), ("cases", "resolved_before_reported"),
            ("cases", "resolved_before_reported"), ("cases", "duplicate_key"), ("cases", "duplicate_key"),
            ("cases", "unknown_category"), ("volunteers", "missing_required"), ("volunteers", "unknown_community"),
            ("volunteers", "invalid_date"), ("organizations", "missing_required"), ("organizations", "invalid_date"),
            ("micro_projects", "missing_required"), ("micro_projects", "invalid_date"),
            ("activities", "missing_required"), ("activities", "unknown_community"), ("activities", "invalid_date"))
# Variations the sample promises to contain (each at least once).
REQUIRED_VARIATIONS = (
    "xlsx", "csv_utf8", "csv_utf8_bom", "csv_gbk", "csv_gb18030", "title_row", "title_rows_multi", "title_merged",
    "footer_total", "footer_signature", "blank_rows", "column_order", "extra_columns", "header_aliases",
    "sheets_by_year", "sheets_by_category", "multi_kind_workbook", "empty_sheet", "files_split_by_period",
    "date_excel", "date_serial", "date_iso", "date_slash", "date_dot", "date_cn", "date_compact", "date_fullwidth",
    "date_mixed", "community_short", "community_alias", "community_space", "community_fullwidth_space",
    "compound_space", "category_synonym", "new_compound", "party_word", "party_full", "party_yes_no", "party_tick",
    "party_probationary", "phone_missing", "amount_wan", "amount_comma", "funded_tongguo", "funded_lixiang",
)


@dataclass
class SampleManifest:
    """What `generate` wrote: files, sheets, row counts, variations, bad rows, figures and the true records."""

    seed: int
    as_of: date
    files: list[dict[str, Any]] = field(default_factory=list)
    bad_rows: list[dict[str, Any]] = field(default_factory=list)
    variations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    truth: Truth = field(default_factory=Truth, repr=False)

    def totals(self) -> dict[str, dict[str, int]]:
        """Per ledger kind: files, sheets, good rows and bad rows."""
        out = {k: {"files": 0, "sheets": 0, "good_rows": 0, "bad_rows": 0} for k in KINDS}
        for f in self.files:
            for kind in f["kinds"]:
                out[kind]["files"] += 1
            for s in f["sheets"]:
                if s["kind"]:
                    out[s["kind"]]["sheets"] += 1
                    out[s["kind"]]["good_rows"] += s["good_rows"]
                    out[s["kind"]]["bad_rows"] += s["bad_rows"]
        return out

    def to_json(self) -> dict[str, Any]:
        """The manifest as written to manifest.json."""
        return {
            "format_version": 1,
            "sample_data": True,
            "note": "样例数据：人名、电话、小区及台账内容均为虚构，仅公开报道中的汇总数字为真实口径。",
            "generator": "etl.sample",
            "seed": self.seed,
            "as_of": self.as_of.isoformat(),
            "programme_start": PROGRAMME_START.isoformat()[:7],
            "kinds": KINDS,
            "totals": self.totals(),
            "figures": published_figures(self.truth, self.as_of),
            "files": self.files,
            "bad_rows": self.bad_rows,
            "variations": dict(sorted(self.variations.items())),
            "new_compounds": [{"community": c, "compound": n} for c, n in self.truth.new_compounds],
        }


def _active(start: date, end: date | None, as_of: date) -> bool:
    """Active at as_of: started on or before it, not ended by it."""
    return start <= as_of and (end is None or end > as_of)


def published_figures(truth: Truth, as_of: date = AS_OF) -> dict[str, Any]:
    """The headline figures the true records give at as_of (counted the way the loader counts)."""
    resolved = Counter(c.category for c in truth.cases if c.resolved_on and c.resolved_on <= as_of)
    resolved.pop("其他", None)
    vols = Counter(v.role for v in truth.volunteers if _active(v.appointed_on, v.left_on, as_of))
    orgs = Counter(o.kind for o in truth.organizations if _active(o.founded_on, o.dissolved_on, as_of))
    heads = {(v.community, v.compound) for v in truth.volunteers
             if v.role == "楼长" and _active(v.appointed_on, v.left_on, as_of)}
    funded = [p for p in truth.micro_projects if p.is_funded and p.applied_on <= as_of]
    return {
        "communities": len({c.community for c in truth.cases}),
        "building_head_compounds": len(heads),
        "cases_resolved": dict(sorted(resolved.items())),
        "cases_resolved_total": sum(resolved.values()),
        "cases_open": sum(1 for c in truth.cases if c.resolved_on is None),
        "volunteers_active": dict(sorted(vols.items())),
        "volunteers_active_total": sum(vols.values()),
        "organizations_active": dict(sorted(orgs.items())),
        "micro_projects": {"applications": len(truth.micro_projects), "funded": len(funded),
                           "funded_amount_yuan": sum(p.amount_yuan or 0 for p in funded)},
        "activities": len(truth.activities),
    }


def build_truth(ref: Reference, seed: int) -> tuple[Truth, NameBook]:
    """All true records of the sample (before any file is written)."""
    truth = Truth()
    names = NameBook(rng_for(seed, "names"))
    generate_cases(ref, seed, truth)
    layout = generate_volunteers(ref, seed, truth, names)
    generate_organizations(ref, seed, truth, layout)
    generate_projects(ref, seed, truth)
    generate_activities(ref, seed, truth)
    return truth, names


def _good_count(sheet: SheetPlan) -> int:
    """Number of good rows in a sheet."""
    return sum(1 for r in sheet.rows if r.record is not None)


def _prefer(index: int, plan: FilePlan, sheet: SheetPlan) -> bool:
    """Where some bad rows should preferably go, so that CSV and titled sheets get some too."""
    if index in (0, 18):
        return plan.style.fmt == "csv"
    if index == 3:
        return plan.style.title_rows > 0 and plan.style.blank_rows
    if index == 11:
        return len(plan.sheets) > 1
    return True


def place_bad_rows(plans: list[FilePlan], ref: Reference, truth: Truth, names: NameBook,
                   rng: random.Random) -> None:
    """Insert the BAD_ROWS into chosen sheets (each in a different sheet)."""
    maker = BadRows(names, truth.case_id_styles)
    taken: set[int] = set()
    for i, (kind, reason) in enumerate(BAD_ROWS):
        pool = [(f, s) for f in plans for s in f.sheets if s.kind == kind and _good_count(s) >= 6
                and id(s) not in taken]
        pool = [(f, s) for f, s in pool if _prefer(i, f, s)] or pool
        plan, sheet = rng.choice(pool)
        taken.add(id(sheet))
        ctx = RowContext(ref, truth, plan.style, rng)
        row, earliest = maker.make(ctx, kind, reason, sheet.rows, plan.community)
        sheet.rows.insert(rng.randint(max(earliest, 1), len(sheet.rows)), row)


def clear_previous(out_dir: Path) -> None:
    """Delete the files an earlier run listed in its manifest (nothing else)."""
    old = out_dir / MANIFEST_NAME
    if not old.exists():
        return
    try:
        listed = [f["file"] for f in json.loads(old.read_text(encoding="utf-8")).get("files", [])]
    except (ValueError, KeyError, TypeError):
        listed = []
    for name in listed:
        path = out_dir / name
        if path.parent == out_dir and path.is_file():
            path.unlink()
    old.unlink()


def write_file(plan: FilePlan, out_dir: Path, manifest: SampleManifest) -> None:
    """Write one planned file and record its sheets, rows and variations in the manifest."""
    path = out_dir / plan.name
    if plan.style.fmt == "csv":
        numbers = {None: write_csv(path, plan.sheets[0].layout, plan.style.encoding)}
    else:
        numbers = write_workbook(path, [s.layout for s in plan.sheets])
    sheets = []
    for sheet in plan.sheets:
        sheet_name = None if plan.style.fmt == "csv" else sheet.name
        for row, number in zip(sheet.rows, numbers[sheet_name]):
            if row.record is not None:
                row.record.source = Source(plan.name, sheet_name, number)
            else:
                manifest.bad_rows.append({"file": plan.name, "sheet": sheet_name, "row": number,
                                          "kind": sheet.kind, "reason": row.reason, "detail": row.detail})
        title_rows = len(sheet.layout.title) if sheet.kind else 0
        sheets.append({"sheet": sheet_name, "kind": sheet.kind,
                       "header_row": title_rows + 1 if sheet.kind else None,
                       "good_rows": _good_count(sheet), "bad_rows": len(sheet.rows) - _good_count(sheet),
                       "variations": sorted(sheet.codes)})
        for code in sheet.codes:
            manifest.variations.setdefault(code, []).append({"file": plan.name, "sheet": sheet_name})
    for code in sorted(plan.codes):
        manifest.variations.setdefault(code, []).append({"file": plan.name, "sheet": None})
    manifest.files.append({"file": plan.name, "community": plan.community, "format": plan.style.fmt,
                           "encoding": plan.style.encoding, "kinds": plan.kinds, "sheets": sheets,
                           "variations": sorted(plan.codes)})


def generate(out_dir: Path, seed: int = 2022) -> SampleManifest:
    """Write the sample ledgers and manifest.json into out_dir; the same seed gives identical bytes."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clear_previous(out_dir)
    ref = load_reference()
    truth, names = build_truth(ref, seed)
    plans = Planner(ref, truth, rng_for(seed, "files")).plan()
    rng = rng_for(seed, "render")
    for plan in plans:
        for sheet in plan.sheets:
            if sheet.kind:
                ctx = RowContext(ref, truth, plan.style, rng)
                render_rows(sheet, ctx)
                sheet.codes |= ctx.used
    place_bad_rows(plans, ref, truth, names, rng_for(seed, "bad-rows"))
    manifest = SampleManifest(seed=seed, as_of=AS_OF, truth=truth)
    for plan in plans:
        for sheet in plan.sheets:
            build_layout(sheet, plan, names, rng)
        write_file(plan, out_dir, manifest)
    text = json.dumps(manifest.to_json(), ensure_ascii=False, indent=1)
    (out_dir / MANIFEST_NAME).write_text(text + "\n", encoding="utf-8")
    return manifest


if __name__ == "__main__":  # pragma: no cover - manual use: python -m etl.sample [OUT_DIR]
    import sys
    import time

    from etl.paths import sample_dir

    started = time.perf_counter()
    result = generate(Path(sys.argv[1]) if len(sys.argv) > 1 else sample_dir())
    print(f"{len(result.files)} files in {time.perf_counter() - started:.2f}s")
