"""``/briefing`` on the dashboard's own server: the static briefing's bytes, with no Streamlit session per reader.

Installed by chuangshu/serve.py as a thin ASGI layer in front of Streamlit's Starlette app: a request
for the briefing's path is answered right there, without Starlette's routing and Streamlit's three
middlewares (path security, sessions, gzip), everything else passes through untouched. A hall of 200
phones asks for the same 54 KB at once, so each request should cost as little as a plain file server's
(bench/crowd.py). Each request checks the sharing rule (chuangshu/sharing.py: off, community-scoped
deployment, access code) and hands out the file from memory (reread only when it changes), gzipped
once per version for clients that accept it, with an ETag and a Content-Security-Policy that lets
the page load nothing from anywhere.
"""
from __future__ import annotations

import gzip
import html
import threading
from typing import Any
from urllib.parse import parse_qs

from chuangshu import briefing, sharing
from chuangshu.paths import db_path

CACHE = briefing.Cache()
HEADERS = {
    "Cache-Control": "no-cache",  # phones revalidate (ETag) and see a new load at once
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _secrets() -> dict[str, Any]:
    from chuangshu import signin

    return signin.secrets()


def message_page(title: str, text: str) -> str:
    """A small Chinese page for a refusal (phone-sized, no script)."""
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
            f'<style>body{{font-family:sans-serif;margin:24px;line-height:1.6;color:#1F2A37}}</style></head>'
            f'<body><h1 style="font-size:20px">{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>')


def answer(code: str | None, if_none_match: str | None = None) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) for a request of the briefing with ``code`` (framework-free, for tests)."""
    s = sharing.load()
    decision = sharing.decision(s, sharing.scoped_deployment(_secrets()))
    headers = {**HEADERS, "Content-Type": "text/html; charset=utf-8"}
    if not decision.served:
        return 404, message_page("简报未开放", decision.reason).encode(), headers
    if not sharing.code_ok(s, code):
        return 403, message_page("需要访问码", "请扫描会场大屏或汇报材料上的二维码打开简报（链接中带访问码）。").encode(), headers
    found = CACHE.get(briefing.path_for(db_path()))
    if found is None:
        return 503, message_page("简报尚未生成", "数据载入后会自动生成简报，请稍后刷新。").encode(), headers
    body, etag = found
    headers["ETag"] = etag
    if if_none_match == etag:
        return 304, b"", headers
    return 200, body, headers


class Compressed:
    """The gzip form of the latest body, made once per ETag (the file changes once per load)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._etag: str | None = None
        self._body = b""

    def get(self, body: bytes, etag: str) -> bytes:
        """``body`` gzipped (level 6), from memory while ``etag`` is unchanged."""
        with self._lock:
            if etag != self._etag:
                self._body, self._etag = gzip.compress(body, compresslevel=6, mtime=0), etag
            return self._body


GZIP = Compressed()


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return None


def _accepts_gzip(accept: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip (``gzip;q=0`` refuses it)."""
    for part in (accept or "").lower().split(","):
        token, *params = (p.strip() for p in part.split(";"))
        if token in ("gzip", "*"):
            q = next((p[2:] for p in params if p.startswith("q=")), "1")
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


def response(scope: dict[str, Any]) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """(status, body, raw headers) for an ASGI request of the briefing: :func:`answer` plus gzip and HEAD."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    code = (query.get("code") or [None])[0]
    status, body, headers = answer(code, _header(scope, b"if-none-match"))
    if status == 200:
        headers["Vary"] = "Accept-Encoding"
        if _accepts_gzip(_header(scope, b"accept-encoding")):
            body = GZIP.get(body, headers["ETag"])
            headers["Content-Encoding"] = "gzip"
    headers["Content-Length"] = str(len(body))
    if scope.get("method") == "HEAD":
        body = b""
    return status, body, [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


class Front:
    """ASGI app that answers the briefing's path itself and hands every other request to ``app``."""

    def __init__(self, app: Any, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] in ("GET", "HEAD"):
            status, body, headers = response(scope)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def briefing_path() -> str:
    """The briefing's URL path under the server's base path (``/briefing`` or ``/base/briefing``)."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}{sharing.BRIEFING_PATH}" if base else sharing.BRIEFING_PATH


def install() -> None:
    """Put :class:`Front` in front of the Starlette app of the server started afterwards in this process."""
    from streamlit.web.server.starlette import starlette_server

    original = starlette_server.create_starlette_app
    if getattr(original, "_chuangshu", False):
        return

    def create_starlette_app(runtime: Any) -> Any:
        return Front(original(runtime), briefing_path())

    create_starlette_app._chuangshu = True  # type: ignore[attr-defined]
    starlette_server.create_starlette_app = create_starlette_app
