"""Phone numbers written into free text (事项描述, 备注) never reach the analytics database."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from conftest import query, write_xlsx

from etl.load import load_files
from etl.transform import PHONE_MASK, _note


@pytest.mark.parametrize(("text", "expected"), [
    ("张阿姨（13812345678）反映漏水", f"张阿姨（{PHONE_MASK}）反映漏水"),
    ("联系电话 138 1234 5678", f"联系电话 {PHONE_MASK}"),
    ("座机0757-86231234转", f"座机{PHONE_MASK}转"),
    ("１３８１２３４５６７８", PHONE_MASK),
    ("编号2021-0012，共3户", "编号2021-0012，共3户"),
    ("资助15000元，2021年3月5日完成", "资助15000元，2021年3月5日完成"),
    ("  多余   空格  ", "多余 空格"),
    ("", None),
])
def test_note_hides_phone_numbers(text: str, expected: str | None) -> None:
    assert _note(text) == expected


def test_phone_in_description_is_not_in_the_database_file(tmp_path: Path) -> None:
    ledger = write_xlsx(tmp_path / "桂南社区_事项台账.xlsx", {"2021": [
        ["事项编号", "社区", "类别", "登记日期", "事项描述", "备注"],
        ["GN-1", "桂南", "邻里矛盾", date(2021, 3, 5), "住户李先生13987654321投诉噪音", "回电 0757-86239876"],
    ]})
    db = tmp_path / "t.duckdb"
    load_files([ledger], db)
    assert query(db, "SELECT description, remark FROM cases") == [
        (f"住户李先生{PHONE_MASK}投诉噪音", f"回电 {PHONE_MASK}")]
    raw = db.read_bytes()
    for secret in ("13987654321", "86239876"):
        assert secret.encode() not in raw and secret.encode("utf-16-le") not in raw


def test_batch_ids_equal_the_per_row_functions():
    """person_ids / stable_ids (used by the loader) give what person_id / stable_id give per row."""
    from datetime import date

    from etl.privacy import person_id, person_ids, stable_id, stable_ids

    rows = [("桂南社区", "张三", "13812345678", "3栋", "新苑"), ("桂南社区", "张三", "", "3栋", None),
            ("凤鸣社区", "李四", "", None, None), ("凤鸣社区", "王五", None, None, "旧苑")]
    columns = [list(c) for c in zip(*rows)]
    assert person_ids(*columns) == [person_id(*r) for r in rows]
    parts = [["桂南社区", None, "凤鸣社区"], ["读书会", "x", ""], [date(2021, 3, 5), None, 12]]
    assert stable_ids("A", parts) == [stable_id("A", *r) for r in zip(*parts)]


def test_ids_from_arrow_parts_equal_stable_id():
    """Organisation and activity ids joined by Arrow (text, dates, blanks) equal stable_id per row."""
    from datetime import date

    import pyarrow as pa

    from etl.privacy import joined_ids, stable_id
    from etl.transform import _joined

    columns = {"community": pa.array(["桂南社区", None, "凤鸣社区"], pa.large_string()),
               "name": pa.array(["读书会(1)", "x", ""], pa.large_string()),
               "held_on": pa.array([date(2021, 3, 5), None, date(2000, 1, 1)], pa.date32())}
    rows = [("桂南社区", "读书会(1)", date(2021, 3, 5)), (None, "x", None), ("凤鸣社区", "", date(2000, 1, 1))]
    joined = _joined(columns, ("community", "name", "held_on"))
    assert joined_ids("A", joined.to_pylist()) == [stable_id("A", *r) for r in rows]
