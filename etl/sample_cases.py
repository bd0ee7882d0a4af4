"""True case records (事项台账) of the sample: exact resolved totals, open backlog, plausible timing."""
from __future__ import annotations

import math
import random
from datetime import date, timedelta
from itertools import accumulate

from etl.sample_model import (AS_OF, HISTORY_START, RESOLVED_CASES, CaseRecord, Community, Compound,
                              Reference, Truth, fits_year, month_end, random_day, rng_for)

OPEN_CASES = {"加装电梯": 38, "邻里矛盾": 52, "环境卫生": 27, "治安": 9, "公共设施": 64,
              "安全隐患": 21, "停车": 47, "其他": 18}
RESOLVED_OTHER = 160  # 其他 cases: resolved, but not among the published figures

YEAR_WEIGHTS = {2013: 3, 2014: 4, 2015: 5, 2016: 6, 2017: 9, 2018: 11, 2019: 12, 2020: 12, 2021: 13, 2022: 13}
ELEVATOR_YEARS = {2016: 0.3, 2017: 2, 2018: 4, 2019: 8, 2020: 8, 2021: 7, 2022: 4}
MEDIAN_DAYS = {"加装电梯": 280, "邻里矛盾": 7, "环境卫生": 3, "治安": 10, "公共设施": 11,
               "安全隐患": 4, "停车": 20, "其他": 9}
MEDIATION_STUDIO = date(2019, 10, 1)
LANE_HEADS = date(2019, 4, 1)

HANDLERS = {
    "加装电梯": {"联席会议": 4, "社区": 3, "自治小组": 3, "党员": 2, "楼长": 2},
    "邻里矛盾": {"调解工作室": 5, "街坊会": 3, "楼长": 3, "社区": 3, "党员": 1, "巷长": 1},
    "环境卫生": {"楼长": 4, "物业": 3, "街坊会": 2, "自治小组": 2, "巷长": 2, "社区": 1},
    "治安": {"楼长": 3, "巷长": 2, "街坊会": 2, "社区": 2, "街长": 1},
    "公共设施": {"物业": 4, "自治小组": 3, "社区": 3, "联席会议": 1, "楼长": 2},
    "安全隐患": {"楼长": 3, "物业": 2, "巷长": 2, "街长": 2, "社区": 2, "党员": 1},
    "停车": {"自治小组": 3, "物业": 3, "联席会议": 2, "社区": 2, "街长": 1},
    "其他": {"社区": 4, "楼长": 2, "街坊会": 1},
}

DESCRIPTIONS = {
    "加装电梯": ["{b}旧楼加装电梯协调，低层住户有异议", "{b}加装电梯意见征询及费用分摊协商",
             "{b}加装电梯施工噪音投诉协调", "{b}加装电梯管线迁改协调", "{b}加装电梯方案公示及签名"],
    "邻里矛盾": ["楼上漏水引发邻里纠纷", "邻居装修噪音扰民", "宠物狗吠扰邻", "楼道堆放杂物引起争执",
             "空调外机滴水纠纷", "租户与业主因公共走廊使用起争执", "邻里因停车位发生口角", "高空晾晒滴水纠纷"],
    "环境卫生": ["{c}楼道垃圾堆积", "{c}化粪池堵塞外溢", "{c}绿化带杂物清理", "{c}垃圾分类点脏乱",
             "{c}排水沟淤塞", "{c}小广告清理", "{c}蚊虫滋生消杀"],
    "治安": ["{c}电动车被盗，协助调取监控", "{c}可疑人员徘徊，协助民警排查", "{c}入室盗窃，提供线索协助破案",
           "{c}门禁损坏存在治安隐患", "{c}群租房人员登记核查"],
    "公共设施": ["{c}路灯损坏维修", "{c}单元门禁维修", "{c}儿童游乐设施维护", "{c}健身器材更换",
             "{c}楼道照明维修", "{c}路面破损修补", "{c}信报箱更换", "{c}架空层座椅维修"],
    "安全隐患": ["{c}电动车楼道充电隐患", "{c}消防通道堵塞", "{c}外墙瓷砖脱落隐患", "{c}楼道飞线充电",
             "{c}消防栓缺水", "{c}高空抛物隐患"],
    "停车": ["{c}乱停车堵塞通道", "{c}车位不足协调错峰停车", "{c}外来车辆占用车位", "{c}消防通道停车",
           "{c}非机动车停放点设置", "{c}停车收费协商"],
    "其他": ["居民咨询政策", "{c}流浪猫投喂引起意见", "{c}快递柜设置意见", "独居长者求助", "{c}公共空间使用申请"],
}
REMARKS = ("已录入网格系统", "多次上门协调", "电话回访", "联合物业处理", "已拍照存档", "居民自行协商解决")
NEW_COMPOUND_NAMES = ("天悦湾", "云璟花园", "汇璟华府", "悦澜山", "星语家园", "翠悦府")


def month_weights(category: str) -> list[tuple[date, float]]:
    """Reporting weight per month for a category (growth after 2017, 2020 epidemic effects)."""
    out = []
    d = HISTORY_START
    while d <= AS_OF:
        w = (ELEVATOR_YEARS.get(d.year, 0) if category == "加装电梯" else YEAR_WEIGHTS[d.year]) / 12
        if category == "停车":
            w *= 1 + 0.12 * (d.year - 2013)
        if d.year == 2020 and 2 <= d.month <= 4:
            w *= {"邻里矛盾": 0.35, "环境卫生": 2.2, "安全隐患": 1.3, "停车": 0.5}.get(category, 1.0)
        if category == "环境卫生" and 6 <= d.month <= 9:
            w *= 1.3
        if category == "邻里矛盾" and d >= MEDIATION_STUDIO:
            w *= 1.15
        out.append((d, w))
        d = month_end(d) + timedelta(days=1)
    return out


class CaseFactory:
    """Draws dates, places, handlers and texts for cases."""

    def __init__(self, ref: Reference, rng: random.Random) -> None:
        self.ref = ref
        self.rng = rng
        self.months = {c: month_weights(c) for c in OPEN_CASES}
        self.community_weights = {c: list(accumulate(self._community_weights(c))) for c in OPEN_CASES}
        self._cum: dict[tuple[str, date, date], tuple[list[date], list[float]]] = {}

    def _community_weights(self, category: str) -> list[float]:
        """Relative case volume per community for a category."""
        weights = []
        for comm in self.ref.communities:
            w = comm.households * (1.3 if comm.named else 1.0)
            if category == "加装电梯":
                old = sum(1 for c in self.ref.compounds_of(comm.name, "小区") if not c.managed)
                w = 0.05 * w if comm.is_village else w * (0.4 + old)
            elif category == "停车" and comm.is_village:
                w *= 0.5
            weights.append(w)
        return weights

    def reported(self, category: str, start: date = HISTORY_START, end: date = AS_OF) -> date:
        """A reporting date drawn from the category's monthly weights within [start, end]."""
        key = (category, start, end)
        if key not in self._cum:
            months = [(m, w) for m, w in self.months[category] if start <= month_end(m) and m <= end and w > 0]
            self._cum[key] = ([m for m, _ in months], list(accumulate(w for _, w in months)))
        months, cum = self._cum[key]
        month = self.rng.choices(months, cum_weights=cum)[0]
        return random_day(self.rng, max(month, start), min(month_end(month), end))

    def duration(self, category: str) -> int:
        """Days from report to resolution (lognormal around the category's median)."""
        sigma = 0.5 if category == "加装电梯" else 0.85
        days = MEDIAN_DAYS[category] * math.exp(self.rng.gauss(0, sigma))
        low, high = (45, 1100) if category == "加装电梯" else (0, 400)
        return int(min(max(round(days), low), high))

    def community(self, category: str) -> Community:
        """A community drawn by the category's volume weights."""
        return self.rng.choices(self.ref.communities, cum_weights=self.community_weights[category])[0]

    def compound(self, comm: Community, category: str) -> Compound | None:
        """The compound a case is about (None: not recorded)."""
        pool = self.ref.compounds_of(comm.name)
        if category == "加装电梯":
            # 翠苑's twelve elevators are the pinned cases; no other elevator case goes there
            pool = [c for c in pool if c.kind == "小区" and c.name != "翠苑"] or pool
            weights = [c.households * (3 if not c.managed else 1) for c in pool]
        else:
            if self.rng.random() < 0.12:
                return None
            weights = [c.households for c in pool]
        return self.rng.choices(pool, weights=weights)[0]

    def handlers(self, comm: Community, compound: Compound | None, category: str, on: date) -> str:
        """Who handled the case: one handler, sometimes two joined by 、."""
        options = {h: w for h, w in HANDLERS[category].items() if self._available(h, comm, compound, on)}
        options = options or {"社区": 1}
        first = self.rng.choices(list(options), weights=list(options.values()))[0]
        if self.rng.random() < 0.2 and len(options) > 1:
            rest = {h: w for h, w in options.items() if h != first}
            return first + "、" + self.rng.choices(list(rest), weights=list(rest.values()))[0]
        return first

    def _available(self, handler: str, comm: Community, compound: Compound | None, on: date) -> bool:
        """Whether a handler existed in this place at this date."""
        lanes = [c.name for c in self.ref.compounds_of(comm.name, "街巷")]
        if handler == "调解工作室":
            return on >= MEDIATION_STUDIO
        if handler == "巷长":
            return on >= LANE_HEADS and any(n.endswith(("巷", "片区")) for n in lanes)
        if handler == "街长":
            return on >= LANE_HEADS and any(n.endswith("街") for n in lanes)
        if handler == "自治小组":
            return on.year >= (2015 if comm.short in ("桂雅", "灯湖") else 2017)
        if handler == "物业":
            return compound is not None and compound.managed
        if handler == "楼长":
            return compound is None or compound.has_heads
        return True

    def description(self, category: str, compound: Compound | None, year: int) -> str:
        """A short description of the case (one that fits the year)."""
        text = self.rng.choice([t for t in DESCRIPTIONS[category] if fits_year(t, year)])
        place = compound.name if compound else "辖内"
        building = f"{place}{self.rng.randint(1, max(compound.buildings if compound else 1, 1))}座"
        return text.format(c=place, b=building)

    def closing(self, category: str, resolved: date) -> tuple[str, date | None, str | None]:
        """Outcome, follow-up date and satisfaction of a resolved case."""
        outcome = self.rng.choices(("成功", "转办", "不成功"),
                                   weights=(95, 3, 2) if category == "加装电梯" else (88, 7, 5))[0]
        followed = None
        if self.rng.random() < (0.5 if outcome == "转办" else 0.85):
            day = resolved + timedelta(days=self.rng.randint(1, 20))
            followed = day if day <= AS_OF else None
        satisfaction = None
        if followed:
            weights = {"成功": (80, 17, 3), "不成功": (20, 45, 35), "转办": (50, 40, 10)}[outcome]
            satisfaction = self.rng.choices(("满意", "基本满意", "不满意"), weights=weights)[0]
        return outcome, followed, satisfaction

    def case(self, category: str, resolved: bool, comm: Community | None = None,
             compound: Compound | None = None, reported: date | None = None, days: int | None = None,
             description: str | None = None) -> CaseRecord:
        """One case; fields not given are drawn."""
        comm = comm or self.community(category)
        if compound is None and description is None:
            compound = self.compound(comm, category)
        while reported is None or (resolved and reported + timedelta(days=days) > AS_OF):
            reported = self.reported(category) if resolved else self.open_reported(category)
            days = self.duration(category)
        resolved_on = reported + timedelta(days=days) if resolved else None
        outcome = followed = satisfaction = None
        if resolved_on:
            outcome, followed, satisfaction = self.closing(category, resolved_on)
        remark = self.rng.choice(REMARKS) if self.rng.random() < 0.1 else None
        if outcome == "转办":
            remark = "转派出所处理" if category == "治安" else self.rng.choice(
                ("转街道城管部门处理", "转物业公司跟进", "转区相关部门"))
        return CaseRecord(comm.name, "", compound.name if compound else None, category, reported,
                          resolved_on, self.handlers(comm, compound, category, reported),
                          description or self.description(category, compound, reported.year), outcome, followed,
                          satisfaction, remark)

    def open_reported(self, category: str) -> date:
        """Reporting date of a still-open case: mostly recent, a quarter old backlog."""
        if category == "加装电梯":
            return self.reported(category, date(2020, 1, 1))
        if self.rng.random() < 0.25:
            return self.reported(category, date(2019, 1, 1), date(2021, 12, 31))
        return AS_OF - timedelta(days=int(min(179, self.rng.expovariate(1 / 45))))


def pinned_cases(f: CaseFactory, ref: Reference) -> list[CaseRecord]:
    """Cases the article tells of (翠苑's 12 elevators, 十七街区, 南丰村小区, 桂园苑 renovation)."""
    def place(community: str, compound: str) -> tuple[Community, Compound]:
        return ref.community(community), next(c for c in ref.compounds_of(community) if c.name == compound)

    out = []
    comm, cuiyuan = place("桂雅社区", "翠苑")
    for n in range(1, 13):
        reported = random_day(f.rng, date(2018, 3, 1), date(2019, 6, 30))
        days = f.rng.randint(365, 800)
        out.append(f.case("加装电梯", True, comm, cuiyuan, reported, days, f"翠苑{n}座旧楼加装电梯协调"))
    comm, block17 = place("桂花社区", "十七街区")
    out.append(f.case("加装电梯", True, comm, block17, date(2019, 3, 12), 527,
                      "十七街区首例“电梯加装+楼顶修缮”工程协调"))
    comm, nanfeng = place("桂花社区", "南丰村小区")
    for category, text, day in (("环境卫生", "南丰村小区楼道常年堆积垃圾，组织志愿清洁大行动", date(2017, 4, 18)),
                                ("环境卫生", "南丰村小区排水问题引发住户争吵", date(2017, 6, 9)),
                                ("安全隐患", "南丰村小区门口加装摄像头", date(2017, 5, 22))):
        out.append(f.case(category, True, comm, nanfeng, day, f.rng.randint(3, 20), text))
    comm, guiyuan = place("桂园社区", "桂园苑")
    for text in ("桂园苑小区改造：路面修补", "桂园苑小区改造：楼道照明更新", "桂园苑小区改造：雨污分流",
                 "桂园苑小区改造：休闲广场建设", "桂园苑小区改造：外墙修缮"):
        reported = random_day(f.rng, date(2021, 1, 10), date(2021, 6, 30))
        out.append(f.case("公共设施", True, comm, guiyuan, reported, f.rng.randint(60, 200), text))
    return out


def add_new_compounds(cases: list[CaseRecord], ref: Reference, rng: random.Random, truth: Truth) -> None:
    """Move a few recent cases into compounds that the reference data does not know yet."""
    urban = [c for c in ref.communities if not c.is_village and not c.named]
    for name, comm in zip(NEW_COMPOUND_NAMES, rng.sample(urban, len(NEW_COMPOUND_NAMES))):
        recent = [c for c in cases if c.community == comm.name and c.reported_on.year >= 2021
                  and c.category not in ("加装电梯",) and "座" not in c.description]
        chosen = rng.sample(recent, min(len(recent), rng.randint(2, 5)))
        for case in chosen:
            case.compound = name
            case.description = DESCRIPTIONS[case.category][0].format(c=name, b=name)
        if chosen:
            truth.new_compounds.append((comm.name, name))


def number_cases(cases: list[CaseRecord], ref: Reference, rng: random.Random) -> dict[str, str]:
    """Give every case its community's number (e.g. GN-2021-0153), in order of reporting."""
    styles = {c.name: rng.choice(("{code}-{y}-{n:04d}", "{code}-{y}-{n:04d}", "{code}{y}{n:04d}",
                                  "{y}-{code}-{n:03d}")) for c in ref.communities}
    counters: dict[tuple[str, int], int] = {}
    for case in sorted(cases, key=lambda c: (c.community, c.reported_on)):
        key = (case.community, case.reported_on.year)
        counters[key] = counters.get(key, 0) + 1
        code = ref.community(case.community).code
        case.case_id = styles[case.community].format(code=code, y=key[1], n=counters[key])
    return styles


def generate_cases(ref: Reference, seed: int, truth: Truth) -> None:
    """Fill truth.cases: exact resolved totals per category, plus open and 其他 cases."""
    rng = rng_for(seed, "cases")
    f = CaseFactory(ref, rng)
    cases = pinned_cases(f, ref)
    for category, total in {**RESOLVED_CASES, "其他": RESOLVED_OTHER}.items():
        have = sum(1 for c in cases if c.category == category and c.resolved_on)
        cases.extend(f.case(category, True) for _ in range(total - have))
    for category, total in OPEN_CASES.items():
        cases.extend(f.case(category, False) for _ in range(total))
    add_new_compounds(cases, ref, rng, truth)
    truth.case_id_styles = number_cases(cases, ref, rng)
    cases.sort(key=lambda c: (c.community, c.reported_on, c.case_id))
    truth.cases = cases
