"""Templates for clerks: one .xlsx per ledger kind, generated from the catalogue and reference data.

``build(kind, ref, community)`` gives a workbook with

* a data sheet named after the ledger (事项台账...): the canonical headers in row 1 (frozen),
  each with a note (comment) saying what to write, whether it is required, the accepted forms
  and the other headers the loader recognises; text columns formatted as text (编号 and phone
  numbers keep their leading zeros), date columns as yyyy-mm-dd; drop-down lists (data
  validation) for 社区, 小区 (the chosen community's), 类别, 职务, 组织类型, 活动类型, 处理结果,
  满意度 and the yes/no fields, which warn about (but accept) other spellings, since the loader
  knows the common synonyms; and an example row whose first cell starts with 【示例】;
* a sheet 填写说明 (instructions and every column's rules) and a hidden sheet 下拉选项 (the lists
  the drop-downs read), both marked 【创熟台账模板】 in their first cell.

The loader (etl/header.py marks, etl/transform.py, etl/pipeline.py) skips the example row and
the marked sheets: they are neither loaded nor rejects. ``python -m etl template KIND
[--community NAME] --out FILE`` and the 数据上报 page offer it.
"""
from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from etl import normalise as n
from etl.catalogue import BY_VIEW
from etl.header import EXAMPLE_MARK, TEMPLATE_MARK
from etl.kinds import KINDS, Field, LedgerKind
from etl.migrations import SCHEMA_VERSION
from etl.reference import Reference
from etl.transform import EARLIEST, RANGES, lookup_tables

NOTES_SHEET = "填写说明"
LISTS_SHEET = "下拉选项"
LAST_ROW = 1_048_575  # the drop-downs and formats cover every row Excel has
COMPOUND = "compound"  # the place field whose drop-down is the chosen community's compounds (ref_compounds)
LOOKUP_TYPES = ("community", "category", "role", "org_kind", "activity_kind", "outcome", "satisfaction")
FLAG_LISTS = {"party": ("中共党员", "预备党员", "群众"), "funded": ("是", "否")}
TEXT_TYPES = ("id", "text", "note", "place", "person_name", "phone", "handlers", *LOOKUP_TYPES)
EXAMPLE_DAY = date(2022, 6, 1)


def resolve_community(ref: Reference, name: str | None) -> str | None:
    """The canonical community for a name as clerks write it (同德, 同德社区居委会...); ValueError if unknown."""
    if name is None or not str(name).strip():
        return None
    try:
        return n.community_lookup(name, ref.communities)
    except n.CellError:
        raise ValueError(f"社区「{name}」不在街道 {len(set(ref.communities.values()))} 个社区名单中，请核对社区名称") from None


def file_name(kind: LedgerKind, community: str | None = None) -> str:
    """The template's file name: 同德社区_事项台账_模板.xlsx (or 事项台账_模板.xlsx)."""
    return f"{community}_{kind.title}_模板.xlsx" if community else f"{kind.title}_模板.xlsx"


def choices(kind: LedgerKind, ref: Reference, community: str | None = None) -> dict[str, list[str]]:
    """Field name -> the values its drop-down offers (reference data in its own order)."""
    tables = lookup_tables(ref)
    out: dict[str, list[str]] = {}
    for f in kind.fields:
        if f.type in tables:
            out[f.name] = list(dict.fromkeys(tables[f.type].values()))
        elif f.type in FLAG_LISTS:
            out[f.name] = list(FLAG_LISTS[f.type])
        elif f.name == COMPOUND and community:
            out[f.name] = [r["compound"] for r in ref.tables["compounds"] if r["community"] == community]
    return {k: v for k, v in out.items() if v}


def _synonyms(table: dict[str, str]) -> list[str]:
    """The spellings of a synonym table other than the canonical values (as written in the CSV)."""
    canonical = set(table.values())
    return [s for s in table if s not in canonical]


def _words(values: set[str]) -> str:
    return "、".join(sorted((v for v in values if any("\u4e00" <= ch <= "\u9fff" for ch in v)), key=len))


def hint(kind: LedgerKind, f: Field, ref: Reference, community: str | None = None) -> str:
    """What a clerk may write in a field: the accepted forms, in Chinese."""
    if f.hint:
        return f.hint
    tables = lookup_tables(ref)
    low, high = RANGES.get(f.type, (0, 0))
    if f.type == "date":
        return (f"日期，如 {EXAMPLE_DAY:%Y-%m-%d}；也可写 {EXAMPLE_DAY.year}/{EXAMPLE_DAY.month}/{EXAMPLE_DAY.day}、"
                f"{EXAMPLE_DAY.year}.{EXAMPLE_DAY.month}.{EXAMPLE_DAY.day}、{EXAMPLE_DAY:%Y年}{EXAMPLE_DAY.month}月"
                f"{EXAMPLE_DAY.day}日、{EXAMPLE_DAY:%Y%m%d} 或 Excel 日期；不早于 {EARLIEST:%Y-%m-%d}，不晚于填报当天")
    if f.type == "community":
        row = next((r for r in ref.tables["communities"] if r["community"] == community), ref.tables["communities"][0])
        return (f"从下拉列表选择社区标准名称（如 {row['community']}）；也可写简称（{row['short_name']}）"
                f"或「{row['community']}居委会」")
    if f.type in tables:
        synonyms = _synonyms(tables[f.type])
        text = "从下拉列表选择：" + "、".join(dict.fromkeys(tables[f.type].values()))
        return text + (f"；也可写常见同义说法（如 {'、'.join(synonyms[:6])}）" if synonyms else "")
    if f.name == COMPOUND:
        where = f"{community}已登记的小区或街巷" if community else "本社区的小区或街巷名称（下载模板时选择社区，可得到该社区的小区下拉列表）"
        return (f"从下拉列表选择{where}；名单外的名称也会保留，并列入「待确认的新小区」" if community
                else f"填写{where}；名单外的名称也会保留，并列入「待确认的新小区」")
    return {
        "id": f"按社区原有编号填写；同一{kind.key_scope}内不能重复",
        "text": "按实际名称填写",
        "note": "自由填写；文中的电话号码会被自动隐去",
        "place": "按实际名称填写",
        "person_name": "仅用于识别同一人员：数据库只保存脱敏后的姓名（如 陈*明），不保存全名",
        "phone": "仅用于识别同一人员，不会存入数据库；手机或座机号码均可",
        "handlers": "可填多个，用「、」分隔，如 街坊会、楼长；常用：" + "、".join(dict.fromkeys(ref.handlers.values())),
        "party": f"从下拉列表选择；党员：{_words(n.PARTY_YES)}；非党员：{_words(n.PARTY_NO)}；留空按非党员计",
        "funded": f"从下拉列表选择 是 或 否；也可写 {_words(n.FUNDED_YES - {'是'})}（是），{_words(n.FUNDED_NO - {'否'})}（否）",
        "int": f"整数，如 50；也可写 约50人、1,200；范围 {low:,} 至 {high:,}",
        "score": f"分数，如 85.5；也可写 85.5分；范围 {low} 至 {high}",
        "money": f"金额（元），如 15000；也可写 1.5万、15,000、15000元；范围 0 至 {high:,}",
    }.get(f.type, "")


def describe(kind: LedgerKind, f: Field) -> str:
    """What a field is (the data dictionary's words for stored fields)."""
    column = next((c for c in BY_VIEW[kind.view].columns if c.name == f.name), None)
    return column.zh if column is not None and f.stored else ("个人信息，不入库" if not f.stored else "")


def note(kind: LedgerKind, f: Field, ref: Reference, community: str | None = None) -> str:
    """The header cell's note: required or not, what it is, the accepted forms, other headers."""
    lines = [f"{f.header}（{'必填' if f.required else '选填'}）"]
    if text := describe(kind, f):
        lines.append(text)
    lines.append("填写：" + hint(kind, f, ref, community))
    if f.aliases:
        lines.append("表头也可写作：" + "、".join(f.aliases))
    return "\n".join(lines)


def example_row(kind: LedgerKind, ref: Reference, community: str | None = None) -> list[Any]:
    """The example row's values (valid, so that only the mark keeps it out of the database)."""
    lists = choices(kind, ref, community)
    community = community or ref.tables["communities"][0]["community"]
    day = iter(EXAMPLE_DAY + timedelta(days=10 * i) for i in range(len(kind.fields)))
    values: list[Any] = []
    for f in kind.fields:
        if f.type == "date":
            value: Any = next(day)
        elif f.type == "community":
            value = community
        elif f.name in lists:
            value = lists[f.name][0]
        elif f.name == COMPOUND:
            value = next((r["compound"] for r in ref.tables["compounds"] if r["community"] == community), "某某小区")
        else:
            value = {"id": "2022-001", "text": f"示例{f.header}", "note": "简要情况", "place": "3座",
                     "person_name": "陈小明", "phone": "13800000000", "handlers": "、".join(list(ref.handlers.values())[:2]),
                     "int": 20, "score": 85.5, "money": 15000}.get(f.type, "")
        values.append(value)
    values[0] = f"{EXAMPLE_MARK}{values[0]}"
    return values


def find_kind(name: str) -> LedgerKind:
    """A ledger kind by name (cases) or title (事项台账); ValueError listing the choices."""
    for kind in KINDS:
        if name.strip() in (kind.name, kind.title):
            return kind
    raise ValueError(f"没有「{name}」这种台账，可选：" + "、".join(f"{k.name}（{k.title}）" for k in KINDS))


def write(kind_name: str, out: Path | None = None, community: str | None = None,
          ref: Reference | None = None) -> Path:
    """Write the template of a kind (name or title) to ``out`` (default: its file_name here); ValueError
    for an unknown kind or community."""
    from etl.reference import load_reference

    ref = ref or load_reference()
    kind = find_kind(kind_name)
    community = resolve_community(ref, community)
    out = Path(out or file_name(kind, community))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(build(kind, ref, community))
    return out


def build(kind: LedgerKind, ref: Reference, community: str | None = None) -> bytes:
    """The template workbook for ``kind`` (with ``community``'s compounds in the 小区 drop-down)."""
    from etl import cellsafe

    buffer = io.BytesIO()
    book = cellsafe.workbook(buffer)  # reference names are written as text, never as formulas
    title = f"{community or ''}{kind.title}"
    book.set_properties({"title": f"{title}模板", "subject": "创熟台账模板",
                         "comments": f"ledger={kind.name}; schema={SCHEMA_VERSION}; community={community or ''}"})
    fmt = _formats(book)
    data = book.add_worksheet(kind.title)
    notes = book.add_worksheet(NOTES_SHEET)
    lists_sheet = book.add_worksheet(LISTS_SHEET)
    lists = choices(kind, ref, community)
    ranges = _write_lists(lists_sheet, kind, lists, fmt)
    lists_sheet.hide()

    data.freeze_panes(1, 0)
    data.set_row(0, 36)
    data.set_landscape()
    data.fit_to_pages(1, 0)
    data.repeat_rows(0)
    example = example_row(kind, ref, community)
    for col, f in enumerate(kind.fields):
        width = max(12, 2 * len(f.header) + 4, 24 if f.type in ("note", "handlers") else 0,
                    _width(str(example[col])) + 2 if col == 0 else 0)
        data.set_column(col, col, width, fmt["date"] if f.type == "date" else fmt["text"] if f.type in TEXT_TYPES
                        else None)
        data.write_string(0, col, f.header, fmt["required" if f.required else "header"])
        data.write_comment(0, col, note(kind, f, ref, community), {"x_scale": 3, "y_scale": 3.5, "font_size": 10})
        if f.name in ranges:
            data.data_validation(1, col, LAST_ROW, col, {
                "validate": "list", "source": ranges[f.name], "error_type": "warning",
                "error_title": "不在下拉列表中",
                "error_message": f"「{f.header}」请尽量从下拉列表中选择。系统也能识别常见的其他写法；"
                                 "点「是」保留所填内容，点「否」重新填写。",
                "input_title": f.header[:32], "input_message": hint(kind, f, ref, community)[:250]})
    for col, value in enumerate(example):
        f = kind.fields[col]
        if isinstance(value, date):
            data.write_datetime(1, col, value, fmt["example_date"])
        elif isinstance(value, (int, float)):
            data.write_number(1, col, value, fmt["example"])
        else:
            data.write_string(1, col, str(value), fmt["example_text"] if f.type in TEXT_TYPES else fmt["example"])
    data.write_comment(1, 0, f"这一行是示例（以「{EXAMPLE_MARK}」开头），载入时自动跳过，可以保留或删除。"
                             "请从下一行起填写。", {"x_scale": 2.5, "y_scale": 1.5})
    data.activate()
    _write_notes(notes, kind, ref, community, fmt, title)
    book.close()
    return buffer.getvalue()


def _width(text: str) -> int:
    """Display width in Excel's character units (a Chinese character counts two)."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _formats(book: Any) -> dict[str, Any]:
    base = {"font_name": "等线", "font_size": 11, "valign": "vcenter"}
    header = {**base, "bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "align": "center"}
    example = {**base, "italic": True, "font_color": "#7F7F7F"}
    return {
        "header": book.add_format(header),
        "required": book.add_format({**header, "font_color": "#C00000"}),
        "text": book.add_format({**base, "num_format": "@"}),
        "date": book.add_format({**base, "num_format": "yyyy-mm-dd"}),
        "example": book.add_format(example),
        "example_text": book.add_format({**example, "num_format": "@"}),
        "example_date": book.add_format({**example, "num_format": "yyyy-mm-dd"}),
        "title": book.add_format({**base, "bold": True, "font_size": 14}),
        "wrap": book.add_format({**base, "text_wrap": True, "valign": "top"}),
        "cell": book.add_format({**base, "text_wrap": True, "valign": "top", "border": 1}),
    }


def _write_lists(sheet: Any, kind: LedgerKind, lists: dict[str, list[str]], fmt: dict[str, Any]) -> dict[str, str]:
    """One column per drop-down in the hidden sheet; field name -> its range for the validation."""
    from xlsxwriter.utility import xl_col_to_name

    sheet.write_string(0, 0, f"{TEMPLATE_MARK}下拉选项（供「{kind.title}」工作表的下拉列表使用，请勿修改）")
    ranges: dict[str, str] = {}
    for col, (name, values) in enumerate(lists.items()):
        sheet.write_string(1, col, kind.field(name).header, fmt["header"])
        for row, value in enumerate(values, start=2):
            sheet.write_string(row, col, value)
        letter = xl_col_to_name(col)
        ranges[name] = f"='{LISTS_SHEET}'!${letter}$3:${letter}${len(values) + 2}"
    return ranges


def _write_notes(sheet: Any, kind: LedgerKind, ref: Reference, community: str | None, fmt: dict[str, Any],
                 title: str) -> None:
    widths = (16, 8, 36, 70)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.write_string(0, 0, f"{TEMPLATE_MARK}{title}填写说明", fmt["title"])
    rules = [
        f"1. 在「{kind.title}」工作表中填写，一行一条记录；第 1 行是表头，请不要改动表头文字（列的顺序可以调整，可以增加其他列，系统会忽略）。",
        f"2. 第 2 行是示例（以「{EXAMPLE_MARK}」开头），载入时自动跳过，可以保留或删除；请从第 3 行起填写。",
        "3. 红色表头为必填列；把鼠标移到表头上可以看到每一列的填写要求。",
        "4. 带下拉箭头的单元格请从列表中选择；系统也能识别常见的其他写法，但请尽量从列表中选择。",
        "5. 日期请按 2022-06-01 的格式填写（也可写 2022/6/1、2022年6月1日）。",
        "6. 文件名用于识别台账：更正后请用同一个文件名重新上报，新文件会替换旧文件的全部记录。",
        "7. 本工作表和隐藏的「下拉选项」工作表不含数据，载入时自动跳过。",
    ]
    for row, text in enumerate(rules, start=2):  # one line each, running over the empty cells beside
        sheet.write_string(row, 0, text)
    top = len(rules) + 3
    for col, text in enumerate(("表头", "必填", "说明", "填写要求")):
        sheet.write_string(top, col, text, fmt["header"])
    for row, f in enumerate(kind.fields, start=top + 1):
        cells = (f.header, "必填" if f.required else "选填", describe(kind, f),
                 hint(kind, f, ref, community) + (f"（表头也可写作：{'、'.join(f.aliases)}）" if f.aliases else ""))
        for col, text in enumerate(cells):
            sheet.write_string(row, col, text, fmt["cell"])
        lines = max(-(-_width(text) // (width - 1)) for text, width in zip(cells, widths))
        sheet.set_row(row, 15 * max(1, lines) + 3)
