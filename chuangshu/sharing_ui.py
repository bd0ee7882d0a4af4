"""The 汇报导出 page's 「现场扫码」 section: the QR code for the room, the big screen's link, the briefing's
state and, for administrators, the sharing settings (chuangshu/sharing.py; the rule in docs/access.md)."""
from __future__ import annotations

from datetime import datetime

import streamlit as st

from chuangshu import bigscreen_ui, briefing, fmt, sharing, signin, ui
from chuangshu.paths import db_path

FORM = "sharing_form"
SAVED = "sharing_saved"  # session state: show 「已保存」 once after the rerun


def current() -> tuple[sharing.Sharing, bool]:
    """The settings in force and whether this is a community-scoped deployment."""
    return sharing.load(), sharing.scoped_deployment(signin.secrets())


def qr_target() -> tuple[str | None, str]:
    """The room's QR target for the deck and the screen (sharing.target under the current settings)."""
    s, scoped = current()
    return sharing.target(s, scoped)


def section() -> None:
    """The whole section (status for everyone, settings for administrators)."""
    s, scoped = current()
    st.subheader("现场扫码：大屏、手机版与简报")
    if st.session_state.pop(SAVED, False):
        st.success("已保存。大屏、幻灯片和简报都按新设置生成。", icon=":material/check_circle:")
    target, what = sharing.target(s, scoped)
    decision = sharing.decision(s, scoped)
    left, right = st.columns([1, 2.2])
    if target is None:
        right.warning(sharing.MISSING_URL_NOTE, icon=":material/qr_code_2:")
    else:
        left.html(f'<div style="max-width:220px">{sharing.qr_img(target, "qr", f"二维码：{target}")}</div>')
        right.markdown(f"大屏右上角、「扫码阅读」画面和幻灯片最后一页的二维码打开**{what}**：")
        right.code(target, language=None)
    right.caption(f"简报：{decision.reason}")
    path = briefing.path_for(db_path())
    if path.exists():
        made = fmt.timestamp_cn(datetime.fromtimestamp(path.stat().st_mtime))
        right.caption(f"简报文件：{path.name}（生成于 {made}，每次载入数据后自动更新；可复制到任何网站服务器）")
    else:
        right.caption("简报文件尚未生成：数据载入后自动生成。")
    screen_link(s)
    user = ui.current_user()
    if user is not None and user.role == "admin":
        settings_form(s, scoped)


def screen_link(s: sharing.Sharing) -> None:
    """Pick the big screen's views and interval; the link to open on the projector's browser."""
    with st.expander("大屏链接：选择画面和切换间隔", icon=":material/tv:"):
        titles = {v.key: v.title for v in bigscreen_ui.VIEWS}
        chosen = st.multiselect("轮播的画面（按选择的顺序）", list(titles), default=list(titles), format_func=titles.get,
                                key="screen_views", placeholder="全部画面")
        interval = st.number_input("每个画面停留（秒）", bigscreen_ui.MIN_INTERVAL, bigscreen_ui.MAX_INTERVAL,
                                   bigscreen_ui.DEFAULT_INTERVAL, step=5, key="screen_interval")
        link = bigscreen_ui.link(s.public_url or "", interval=int(interval), views=chosen or None)
        st.code(link if s.public_url else link.lstrip("/"), language=None)
        st.caption("在会场电脑的浏览器打开此链接并按 F11 全屏；任何分辨率（1280×720 至 3840×2160，16:9、16:10、4:3）"
                   "都会铺满屏幕、不出滚动条。链接后加 &view=2 可固定显示一个画面，加 &qr=0 不显示角落的二维码。")


def settings_form(s: sharing.Sharing, scoped: bool) -> None:
    """The administrator's settings: public address, whether and to whom the briefing is served, its scope."""
    with st.expander("现场扫码设置（管理员）", icon=":material/settings:"):
        if s.fixed:
            st.caption("以下设置由环境变量决定，在这里不能修改：" + "、".join(sharing.ENV[k] for k in sorted(s.fixed)))
        with st.form(FORM):
            url = st.text_input("对外访问地址（手机能打开的地址）", value=s.public_url or "",
                                placeholder="http://192.168.1.20:8501", disabled="public_url" in s.fixed,
                                help="服务器不知道会场里的手机通过哪个地址访问它（局域网地址或反向代理的域名），请填写；"
                                     "二维码用它拼出链接")
            modes = list(sharing.MODES)
            mode = st.radio("简报是否开放、对谁开放", modes, index=modes.index(s.briefing), format_func=sharing.MODES.get,
                            disabled="briefing" in s.fixed)
            code = st.text_input("访问码（「凭访问码」时需要；留空则自动生成）", value=s.code or "",
                                 disabled="code" in s.fixed)
            communities, _ = ui.choices()
            options = [""] + communities
            community = st.selectbox("简报范围", options, index=options.index(s.community) if s.community in options else 0,
                                     format_func=lambda c: c or "全街道（全部社区）", disabled="community" in s.fixed,
                                     help="本系统有社区账号时，全街道简报不会对外开放；限定为一个社区后只含该社区的数字")
            saved = st.form_submit_button("保存", type="primary")
        if scoped:
            st.caption(":material/lock: 本系统有只能查看本社区数据的账号：全街道简报不对外开放，除非把简报范围限定为一个社区。")
        if saved:
            try:
                new = sharing.with_changes(s, public_url=sharing.normalise_url(url), briefing=mode,
                                           code=(code.strip() or sharing.new_code()) if mode == "code" else (code.strip() or None),
                                           community=community or None)
                sharing.save(new)
            except sharing.SettingError as exc:
                st.error(str(exc), icon=":material/error:")
                return
            with st.spinner("正在按新设置生成简报……"):
                briefing.refresh(db_path())
            st.session_state[SAVED] = True
            st.rerun()
