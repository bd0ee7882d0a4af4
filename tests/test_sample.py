"""The bundled sample: deterministic, reproduces the published figures, shows every promised variation,
and its manifest says truthfully where every row (good or deliberately bad) is."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from etl.sample import (BAD_ROWS, MANIFEST_NAME, REQUIRED_VARIATIONS, SampleManifest, generate, write_ledger,
                        write_ledger_csv)
from etl.sample_model import fits_year, load_reference
from etl.sample_rows import ALIASES, COLUMNS, EXTRAS

AS_OF = date(2022, 6, 30)
# Published figures (newspaper feature, 数读 box) that the sample must reproduce exactly.
FACTS_CASES = {"加装电梯": 139, "邻里矛盾": 1463, "环境卫生": 1247, "治安": 185, "公共设施": 1839,
               "安全隐患": 368, "停车": 536}
FACTS_ORGS = {"街坊会": 51, "自治小组": 58, "社团": 233, "红色业委会": 7, "创熟加油站": 38}
FACTS_VOLUNTEERS, FACTS_BUILDING_HEADS, FACTS_COMPOUNDS, FACTS_COMMUNITIES = 2186, 2142, 149, 45
REASONS = {"unknown_community", "missing_required", "invalid_date", "resolved_before_reported", "duplicate_key",
           "unknown_category"}
KEY_FIELD = {"cases": "case_id", "volunteers": "name", "organizations": "name", "micro_projects": "project_id",
             "activities": "name"}
FOOTER_MARKS = ("合计", "总计", "填表人", "审核人", "填报日期")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleManifest]:
    """One full sample generated with the default seed."""
    out = tmp_path_factory.mktemp("sample")
    return out, generate(out)


@pytest.fixture(scope="module")
def tables(sample: tuple[Path, SampleManifest]) -> dict[tuple[str, str | None], list[list[Any]]]:
    """Every sheet of every file, as the clerk sees it (row i of the list is spreadsheet row i+1)."""
    out_dir, manifest = sample
    result = {}
    for f in manifest.files:
        path = out_dir / f["file"]
        if f["format"] == "csv":
            text = path.read_bytes().decode(f["encoding"])
            result[(f["file"], None)] = [list(r) for r in csv.reader(io.StringIO(text, newline=""))]
        else:
            wb = CalamineWorkbook.from_path(str(path))
            for name in wb.sheet_names:
                result[(f["file"], name)] = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
    return result


def text(value: Any) -> str:
    """A cell as text (integral numbers without .0)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def clean(value: Any) -> str:
    """A cell as text without stray ASCII or full-width spaces."""
    return text(value).strip(" \u3000")


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bytes(sample: tuple[Path, SampleManifest], tmp_path: Path) -> None:
    out_dir, _ = sample
    again = tmp_path / "again"
    again.mkdir()
    # what an older run left behind: its listed files go, anything else stays
    (again / "旧社区_事项台账.xlsx").write_bytes(b"old")
    (again / "readme.txt").write_text("not ours", encoding="utf-8")
    (again / MANIFEST_NAME).write_text(json.dumps({"files": [{"file": "旧社区_事项台账.xlsx"}]}), encoding="utf-8")
    generate(again)
    assert not (again / "旧社区_事项台账.xlsx").exists() and (again / "readme.txt").exists()
    (again / "readme.txt").unlink()
    first = sorted(p.name for p in out_dir.iterdir())
    assert first == sorted(p.name for p in again.iterdir())
    for name in first:
        assert (out_dir / name).read_bytes() == (again / name).read_bytes(), name


def test_another_seed_gives_another_sample_with_the_same_figures(sample: tuple[Path, SampleManifest],
                                                                 tmp_path: Path) -> None:
    other = generate(tmp_path, seed=7)
    base = sample[1].to_json()
    assert other.to_json()["figures"]["cases_resolved"] == base["figures"]["cases_resolved"]
    assert other.to_json()["figures"]["volunteers_active"] == base["figures"]["volunteers_active"]
    assert other.to_json()["figures"]["organizations_active"] == base["figures"]["organizations_active"]
    assert all(other.variations.get(code) for code in REQUIRED_VARIATIONS)
    assert other.files != sample[1].files


# ---------------------------------------------------------------- published figures


def active(start: date, end: date | None) -> bool:
    """Active at the as-of date."""
    return start <= AS_OF and (end is None or end > AS_OF)


def test_figures_match_the_published_ones(sample: tuple[Path, SampleManifest]) -> None:
    truth = sample[1].truth
    resolved = Counter(c.category for c in truth.cases if c.resolved_on is not None and c.resolved_on <= AS_OF)
    assert {k: resolved[k] for k in FACTS_CASES} == FACTS_CASES
    assert sum(resolved[k] for k in FACTS_CASES) == 5777
    roles = Counter(v.role for v in truth.volunteers if active(v.appointed_on, v.left_on))
    assert roles["楼长"] == FACTS_BUILDING_HEADS
    assert roles["巷长"] + roles["街长"] == FACTS_VOLUNTEERS - FACTS_BUILDING_HEADS
    assert sum(roles.values()) == FACTS_VOLUNTEERS
    kinds = Counter(o.kind for o in truth.organizations if active(o.founded_on, o.dissolved_on))
    assert {k: kinds[k] for k in FACTS_ORGS} == FACTS_ORGS
    assert kinds["楼道微信群"] > 1400
    heads = {(v.community, v.compound) for v in truth.volunteers
             if v.role == "楼长" and active(v.appointed_on, v.left_on)}
    assert len(heads) == FACTS_COMPOUNDS
    assert len({c.community for c in truth.cases}) == FACTS_COMMUNITIES


def test_manifest_json_carries_the_same_figures(sample: tuple[Path, SampleManifest]) -> None:
    out_dir, manifest = sample
    data = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(manifest.to_json(), ensure_ascii=False))
    fig = data["figures"]
    assert fig["cases_resolved"] == FACTS_CASES and fig["cases_resolved_total"] == 5777
    assert fig["volunteers_active_total"] == FACTS_VOLUNTEERS and fig["building_head_compounds"] == FACTS_COMPOUNDS
    assert data["as_of"] == "2022-06-30" and data["sample_data"] is True
    assert set(data) >= {"files", "totals", "figures", "bad_rows", "variations", "new_compounds", "seed"}


def test_there_is_more_than_the_figures(sample: tuple[Path, SampleManifest]) -> None:
    truth = sample[1].truth
    open_cases = [c for c in truth.cases if c.resolved_on is None]
    assert 200 <= len(open_cases) <= 500
    assert all(c.outcome is None and c.followed_up_on is None for c in open_cases)
    assert any(c.reported_on.year <= 2021 for c in open_cases), "backlog ageing needs old open cases"
    assert any(c.category == "其他" and c.resolved_on for c in truth.cases)
    assert 150 <= sum(1 for v in truth.volunteers if v.left_on) <= 600
    assert any(o.dissolved_on for o in truth.organizations)
    assert 200 <= len(truth.micro_projects) <= 600 and 2000 <= len(truth.activities) <= 6000


# ---------------------------------------------------------------- plausibility of the true records


def test_no_date_after_the_as_of_date_and_history_from_2013(sample: tuple[Path, SampleManifest]) -> None:
    t = sample[1].truth
    dates = [d for c in t.cases for d in (c.reported_on, c.resolved_on, c.followed_up_on)]
    dates += [d for v in t.volunteers for d in (v.appointed_on, v.left_on)]
    dates += [d for o in t.organizations for d in (o.founded_on, o.dissolved_on)]
    dates += [d for p in t.micro_projects for d in (p.applied_on, p.completed_on)] + [a.held_on for a in t.activities]
    assert max(d for d in dates if d) <= AS_OF
    assert min(c.reported_on for c in t.cases) >= date(2013, 1, 1)
    assert min(o.founded_on for o in t.organizations) >= date(2011, 8, 1)


def test_cases_are_consistent(sample: tuple[Path, SampleManifest]) -> None:
    ref = load_reference()
    cases = sample[1].truth.cases
    assert len({(c.community, c.case_id) for c in cases}) == len(cases)
    sla = {k: v.sla_days for k, v in ref.categories.items()}
    handlers = set(ref.handler_synonyms)
    late = 0
    for c in cases:
        assert c.category in sla
        if c.resolved_on:
            assert c.resolved_on >= c.reported_on and c.outcome in ("成功", "不成功", "转办")
            late += (c.resolved_on - c.reported_on).days > sla[c.category]
        if c.followed_up_on:
            assert c.resolved_on and c.followed_up_on > c.resolved_on and c.satisfaction in ("满意", "基本满意", "不满意")
        assert set(c.handled_by.split("、")) <= handlers
    resolved = [c for c in cases if c.resolved_on]
    assert 0 < late < 0.15 * len(resolved)
    assert sum(c.outcome == "成功" for c in resolved) > 0.8 * len(resolved)
    assert sum(1 for c in resolved if c.followed_up_on) > 0.6 * len(resolved)


def test_history_shows_rollout_elevators_and_epidemic(sample: tuple[Path, SampleManifest]) -> None:
    cases = sample[1].truth.cases
    per_year = Counter(c.reported_on.year for c in cases)
    assert per_year[2018] > 1.5 * per_year[2015]
    lifts = [c for c in cases if c.category == "加装电梯" and c.resolved_on]
    assert sum(c.resolved_on.year >= 2019 for c in lifts) > 0.75 * len(lifts)

    def spring(year: int, category: str) -> int:
        return sum(1 for c in cases if c.category == category and c.reported_on.year == year
                   and 2 <= c.reported_on.month <= 4)
    assert spring(2020, "邻里矛盾") < 0.6 * spring(2019, "邻里矛盾")
    assert spring(2020, "环境卫生") > 1.3 * spring(2019, "环境卫生")
    cuiyuan = [c for c in lifts if c.compound == "翠苑"]
    assert len(cuiyuan) == 12 and {c.community for c in cuiyuan} == {"桂雅社区"}


def test_volunteers_sit_where_the_reference_says(sample: tuple[Path, SampleManifest]) -> None:
    ref = load_reference()
    vols = sample[1].truth.volunteers
    heads = {(c.community, c.name) for c in ref.compounds if c.has_heads}
    lanes = {(c.community, c.name) for c in ref.compounds if c.kind == "街巷"}
    assert len(heads) == 149 and all(c.kind == "小区" for c in ref.compounds if c.has_heads)
    serving = [v for v in vols if active(v.appointed_on, v.left_on)]
    assert {(v.community, v.compound) for v in serving if v.role == "楼长"} == heads
    assert all((v.community, v.compound) in lanes for v in vols if v.role != "楼长")
    assert min(v.appointed_on for v in vols if v.role == "楼长").year == 2013
    first_lane = min((v for v in vols if v.role == "巷长"), key=lambda v: v.appointed_on)
    assert first_lane.community == "江滨社区" and first_lane.appointed_on.year == 2019
    identities = Counter((v.community, v.name, v.phone or v.building) for v in vols)
    assert max(identities.values()) == 1
    assert any(v.phone is None and v.building for v in vols)
    assert all(v.phone is None or (len(v.phone) == 11 and v.phone.isdigit()) for v in vols)
    assert all(v.left_on is None or v.appointed_on < v.left_on < AS_OF for v in vols)
    mid = date(2020, 6, 30)
    then = [v for v in vols if v.role == "楼长" and v.appointed_on <= mid and (v.left_on is None or v.left_on > mid)]
    assert 0.35 <= sum(v.is_party_member for v in then) / len(then) <= 0.45


def test_organizations_projects_activities(sample: tuple[Path, SampleManifest]) -> None:
    t = sample[1].truth
    assert len({(o.community, o.kind, o.name) for o in t.organizations}) == len(t.organizations)
    first = {k: min(o.founded_on for o in t.organizations if o.kind == k) for k in FACTS_ORGS}
    assert first["街坊会"].year >= 2012 and first["创熟加油站"].year >= 2018
    assert min(o.founded_on for o in t.organizations if o.kind == "楼道微信群").year >= 2015
    assert sum(o.founded_on.year >= 2017 for o in t.organizations if o.kind == "自治小组") > 40
    projects = t.micro_projects
    assert len({p.project_id for p in projects}) == len(projects)
    assert min(p.applied_on for p in projects).year == 2015
    assert 0.55 <= sum(p.is_funded for p in projects) / len(projects) <= 0.66
    assert all(5000 <= p.amount_yuan <= 50000 for p in projects if p.is_funded)
    assert all(p.amount_yuan is None for p in projects if not p.is_funded)
    assert {c.name for c in load_reference().communities} == {p.community for p in projects}
    festivals = Counter(a.held_on.year for a in t.activities if a.kind == "邻里节")
    assert min(festivals) == 2014 and all(festivals[y] >= 40 for y in range(2015, 2022))
    assert {a.held_on.year for a in t.activities if a.kind == "防疫"} == {2020, 2021, 2022}
    assert len({(a.community, a.name, a.held_on) for a in t.activities}) == len(t.activities)
    assert all(fits_year(a.name, a.held_on.year) for a in t.activities)
    assert all(fits_year(p.name, p.applied_on.year) for p in projects)
    assert all(fits_year(c.description, c.reported_on.year) for c in t.cases)


def test_reference_tables(sample: tuple[Path, SampleManifest]) -> None:
    ref = load_reference()
    names = [c.name for c in ref.communities]
    assert len(names) == 45 == len(set(names)) and all(n.endswith("社区") for n in names)
    named = {c.short for c in ref.communities if c.named}
    assert named == {"同德", "桂南", "翠颐", "怡海", "桂雅", "灯湖", "桂花", "江滨", "桂园"}
    assert "村居社区" == ref.community("江滨社区").kind
    assert all(2000 <= c.households <= 12000 for c in ref.communities)
    aliases = [a for c in ref.communities for a in c.aliases]
    assert len(aliases) == len(set(aliases)) and not set(aliases) & set(names)
    compounds = {(c.community, c.name): c for c in ref.compounds}
    assert len(compounds) == len(ref.compounds) and all(c.community in names for c in ref.compounds)
    assert compounds[("桂花社区", "南丰村小区")].households == 72
    assert not compounds[("桂花社区", "南丰村小区")].managed
    assert compounds[("桂雅社区", "翠苑")].buildings == 12
    for where in (("同德社区", "中海千灯湖1号"), ("桂南社区", "金地珑悦"), ("翠颐社区", "怡翠花园"),
                  ("怡海社区", "金御华府"), ("桂园社区", "桂园苑"), ("江滨社区", "大道东片区")):
        assert compounds[where].named
    assert sum(1 for c in ref.compounds if c.kind == "小区" and not c.has_heads) > 0


# ---------------------------------------------------------------- manifest vs files


def test_files_are_named_and_listed(sample: tuple[Path, SampleManifest]) -> None:
    out_dir, manifest = sample
    ref = load_reference()
    names = [f["file"] for f in manifest.files]
    assert len(names) == len(set(names))
    assert {p.name for p in out_dir.iterdir()} == set(names) | {MANIFEST_NAME}
    for f in manifest.files:
        assert f["file"].startswith(f["community"] + "_") and f["community"] in {c.name for c in ref.communities}
        assert f["format"] == Path(f["file"]).suffix[1:]
    kinds_of = {c.name: set() for c in ref.communities}
    for f in manifest.files:
        kinds_of[f["community"]].update(f["kinds"])
    assert all(k == set(KEY_FIELD) for k in kinds_of.values()), "every community sends all five ledger kinds"
    assert sum(f["format"] == "xlsx" for f in manifest.files) > 0.7 * len(manifest.files)


def test_totals_agree_with_the_records(sample: tuple[Path, SampleManifest]) -> None:
    manifest = sample[1]
    totals = manifest.totals()
    for kind in KEY_FIELD:
        assert totals[kind]["good_rows"] == len(getattr(manifest.truth, kind))
    assert sum(t["bad_rows"] for t in totals.values()) == len(manifest.bad_rows) == len(BAD_ROWS)
    assert 10 <= len(manifest.bad_rows) <= 20


def test_every_record_is_where_the_manifest_says(sample, tables) -> None:
    manifest = sample[1]
    ref = load_reference()
    spellings = {c.name: {c.name, c.short, *c.aliases} for c in ref.communities}
    for kind, key in KEY_FIELD.items():
        for record in getattr(manifest.truth, kind):
            src = record.source
            row = tables[(src.file, src.sheet)][src.row - 1]
            cells = {clean(v) for v in row}
            assert clean(getattr(record, key)) in cells, (kind, src)
            assert cells & spellings[record.community], (kind, src)


def test_bad_rows_are_where_the_manifest_says(sample, tables) -> None:
    manifest = sample[1]
    assert Counter((b["kind"], b["reason"]) for b in manifest.bad_rows) == Counter(BAD_ROWS)
    good = {(r.source.file, r.source.sheet, r.source.row) for k in KEY_FIELD for r in getattr(manifest.truth, k)}
    for bad in manifest.bad_rows:
        assert bad["reason"] in REASONS
        rows = tables[(bad["file"], bad["sheet"])]
        assert (bad["file"], bad["sheet"], bad["row"]) not in good
        row = [clean(v) for v in rows[bad["row"] - 1]]
        assert sum(1 for v in row if v) >= 4, bad
        if bad["reason"] == "duplicate_key":
            earlier = [i + 1 for i, r in enumerate(rows[: bad["row"] - 1]) if bad["detail"] in map(clean, r)]
            assert earlier and (bad["file"], bad["sheet"], earlier[0]) in good
        if bad["reason"] == "unknown_community":
            known = {s for c in load_reference().communities for s in (c.name, c.short, *c.aliases)}
            community_cells = [v for v in row if v.endswith("社区")]
            assert community_cells and not set(community_cells) & known


def test_every_data_row_is_accounted_for(sample, tables) -> None:
    """Between header and footer, each non-blank row is a good record or a listed bad row, nothing else."""
    manifest = sample[1]
    placed = Counter((r.source.file, r.source.sheet) for k in KEY_FIELD for r in getattr(manifest.truth, k))
    rows_of: dict[tuple[str, str | None], set[int]] = {}
    for k in KEY_FIELD:
        for r in getattr(manifest.truth, k):
            rows_of.setdefault((r.source.file, r.source.sheet), set()).add(r.source.row)
    for b in manifest.bad_rows:
        rows_of.setdefault((b["file"], b["sheet"]), set()).add(b["row"])
    for f in manifest.files:
        for s in f["sheets"]:
            rows = tables[(f["file"], s["sheet"])]
            if s["kind"] is None:
                assert not any(any(clean(v) for v in r) for r in rows)
                continue
            assert placed[(f["file"], s["sheet"])] == s["good_rows"]
            header = [clean(v) for v in rows[s["header_row"] - 1]]
            assert_header(header, s["kind"])
            data = {i + 1 for i, r in enumerate(rows) if i >= s["header_row"] and any(clean(v) for v in r)
                    and not clean(r[0]).startswith(FOOTER_MARKS)}
            assert data == rows_of[(f["file"], s["sheet"])], (f["file"], s["sheet"])


def assert_header(header: list[str], kind: str) -> None:
    """Every header cell is a template header, an alias, or a known extra column; required ones present."""
    known = {c: {c, *ALIASES[kind].get(c, ())} for c in COLUMNS[kind]}
    extras = {"序号", *EXTRAS[kind]}
    for cell in filter(None, header):
        assert cell in extras or any(cell in names for names in known.values()), (kind, cell)
    required = {"cases": ("事项编号", "社区", "类别", "登记日期"), "volunteers": ("姓名", "职务", "社区", "任职日期"),
                "organizations": ("名称", "类型", "社区", "成立日期"),
                "micro_projects": ("项目编号", "项目名称", "社区", "申报日期", "是否立项"),
                "activities": ("活动名称", "社区", "类型", "活动日期")}[kind]
    for col in required:
        assert set(header) & known[col], (kind, col)


# ---------------------------------------------------------------- variations


def test_every_promised_variation_is_there(sample: tuple[Path, SampleManifest]) -> None:
    manifest = sample[1]
    files = {f["file"]: f for f in manifest.files}
    for code in REQUIRED_VARIATIONS:
        assert manifest.variations.get(code), code
    for code, places in manifest.variations.items():
        for place in places:
            assert place["file"] in files, code
            sheets = {s["sheet"] for s in files[place["file"]]["sheets"]}
            assert place["sheet"] is None or place["sheet"] in sheets, code
    bad_in = {(b["file"], b["sheet"]) for b in manifest.bad_rows}
    assert any(files[f]["format"] == "csv" for f, _ in bad_in)


def first_place(manifest: SampleManifest, code: str) -> dict[str, Any]:
    """The first file/sheet showing a variation."""
    return manifest.variations[code][0]


def test_variations_are_really_in_the_files(sample, tables) -> None:
    out_dir, manifest = sample
    files = {f["file"]: f for f in manifest.files}
    raw = {code: (out_dir / first_place(manifest, code)["file"]).read_bytes()
           for code in ("csv_utf8", "csv_utf8_bom", "csv_gbk", "csv_gb18030")}
    assert raw["csv_utf8_bom"].startswith(b"\xef\xbb\xbf") and not raw["csv_utf8"].startswith(b"\xef\xbb\xbf")
    raw["csv_utf8"].decode("utf-8")
    for code in ("csv_gbk", "csv_gb18030"):
        with pytest.raises(UnicodeDecodeError):
            raw[code].decode("utf-8")
    place = first_place(manifest, "title_merged")
    sheet = CalamineWorkbook.from_path(str(out_dir / place["file"])).get_sheet_by_name(place["sheet"])
    assert sheet.merged_cell_ranges
    cells = lambda code: [v for r in tables[tuple(first_place(manifest, code).values())] for v in r]  # noqa: E731
    assert any(isinstance(v, (date, datetime)) for v in cells("date_excel"))
    assert any("２０" in text(v) for v in cells("date_fullwidth"))
    assert any("年" in text(v) and "月" in text(v) for v in cells("date_cn"))
    assert any(text(v).endswith("万") for v in cells("amount_wan"))
    assert any(text(v).startswith("\u3000") or text(v).endswith("\u3000") for v in cells("community_fullwidth_space"))
    serial_place = first_place(manifest, "date_serial")
    assert any(isinstance(v, float) and 41000 < v < 44800 for v in cells("date_serial"))
    assert files[serial_place["file"]]["format"] == "xlsx"
    new = {c for _, c in manifest.truth.new_compounds}
    known = {c.name for c in load_reference().compounds}
    assert new and not new & known
    assert any(c.compound in new for c in manifest.truth.cases)


# ---------------------------------------------------------------- fixture helpers


def test_write_ledger_reports_the_rows_excel_shows(tmp_path: Path) -> None:
    df = pd.DataFrame({"事项编号": ["A-1", "A-2", "A-3"], "社区": ["桂南社区"] * 3, "类别": ["停车"] * 3,
                       "登记日期": [date(2021, 3, 5), date(2021, 3, 6), "2021-02-30"]}, dtype=object)
    path = tmp_path / "桂南社区_测试.xlsx"
    rows = write_ledger(path, {"台账": df, "空": None}, title=["桂南社区2021年台账", "填报单位：桂南社区"],
                        blank_after=[0], date_style="cn", aliases={"登记日期": "受理日期"})
    assert rows == {"台账": [4, 6, 7], "空": []}
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("台账").to_python(skip_empty_area=False)
    assert sheet[2][3] == "受理日期" and sheet[3][0] == "A-1" and sheet[3][3] == "2021年3月5日"
    assert not any(sheet[4]) and sheet[6][3] == "2021-02-30" and sheet[7][0] == "合计"
    assert [r[0] for r in sheet[8:]] == ["填表人：陈丽娟", "审核人：梁志强", "填报日期：2022年6月30日"]


def test_write_ledger_csv_encodings(tmp_path: Path) -> None:
    df = pd.DataFrame({"活动名称": ["邻里节"], "社区": ["桂南\u3000"], "活动日期": [date(2021, 3, 5)]}, dtype=object)
    for encoding in ("utf-8", "utf-8-sig", "gbk", "gb18030"):
        path = tmp_path / f"桂南社区_{encoding}.csv"
        lines = write_ledger_csv(path, df, encoding=encoding, title="桂南社区活动台账", date_style="fullwidth",
                                 footer=True)
        assert lines == [3]
        content = list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))
        assert content[2] == ["邻里节", "桂南\u3000", "２０２１年３月５日"] and content[3][0] == "合计"
