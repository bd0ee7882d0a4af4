"""AppTest for 数据上报 (pages/intake.py) and the 逾期未报 section of 数据质量.

Streamlit 1.67's AppTest can drive st.file_uploader (``set_value``), so the page is tested end to
end here: upload, preview, refused files, commit. Each test works on its own copy of the sample
database, since a commit publishes a new version.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import query, write_xlsx

APP = str(Path(__file__).resolve().parent.parent / "dashboard.py")
PAGE = "pages/intake.py"
HEADER = ["事项编号", "社区", "小区", "类别", "登记日期", "办结日期"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def db(sample_db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "db" / "guicheng.duckdb"
    target.parent.mkdir()
    shutil.copyfile(sample_db, target)
    return target


@pytest.fixture
def app(db: Path, app_state_dir: Path, monkeypatch: pytest.MonkeyPatch, nav_apptest: None) -> AppTest:
    monkeypatch.setenv("CHUANGSHU_DB", str(db))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(app_state_dir))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def ledger(tmp_path: Path) -> bytes:
    return write_xlsx(tmp_path / "l.xlsx", {"2022": [
        ["桂南社区2022年事项台账"], HEADER,
        ["GN-A1", "桂南", None, "纠纷", "2022-05-05", "2022-05-09"],
        ["GN-A2", "桂北", None, "卫生", "2022-05-06", None],
        ["GN-A3", "桂南", None, "卫生", "2022-13-01", None]]}).read_bytes()


def digest(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest()


def test_page_without_upload_explains_and_offers_no_commit(app: AppTest) -> None:
    assert app.title[0].value == "数据上报"
    assert not app.error
    assert any("请选择要上报的台账文件" in i.value for i in app.info)
    assert any("单个文件不超过 20.0 MB" in c.value for c in app.caption)
    uploader = app.get("file_uploader")[0]
    # any file type reaches our own check, which refuses in Chinese (the widget's own refusal is English)
    assert uploader.proto.multiple_files and not uploader.proto.type
    assert any("接收 .xlsx、.xls、.csv 格式" in c.value and "32,767 个字符" in c.value for c in app.caption)
    assert not [b for b in app.button if b.key == "intake_commit"]


def test_upload_preview_refusal_and_commit(app: AppTest, db: Path, tmp_path: Path) -> None:
    before = digest(db)
    uploader = app.get("file_uploader")[0]
    uploader.set_value([("桂南社区_事项台账_2022.xlsx", ledger(tmp_path), XLSX),
                        ("照片.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")]).run()
    assert not app.exception, [e.message for e in app.exception]
    assert digest(db) == before  # previewing writes nothing
    files = app.dataframe[0].value
    assert list(files["status"]) == ["可载入", "已拒收"]
    assert files.iloc[0][["new", "rejected", "community", "months"]].tolist() == [1, 2, "桂南社区", "2022-05"]
    assert any("文件内容是 PNG 图片" in e.value for e in app.error)
    reasons = " ".join(" ".join(map(str, df.value.get("reason", []))) for df in app.dataframe)
    assert "社区「桂北」不在街道 45 个社区名单中" in reasons and "登记日期「2022-13-01」不是有效日期" in reasons
    assert [b.label for b in app.get("download_button")] == ["下载台账模板（Excel）", "下载问题说明（Excel，可发回社区更正）"]
    commit = app.button(key="intake_commit")
    assert commit.label == "确认入库（1 个文件）" and not commit.disabled
    commit.click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("已入库 1 个文件" in s.value for s in app.success)
    assert query(db, "SELECT case_id FROM cases WHERE source_file = '桂南社区_事项台账_2022.xlsx'") == [("GN-A1",)]
    assert not query(db, "SELECT * FROM load_batches WHERE source_file = '照片.xlsx'")
    assert not app.get("file_uploader")[0].value  # a fresh uploader after the commit


def test_only_bad_uploads_leave_the_database_alone(app: AppTest, db: Path) -> None:
    before = digest(db)
    app.get("file_uploader")[0].set_value([("空.csv", b"", "text/csv"), ("程序.csv", b"MZ\x90\0" + b"\0" * 64, "text/csv")]).run()
    assert not app.exception
    assert {e.value for e in app.error} >= {"文件为空（0 字节），请在 Excel 中重新保存后上报"}
    assert app.button(key="intake_commit").disabled
    assert digest(db) == before


def test_too_many_files_is_one_clear_message(app: AppTest) -> None:
    app.get("file_uploader")[0].set_value([(f"f{i}.csv", b"a,b\n", "text/csv") for i in range(21)]).run()
    assert [e.value for e in app.error] == ["一次最多上传 20 个文件，本次选择了 21 个，请分批上传"]


def test_quality_page_lists_overdue_communities(app: AppTest) -> None:
    app.switch_page("pages/quality.py").run()
    assert not app.exception, [e.message for e in app.exception]
    card = next(m for m in app.metric if m.label == "逾期未报社区")
    due = " ".join(c.value for c in app.caption)
    assert card.value == "0 个" and "应报至 2022年5月" in due  # the sample is complete up to May 2022
    app.number_input(key="overdue_lag").set_value(0).run()
    card = next(m for m in app.metric if m.label == "逾期未报社区")
    due = " ".join(c.value for c in app.caption)
    assert card.value != "0 个" and "应报至 2022年6月" in due
    assert any("瀚天社区" in list(df.value.get("community", [])) for df in app.dataframe)


def test_hostile_files_are_refused_in_chinese_and_the_good_one_previews(app: AppTest, db: Path) -> None:
    import hostile_files as h

    before = digest(db)
    uploads = [h.xlsm(), h.bom_gbk_csv(), h.wide_csv(50_000), h.far_cell_xlsx()]
    app.get("file_uploader")[0].set_value([(name, data, "application/octet-stream") for name, data in uploads]).run()
    assert not app.exception, [e.message for e in app.exception]
    files = app.dataframe[0].value
    assert list(files["status"]) == ["已拒收", "可载入", "已拒收", "已拒收"]
    errors = " ".join(e.value for e in app.error)
    assert "文件是启用宏的工作簿（.xlsm）" in errors and "文件有 50,003 列" in errors and "1,048,576 行" in errors
    assert "not allowed" not in errors and "Traceback" not in errors
    assert app.button(key="intake_commit").label == "确认入库（1 个文件）"
    assert digest(db) == before


def test_a_full_disk_at_preview_and_at_commit_is_a_chinese_error(app: AppTest, db: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import shutil

    real = shutil.copyfile

    def full(src, dst, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    before = digest(db)
    monkeypatch.setattr(shutil, "copyfile", full)
    app.get("file_uploader")[0].set_value([("桂南社区_事项台账_2022.xlsx", ledger(tmp_path), XLSX)]).run()
    assert not app.exception, [e.message for e in app.exception]
    assert [e.value for e in app.error] == ["磁盘空间不足，预览未完成，数据库未改动；请清理数据目录所在的磁盘后重试"]

    monkeypatch.setattr(shutil, "copyfile", real)
    app.get("file_uploader")[0].set_value([("桂南社区_事项台账_2023.xlsx", ledger(tmp_path), XLSX)]).run()
    assert not app.error
    monkeypatch.setattr(shutil, "copyfile", full)
    app.button(key="intake_commit").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert [e.value for e in app.error] == [
        "入库失败：磁盘空间不足，本次载入已取消，数据库未改动；请清理数据目录所在的磁盘后重试"]
    assert digest(db) == before
    assert not [p for p in db.parent.iterdir() if ".building-" in p.name]
