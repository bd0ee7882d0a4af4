"""``/briefing`` on the dashboard's own server: the static briefing's bytes, with no Streamlit session per reader.

Installed by chuangshu/serve.py into Streamlit's Starlette app, ahead of Streamlit's routes (the
page app would otherwise answer the path with its own shell). Each request checks the sharing
rule (chuangshu/sharing.py: off, community-scoped deployment, access code) and hands out the file
from memory (reread only when it changes), with an ETag and a Content-Security-Policy that lets
the page load nothing from anywhere. Streamlit's gzip middleware compresses it.
"""
from __future__ import annotations

import html
from typing import Any

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


async def endpoint(request: Any) -> Any:
    """The Starlette endpoint."""
    from starlette.responses import Response

    status, body, headers = answer(request.query_params.get("code"), request.headers.get("if-none-match"))
    media = headers.pop("Content-Type")
    return Response(body if request.method != "HEAD" else b"", status_code=status, headers=headers, media_type=media)


def install() -> None:
    """Put the route in front of Streamlit's own (in the server started afterwards in this process)."""
    from starlette.routing import Route
    from streamlit import config
    from streamlit.web.server.starlette import starlette_app

    original = starlette_app.create_streamlit_routes
    if getattr(original, "_chuangshu", False):
        return

    def create_streamlit_routes(runtime: Any) -> list:
        base = (config.get_option("server.baseUrlPath") or "").strip("/")
        path = f"/{base}{sharing.BRIEFING_PATH}" if base else sharing.BRIEFING_PATH
        return [Route(path, endpoint, methods=["GET", "HEAD"]), *original(runtime)]

    create_streamlit_routes._chuangshu = True  # type: ignore[attr-defined]
    starlette_app.create_streamlit_routes = create_streamlit_routes
