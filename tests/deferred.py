"""The files behind AppTest's download buttons.

Every download the dashboard offers is built only when clicked (a callable ``data=``; see
chuangshu/downloads.py). AppTest renders such a button with a ``deferred_file_id`` and throws
its media manager away after the run; :func:`deferred_downloads` keeps the managers, and
:meth:`Deferred.files` runs each callable as the server does on a click (off the script
thread, so a callable that reads ``st.session_state`` would see nothing).
"""
from __future__ import annotations

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import app_test


class Deferred:
    """The media managers AppTest made, newest last."""

    def __init__(self) -> None:
        self.managers: list[MediaFileManager] = []

    def files(self, at: app_test.AppTest, label: str | None = None) -> list[tuple[str, bytes]]:
        """(label, bytes) of every download button of ``at``'s last run (or those labelled ``label``)."""
        manager = self.managers[-1]
        out = []
        for button in at.get("download_button"):
            proto = button.proto
            if label is not None and proto.label != label:
                continue
            assert proto.deferred_file_id and not proto.url, f"{proto.label}: built before the click"
            url = manager.execute_deferred(proto.deferred_file_id)
            found = manager.read_file(url.rsplit("/", 1)[-1])
            assert found is not None, url
            out.append((proto.label, found.content))
        return out


@pytest.fixture
def deferred_downloads(monkeypatch: pytest.MonkeyPatch) -> Deferred:
    """Keep AppTest's media managers so that a test can click its download buttons."""
    seen = Deferred()

    class Recording(MediaFileManager):
        def __init__(self, storage) -> None:  # noqa: ANN001 - Streamlit's signature
            super().__init__(storage)
            seen.managers.append(self)

    monkeypatch.setattr(app_test, "MediaFileManager", Recording)
    return seen
