"""True micro-project applications (微创熟项目台账) and activities (活动台账) of the sample."""
from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from etl.sample_model import (AS_OF, ActivityRecord, Community, ProjectRecord, Reference, Truth, fits_year,
                              random_day, rng_for)

ROUNDS = {2015: (12, 18), 2016: (22, 24), 2017: (26, 28), 2018: (28, 30), 2019: (30, 30), 2020: (20, 26),
          2021: (30, 32), 2022: (30,)}
PROJECT_NAMES = ("{c}楼道美化微改造", "{c}架空层邻里客厅", "{s}长者饭堂志愿服务", "{s}四点半课堂", "{s}邻里书香角",
                 "{c}垃圾分类督导", "{s}亲子共读计划", "{c}楼道党建微阵地", "{s}粤韵传承", "{c}口袋公园共建",
                 "{s}义剪服务", "{c}智慧门禁宣传", "{s}独居长者探访", "{c}绿化认养", "{s}邻里节创意市集",
                 "{c}消防安全微课堂", "{s}青少年暑期营", "{c}楼长能力提升", "{s}家门口议事厅")
GENERAL_PER_YEAR = {2013: 2, 2014: 4, 2015: 5, 2016: 6, 2017: 7, 2018: 8, 2019: 8, 2020: 4, 2021: 7, 2022: 3}
EPIDEMIC_PER_YEAR = {2020: 5, 2021: 2, 2022: 3}
KIND_WEIGHTS = {"志愿服务": 40, "文化活动": 35, "宣讲": 15, "其他": 10}
ACTIVITY_NAMES: dict[str, tuple[tuple[str, tuple[int, ...]], ...]] = {
    "志愿服务": (("{c}楼长清洁家园行动", ()), ("{s}长者探访", ()), ("{s}义剪服务", ()), ("{s}义诊进社区", ()),
             ("{c}垃圾分类督导", ()), ("文明交通劝导", ()), ("{s}关爱独居长者", ()), ("{c}楼道清洁日", ()),
             ("学雷锋志愿服务", (3,))),
    "文化活动": (("元宵猜灯谜", (2,)), ("端午包粽子", (6,)), ("中秋游园会", (9,)), ("重阳敬老宴", (10,)),
             ("{s}粤剧欣赏会", ()), ("书法交流会", ()), ("广场舞展演", ()), ("亲子手工坊", ()),
             ("{s}读书分享会", ()), ("摄影作品展", ()), ("新春写挥春", (1, 2))),
    "宣讲": (("创熟工作宣讲会", ()), ("反诈骗宣传", ()), ("民法典宣讲", ()), ("消防安全宣讲", ()),
           ("垃圾分类宣讲", ()), ("党史学习宣讲", ())),
    "防疫": (("核酸检测志愿服务", ()), ("疫苗接种引导", ()), ("{c}卡口值守", ()), ("防疫物资派送", ()),
           ("居家隔离人员服务", ()), ("防疫知识宣传", ())),
    "其他": (("居民议事会", ()), ("{c}联席会议", ()), ("{c}环境议事会", ()), ("楼长培训会", ())),
}
PARTICIPANTS = {"志愿服务": (10, 80), "文化活动": (30, 300), "宣讲": (30, 150), "防疫": (6, 60), "其他": (10, 40),
                "邻里节": (300, 3000)}


def review_day(year: int, round_no: int, rng: random.Random) -> date:
    """The review date of a round (June and November; 2022's first round in May)."""
    if year == 2022:
        return date(2022, 5, rng.randint(16, 27))
    return date(year, 6 if round_no == 1 else 11, rng.randint(10, 25))


def applicants(truth: Truth, community: Community, on: date) -> list[str]:
    """Organisations of a community that could apply at a date."""
    return [o.name for o in truth.organizations
            if o.community == community.name and o.kind in ("街坊会", "自治小组", "社团")
            and o.founded_on <= on and (o.dissolved_on is None or o.dissolved_on > on)]


def place_name(ref: Reference, community: Community, rng: random.Random) -> str:
    """A compound or lane of the community, for use in names."""
    return rng.choice(ref.compounds_of(community.name)).name


def generate_projects(ref: Reference, seed: int, truth: Truth) -> None:
    """Fill truth.micro_projects: rounds since 2015, ~60% funded, every community applying."""
    rng = rng_for(seed, "projects")
    rounds = [(y, i + 1, n) for y, counts in ROUNDS.items() for i, n in enumerate(counts)]
    total = sum(n for _, _, n in rounds)
    slots = list(ref.communities) * 2
    slots += rng.choices(ref.communities, weights=[c.households for c in ref.communities], k=total - len(slots))
    rng.shuffle(slots)
    records = []
    for year, round_no, count in rounds:
        reviewed = review_day(year, round_no, rng)
        batch = [slots.pop() for _ in range(count)]
        scores = [round(rng.uniform(50, 95) * 2) / 2 for _ in batch]
        cutoff = sorted(scores, reverse=True)[int(count * rng.uniform(0.55, 0.66)) - 1]
        for seq, (comm, score) in enumerate(zip(batch, scores), start=1):
            applied = reviewed - timedelta(days=rng.randint(15, 60))
            funded = score >= cutoff
            amount = rng.choice((5, 8, 10, 12, 15, 18, 20, 25, 30, 35, 40, 50)) * 1000 if funded else None
            if funded and amount < 50000 and rng.random() < 0.25:
                amount += 500
            done = reviewed + timedelta(days=rng.randint(90, 330)) if funded else None
            name = rng.choice([n for n in PROJECT_NAMES if fits_year(n, year)]).format(
                c=place_name(ref, comm, rng), s=comm.short)
            who = applicants(truth, comm, applied) or [f"{comm.short}社区居委会"]
            records.append(ProjectRecord(f"WCS-{year}-{round_no}-{seq:03d}", name, comm.name, rng.choice(who),
                                         applied, f"{year}年第{round_no}批", score, funded, amount,
                                         done if done and done <= AS_OF else None))
    records.sort(key=lambda p: (p.community, p.applied_on, p.project_id))
    truth.micro_projects = records


class ActivityMaker:
    """Creates activities with (community, name, date) unique."""

    def __init__(self, ref: Reference, truth: Truth, rng: random.Random) -> None:
        self.ref = ref
        self.truth = truth
        self.rng = rng
        self.used: set[tuple[str, str, date]] = set()
        self.yearly: set[tuple[str, str, int]] = set()
        self.records: list[ActivityRecord] = []
        self.orgs: dict[str, list[Any]] = {}
        for org in truth.organizations:
            if org.kind in ("街坊会", "社团"):
                self.orgs.setdefault(org.community, []).append(org)

    def add(self, comm: Community, kind: str, name: str, held: date) -> bool:
        """Add one activity unless the same name was already held there that day."""
        key = (comm.name, name, held)
        if key in self.used or held > AS_OF:
            return False
        self.used.add(key)
        low, high = PARTICIPANTS[kind]
        people = self.rng.randint(low, high) if self.rng.random() > 0.05 else None
        self.records.append(ActivityRecord(name, comm.name, kind, held, people, self.organizer(comm, kind, held)))
        return True

    def organizer(self, comm: Community, kind: str, held: date) -> str | None:
        """Who ran the activity."""
        orgs = [o for o in self.orgs.get(comm.name, []) if o.founded_on <= held
                and (kind == "文化活动" or o.kind == "街坊会")]
        options = [f"{comm.short}社区居委会", f"{comm.short}社区党委"] + [o.name for o in orgs[:6]]
        return self.rng.choice(options) if self.rng.random() > 0.04 else None

    def general(self, comm: Community, year: int, kind: str) -> None:
        """One everyday activity of a kind in a year."""
        while True:
            template, months = self.rng.choice(ACTIVITY_NAMES[kind])
            month = self.rng.choice(months) if months else self.rng.randint(1, 12)
            if (year == 2022 and month > 6) or not fits_year(template, year):
                continue
            held = random_day(self.rng, date(year, month, 1), date(year, month, 28))
            name = template.format(c=place_name(self.ref, comm, self.rng), s=comm.short)
            if months and (comm.name, name, year) in self.yearly:
                continue  # festival activities happen once a year
            if self.add(comm, kind, name, held):
                if months:
                    self.yearly.add((comm.name, name, year))
                return

    def epidemic(self, comm: Community, year: int) -> None:
        """One epidemic-duty activity (waves: early 2020, May-June 2021, first half of 2022)."""
        windows = {2020: ((date(2020, 1, 25), date(2020, 5, 31)), (date(2020, 6, 1), date(2020, 12, 31))),
                   2021: ((date(2021, 5, 20), date(2021, 6, 30)), (date(2021, 1, 1), date(2021, 12, 31))),
                   2022: ((date(2022, 1, 1), date(2022, 6, 30)),) * 2}[year]
        while True:
            start, end = windows[0] if self.rng.random() < 0.7 else windows[1]
            template, _ = self.rng.choice([t for t in ACTIVITY_NAMES["防疫"] if fits_year(t[0], year)])
            name = template.format(c=place_name(self.ref, comm, self.rng), s=comm.short)
            if self.add(comm, "防疫", name, random_day(self.rng, start, end)):
                return

    def festival(self, comm: Community, year: int) -> None:
        """The community's yearly 邻里节 (from 2014; online in 2020)."""
        label = "云上邻里节" if year == 2020 else "邻里节"
        start = date(year, 11, 1) if year == 2020 else date(year, 9, 15)
        self.add(comm, "邻里节", f"{year}年{comm.short}社区{label}", random_day(self.rng, start, date(year, 12, 15)))


def generate_activities(ref: Reference, seed: int, truth: Truth) -> None:
    """Fill truth.activities: a few thousand, 邻里节 yearly from 2014, 防疫 in 2020-2022."""
    rng = rng_for(seed, "activities")
    maker = ActivityMaker(ref, truth, rng)
    mean = sum(c.households for c in ref.communities) / len(ref.communities)
    for comm in ref.communities:
        scale = min(1.5, max(0.6, comm.households / mean))
        for year, base in GENERAL_PER_YEAR.items():
            for _ in range(max(1, round(base * scale * rng.uniform(0.8, 1.2)))):
                maker.general(comm, year, rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0])
            if 2014 <= year <= 2021 and (year > 2014 or comm.named or rng.random() < 0.6):
                maker.festival(comm, year)
            for _ in range(EPIDEMIC_PER_YEAR.get(year, 0)):
                maker.epidemic(comm, year)
    maker.records.sort(key=lambda a: (a.community, a.held_on, a.name))
    truth.activities = maker.records
