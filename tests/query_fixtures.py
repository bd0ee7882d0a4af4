"""A small, realistic sample database for the ad-hoc SQL tests (built without the ETL).

``build_sample_db(path)`` creates the loader's schema (etl.load.create_schema: schema.sql, the
ledger tables from the catalogue, views.sql) in a fresh DuckDB file and inserts a few hundred
rows per ledger with pandas.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "etl" / "sql"
REF_DIR = ROOT / "data" / "reference"

COMMUNITIES = [
    # community, short name, kind, households
    ("桂雅社区", "桂雅", "城市社区", 5200),
    ("灯湖社区", "灯湖", "城市社区", 6100),
    ("桂南社区", "桂南", "城市社区", 4800),
    ("翠颐社区", "翠颐", "城市社区", 3900),
    ("怡海社区", "怡海", "城市社区", 4400),
    ("江滨社区", "江滨", "村居社区", 3600),
    ("东约社区", "东约", "村居社区", 2900),
    ("夏西社区", "夏西", "村居社区", 3100),
]
COMPOUND_NAMES = ["金地珑悦", "怡翠花园", "金御华府", "桂园苑", "海五路小区", "南约新村",
                  "翠湖绿洲", "荔园", "天佑城", "东方广场", "锦园", "海琴湾"]
HANDLERS = ["街坊会", "自治小组", "楼长", "巷长", "调解工作室", "联席会议", "党员", "物业", "社区"]
SATISFACTION = ["满意", "基本满意", "不满意", None]


def _schema(con: duckdb.DuckDBPyConnection) -> None:
    from etl.load import create_schema

    create_schema(con)  # schema.sql, the ledger tables from the catalogue, views.sql


def _insert(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    con.register("_frame", df)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _frame")
    con.unregister("_frame")


def _day(rng: np.random.Generator, start: dt.date, end: dt.date, n: int) -> list[dt.date]:
    span = (end - start).days
    return [start + dt.timedelta(days=int(d)) for d in rng.integers(0, span, n)]


def build_sample_db(path: Path, seed: int = 7) -> Path:
    """Create ``path`` with the public schema and sample rows; returns ``path``."""
    path = Path(path)
    if path.exists():
        path.unlink()
    rng = np.random.default_rng(seed)
    con = duckdb.connect(str(path))
    try:
        _schema(con)
        _reference(con, rng)
        compounds = _compounds(rng)
        _insert(con, "ref_compounds", compounds)
        _cases(con, rng, compounds)
        _volunteers(con, rng, compounds)
        _organizations(con, rng)
        _micro_projects(con, rng)
        _activities(con, rng)
        _batches(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


def _reference(con: duckdb.DuckDBPyConnection, rng: np.random.Generator) -> None:
    _insert(con, "ref_communities", pd.DataFrame(
        [(c, s, k, h, i < 5) for i, (c, s, k, h) in enumerate(COMMUNITIES)],
        columns=["community", "short_name", "kind", "households", "named_in_article"]))
    cats = pd.read_csv(REF_DIR / "categories.csv")
    _insert(con, "ref_categories", cats[["category", "label", "unit", "sla_days", "sort_order"]])
    ms = pd.read_csv(REF_DIR / "milestones.csv")
    ms = ms.rename(columns={"date": "happened_on"})
    ms["happened_on"] = pd.to_datetime(ms["happened_on"]).dt.date
    _insert(con, "ref_milestones", ms)
    _insert(con, "ref_mobilisation_2020", pd.read_csv(REF_DIR / "mobilisation_2020.csv"))


def _compounds(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for i, (community, *_rest) in enumerate(COMMUNITIES):
        for j in range(3):
            name = COMPOUND_NAMES[(i + j * 5) % len(COMPOUND_NAMES)]
            kind = "小区" if j < 2 or i % 2 else "城中村"
            rows.append((community, name, kind, int(rng.integers(300, 1500)),
                         int(rng.integers(4, 30)), bool(rng.random() < 0.8),
                         bool(rng.random() < 0.7), bool(rng.random() < 0.3)))
    return pd.DataFrame(rows, columns=["community", "compound", "kind", "households",
                                       "buildings", "has_building_heads", "property_managed",
                                       "named_in_article"])


def _cases(con, rng, compounds: pd.DataFrame, n: int = 420) -> None:
    cats = pd.read_csv(REF_DIR / "categories.csv")["category"].tolist()
    weights = np.array([0.12, 0.2, 0.18, 0.08, 0.14, 0.1, 0.12, 0.06])
    rows = []
    for i in range(n):
        ci = int(rng.integers(0, len(COMMUNITIES)))
        community = COMMUNITIES[ci][0]
        options = compounds[compounds.community == community].compound.tolist()
        compound = options[int(rng.integers(0, len(options)))] if rng.random() < 0.9 else "新发现小区"
        category = str(rng.choice(cats, p=weights / weights.sum()))
        reported = _day(rng, dt.date(2015, 1, 1), dt.date(2024, 6, 30), 1)[0]
        days = int(rng.integers(120, 900)) if category == "加装电梯" else int(rng.integers(0, 70))
        resolved = reported + dt.timedelta(days=days) if rng.random() < 0.85 else None
        followed = resolved + dt.timedelta(days=7) if resolved and rng.random() < 0.6 else None
        rows.append({
            "community": community, "case_id": f"{COMMUNITIES[ci][1]}-{i:04d}",
            "compound": compound, "category": category, "reported_on": reported,
            "resolved_on": resolved, "handled_by": str(rng.choice(HANDLERS)),
            "description": f"{compound}{category}诉求", "outcome": "已解决" if resolved else None,
            "followed_up_on": followed,
            "satisfaction": SATISFACTION[int(rng.integers(0, 4))] if followed else None,
            "remark": "=HYPERLINK(\"http://x\")" if i == 3 else None,
            "source_file": f"{COMMUNITIES[ci][1]}个案台账.xlsx", "source_sheet": "个案",
            "source_row": i + 2, "row_hash": f"h{i}", "batch_id": 1,
        })
    _insert(con, "case_records", pd.DataFrame(rows))


def _volunteers(con, rng, compounds: pd.DataFrame, n: int = 300) -> None:
    roles = ["楼长", "楼长", "楼长", "巷长", "街长"]
    surnames = "陈李黄张梁何罗林吴周"
    rows = []
    for i in range(n):
        comp = compounds.iloc[int(rng.integers(0, len(compounds)))]
        appointed = _day(rng, dt.date(2013, 1, 1), dt.date(2024, 1, 1), 1)[0]
        left = appointed + dt.timedelta(days=int(rng.integers(200, 2500))) if rng.random() < 0.2 else None
        rows.append({
            "person_id": f"P{i:05d}", "name_masked": surnames[i % len(surnames)] + "*",
            "role": roles[i % len(roles)], "community": comp.community, "compound": comp.compound,
            "building": f"{int(rng.integers(1, 20))}栋", "is_party_member": bool(rng.random() < 0.35),
            "appointed_on": appointed, "left_on": left,
            "source_file": "楼长名册.xlsx", "source_sheet": "名册", "source_row": i + 2,
            "row_hash": f"v{i}", "batch_id": 2,
        })
    _insert(con, "volunteer_records", pd.DataFrame(rows))


def _organizations(con, rng, n: int = 80) -> None:
    kinds = pd.read_csv(REF_DIR / "org_kinds.csv")["kind"].tolist()
    rows = []
    for i in range(n):
        community = COMMUNITIES[i % len(COMMUNITIES)][0]
        founded = _day(rng, dt.date(2012, 1, 1), dt.date(2023, 1, 1), 1)[0]
        rows.append({
            "org_id": f"O{i:04d}", "name": f"{community[:2]}{kinds[i % len(kinds)]}{i}",
            "kind": kinds[i % len(kinds)], "community": community, "compound": None,
            "founded_on": founded, "members": int(rng.integers(5, 120)),
            "dissolved_on": founded + dt.timedelta(days=900) if i % 9 == 0 else None,
            "source_file": "社区组织.xlsx", "source_sheet": "组织", "source_row": i + 2,
            "row_hash": f"o{i}", "batch_id": 2,
        })
    _insert(con, "organization_records", pd.DataFrame(rows))


def _micro_projects(con, rng, n: int = 90) -> None:
    rows = []
    for i in range(n):
        community = COMMUNITIES[i % len(COMMUNITIES)][0]
        applied = _day(rng, dt.date(2015, 1, 1), dt.date(2024, 1, 1), 1)[0]
        funded = bool(rng.random() < 0.6)
        rows.append({
            "project_id": f"M{i:04d}", "name": f"微创熟项目{i}", "community": community,
            "applicant": "街坊会", "applied_on": applied, "review_round": f"{applied.year}年第1批",
            "score": round(float(rng.uniform(60, 98)), 1), "is_funded": funded,
            "amount_yuan": round(float(rng.integers(5, 50)) * 1000, 2) if funded else None,
            "completed_on": applied + dt.timedelta(days=180) if funded and i % 3 else None,
            "source_file": "微创熟.xlsx", "source_sheet": "项目", "source_row": i + 2,
            "row_hash": f"m{i}", "batch_id": 3,
        })
    df = pd.DataFrame(rows)
    _insert(con, "micro_project_records", df)


def _activities(con, rng, n: int = 220) -> None:
    kinds = pd.read_csv(REF_DIR / "activity_kinds.csv")["kind"].tolist()
    rows = []
    for i in range(n):
        community = COMMUNITIES[int(rng.integers(0, len(COMMUNITIES)))][0]
        rows.append({
            "activity_id": f"A{i:04d}", "name": f"{kinds[i % len(kinds)]}{i}",
            "community": community, "kind": kinds[i % len(kinds)],
            "held_on": _day(rng, dt.date(2014, 1, 1), dt.date(2024, 6, 1), 1)[0],
            "participants": int(rng.integers(10, 800)), "organizer": "街坊会",
            "source_file": "活动台账.xlsx", "source_sheet": "活动", "source_row": i + 2,
            "row_hash": f"a{i}", "batch_id": 3,
        })
    _insert(con, "activity_records", pd.DataFrame(rows))


def _batches(con) -> None:
    now = dt.datetime(2024, 7, 1, 9, 0)
    _insert(con, "batch_log", pd.DataFrame([
        {"batch_id": b, "source_file": f, "content_hash": f"c{b}", "ledger_kinds": k,
         "loaded_at": now + dt.timedelta(minutes=b), "status": "ok", "rows_read": 100,
         "rows_new": 100, "rows_changed": 0, "rows_unchanged": 0, "rows_removed": 0,
         "rows_rejected": 2, "message": None}
        for b, f, k in [(1, "个案台账.xlsx", "cases"), (2, "楼长名册.xlsx", "volunteers"),
                        (3, "活动台账.xlsx", "activities")]]))
    _insert(con, "reject_records", pd.DataFrame([
        {"batch_id": 1 + i % 3, "source_file": "个案台账.xlsx", "sheet": "个案",
         "row_number": 10 + i, "ledger_kind": "cases",
         "reason": ["日期无法识别", "缺少社区", "类别无法归类"][i % 3]}
        for i in range(9)]))


# --------------------------------------------------------------------------- pytest fixtures
# Import these into a test module (``from query_fixtures import sample_db, state_dir``).

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    """A sample database file built from the loader's schema + pandas rows."""
    return build_sample_db(tmp_path_factory.mktemp("adhoc_db") / "guicheng.duckdb")


@pytest.fixture
def state_dir(tmp_path, monkeypatch) -> Path:
    """A private local-state folder (saved queries, audit log) for one test."""
    path = tmp_path / "state"
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(path))
    return path
