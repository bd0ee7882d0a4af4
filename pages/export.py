"""汇报导出: a one-click slide deck (PPTX with native, editable charts) and a PDF of it."""
from __future__ import annotations

from datetime import date

import streamlit as st

from chuangshu import deck, fmt, metrics, pdf, sharing_ui, ui, widgets
from chuangshu.filters import Filters

WHOLE = "全街道（全部社区）"
FONT_LABELS = {deck.FONT_NOTO: "Noto Sans CJK SC（思源黑体，与看板一致，推荐）",
               deck.FONT_YAHEI: "微软雅黑（放映电脑没有思源黑体时选用）"}
RESULT = "export_result"


def make_pptx(f: Filters, font: str, day: date, qr: tuple[str | None, str]) -> bytes:
    """The deck, built on the data the signed-in user may see (their community's database if scoped),
    its last slide carrying the room's QR code ``qr``."""
    cur = ui.data_cursor()
    try:
        return deck.build(cur, f, font=font, generated_on=day, overlay=ui.overlay(), qr=qr)
    finally:
        cur.close()


g = ui.page_header("汇报导出", "一键生成汇报用的幻灯片（16:9，图表可在 PowerPoint / WPS 中直接编辑数据）和同样内容的 PDF。"
                              "范围、年份和统计日默认取侧栏的筛选，可在下面单独调整；事项类别沿用侧栏。")
communities, _ = ui.choices()
limits = ui.bounds()
options = communities if ui.scope() else [WHOLE, *communities]  # a community account: its own only
if "export_scope" not in st.session_state:
    st.session_state["export_scope"] = g.communities[0] if len(g.communities) == 1 else options[0]
    widgets.set_date("export_as_of", g.as_of)
    st.session_state["export_years"] = (g.year_from, g.year_to)

left, middle, right = st.columns([1.2, 1.3, 1.3])
scope = left.selectbox("汇报范围", options, key="export_scope", help="选择一个社区时，所有数字只计该社区")
with middle:
    as_of = widgets.date_select("统计截至", "export_as_of", limits.first, limits.last, g.as_of,
                                help=f"可选 {fmt.date_cn(limits.first)} 至数据的最后一天 {fmt.date_cn(limits.last)}")
with right:
    years = widgets.year_range("统计年份", "export_years", limits.first_year, as_of.year, (g.year_from, g.year_to),
                               help="受理、办结等流量指标只计此区间；在任人数等存量指标按区间末计")
f = Filters(as_of=as_of, year_from=years[0], year_to=years[1],
            communities=() if scope == WHOLE else (scope,), categories=g.categories)

font = st.radio("幻灯片字体", list(FONT_LABELS), format_func=FONT_LABELS.get, horizontal=True, key="export_font")
pdf_ok = pdf.available()
want_pdf = st.checkbox("同时生成 PDF（约需 5–10 秒）", value=pdf_ok, disabled=not pdf_ok, key="export_pdf",
                       help=None if pdf_ok else pdf.MISSING_MESSAGE)
if not pdf_ok:
    st.warning(pdf.MISSING_MESSAGE, icon=":material/picture_as_pdf:")

st.caption(f"本次导出：{ui.describe(f)}")
with st.expander("幻灯片目录", expanded=False):
    ranking = "本社区各小区受理事项" if f.communities else "各社区受理事项与每千户受理事项（前 15 名）"
    st.markdown("\n".join([
        "1. 封面：范围、统计区间、统计日",
        f"2. 数读：{len([k for k in metrics.headline_keys(f) if k in metrics.HEADLINE])} 项核心指标（同比、逐年小图）与工作范围",
        "3. 各类事项逐年受理（按类别堆叠）",
        "4. 每类事项一页：逐年受理与办结、办结率、用时、在办",
        f"5. {ranking}",
        "6. 考核：统计截至日所在月的创熟指数排名、名次变化最大的社区" + ("（社区账号：本社区各指标与目标）" if ui.scope() else ""),
        "7. 预警：按规则触发的预警条数与最需要处理的几条",
        "8. 队伍：三长人数、党员占比、覆盖小区",
        "9. 组织：各类组织与每年新成立",
        "10. 大事记",
        "11. 指标口径：本材料用到的每项指标的定义",
        "12. 扫码阅读：手机扫码打开简报或手机版（对外访问地址见下方「现场扫码」）",
    ]) + "\n\n每页页脚注明来源、统计日和筛选条件" + ("；示例数据的每页都有「示例数据」标记。" if ui.is_sample() else "。"))

qr = sharing_ui.qr_target()
params = (ui.db_version(), f, font, date.today(), ui.scope(), ui.overlay(), qr)
if st.button("生成汇报材料", type="primary", icon=":material/slideshow:", key="export_generate"):
    result: dict = {"params": params, "pdf": None, "pdf_error": None}
    with st.spinner("正在生成幻灯片……"):
        result["pptx"] = make_pptx(f, font, date.today(), qr)
    if want_pdf:
        with st.spinner("正在用 LibreOffice 转换 PDF……"):
            try:
                result["pdf"] = pdf.pptx_to_pdf(result["pptx"])
            except (pdf.PdfUnavailable, pdf.PdfConversionError) as exc:
                result["pdf_error"] = str(exc)
    st.session_state[RESULT] = result

result = st.session_state.get(RESULT)
if result and result["params"] == params:
    stem = deck.file_stem(f)
    size = len(result["pptx"]) / 1024
    st.success(f"已生成：{scope}，{f.years_text()}，数据截至{fmt.date_cn(f.as_of)}。"
               f"PPTX 约 {size:,.0f} KB。", icon=":material/check_circle:")
    a, b, _ = st.columns([1, 1, 2])
    pptx, pdf_bytes = result["pptx"], result["pdf"]  # handed over only when clicked (chuangshu.downloads)
    a.download_button("下载 PPTX", lambda: pptx, file_name=f"{stem}.pptx", mime=deck.PPTX_MIME,
                      icon=":material/slideshow:", key="export_dl_pptx", on_click="ignore", width="stretch")
    if pdf_bytes is not None:
        b.download_button("下载 PDF", lambda: pdf_bytes, file_name=f"{stem}.pdf", mime="application/pdf",
                          icon=":material/picture_as_pdf:", key="export_dl_pdf", on_click="ignore", width="stretch")
    if result["pdf_error"]:
        st.error(result["pdf_error"], icon=":material/error:")
elif result:
    st.info("设置已改变，请重新点击「生成汇报材料」。", icon=":material/info:")

st.divider()
sharing_ui.section()
