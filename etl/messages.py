"""Every message a clerk or office user reads from the ETL, in Simplified Chinese."""
from __future__ import annotations

from etl.errors import Problem

MESSAGES: dict[str, str] = {
    # whole file / sheet
    "file_empty": "文件为空（0 字节），请在 Excel 中重新保存后上报",
    "file_not_workbook": "文件不是有效的 Excel 工作簿（{detail}），请用 Excel 另存为 .xlsx 后重新上报",
    "file_encrypted": "文件设有打开密码，系统无法读取，请取消密码后重新上报",
    "file_unsupported": "不支持的文件类型「{suffix}」，请上报 .xlsx、.xls 或 .csv 格式的台账",
    "file_encoding": "无法识别文件编码，请用 Excel 另存为「CSV UTF-8」或 .xlsx 后重新上报",
    "file_no_header": "未找到可识别的表头（{detail}），请使用街道下发的台账模板",
    "file_no_rows": "文件中没有数据行",
    "sheet_no_header": "工作表未找到可识别的表头（{detail}），请使用街道下发的台账模板",
    "file_open_failed": "无法打开文件（{detail}），请检查文件后重新载入",
    "file_failed": "读取文件时出错（{detail}），本文件未载入，其他文件不受影响；请用 Excel 另存为 .xlsx 后重新上报，"
                   "如仍出错请联系街道管理员",
    "file_too_slow": "文件处理超过 {seconds} 秒仍未完成，系统已停止处理（文件可能过大或结构异常），请拆分后分批上报",
    # refused before parsing (etl/limits.py): type, size and shape
    "file_macro": "文件是启用宏的工作簿（{what}），系统不接收含宏的文件：请在 Excel 中「另存为」Excel 工作簿（.xlsx）后重新上报",
    "file_other_format": "文件是{what}，请在 Excel 或 WPS 中「另存为」Excel 工作簿（.xlsx）后重新上报",
    "file_too_large": "文件过大（{size}），单个文件上限为 {limit}，请按年份或工作表拆分后分批上报",
    "file_disguised": "文件内容是{what}，不是 {expected} 台账（可能改过扩展名），请上报原始台账文件",
    "file_workbook_as_csv": "文件内容是 Excel 工作簿，扩展名却是 .csv：请把扩展名改为 .xlsx（或 .xls）后重新上报",
    "file_text_as_workbook": "文件内容是纯文本（可能是 CSV），扩展名却是 {suffix}：请把扩展名改为 .csv 后重新上报",
    "file_not_xlsx": "文件内容是{what}，不是 .xlsx 台账，请用 Excel 另存为 .xlsx 后重新上报",
    "file_damaged": "文件已损坏（{detail}），请用 Excel 重新保存为 .xlsx 后上报",
    "zip_abnormal": "工作簿内部结构异常（{detail}），系统拒绝读取，请用 Excel 重新保存后上报",
    "zip_too_big": "工作簿解压后约 {size}，超过 {limit} 的上限（文件可能异常），请删去无关内容或拆分后上报",
    "zip_ratio": "工作簿压缩比异常（{ratio} 倍，可能是恶意构造的文件），系统拒绝读取，请用 Excel 重新保存后上报",
    "too_many_sheets": "工作簿有 {sheets} 个工作表，超过 {limit} 个的上限，请删去无关工作表或拆分后上报",
    "too_many_rows": "{where}{has} {rows} 行，超过每个表 {limit} 行的上限，请按年份拆分后分批上报",
    "too_many_columns": "{where}{has} {columns} 列，超过每个表 {limit} 列的上限（常见原因：数据右侧有大量空列或多余的逗号），"
                        "请删去多余的列后重新上报",
    "too_many_cells": "{where}{has} {rows} 行 × {columns} 列（{cells} 个单元格），超过每个表 {limit} 个单元格的上限，"
                      "请删去多余的行列或拆分后分批上报",
    "cell_too_long": "{where}{cell}有 {chars} 个字符，超过每个单元格 {limit} 个字符的上限，请删减后重新上报",
    # row level
    "missing_required": "{field}为空，请补填{hint}",
    "invalid_date": "{field}「{value}」不是有效日期，请按 2021-03-05 的格式填写",
    "date_zero": "{field}没有有效日期（单元格里是 0、负数或只有时刻 00:00，Excel 中显示为 1900-01-00、00:00 或 ####），"
                 "请按 2021-03-05 的格式填写",
    "date_time_only": "{field}「{value}」只有时刻、没有日期，请按 2021-03-05 的格式填写",
    "date_out_of_range": "{field}「{value}」超出合理范围（{low} 至 {high}），请核对",
    "date_order": "{later}（{later_value}）早于{earlier}（{earlier_value}），请核对",
    "unknown_community": "社区「{value}」不在街道 45 个社区名单中，请核对社区名称",
    "unknown_value": "{field}「{value}」无法识别，请填写：{allowed}",
    "invalid_number": "{field}「{value}」不是有效数字，请只填写数字（如 {example}）",
    "number_out_of_range": "{field}「{value}」超出范围（{low} 至 {high}），请核对",
    "duplicate_key": "{key_label}「{value}」与{where}第{row}行重复，同一{scope}内不能重复，请核对",
    "person_unidentifiable": "姓名「{value}」缺少联系电话和楼栋，无法识别为同一人，请补填其一",
}

HINTS = {
    "date": "（格式如 2021-03-05）",
}


def problem_message(problem: Problem) -> str:
    """Render a Problem in Chinese; unknown codes still say something useful."""
    template = MESSAGES.get(problem.code)
    if template is None:
        return f"无法处理：{problem.code} {problem.params}"
    params = {"hint": "", **problem.params}
    try:
        return template.format(**params)
    except KeyError:
        return template


def row_message(row_number: int | None, sheet: str | None, problem: Problem, csv: bool = False) -> str:
    """Full reject line as shown in reports: 「工作表 2021 第13行：登记日期为空……」."""
    where = ""
    if sheet and not csv:
        where += f"工作表「{sheet}」"
    if row_number is not None:
        where += f"第{row_number}行"
    text = problem.message()
    return f"{where}：{text}" if where else text
