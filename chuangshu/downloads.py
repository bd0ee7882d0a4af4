"""Generated downloads that live for seconds, not for the browser session.

Streamlit keeps a download button's file in its in-memory media storage under
``/media/<id>.<ext>`` for as long as the session that made it lives, plus a grace of up to
``server.disconnectedSessionTTL`` (120 s) after the tab is closed, and the id is a hash of
the content. Anyone who has the URL (browser history on a shared computer, a proxy log) could
fetch the deck or a data download without signing in during that time.

So every download the dashboard offers is built only when clicked (``st.download_button`` with
a callable ``data=``; ``tests/test_downloads.py`` checks each page), and
:class:`ShortLivedMediaStorage`, installed by :mod:`chuangshu.serve` in place of Streamlit's
``MemoryMediaFileStorage``, keeps each generated file only briefly:

* its id is random (``secrets.token_hex``), not the content hash, so the URL cannot be
  derived from the content and two sessions never share one;
* it is served until :data:`AFTER_FETCH_S` after the first request for it (Streamlit's page
  requests a generated file twice at once: a check and the download itself), or until
  :data:`FIRST_FETCH_S` after it was made if nobody asks (the browser asks at once after the
  click); after that the URL answers 404 and the bytes are dropped.

Media shown on a page (images, audio) are unchanged. Relies on two attributes of Streamlit
1.67's ``MemoryMediaFileStorage`` (``_files_by_id``, ``_read_file``); the tests fail if they go.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Callable

from streamlit.runtime.media_file_storage import MediaFileKind
from streamlit.runtime.memory_media_file_storage import MemoryFile, MemoryMediaFileStorage

FIRST_FETCH_S = 60.0
AFTER_FETCH_S = 10.0


class ShortLivedMediaStorage(MemoryMediaFileStorage):
    """Streamlit's in-memory media storage, with short-lived, randomly named downloads."""

    def __init__(self, media_endpoint: str, *, first_fetch_s: float = FIRST_FETCH_S,
                 after_fetch_s: float = AFTER_FETCH_S, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(media_endpoint)
        self.first_fetch_s = first_fetch_s
        self.after_fetch_s = after_fetch_s
        self._clock = clock
        self._deadline: dict[str, float] = {}  # download id -> when it stops being served
        self._fetched: set[str] = set()
        self._lock = threading.Lock()
        self._quiet = threading.local()  # get_url() looks a file up without it counting as a fetch

    def load_and_get_id(self, path_or_data: str | bytes, mimetype: str, kind: MediaFileKind,
                        filename: str | None = None) -> str:
        """Store a file; a download gets a fresh random id and a deadline."""
        if kind != MediaFileKind.DOWNLOADABLE:
            return super().load_and_get_id(path_or_data, mimetype, kind, filename)
        data = self._read_file(path_or_data) if isinstance(path_or_data, str) else path_or_data
        file_id = secrets.token_hex(16)
        with self._lock:
            self._expire()
            self._files_by_id[file_id] = MemoryFile(content=data, mimetype=mimetype, kind=kind, filename=filename)
            self._deadline[file_id] = self._clock() + self.first_fetch_s
        return file_id

    def get_file(self, filename: str) -> MemoryFile:
        """The file for a request (raises MediaFileStorageError when gone); a download's first
        request starts its last few seconds."""
        file_id = os.path.splitext(filename)[0]
        with self._lock:
            self._expire()
            found = super().get_file(filename)
            if file_id in self._deadline and file_id not in self._fetched and not getattr(self._quiet, "on", False):
                self._fetched.add(file_id)
                self._deadline[file_id] = self._clock() + self.after_fetch_s
        return found

    def get_url(self, file_id: str) -> str:
        """The file's URL (looking it up here is not a fetch)."""
        self._quiet.on = True
        try:
            return super().get_url(file_id)
        finally:
            self._quiet.on = False

    def delete_file(self, file_id: str) -> None:
        """Forget a file (Streamlit calls this when no session refers to it any more)."""
        with self._lock:
            super().delete_file(file_id)
            self._deadline.pop(file_id, None)
            self._fetched.discard(file_id)

    def downloads(self) -> int:
        """How many generated downloads are held (for tests and checks)."""
        with self._lock:
            self._expire()
            return len(self._deadline)

    def _expire(self) -> None:
        """Drop every download past its deadline (callers hold the lock)."""
        now = self._clock()
        for file_id in [f for f, until in self._deadline.items() if now >= until]:
            with contextlib.suppress(KeyError):
                del self._files_by_id[file_id]
            del self._deadline[file_id]
            self._fetched.discard(file_id)


def install() -> None:
    """Make the Streamlit server (started afterwards in this process) use ShortLivedMediaStorage."""
    from streamlit.web.server import server

    server.MemoryMediaFileStorage = ShortLivedMediaStorage  # type: ignore[misc]
