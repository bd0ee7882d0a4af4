"""True rosters of the sample: 三长 volunteers (三长名册) and organisations (组织名册)."""
from __future__ import annotations

import random
from datetime import date, timedelta

from etl.sample_model import (ACTIVE_ORGS, ACTIVE_VOLUNTEERS, AS_OF, Compound, OrgRecord, Reference, Truth,
                              VolunteerRecord, random_day, rng_for)
from etl.sample_people import NameBook

PILOTS = ("桂雅", "灯湖")
LANE_HEADS = {"江滨": 12, "夏北": 4, "平西": 5, "叠南": 3, "石龙": 3, "简村": 3}
STREET_HEADS = {"桂雅": 6, "江滨": 2, "夏北": 2, "平西": 1, "叠南": 1, "石龙": 1, "简村": 1}
DEPARTED_LANE = {("江滨", "巷长"): 2, ("夏北", "巷长"): 1, ("桂雅", "街长"): 1}
CLUB_TYPES = ("舞蹈队", "合唱团", "太极队", "书法社", "粤剧社", "乒乓球队", "摄影协会", "读书会", "义剪队",
              "编织小组", "广场舞队", "象棋协会", "亲子阅读会", "长者健身队", "葫芦丝队", "羽毛球协会",
              "醒狮队", "插花社", "园艺小组", "手工坊", "诗词社", "模特队", "健步走队", "茶艺社",
              "跑步协会", "志愿服务队", "曲艺社", "二胡班", "国画社", "篮球队")
RED_COMMITTEES = ("中海千灯湖1号", "金地珑悦", "怡翠花园", "金御华府", "富丰新城")


def allocate(total: int, weights: list[int], minimum: int = 1) -> list[int]:
    """Split total into integer shares proportional to weights, each at least minimum (largest remainder)."""
    base = [minimum] * len(weights)
    rest = total - minimum * len(weights)
    scale = rest / sum(weights)
    shares = [w * scale for w in weights]
    floors = [int(s) for s in shares]
    order = sorted(range(len(weights)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in order[: rest - sum(floors)]:
        floors[i] += 1
    return [b + f for b, f in zip(base, floors)]


def heads_start(compound: Compound, short: str, rng: random.Random) -> date:
    """When a compound got its first 楼长 (楼长制 from 2013; pilots first; all by the 2017 roll-out)."""
    if compound.name == "南丰村小区":
        return date(2017, 5, 10)
    if short in PILOTS:
        return random_day(rng, date(2013, 3, 1), date(2013, 10, 31))
    year = rng.choices((2013, 2014, 2015, 2016, 2017), weights=(2, 2, 2, 2, 4))[0]
    return random_day(rng, date(year, 1, 1), date(year, 12, 31))


def position_labels(compound: Compound, count: int, rng: random.Random) -> list[str]:
    """Building (or stairwell) labels for the 楼长 positions of a compound."""
    style = rng.choice(("{n}栋", "{n}座", "第{n}栋", "{n}座"))
    if count <= compound.buildings:
        numbers = sorted(rng.sample(range(1, compound.buildings + 1), count))
        return [style.format(n=n) for n in numbers]
    stairs = -(-count // compound.buildings)
    labels = [style.format(n=b) + f"{s}梯" for b in range(1, compound.buildings + 1) for s in range(1, stairs + 1)]
    return labels[:count]


class RosterMaker:
    """Creates the holders of one position over time: earlier (departed) holders, then the current one."""

    def __init__(self, ref: Reference, rng: random.Random, names: NameBook) -> None:
        self.ref = ref
        self.rng = rng
        self.names = names

    def holders(self, role: str, community: str, compound: str, building: str | None, start: date,
                prior: int, phone_optional: bool) -> list[VolunteerRecord]:
        """Holders of a position from start until today; the last one is still serving."""
        end = AS_OF - timedelta(days=20)
        if (end - start).days < 400 * (prior + 1):
            prior = 0
        cuts = sorted(random_day(self.rng, start + timedelta(days=200), end - timedelta(days=120))
                      for _ in range(prior))
        starts = [start] + [c + timedelta(days=self.rng.randint(0, 30)) for c in cuts]
        ends: list[date | None] = cuts + [None]
        return [self.person(role, community, compound, building, s, e, phone_optional)
                for s, e in zip(starts, ends)]

    def person(self, role: str, community: str, compound: str, building: str | None, appointed: date,
               left: date | None, phone_optional: bool) -> VolunteerRecord:
        """One appointment with an invented person."""
        gender = "女" if self.rng.random() < 0.55 else "男"
        party_rate = 0.33 if appointed.year < 2018 else 0.5
        phone = None if phone_optional and self.rng.random() < 0.05 else self.names.phone()
        return VolunteerRecord(self.names.name(community, gender), role, community, compound, building, phone,
                               self.rng.random() < party_rate, appointed, left, gender)


def building_heads(ref: Reference, maker: RosterMaker, rng: random.Random) -> tuple[list[VolunteerRecord], dict]:
    """All 楼长 appointments, and each heads compound's (start date, position labels)."""
    compounds = [c for c in ref.compounds if c.has_heads]
    shares = allocate(ACTIVE_VOLUNTEERS["楼长"], [c.buildings for c in compounds])
    records, layout = [], {}
    for compound, count in zip(compounds, shares):
        short = ref.community(compound.community).short
        start = heads_start(compound, short, rng)
        labels = position_labels(compound, count, rng)
        layout[(compound.community, compound.name)] = (start, labels)
        for label in labels:
            pos_start = start if rng.random() < 0.6 else random_day(rng, start, AS_OF - timedelta(days=30))
            prior = rng.choices((0, 1, 2), weights=(85, 13, 2))[0]
            records.extend(maker.holders("楼长", compound.community, compound.name, label, pos_start, prior, True))
    return records, layout


def lane_heads(ref: Reference, maker: RosterMaker, rng: random.Random) -> list[VolunteerRecord]:
    """巷长 (from 2019, 江滨 first) and 街长 appointments on 街巷 rows."""
    records = []
    for role, counts, suffixes in (("巷长", LANE_HEADS, ("巷", "片区")), ("街长", STREET_HEADS, ("街",))):
        for short, count in counts.items():
            community = short + "社区"
            lanes = [c.name for c in ref.compounds_of(community, "街巷") if c.name.endswith(suffixes)]
            if short == "江滨" and role == "巷长":
                first, last = date(2019, 3, 15), date(2019, 6, 30)
            elif short == "桂雅":
                first, last = date(2019, 5, 1), date(2020, 12, 31)
            else:
                first, last = date(2019, 9, 1), date(2021, 6, 30)
            departed = DEPARTED_LANE.get((short, role), 0)
            for i in range(count):
                prior = 1 if i < departed else 0
                start = random_day(rng, first, last)
                records.extend(maker.holders(role, community, lanes[i % len(lanes)], None, start, prior, False))
    return records


def generate_volunteers(ref: Reference, seed: int, truth: Truth, names: NameBook) -> dict:
    """Fill truth.volunteers; return the 楼长 layout per compound (used for WeChat groups)."""
    rng = rng_for(seed, "volunteers")
    maker = RosterMaker(ref, rng, names)
    heads, layout = building_heads(ref, maker, rng)
    truth.volunteers = heads + lane_heads(ref, maker, rng)
    return layout


class OrgMaker:
    """Creates organisations with names unique within (community, kind)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.records: list[OrgRecord] = []
        self.used: set[tuple[str, str, str]] = set()

    def add(self, name: str, kind: str, community: str, compound: str | None, founded: date,
            members: int | None, dissolved: date | None = None) -> bool:
        """Add one organisation; False (and nothing added) if the name is taken."""
        key = (community, kind, name)
        if key in self.used:
            return False
        self.used.add(key)
        self.records.append(OrgRecord(name, kind, community, compound, founded, members, dissolved))
        return True

    def dissolved_between(self, founded: date) -> date:
        """A dissolution date some time after founding, before the as-of date."""
        return random_day(self.rng, founded + timedelta(days=300), AS_OF - timedelta(days=10))


def associations(ref: Reference, orgs: OrgMaker, rng: random.Random) -> None:
    """街坊会: one per community, a second in six; three dissolved ones."""
    for comm in ref.communities:
        first = date(2012, 3, 1) if comm.named else date(2013, 1, 1)
        name = rng.choice((f"{comm.short}社区街坊志愿互助会", f"{comm.short}街坊会", f"{comm.short}社区街坊会"))
        orgs.add(name, "街坊会", comm.name, None, random_day(rng, first, date(2016, 12, 31)), rng.randint(18, 60))
    seconds = [("灯湖社区", "富丰新城", date(2016, 4, 16)), ("同德社区", "中海千灯湖1号", date(2018, 5, 20))]
    big = sorted((c for c in ref.compounds if c.has_heads and not c.named), key=lambda c: (-c.households, c.name))
    taken = {"灯湖社区", "同德社区"}
    for c in big:
        if len(seconds) == ACTIVE_ORGS["街坊会"] - len(ref.communities):
            break
        if c.community not in taken:
            taken.add(c.community)
            seconds.append((c.community, c.name, random_day(rng, date(2016, 1, 1), date(2021, 6, 30))))
    for community, compound, founded in seconds:
        orgs.add(f"{compound}街坊会", "街坊会", community, compound, founded, rng.randint(15, 45))
    for c in rng.sample([c for c in big if c.community not in taken], 3):
        founded = random_day(rng, date(2014, 1, 1), date(2016, 6, 30))
        orgs.add(f"{c.name}街坊互助会", "街坊会", c.community, c.name, founded, rng.randint(10, 30),
                 orgs.dissolved_between(founded))


def compound_groups(ref: Reference, orgs: OrgMaker, rng: random.Random) -> None:
    """自治小组, 红色业委会 and 创熟加油站, each tied to a compound."""
    heads = [c for c in ref.compounds if c.has_heads]
    ranked = sorted(heads, key=lambda c: (-(c.households * (3 if c.named else 1)) * rng.uniform(0.5, 1.5), c.name))
    for i, c in enumerate(ranked[: ACTIVE_ORGS["自治小组"] + 4]):
        pilot = ref.community(c.community).short in PILOTS
        dissolved = None
        if i >= ACTIVE_ORGS["自治小组"]:  # a few groups that broke up again
            founded = random_day(rng, date(2017, 3, 1), date(2018, 12, 31))
            dissolved = orgs.dissolved_between(founded)
        elif pilot:
            founded = random_day(rng, date(2015, 3, 1), date(2016, 12, 31))
        else:
            founded = random_day(rng, date(2017, 3, 1), date(2022, 5, 31))
        orgs.add(f"{c.name}自治小组", "自治小组", c.community, c.name, founded, rng.randint(5, 15), dissolved)
    managed = [c for c in heads if c.managed and c.name not in RED_COMMITTEES]
    red = [c for c in heads if c.name in RED_COMMITTEES] + rng.sample(managed, ACTIVE_ORGS["红色业委会"] - 5)
    for c in red:
        orgs.add(f"{c.name}红色业委会", "红色业委会", c.community, c.name,
                 random_day(rng, date(2018, 7, 1), date(2021, 12, 31)), rng.randint(5, 9))
    station_sites = [c for c in ranked if c.name != "中海千灯湖1号"][: ACTIVE_ORGS["创熟加油站"]]
    orgs.add("中海千灯湖1号初心驿站", "创熟加油站", "同德社区", "中海千灯湖1号", date(2018, 6, 28), None)
    for c in station_sites[: ACTIVE_ORGS["创熟加油站"] - 1]:
        orgs.add(f"{c.name}“创熟”加油站", "创熟加油站", c.community, c.name,
                 random_day(rng, date(2018, 3, 1), date(2022, 6, 20)), None)
    c = station_sites[-1]
    founded = random_day(rng, date(2018, 3, 1), date(2019, 6, 30))
    orgs.add(f"{c.name}临时加油站", "创熟加油站", c.community, c.name, founded, None, orgs.dissolved_between(founded))


def clubs(ref: Reference, orgs: OrgMaker, rng: random.Random) -> None:
    """社团: 233 active and some dissolved, spread by household numbers."""
    dissolved = 17
    shares = allocate(ACTIVE_ORGS["社团"] + dissolved, [c.households for c in ref.communities], 2)
    flags = [True] * dissolved + [False] * ACTIVE_ORGS["社团"]
    rng.shuffle(flags)
    k = 0
    for comm, count in zip(ref.communities, shares):
        for _ in range(count):
            while True:
                name = comm.short + rng.choice(CLUB_TYPES)
                year = rng.choices(range(2011, 2023), weights=(1, 3, 4, 5, 6, 7, 8, 8, 8, 6, 6, 3))[0]
                founded = random_day(rng, max(date(year, 1, 1), date(2011, 9, 1)), min(date(year, 12, 31), AS_OF))
                gone = orgs.dissolved_between(founded) if flags[k] and founded < date(2020, 6, 1) else None
                if (not flags[k] or gone) and orgs.add(name, "社团", comm.name, None, founded, rng.randint(12, 80), gone):
                    break
            k += 1


def wechat_groups(orgs: OrgMaker, layout: dict, rng: random.Random) -> None:
    """楼道微信群: one per building / stairwell for most 楼长 positions, from 2015."""
    positions = [(community, compound, label, start) for (community, compound), (start, labels) in layout.items()
                 for label in labels]
    dissolved = 30
    chosen = sorted(rng.sample(range(len(positions)), ACTIVE_ORGS["楼道微信群"] + dissolved))
    gone = set(rng.sample(chosen, dissolved))
    for i in chosen:
        community, compound, label, start = positions[i]
        first = max(start, date(2015, 1, 1))
        founded = random_day(rng, first, min(first + timedelta(days=900), AS_OF - timedelta(days=400)))
        end = orgs.dissolved_between(founded) if i in gone else None
        orgs.add(f"{compound}{label}楼道群", "楼道微信群", community, compound, founded, rng.randint(12, 160), end)


def generate_organizations(ref: Reference, seed: int, truth: Truth, layout: dict) -> None:
    """Fill truth.organizations with the published active counts plus dissolved ones."""
    rng = rng_for(seed, "organizations")
    orgs = OrgMaker(rng)
    associations(ref, orgs, rng)
    compound_groups(ref, orgs, rng)
    clubs(ref, orgs, rng)
    wechat_groups(orgs, layout, rng)
    truth.organizations = orgs.records
