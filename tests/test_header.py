"""Header detection as tables: where the header row is, which kind, which column holds what."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from conftest import write_xlsx

from etl.extract import read_sheets
from etl.header import find_header, grid_rows, header_key, is_footer

CASES = ["事项编号", "社区", "类别", "登记日期"]
VOLUNTEERS = ["姓名", "职务", "社区", "任职日期"]
ORGANIZATIONS = ["名称", "类型", "社区", "成立日期"]
MICRO = ["项目编号", "项目名称", "社区", "申报日期", "是否立项"]
ACTIVITIES = ["活动名称", "社区", "类型", "活动日期"]


def titled(header: list, titles: int, width: int | None = None) -> list[list]:
    """``titles`` title rows (text in the first cell only, like a merged title), then the header."""
    rows: list[list] = [["桂南社区2021年台账（第%d行标题）" % (i + 1)] + [None] * ((width or len(header)) - 1)
                        for i in range(titles)]
    return [*rows, header, ["x"] * len(header)]


@pytest.mark.parametrize("titles", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("header, kind", [
    (CASES, "cases"), (VOLUNTEERS, "volunteers"), (ORGANIZATIONS, "organizations"),
    (MICRO, "micro_projects"), (ACTIVITIES, "activities"),
])
def test_header_found_below_title_rows_for_every_kind(header, kind, titles):
    match, why = find_header(titled(header, titles))
    assert (match.kind.name, match.row_index, why) == (kind, titles, "")


@pytest.mark.parametrize("header, kind, columns", [
    # template headers, full set
    (["事项编号", "社区", "小区", "类别", "登记日期", "办结日期", "处理力量", "事项描述", "处理结果",
      "回访日期", "满意度", "备注"], "cases",
     {"case_id": 0, "community": 1, "compound": 2, "category": 3, "reported_on": 4, "resolved_on": 5,
      "handled_by": 6, "description": 7, "outcome": 8, "followed_up_on": 9, "satisfaction": 10, "remark": 11}),
    # any order, extra columns (序号, 联系人) ignored
    (["序号", "登记日期", "类别", "联系人", "社区", "事项编号"], "cases",
     {"reported_on": 1, "category": 2, "community": 4, "case_id": 5}),
    # aliases
    (["案件编号", "所属社区", "小区名称", "问题类型", "受理日期", "完成日期", "处理主体", "问题描述", "调解结果",
      "回访时间", "回访评价", "说明"], "cases",
     {"case_id": 0, "community": 1, "compound": 2, "category": 3, "reported_on": 4, "resolved_on": 5,
      "handled_by": 6, "description": 7, "outcome": 8, "followed_up_on": 9, "satisfaction": 10, "remark": 11}),
    # required marks, spaces, line breaks, colons
    (["*事项编号", "社 区", "类别*", "登记日期\n", "办结日期："], "cases",
     {"case_id": 0, "community": 1, "category": 2, "reported_on": 3, "resolved_on": 4}),
    # full-width parentheses and units
    (["项目编号", "项目名称", "社区", "申报日期", "是否立项", "扶持金额（元）", "评审得分（分）"], "micro_projects",
     {"project_id": 0, "name": 1, "community": 2, "applied_on": 3, "is_funded": 4, "amount_yuan": 5,
      "score": 6}),
    (["编号", "名称", "所属社区", "申请日期", "评审结果", "资助金额（元）", "批次", "结项日期", "申报单位"],
     "micro_projects",
     {"project_id": 0, "name": 1, "community": 2, "applied_on": 3, "is_funded": 4, "amount_yuan": 5,
      "review_round": 6, "completed_on": 7, "applicant": 8}),
    (["金额(元)", "项目编号", "项目名称", "社区", "申报日期", "是否立项"], "micro_projects",
     {"amount_yuan": 0, "project_id": 1, "name": 2, "community": 3, "applied_on": 4, "is_funded": 5}),
    (["名字", "角色", "所属社区", "小区/街巷", "楼号", "手机", "是否党员", "聘任日期", "卸任日期"], "volunteers",
     {"name": 0, "role": 1, "community": 2, "compound": 3, "building": 4, "phone": 5, "is_party_member": 6,
      "appointed_on": 7, "left_on": 8}),
    (["组织名称", "组织类型", "所属社区", "所属小区", "成立时间", "成员人数", "注销日期"], "organizations",
     {"name": 0, "kind": 1, "community": 2, "compound": 3, "founded_on": 4, "members": 5, "dissolved_on": 6}),
    (["主题", "所属社区", "活动类型", "开展时间", "参加人次", "承办"], "activities",
     {"name": 0, "community": 1, "kind": 2, "held_on": 3, "participants": 4, "organizer": 5}),
    # full-width letters/spaces in headers
    (["事项编号\u3000", "\u3000社区", "类别", "登记日期"], "cases",
     {"case_id": 0, "community": 1, "category": 2, "reported_on": 3}),
])
def test_columns_by_header(header, kind, columns):
    match, _ = find_header([["标题"], header])
    assert match.kind.name == kind
    assert match.columns == columns
    assert match.row_index == 1


@pytest.mark.parametrize("raw, key", [
    ("扶持金额（元）", "扶持金额(元)"),
    (" *登记日期 ", "登记日期"),
    ("登记\n日期", "登记日期"),
    ("社区：", "社区"),
    (None, ""),
])
def test_header_key(raw, key):
    assert header_key(raw) == key


@pytest.mark.parametrize("rows, detail", [
    ([["桂南社区台账"], ["序号", "内容说明", "金额合计"], ["1", "x", "2"]], "前 30 行中没有台账表头"),
    ([["事项编号", "社区", "类别"], ["1", "桂南", "卫生"]], "疑似事项台账，缺少必填列：登记日期"),
    ([["姓名", "社区", "联系电话"]], "疑似三长名册，缺少必填列：职务、任职日期"),
    ([["项目编号", "项目名称", "社区", "申报日期"]], "疑似微创熟项目台账，缺少必填列：是否立项"),
    ([], "前 30 行中没有台账表头"),
])
def test_no_recognisable_header_says_what_is_missing(rows, detail):
    assert find_header(rows) == (None, detail)


def test_header_below_row_30_is_not_searched():
    rows = [[f"说明{i}", None] for i in range(30)] + [CASES]
    assert find_header(rows) == (None, "前 30 行中没有台账表头")


def test_single_text_cell_rows_are_titles_not_headers():
    # 「社区」 alone in a title row must not be taken as a header row
    match, _ = find_header([["社区"], ["类别"], CASES])
    assert match.row_index == 2


def test_fuller_header_wins_over_a_partial_one_above():
    # a title row that happens to contain two field names does not beat the real header
    rows = [["事项编号", "社区"], CASES + ["办结日期", "备注"]]
    match, _ = find_header(rows)
    assert (match.kind.name, match.row_index) == ("cases", 1)


@pytest.mark.parametrize("cells, footer", [
    (["合计", "", "12"], True),
    (["总计：", 3], True),
    (["", "小计", 5], True),
    (["合 计", "", ""], True),
    (["填表人：张三"], True),
    (["填表人：", "张三", "审核人：", "李四"], True),
    (["审核人：李四", "填报日期：2021-12-31"], True),
    (["填报日期：2021年12月31日"], True),
    (["制表人：王五", None, "联系电话：12345"], True),
    (["GN-001", "桂南社区", "卫生", "2021-03-05"], False),
    (["填表人：", "张三", "审核人：", "李四", "填报日期：", "2021-12-31"], True),
    (["填表说明不是落款", "桂南社区", "卫生", "2021-03-05", "x", "y"], False),
    ([None, ""], False),
])
def test_is_footer(cells, footer):
    assert is_footer(cells) is footer


def test_header_in_a_real_workbook_with_merged_title(tmp_path: Path):
    path = write_xlsx(tmp_path / "桂南.xlsx", {"2021": [
        ["桂南社区2021年矛盾纠纷调解台账", None, None, None, None],
        ["填报单位：桂南社区居委会", None, None, None, None],
        [],
        ["序号", "*事项编号", "社区", "问题类型", "受理日期"],
        [1, "GN-1", "桂南", "纠纷", date(2021, 3, 5)],
    ]}, merges={"2021": ["A1:E1", "A2:E2"]})
    (sheet,) = list(read_sheets(path))
    match, why = find_header(grid_rows(sheet.grid))
    assert (match.kind.name, match.row_index, why) == ("cases", 3, "")
    assert match.columns == {"case_id": 1, "community": 2, "category": 3, "reported_on": 4}


def test_grid_keeps_leading_empty_rows_and_columns(tmp_path: Path):
    # a header that starts at C4 must still be row index 3 and column index 2
    path = write_xlsx(tmp_path / "offset.xlsx", {"S": [[], [], [], [None, None, *CASES]]})
    (sheet,) = list(read_sheets(path))
    match, _ = find_header(grid_rows(sheet.grid))
    assert match.row_index == 3
    assert match.columns == {"case_id": 2, "community": 3, "category": 4, "reported_on": 5}
