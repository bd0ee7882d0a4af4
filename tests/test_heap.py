"""The server freezes long-lived objects so the collector's full passes stay short (chuangshu/heap.py)."""
from __future__ import annotations

import gc

import pytest

from chuangshu import heap, serve


@pytest.fixture(autouse=True)
def fresh() -> None:
    heap.reset_for_tests()
    yield
    heap.reset_for_tests()


def test_outside_the_server_nothing_is_frozen() -> None:
    assert heap.freeze_after_run() is False
    assert gc.get_freeze_count() == 0


def _walked() -> set[int]:
    """Ids of the objects the collector still walks (the permanent generation is not listed)."""
    return {id(o) for o in gc.get_objects()}


def test_the_server_freezes_at_start_and_once_after_the_first_run() -> None:
    imported = [[i] for i in range(100)]  # objects of the server's start-up
    assert heap.enable() > 0
    assert not _walked() & {id(o) for o in imported}
    kept = [[i] for i in range(1000)]  # objects of the first page run (lists: tracked by the collector)
    assert {id(o) for o in kept} <= _walked()
    assert heap.freeze_after_run() is True
    assert not _walked() & {id(o) for o in kept}
    later = [[i] for i in range(100)]  # objects of later runs stay collectable
    assert heap.freeze_after_run() is False  # later runs: nothing more
    assert {id(o) for o in later} <= _walked()


def test_garbage_is_collected_before_freezing() -> None:
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle only the collector can free
    del a, b
    heap.enable()
    assert not any(type(o).__name__ == "Node" for o in _frozen_objects())


def _frozen_objects() -> list[object]:
    gc.unfreeze()
    try:
        return gc.get_objects()
    finally:
        gc.freeze()


def test_the_server_entry_point_enables_it(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(serve.cli, "main", lambda: calls.append("streamlit"))
    monkeypatch.setattr(serve, "_upgrade_database", lambda: None)
    monkeypatch.setattr(serve.briefing, "start_watcher", lambda: None)
    monkeypatch.setattr(serve.briefing_http, "install", lambda: None)
    monkeypatch.setattr(serve.downloads, "install", lambda: None)
    monkeypatch.setattr(serve, "configure_malloc", lambda: None)
    monkeypatch.setattr(serve.sys, "argv", ["serve"])
    monkeypatch.setattr(serve.PagesManager, "uses_pages_directory", serve.PagesManager.uses_pages_directory)
    serve.main([])
    assert calls == ["streamlit"]
    assert gc.get_freeze_count() > 0
    assert heap.freeze_after_run() is True  # enabled: the first run freezes once more


def test_the_dashboard_calls_it_after_every_run() -> None:
    from pathlib import Path

    source = (Path(serve.__file__).resolve().parent.parent / "dashboard.py").read_text("utf-8")
    assert source.rstrip().splitlines()[-1].startswith("heap.freeze_after_run()")
