"""The Streamlit side of access control: who is signed in, the sign-in screen, page permissions.

* :func:`current_user` — the signed-in :class:`chuangshu.auth.User` (password or OIDC), the
  single local user when no users are configured and the browser is on this machine, or None.
* :func:`gate` — called by dashboard.py before navigation: returns the user, or shows the
  sign-in screen and stops the script.
* :func:`require` — called by every page (through ``ui.page_header``, ``ui.get`` or directly,
  as in pages/query.py): stops with a Chinese message unless the user has the permission.
  Pages check for themselves because a page script can be run without dashboard.py (the
  first request of a fresh server on a page's address takes Streamlit's legacy pages/
  path).
* :func:`allowed_pages` — the navigation a role sees; :func:`sidebar` — who is signed in and
  the sign-out button.

Configuration comes from ``st.secrets`` (``[users.*]``, ``[auth]``, ``[oidc_roles]``); see
docs/access.md.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import streamlit as st

from chuangshu import auth
from chuangshu.auth import User

log = logging.getLogger(__name__)

USER_KEY = "auth_username"  # session state: the signed-in password user's name (server side only)
MSG_SIGN_IN = "请先登录后再查看：打开首页登录。"
MSG_REMOTE = ("本系统尚未配置用户，只允许在运行它的电脑上本机访问。"
              "请管理员先添加用户（python -m chuangshu.users add …，见 docs/access.md）后再从其他电脑访问。")
MSG_LOCAL_MODE = "未配置用户：本机单用户模式（仅本机可访问）"


def secrets() -> dict[str, Any]:
    """``st.secrets`` as a plain dict ({} when there is no secrets file)."""
    try:
        return st.secrets.to_dict()
    except Exception:  # noqa: BLE001 - no secrets file, or an unreadable one
        return {}


def client_address() -> str | None:
    """The browser's address (None on this machine), for the server log and the query audit log."""
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001
        return None
    return ip if isinstance(ip, str) and ip else None


def _is_local_client() -> bool:
    """True when the browser connects from this machine (auth.is_local_address: loopback, also IPv4-mapped)."""
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001 - no client context (tests, bare mode)
        return True
    return auth.is_local_address(ip if isinstance(ip, str) else None)  # not a str: no real client (AppTest)


def _oidc_user(conf: Mapping[str, Any]) -> tuple[bool, User | None]:
    """(signed in with OIDC?, the mapped user or None if the email is not allowed)."""
    try:
        if st.user.is_logged_in is not True:
            return False, None
        info = st.user.to_dict()
    except Exception:  # noqa: BLE001 - authentication not available
        return False, None
    email = info.get("email")
    return True, auth.oidc_user(email, info.get("name"), conf, info.get("email_verified"))


def current_user() -> User | None:
    """The signed-in user, the local user (no users configured, browser on this machine), or None."""
    conf = secrets()
    if auth.oidc_configured(conf):
        signed_in, user = _oidc_user(conf)
        if signed_in:
            return user
    name = st.session_state.get(USER_KEY)
    if isinstance(name, str) and name:
        accounts, _ = auth.load_accounts(conf)
        account = accounts.get(name)
        if account is not None:
            return account.user  # read afresh each run: a changed role or removed user takes effect
        st.session_state.pop(USER_KEY, None)
        return None
    if not auth.users_configured(conf):
        return auth.LOCAL_USER if _is_local_client() else None
    return None


def require(permission: str | None = None) -> User:
    """The current user if they have ``permission`` (None: just signed in); else a message and stop."""
    user = current_user()
    if user is None:
        st.error(MSG_REMOTE if not auth.users_configured(secrets()) else MSG_SIGN_IN, icon=":material/lock:")
        st.stop()
    if not user.can(permission):
        what = auth.PERMISSION_NAMES.get(permission or "", permission)
        st.error(f"您的账号（{auth.ROLES[user.role]}）没有“{what}”权限，无法打开本页。如需开通，请联系街道办管理员。",
                 icon=":material/lock:")
        st.stop()
    return user


def allowed_pages(pages: Mapping[str, list], user: User) -> dict[str, list]:
    """The navigation sections with only the pages ``user`` may open (empty sections dropped)."""
    out: dict[str, list] = {}
    for section, items in pages.items():
        keep = [p for p in items if user.can(auth.page_permission(getattr(p, "url_path", "") or ""))]
        if keep:
            out[section] = keep
    return out


def sign_out() -> None:
    """Forget everything this browser session held, then sign out."""
    method = None
    user = current_user()
    if user is not None:
        method = user.method
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if method == "oidc":
        st.logout()
    st.rerun()


def sidebar(user: User) -> None:
    """Who is signed in (or the local-mode note) and the sign-out button."""
    with st.sidebar:
        if user.method == "local":
            st.info(MSG_LOCAL_MODE, icon=":material/person:")
            return
        st.caption(f"当前用户：{user.describe()}")
        if user.community:
            st.caption(f"本账号只能查看{user.community}的数据")
        if st.button("退出登录", key="sign_out", icon=":material/logout:"):
            sign_out()


# --------------------------------------------------------------------------- sign-in screen


def gate() -> User:
    """The current user; otherwise the sign-in screen (or a refusal) and the script stops."""
    user = current_user()
    if user is not None:
        return user
    page = st.navigation([st.Page(_sign_in_page, title="登录", icon=":material/login:", url_path="login",
                                  default=True)], position="hidden")
    page.run()
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def _sign_in_page() -> None:
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        _sign_in_form(secrets())


def _sign_in_form(conf: dict[str, Any]) -> None:
    st.title("桂城“创熟”治理数据")
    if not auth.users_configured(conf):
        st.error(MSG_REMOTE, icon=":material/lock:")
        return
    if auth.oidc_configured(conf):
        signed_in, user = _oidc_user(conf)
        if signed_in and user is None:
            st.error("您的统一身份认证账号未获授权访问本系统，请联系街道办管理员。", icon=":material/lock:")
            if st.button("退出统一身份认证", key="oidc_logout"):
                st.logout()
            return
    accounts, problems = auth.load_accounts(conf)
    st.caption("请登录后查看。社区账号只能看到本社区的数据；只有街道办管理员可以上报和修改数据。")
    if accounts:
        with st.form("sign_in", clear_on_submit=True):
            username = st.text_input("用户名", key="login_username", autocomplete="username")
            password = st.text_input("密码", type="password", key="login_password",
                                     autocomplete="current-password")
            submitted = st.form_submit_button("登录", type="primary", icon=":material/login:", width="stretch")
        if submitted:
            user, message = auth.authenticate(username, password, accounts)
            if user is not None:
                st.session_state[USER_KEY] = user.username
                log.info("signed in: %s (%s)", user.username, user.role)
                st.rerun()
            log.warning("failed sign-in for %r from %s", username, client_address() or "this machine")
            st.error(message or auth.MSG_BAD_LOGIN, icon=":material/error:")
    for provider in auth.oidc_providers(conf):
        label = "使用统一身份认证登录" if provider is None else f"使用 {provider} 登录"
        if st.button(label, key=f"oidc_{provider or 'default'}", icon=":material/badge:", width="stretch"):
            try:
                st.login(provider) if provider else st.login()
            except Exception as exc:  # noqa: BLE001 - e.g. Authlib missing, [auth] incomplete
                log.warning("st.login failed: %s", exc)
                st.error("统一身份认证未能启动，请联系管理员检查 [auth] 配置（需安装 Authlib）。")
    if problems:
        for problem in problems:
            log.warning("user configuration: %s", problem)
        st.caption(f"另有 {len(problems)} 个账号配置有误，已停用（详见服务器日志）。")
