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
copy (so copy k is a different person with the same appointment history). Categories, places
and outcomes are the sample's.

Dates: copy 0 is the 1× record as it is (so ``--scale 1`` writes the 1× records unchanged);
copy k ≥ 1 has all its dates moved by one whole number of days δ, drawn deterministically
(a hash of seed, kind, record and k, so copy k gets the same δ at every scale) uniformly from
[-180, +180] narrowed per record so that every moved date stays inside the kind's date range
in the sample (its earliest date .. its latest date, which is never after the sample's last
day). Pre-aggregated tables per day/month therefore see N realistic, spread-out copies rather
than one row N times as big. Records that share a date-dependent key share δ (an activity's key
is community + name + date, so all activities of one name in a community move together; a
三长 person's appointments move together), so keys stay unique and the load has zero rejects.
What stays exact: every count over the whole data range (per kind, category, community,
outcome ...) is N times the 1× count; every duration (resolved − reported, left − appointed,
dissolved − founded, completed − applied) is kept, so medians and SLA rates are the 1× ones;
and the stocks and totals at the sample's as-of date (active 三长 and organisations, resolved
cases, funded projects) are N times the 1× figures, since no moved date crosses the data end.
Per-day, per-month and per-year counts are no longer exactly N×.

The CSVs carry a little of the clerks' mess that costs the loader real work: about 30 % of the
community names in their short form (同德 for 同德社区) and 15 % of the case dates written as
2021年3月5日 / 2021/3/5 / 2021.3.5 instead of ISO (after the shift). Everything is built
column-wise with numpy/pandas and written with pyarrow (about 6 million cases at 1000×, written
in about a minute).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
import zlib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from etl.kinds import BY_NAME, KINDS

DEFAULT_GROUPS = 5
KIND_ORDER = tuple(kind.name for kind in KINDS)
# The date columns of each kind's true records (all of a record's dates move by the same δ).
DATE_COLUMNS = {kind.name: tuple(f.name for f in kind.fields if f.type == "date") for kind in KINDS}
MAX_SHIFT_DAYS = 180
_BLANK = -1  # day number of an empty date


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


def _day_numbers(values: pd.Series) -> np.ndarray:
    """Dates (datetime.date or None) as proleptic ordinals (int64), _BLANK for None."""
    return np.fromiter((d.toordinal() if isinstance(d, date) else _BLANK for d in values),
                       dtype=np.int64, count=len(values))


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _day_shifts(kind: str, days: dict[str, np.ndarray], group: np.ndarray, scale: int,
                seed: int) -> tuple[np.ndarray, int, int]:
    """δ for every copy (copy k of row i at k * n + i; 0 for copy 0) and the kind's date range.

    Rows with the same ``group`` get the same δ per copy. δ is uniform over the days a group's
    dates can move and stay inside [earliest, latest] date of the kind, capped at ±MAX_SHIFT_DAYS;
    drawn from a hash of (seed, kind, group, copy), so it does not depend on ``scale``.
    """
    stacked = np.stack(list(days.values()))
    present = stacked != _BLANK
    big = np.iinfo(np.int64).max
    first = np.where(present, stacked, big).min(axis=0)
    last = np.where(present, stacked, -big).max(axis=0)
    lo, hi = int(first.min()), int(last.max())
    n_groups = int(group.max()) + 1
    g_first, g_last = np.full(n_groups, big), np.full(n_groups, -big)
    np.minimum.at(g_first, group, first)
    np.maximum.at(g_last, group, last)
    down = np.maximum(-MAX_SHIFT_DAYS, lo - g_first)  # <= 0
    width = np.minimum(MAX_SHIFT_DAYS, hi - g_last) - down + 1  # >= 1 (0 is always allowed)
    with np.errstate(over="ignore"):
        salt = _mix(np.array([seed & 0xFFFFFFFF, zlib.crc32(kind.encode())], dtype=np.uint64))
        h = _mix(salt[0] ^ _mix(salt[1] ^ np.arange(n_groups, dtype=np.uint64)))
        h = _mix(h[None, :] ^ _mix(np.arange(scale, dtype=np.uint64))[:, None])  # (copy, group)
    u = (h >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    table = down[None, :] + np.floor(u * width[None, :]).astype(np.int64)
    table[0] = 0
    return table[:, group].ravel(), lo, hi


def _iso_shifted(values: np.ndarray, shift: np.ndarray, iso: np.ndarray, lo: int) -> np.ndarray:
    """Day numbers tiled to len(shift), moved by ``shift``, as ISO text (``iso[1 + d - lo]``; blank stays blank)."""
    tiled = np.tile(values, len(shift) // len(values))
    return iso[np.where(tiled == _BLANK, 0, tiled + shift - (lo - 1))]


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


def _date_groups(kind: str, df: pd.DataFrame) -> np.ndarray:
    """Rows that must share δ (their key involves a date): same group number."""
    if kind == "activities":  # key: community + name + held_on
        return pd.factorize(df["community"] + "|" + df["name"])[0].astype(np.int64)
    if kind == "volunteers":  # key: person + role + appointed_on
        return _volunteer_person(df)
    return np.arange(len(df), dtype=np.int64)


def _volunteer_person(df: pd.DataFrame) -> np.ndarray:
    """One number per person of the 1× roster (community, name, phone or building)."""
    anchor = df["community"] + "|" + df["name"] + "|" + df["phone"].fillna(
        "bld:" + df["compound"].fillna("") + "/" + df["building"].fillna(""))
    return pd.factorize(anchor)[0].astype(np.int64)


def _scaled_columns(kind: str, df: pd.DataFrame, scale: int, rng: np.random.Generator,
                    short: dict[str, str], seed: int) -> dict[str, np.ndarray]:
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

    days = {c: _day_numbers(df[c]) for c in DATE_COLUMNS[kind]}
    shift, lo, hi = _day_shifts(kind, days, _date_groups(kind, df), scale, seed)
    iso = np.array([""] + [date.fromordinal(d).isoformat() for d in range(lo, hi + 1)], dtype=object)

    def dates(column: str) -> np.ndarray:
        return _iso_shifted(days[column], shift, iso, lo)

    community = tile(df["community"])
    shorts = np.array([short[c] for c in community[:n]], dtype=object)
    community = np.where(rng.random(n * scale) < 0.3, tile(shorts), community)
    if kind == "cases":
        return {"事项编号": keyed(df["case_id"], "-"), "社区": community, "小区": tile(_text(df["compound"])),
                "类别": tile(df["category"]), "登记日期": _date_styles(dates("reported_on"), rng),
                "办结日期": dates("resolved_on"), "处理力量": tile(_text(df["handled_by"])),
                "事项描述": tile(_text(df["description"])), "处理结果": tile(_text(df["outcome"])),
                "回访日期": dates("followed_up_on"), "满意度": tile(_text(df["satisfaction"])),
                "备注": tile(_text(df["remark"]))}
    if kind == "volunteers":
        # one phone per (person of the 1× sample, copy): the same person keeps one id within a copy
        person = _volunteer_person(df)
        phone = 13_000_000_000 + np.tile(person, scale) * scale + copy
        return {"姓名": tile(df["name"]), "职务": tile(df["role"]), "社区": community,
                "小区": tile(_text(df["compound"])), "楼栋": tile(_text(df["building"])),
                "联系电话": phone.astype(str).astype(object),
                "政治面貌": tile(np.where(df["is_party_member"], "党员", "群众")),
                "任职日期": dates("appointed_on"), "离任日期": dates("left_on")}
    if kind == "organizations":
        return {"名称": keyed(df["name"], "（", "）"), "类型": tile(df["kind"]), "社区": community,
                "小区": tile(_text(df["compound"])), "成立日期": dates("founded_on"),
                "成员数": tile(df["members"].map(lambda v: "" if pd.isna(v) else str(int(v)))),
                "撤销日期": dates("dissolved_on")}
    if kind == "micro_projects":
        return {"项目编号": keyed(df["project_id"], "-"), "项目名称": tile(df["name"]), "社区": community,
                "申报主体": tile(_text(df["applicant"])), "申报日期": dates("applied_on"),
                "评审批次": tile(_text(df["review_round"])), "评审得分": tile(_text(df["score"])),
                "是否立项": tile(np.where(df["is_funded"], "是", "否")),
                "资助金额": tile(df["amount_yuan"].map(lambda v: "" if pd.isna(v) else str(int(v)))),
                "完成日期": dates("completed_on")}
    if kind == "activities":
        return {"活动名称": keyed(df["name"], "（", "）"), "社区": community, "类型": tile(df["kind"]),
                "活动日期": dates("held_on"),
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
        cols = _scaled_columns(kind, df, scale, rng, short, seed)
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
