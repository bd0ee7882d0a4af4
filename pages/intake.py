"""数据上报: blank templates; upload ledgers, preview what loading them would do, download error reports, commit.

The logic (limits, dry run, error reports, commit) is in chuangshu/intake.py; this page wires widgets.
"""
import streamlit as st

from chuangshu import intake, templates, ui
from chuangshu.paths import db_path

NONCE, KEY, PREVIEW, DONE = "intake_nonce", "intake_key", "intake_preview", "intake_done"
COUNTS = {"new": ("新增", "count"), "changed": ("变更", "count"), "unchanged": ("未变", "count"),
          "removed": ("移除", "count"), "rejected": ("退回", "count")}
L = intake.LIMITS

ui.require("intake")  # admins (the sub-district office) only; the page checks for itself
ui.page_header("数据上报", "上传社区台账 → 预览每个文件、每个工作表将新增、变更、移除和退回的行 → 确认后入库。"
               "预览不会改动数据库；入库后各页面立即显示新数据。")
with st.expander("空白台账模板：发给社区填写，填好后在这里上报", icon=":material/description:"):
    kind_col, community_col = st.columns(2)
    t_kind = kind_col.selectbox("台账", list(templates.KINDS), format_func=templates.KINDS.get, key="template_kind")
    t_community = community_col.selectbox("社区（带出该社区的小区下拉列表）", [None, *templates.communities()],
                                          format_func=lambda c: c or "不指定社区", key="template_community")
    st.download_button("下载台账模板（Excel）", data=lambda: templates.template_file(t_kind, t_community)[1],
                       file_name=templates.file_name(t_kind, t_community), mime=templates.XLSX,
                       icon=":material/download:", key="template_download", on_click="ignore")
    st.caption("模板含标准表头（带填写说明）、下拉列表、日期格式和一行示例；示例行和说明页在载入时自动跳过。")

state = st.session_state
state.setdefault(NONCE, 0)
files = st.file_uploader(
    "选择台账文件（可多选）", type=[s.lstrip(".") for s in intake.ACCEPTED], accept_multiple_files=True,
    key=f"intake_files_{state[NONCE]}", max_upload_size=L.upload_mb,
    help="事项台账、三长名册、组织名册、微创熟项目台账、活动台账；文件名用于识别台账，更正后请用同一文件名重新上报")
st.caption(f"限制：单个文件不超过 {intake.size_text(L.file_bytes)}，一次最多 {L.files} 个文件；"
           f"每个工作簿不超过 {L.sheets} 个工作表，每个表不超过 {L.rows:,} 行。")

done = state.get(DONE)
if done:
    st.success(done["message"], icon=":material/check_circle:")
    if len(done["files"]):
        ui.table(done["files"], {"file": ("文件", "text"), "status": ("状态", "text"), **COUNTS,
                                 "message": ("说明", "text")})
    st.page_link("pages/quality.py", label="到「数据质量」查看载入记录与逾期未报", icon=":material/fact_check:")

if not files:
    if not done:
        st.info("请选择要上报的台账文件。系统先检查并预览，确认无误后再入库。", icon=":material/upload_file:")
    st.stop()

state.pop(DONE, None)
uploads = [(u.name, u.getvalue()) for u in files]
key = intake.upload_key(uploads) + ui.db_version()
if state.get(KEY) != key:
    with st.spinner("正在检查和预览……"):
        state[PREVIEW] = intake.preview_uploads(uploads, db_path())
    state[KEY] = key
preview: intake.IntakePreview = state[PREVIEW]
if preview.error:
    st.error(preview.error, icon=":material/block:")
    st.stop()

st.subheader("预览")
ui.table(preview.file_frame(), {
    "file": ("文件", "text"), "status": ("状态", "text"), "kinds": ("台账", "text"), "community": ("社区", "text"),
    "months": ("月份", "text"), "rows_read": ("读取", "count"), **COUNTS, "message": ("说明", "text")})

for i, f in enumerate(preview.files):
    icon = {intake.STATUS_READY: ":material/check:", intake.STATUS_SAME: ":material/equal:"}.get(
        f.status, ":material/error:")
    with st.expander(f"{f.name} · {f.status}", icon=icon, expanded=not f.loadable or bool(f.rejects)):
        if f.status in (intake.STATUS_REFUSED, intake.STATUS_UNREADABLE):
            st.error(f.message)
        if f.sheets:
            ui.table(preview.sheet_frame(f.name), {"sheet": ("工作表", "text"), "kind": ("台账", "text"), **COUNTS,
                                                   "note": ("备注", "text")})
        if f.rejects:
            st.markdown(f"**退回的行（{len(f.rejects)}）**")
            ui.table(f.reject_frame(), {"sheet": ("工作表", "text"), "row": ("行号", "text"),
                                        "reason": ("原因", "text")}, height=min(400, 40 + 35 * len(f.rejects)))
        if f.has_report():
            st.download_button("下载问题说明（Excel，可发回社区更正）", data=f.error_report, file_name=f.report_name(),
                               mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               icon=":material/download:", key=f"intake_report_{i}", on_click="ignore")

ready = preview.loadable
if st.button(f"确认入库（{len(ready)} 个文件）", type="primary", disabled=not ready, key="intake_commit",
             icon=":material/publish:"):
    try:
        with st.spinner("正在入库……"):
            report = intake.commit(preview, db_path())
    except Exception as exc:  # noqa: BLE001 - the loader is all or nothing: say so and keep the page
        st.error(f"入库失败，数据库未改动：{exc}", icon=":material/error:")
        st.stop()
    state[DONE] = {"message": (f"已入库 {len(report.files)} 个文件，数据库已更新到第 {report.db_version} 版。"
                               if report and report.published else "没有需要入库的变化，数据库未改动。"),
                   "files": intake.commit_frame(report)}
    state[NONCE] += 1  # a fresh, empty uploader
    for k in (KEY, PREVIEW):
        state.pop(k, None)
    st.rerun()
if not ready:
    st.caption("没有可以入库的文件：被拒收、无法读取或与已载入版本相同的文件不会入库。")
