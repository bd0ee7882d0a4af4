"""PDF of a deck through LibreOffice headless (``soffice --headless --convert-to pdf``).

Each conversion runs in its own temporary folder with its own LibreOffice profile
(-env:UserInstallation), so two users exporting at once do not share a profile lock.
Install on Debian: ``apt-get install --no-install-recommends libreoffice-impress-nogui``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("soffice", "libreoffice")
FALLBACK_PATHS = ("/usr/bin/soffice", "/usr/lib/libreoffice/program/soffice",
                  "/opt/libreoffice/program/soffice", "/Applications/LibreOffice.app/Contents/MacOS/soffice")
TIMEOUT_S = 180

MISSING_MESSAGE = ("未找到 LibreOffice，无法生成 PDF。请管理员在服务器上安装："
                   "sudo apt-get install --no-install-recommends libreoffice-impress-nogui"
                   "（或执行 make sysdeps）。也可以先下载 PPTX，在 PowerPoint 或 WPS 中“另存为 PDF”。")


class PdfUnavailable(RuntimeError):
    """LibreOffice is not installed; the message says, in Chinese, how to fix it."""


class PdfConversionError(RuntimeError):
    """LibreOffice ran but produced no PDF (timeout, crash, unreadable deck)."""


def soffice_path() -> str | None:
    """The LibreOffice executable: $SOFFICE, then the PATH, then the usual install locations."""
    env = os.environ.get("SOFFICE")
    if env and Path(env).exists():
        return env
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in FALLBACK_PATHS if Path(p).exists()), None)


def available() -> bool:
    return soffice_path() is not None


def pptx_to_pdf(data: bytes, timeout: float = TIMEOUT_S) -> bytes:
    """Convert .pptx bytes to .pdf bytes; raises PdfUnavailable or PdfConversionError (Chinese messages)."""
    exe = soffice_path()
    if exe is None:
        raise PdfUnavailable(MISSING_MESSAGE)
    with tempfile.TemporaryDirectory(prefix="chuangshu-pdf-") as tmp:
        folder = Path(tmp)
        source = folder / "deck.pptx"
        source.write_bytes(data)
        profile = (folder / "profile").as_uri()
        cmd = [exe, f"-env:UserInstallation={profile}", "--headless", "--invisible", "--nologo", "--norestore",
               "--nodefault", "--nolockcheck", "--convert-to", "pdf", "--outdir", str(folder), str(source)]
        env = {**os.environ, "HOME": str(folder)}
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, cwd=folder)
        except subprocess.TimeoutExpired as exc:
            raise PdfConversionError(f"生成 PDF 超时（超过 {int(timeout)} 秒），请稍后重试，或下载 PPTX 后自行另存为 PDF。") from exc
        target = folder / "deck.pdf"
        if proc.returncode != 0 or not target.exists() or target.stat().st_size == 0:
            detail = (proc.stderr or proc.stdout or b"").decode("utf-8", "replace").strip()[-300:]
            raise PdfConversionError(f"LibreOffice 未能生成 PDF（退出码 {proc.returncode}）。{detail}")
        return target.read_bytes()
