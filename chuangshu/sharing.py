"""Sharing in the meeting room: the public address for QR codes, and whether the briefing is served, to whom.

The server cannot know the address phones in the hall reach it by (a LAN address, a proxy's
name), so QR codes need an administrator's setting, :attr:`Sharing.public_url`. The static
briefing (:mod:`chuangshu.briefing`) is served at ``/briefing`` only as the administrator
decides (:attr:`Sharing.briefing`):

* ``off``    (关闭) — not served (the file is still written beside the database);
* ``code``   (凭访问码) — served to a link that carries the access code (``/briefing?code=…``,
  the QR code carries it), so a photo of the link, not the server's address, is what opens it;
* ``public`` (公开) — served to anyone who can reach the server.

A deployment with community-scoped accounts (docs/access.md) does not serve the sub-district
briefing at all — those accounts must not see other communities' figures, and a briefing needs no
sign-in — unless the briefing itself is scoped to one community (:attr:`Sharing.community`, built on
that community's scoped database). :func:`decision` is that rule, in one place.

Settings come from environment variables (``CHUANGSHU_PUBLIC_URL``, ``CHUANGSHU_BRIEFING``,
``CHUANGSHU_BRIEFING_CODE``, ``CHUANGSHU_BRIEFING_COMMUNITY``), which win, else from
``sharing.json`` in the local state folder, written by the 汇报导出 page's admin section.
"""
from __future__ import annotations

import io
import json
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from chuangshu.paths import local_state_dir

MODES = {"off": "关闭", "code": "凭访问码（链接和二维码中带访问码）", "public": "公开（能访问本服务器的人都能打开）"}
ENV = {"public_url": "CHUANGSHU_PUBLIC_URL", "briefing": "CHUANGSHU_BRIEFING", "code": "CHUANGSHU_BRIEFING_CODE",
       "community": "CHUANGSHU_BRIEFING_COMMUNITY"}
FILE_NAME = "sharing.json"
BRIEFING_PATH = "/briefing"
PHONE_PATH = "/m"
MISSING_URL_NOTE = ("未设置对外访问地址，无法生成二维码：请管理员在「汇报导出 → 现场扫码设置」中填写手机能访问到的地址"
                    "（如 http://192.168.1.20:8501），或设置环境变量 CHUANGSHU_PUBLIC_URL。")


class SettingError(ValueError):
    """A setting that cannot be saved (Chinese message)."""


@dataclass(frozen=True)
class Sharing:
    """The administrator's sharing settings (``fixed``: the ones set by environment variables)."""

    public_url: str | None = None
    briefing: str = "off"
    code: str | None = None
    community: str | None = None
    fixed: frozenset[str] = field(default_factory=frozenset)

    def briefing_link(self) -> str | None:
        """The briefing's full address for a QR code (with the access code), or None without a public URL."""
        if not self.public_url:
            return None
        suffix = f"?code={quote(self.code)}" if self.briefing == "code" and self.code else ""
        return f"{self.public_url}{BRIEFING_PATH}{suffix}"

    def phone_link(self) -> str | None:
        """The phone view's full address, or None without a public URL."""
        return f"{self.public_url}{PHONE_PATH}" if self.public_url else None


def normalise_url(text: str | None) -> str | None:
    """'192.168.1.20:8501/' -> 'http://192.168.1.20:8501'; None for empty; SettingError when not an address."""
    raw = (text or "").strip()
    if not raw:
        return None
    other_scheme = re.match(r"^[a-z][a-z0-9+.-]*://", raw, re.IGNORECASE) and not re.match(r"^https?://", raw, re.I)
    if not re.match(r"^https?://", raw, re.IGNORECASE):
        raw = "http://" + raw
    parts = urlsplit(raw)
    if (other_scheme or not parts.hostname or re.search(r"\s", raw) or parts.query or parts.fragment
            or "//" in parts.path):
        raise SettingError(f"「{text}」不是有效的网址：请写成 http://地址:端口 的形式，如 http://192.168.1.20:8501")
    return raw.rstrip("/")


def settings_file() -> Path:
    """Where the page's settings are kept (the local state folder survives database reloads)."""
    return local_state_dir() / FILE_NAME


def load(env: Mapping[str, str] | None = None, path: Path | None = None) -> Sharing:
    """The settings in force: environment variables over the settings file over the defaults (off).

    A value that does not make sense (unknown mode, bad address) is ignored, never obeyed."""
    env = os.environ if env is None else env
    stored: dict[str, Any] = {}
    path = path or settings_file()
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = {}
    values: dict[str, Any] = {k: stored.get(k) for k in ENV}
    fixed = set()
    for key, name in ENV.items():
        if env.get(name, "").strip():
            values[key] = env[name].strip()
            fixed.add(key)
    try:
        url = normalise_url(values.get("public_url"))
    except SettingError:
        url = None
    mode = values.get("briefing") if values.get("briefing") in MODES else "off"
    code = str(values["code"]).strip() if values.get("code") else None
    if mode == "code" and not code:
        mode = "off"  # a code link without a code would open to anyone: refuse rather than guess
    community = str(values["community"]).strip() if values.get("community") else None
    return Sharing(public_url=url, briefing=mode, code=code, community=community, fixed=frozenset(fixed))


def save(s: Sharing, path: Path | None = None) -> None:
    """Write the settings file atomically (mode 0600: it holds the access code)."""
    if s.briefing not in MODES:
        raise SettingError(f"未知的简报开放方式：{s.briefing}")
    if s.briefing == "code" and not s.code:
        raise SettingError("「凭访问码」需要访问码：请生成一个访问码")
    path = path or settings_file()
    data = {k: v for k, v in asdict(s).items() if k in ENV}
    fd, tmp = tempfile.mkstemp(prefix=".sharing-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def new_code() -> str:
    """A fresh access code: short enough to read out, long enough not to be guessed (8 characters, ~41 bits)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
    return "".join(secrets.choice(alphabet) for _ in range(8))


# --- who may read the briefing ------------------------------------------------------------------

def scoped_deployment(secrets_conf: Mapping[str, Any] | None) -> bool:
    """True when any configured account (password or OIDC mapping) is limited to one community."""
    conf = secrets_conf or {}
    users = conf.get("users") or {}
    if isinstance(users, Mapping) and any(isinstance(e, Mapping) and e.get("community") for e in users.values()):
        return True
    roles = conf.get("oidc_roles") or {}
    return isinstance(roles, Mapping) and any(isinstance(e, Mapping) and e.get("community") for e in roles.values())


@dataclass(frozen=True)
class Decision:
    """Whether the briefing is served now, and the sentence that says why (for the page and the 404)."""

    served: bool
    reason: str


def decision(s: Sharing, scoped: bool) -> Decision:
    """The access rule (docs/access.md): off, or a sub-district briefing in a community-scoped deployment,
    is not served; otherwise served to everyone (public) or to links with the code."""
    if s.briefing == "off":
        return Decision(False, "简报未开放：管理员可在「汇报导出 → 现场扫码设置」中开放。")
    if scoped and not s.community:
        return Decision(False, "本系统有只能查看本社区数据的账号，全街道简报不对外开放；"
                               "如需开放，请管理员把简报限定为一个社区。")
    if s.briefing == "code":
        return Decision(True, "凭访问码开放：只有带访问码的链接或二维码能打开。")
    return Decision(True, "公开：能访问本服务器的人都能打开。")


def target(s: Sharing, scoped: bool) -> tuple[str | None, str]:
    """Where a QR code in the room sends phones: (address, what it is) — the briefing when it is served,
    else the phone view (which asks for sign-in where users are configured); no address without a
    public URL."""
    if decision(s, scoped).served:
        return s.briefing_link(), "简报"
    return s.phone_link(), "手机版看板"


def code_ok(s: Sharing, given: str | None) -> bool:
    """True when the request may read the briefing: public, or the code matches (constant time)."""
    if s.briefing == "public":
        return True
    if s.briefing != "code" or not s.code or not given:
        return False
    return secrets.compare_digest(s.code.encode(), given.strip().encode())


# --- QR codes ----------------------------------------------------------------------------------

def qr_svg(url: str, *, dark: str = "#0B1220", light: str = "#FFFFFF", css_class: str = "qr") -> str:
    """An inline SVG QR code of ``url`` (error correction M, 2-module quiet zone), sized by CSS."""
    import segno

    svg = segno.make(url, error="m").svg_inline(scale=1, border=2, dark=dark, light=light, omitsize=True)
    return svg.replace('class="segno"', f'class="segno {css_class}" role="img" aria-label="二维码"', 1)


def qr_img(url: str, css_class: str = "qr", alt: str = "二维码") -> str:
    """An ``<img>`` of the QR code (an SVG data URI: Streamlit's st.html keeps images, not inline SVG)."""
    import base64

    import segno

    svg = segno.make(url, error="m").svg_inline(scale=1, border=2, dark="#0B1220", light="#FFFFFF", omitsize=True)
    svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    data = base64.b64encode(svg.encode()).decode()
    return f'<img class="{css_class}" alt="{alt}" src="data:image/svg+xml;base64,{data}">'


def qr_png(url: str, scale: int = 12) -> bytes:
    """A PNG QR code of ``url`` (for slides), black on white with a 2-module quiet zone."""
    import segno

    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=scale, border=2)
    return out.getvalue()


def with_changes(s: Sharing, **changes: Any) -> Sharing:
    """``s`` with the page's changes (fields set by environment variables stay as they are)."""
    return replace(s, **{k: v for k, v in changes.items() if k not in s.fixed})
