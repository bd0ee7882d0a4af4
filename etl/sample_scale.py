"""Scaled sample ledgers for benchmarks: ``python -m etl sample --scale N [--out DIR]``.

`generate_scaled(out_dir, scale=N, seed=2022)` writes N times the bundled sample's records as
UTF-8 CSV ledgers with the template's headers (the real loader takes them as they are), a few
files per ledger kind: the 45 communities are split into ``groups`` groups (default 5) and each
kind gets one file per group, ``<kind>_g<group>_x<N>.csv`` (names unique across kinds and scales).

How it scales (chosen so that a scaled database loads with zero rejects and its figures are
checkable): the number of communities stays 45 (the loader rejects communities that the
reference data does not know, and the households per community stay real), and every true
record of the 1× sample (``etl.sample.build_truth``, the same seed) is written N times, copy k
with its own key: case number ``<id>-k``, project number ``<id>-k``, organisation and activity
names with ``（k）`` appended, and each person of the 三长 roster with their own phone number per
copy (so copy k is a different person with the same appointment history). Dates, categories,
places and outcomes are the sample's, so every count at N× is exactly N times the 1× count (and
medians and rates are the 1× ones); that is what makes the benchmarks' numbers checkable.

The CSVs carry a little of the clerks' mess that costs the loader real work: about 30 % of the
community names in their short form (同德 for 同德社区) and 15 % of the case dates written as
2021年3月5日 / 2021/3/5 / 2021.3.5 instead of ISO. Everything is built column-wise with
numpy/pandas and written with pyarrow (about 6 million cases at 1000×, written in about a minute).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from etl.kinds import BY_NAME

DEFAULT_GROUPS = 5
KIND_ORDER = ("cases", "volunteers", "organizations", "micro_projects", "activities")


@dataclass
class ScaledSample:
    """What generate_scaled wrote: files (name -> kind, rows) and rows per kind."""

    out_dir: Path
    scale: int
    files: dict[str, tuple[str, int]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def paths(self, group: int | None = None) -> list[Path]:
        """The written files (of one community group, or all)."""
        return [self.out_dir / name for name in self.files
                if group is None or f"_g{group}_" in name]

    def __str__(self) -> str:
        counts = "，".join(f"{BY_NAME[k].title} {n:,} 行" for k, n in self.rows.items())
        return f"{self.out_dir}（{len(self.files)} 个文件；{counts}）"


def _iso(values: pd.Series) -> pd.Series:
    """Dates (datetime.date or None) as ISO text, blank for None."""
    return values.map(lambda d: d.isoformat() if isinstance(d, date) else "")


def _truth_frames(seed: int) -> dict[str, pd.DataFrame]:
    """The 1× sample's true records per kind, as text columns under the template headers."""
    from etl.sample import build_truth
    from etl.sample_model import load_reference

    truth, _ = build_truth(load_reference(), seed)
    frames: dict[str, pd.DataFrame] = {}
    for kind in KIND_ORDER:
        recs = pd.DataFrame([{k: v for k, v in asdict(r).items() if k != "source"} for r in getattr(truth, kind)])
        frames[kind] = recs
    return frames


def _text(values: pd.Series) -> np.ndarray:
    return values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)).to_numpy(object)


def _date_styles(iso: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """15 % of non-blank ISO dates rewritten as clerks write them (mapped once per distinct date)."""
    out = iso.copy()
    style = rng.random(len(iso))
    for lo, hi, fmt in ((0.0, 0.07, "{y}年{m}月{d}日"), (0.07, 0.12, "{y}/{m}/{d}"), (0.12, 0.15, "{y}.{m}.{d}")):
        mask = (style >= lo) & (style < hi) & (iso != "")
        if mask.any():
            uniq, inv = np.unique(iso[mask].astype(str), return_inverse=True)
            mapped = np.array([fmt.format(y=u[:4], m=int(u[5:7]), d=int(u[8:10])) for u in uniq], dtype=object)
            out[mask] = mapped[inv]
    return out


def _scaled_columns(kind: str, df: pd.DataFrame, scale: int, rng: np.random.Generator,
                    short: dict[str, str]) -> dict[str, np.ndarray]:
    """Header -> column of the N copies (copy k of row i at k * len(df) + i)."""
    n = len(df)
    copy = np.repeat(np.arange(scale), n)
    suffix = np.where(copy == 0, "", pd.Series(copy).astype(str).to_numpy(object))

    def tile(values) -> np.ndarray:
        return np.tile(np.asarray(values, dtype=object), scale)

    def keyed(values, sep: str, close: str = "") -> np.ndarray:
        base = tile(values)
        tail = np.where(copy == 0, "", sep + suffix.astype(object) + close)
        return base + tail

    community = tile(df["community"])
    shorts = np.array([short[c] for c in community[:n]], dtype=object)
    community = np.where(rng.random(n * scale) < 0.3, tile(shorts), community)
    if kind == "cases":
        return {"事项编号": keyed(df["case_id"], "-"), "社区": community, "小区": tile(_text(df["compound"])),
                "类别": tile(df["category"]), "登记日期": _date_styles(tile(_iso(df["reported_on"])), rng),
                "办结日期": tile(_iso(df["resolved_on"])), "处理力量": tile(_text(df["handled_by"])),
                "事项描述": tile(_text(df["description"])), "处理结果": tile(_text(df["outcome"])),
                "回访日期": tile(_iso(df["followed_up_on"])), "满意度": tile(_text(df["satisfaction"])),
                "备注": tile(_text(df["remark"]))}
    if kind == "volunteers":
        # one phone per (person of the 1× sample, copy): the same person keeps one id within a copy
        anchor = df["community"] + "|" + df["name"] + "|" + df["phone"].fillna(
            "bld:" + df["compound"].fillna("") + "/" + df["building"].fillna(""))
        person = pd.factorize(anchor)[0].astype(np.int64)
        phone = 13_000_000_000 + np.tile(person, scale) * scale + copy
        return {"姓名": tile(df["name"]), "职务": tile(df["role"]), "社区": community,
                "小区": tile(_text(df["compound"])), "楼栋": tile(_text(df["building"])),
                "联系电话": phone.astype(str).astype(object),
                "政治面貌": tile(np.where(df["is_party_member"], "党员", "群众")),
                "任职日期": tile(_iso(df["appointed_on"])), "离任日期": tile(_iso(df["left_on"]))}
    if kind == "organizations":
        return {"名称": keyed(df["name"], "（", "）"), "类型": tile(df["kind"]), "社区": community,
                "小区": tile(_text(df["compound"])), "成立日期": tile(_iso(df["founded_on"])),
                "成员数": tile(df["members"].map(lambda v: "" if pd.isna(v) else str(int(v)))),
                "撤销日期": tile(_iso(df["dissolved_on"]))}
    if kind == "micro_projects":
        return {"项目编号": keyed(df["project_id"], "-"), "项目名称": tile(df["name"]), "社区": community,
                "申报主体": tile(_text(df["applicant"])), "申报日期": tile(_iso(df["applied_on"])),
                "评审批次": tile(_text(df["review_round"])), "评审得分": tile(_text(df["score"])),
                "是否立项": tile(np.where(df["is_funded"], "是", "否")),
                "资助金额": tile(df["amount_yuan"].map(lambda v: "" if pd.isna(v) else str(int(v)))),
                "完成日期": tile(_iso(df["completed_on"]))}
    if kind == "activities":
        return {"活动名称": keyed(df["name"], "（", "）"), "社区": community, "类型": tile(df["kind"]),
                "活动日期": tile(_iso(df["held_on"])),
                "参与人数": tile(df["participants"].map(lambda v: "" if pd.isna(v) else str(int(v)))),
                "组织方": tile(_text(df["organizer"]))}
    raise ValueError(kind)


def _write_csv(path: Path, columns: dict[str, np.ndarray], rows: np.ndarray) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.table({h: pa.array(col[rows], type=pa.string()) for h, col in columns.items()})
    pacsv.write_csv(table, path, pacsv.WriteOptions(include_header=True, quoting_style="needed"))


def generate_scaled(out_dir: Path, scale: int = 100, seed: int = 2022, groups: int = DEFAULT_GROUPS) -> ScaledSample:
    """Write ``scale`` times the sample's records as CSV ledgers (see the module docstring)."""
    from etl.sample_model import load_reference

    if scale < 1:
        raise ValueError("scale must be at least 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*_g*_x*.csv"):
        old.unlink()
    ref = load_reference()
    names = [c.name for c in ref.communities]
    short = {c.name: c.short for c in ref.communities}
    group_of = {c: i % groups for i, c in enumerate(names)}
    rng = np.random.default_rng(seed)
    result = ScaledSample(out_dir, scale)
    for kind, df in _truth_frames(seed).items():
        cols = _scaled_columns(kind, df, scale, rng, short)
        group = np.tile(df["community"].map(group_of).to_numpy(), scale)
        for g in range(groups):
            rows = np.flatnonzero(group == g)
            if not len(rows):
                continue
            name = f"{kind}_g{g}_x{scale}.csv"
            _write_csv(out_dir / name, cols, rows)
            result.files[name] = (kind, len(rows))
        result.rows[kind] = len(df) * scale
    return result
