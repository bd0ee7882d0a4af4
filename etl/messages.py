"""Every message a clerk or office user reads from the ETL, in Simplified Chinese."""
from __future__ import annotations

from etl.errors import Problem

MESSAGES: dict[str, str] = {
    # whole file / sheet
    "file_empty": "文件为空（0 字节），请重新导出后上报",
    "file_not_workbook": "文件不是有效的 Excel 工作簿（{detail}），请用 Excel 另存为 .xlsx 后重新上报",
    "file_encrypted": "文件设有打开密码，系统无法读取，请取消密码后重新上报",
    "file_unsupported": "不支持的文件类型「{suffix}」，请上报 .xlsx、.xls 或 .csv 文件",
    "file_encoding": "无法识别文件编码，请用 Excel 另存为「CSV UTF-8」或 .xlsx 后重新上报",
    "file_no_header": "未找到可识别的表头（{detail}），请使用街道下发的台账模板",
    "file_no_rows": "文件中没有数据行",
    "sheet_no_header": "工作表未找到可识别的表头（{detail}），请使用街道下发的台账模板",
    "file_too_large": "文件过大（{size}），上限为 {limit}",
    # row level
    "missing_required": "{field}为空，请补填{hint}",
    "invalid_date": "{field}「{value}」不是有效日期，请按 2021-03-05 的格式填写",
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
