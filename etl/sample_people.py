"""Invented people for the sample: Cantonese-style Chinese names and mobile numbers (all fictitious)."""
from __future__ import annotations

import random

SURNAMES = ("陈", "梁", "李", "黄", "何", "张", "林", "麦", "吴", "冯", "潘", "邓", "罗", "谭", "区",
            "关", "伍", "卢", "郭", "周", "叶", "杨", "刘", "霍", "邝", "招", "钟", "谢", "曾", "孔",
            "简", "岑", "植", "莫", "庞", "欧阳", "司徒", "袁", "彭", "苏")
SURNAME_WEIGHTS = (12, 10, 9, 9, 7, 6, 6, 4, 5, 4, 4, 3, 3, 3, 2, 3, 2, 3, 2, 2, 3, 3, 4, 2, 1, 1,
                   2, 2, 2, 1, 1, 1, 1, 2, 1, 1, 1, 2, 2, 2)
MALE_CHARS = "志伟国建明锦永家俊炳润辉荣耀雄汉文华强坤权健福标杰浩宏德培敬满祥"
FEMALE_CHARS = "丽秀美桂淑惠翠玉燕芬娟玲萍英珍琼仪洁婷霞凤红艳碧嘉欣佩雪慧兰"
SHARED_CHARS = "少嘉智瑞梓海锡颖永启"
REAL_PEOPLE = {"苏志敏", "伦祖锐", "顾耀辉"}  # people named in the article: never used as sample persons
MOBILE_PREFIXES = ("130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150",
                   "151", "152", "153", "155", "156", "158", "159", "166", "177", "180", "181",
                   "182", "183", "185", "186", "187", "188", "189", "198", "199")


def person_name(rng: random.Random, gender: str) -> str:
    """An invented full name for the given gender (男/女)."""
    surname = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]
    pool = MALE_CHARS if gender == "男" else FEMALE_CHARS
    if rng.random() < 0.12:
        return surname + rng.choice(pool)
    first = rng.choice(pool + SHARED_CHARS)
    second = rng.choice(pool)
    while second == first:
        second = rng.choice(pool)
    return surname + first + second


class NameBook:
    """Hands out names that are unique within a community, and mobile numbers unique overall."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.names: dict[str, set[str]] = {}
        self.phones: set[str] = set()

    def name(self, community: str, gender: str) -> str:
        """A fresh name, not used before in this community."""
        used = self.names.setdefault(community, set())
        while True:
            name = person_name(self.rng, gender)
            if name not in used and name not in REAL_PEOPLE:
                used.add(name)
                return name

    def phone(self) -> str:
        """A fresh 11-digit mobile number."""
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randint(0, 99_999_999):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def any_name(self) -> str:
        """A name not tied to a community (clerks, reviewers, contacts)."""
        return person_name(self.rng, self.rng.choice(("男", "女")))
