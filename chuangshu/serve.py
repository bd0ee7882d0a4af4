"""Start the dashboard server: ``python -m chuangshu.serve [streamlit options]``.

Our page scripts live in pages/ and are registered with st.navigation in dashboard.py.
Streamlit decides once per server process, when the first session starts, whether a
pages/ folder means "legacy auto-pages"; until dashboard.py has called st.navigation it
would serve a deep link such as /cases by running pages/cases.py alone (no sidebar, no
filters, no access checks). Deciding it here, before the server starts, closes that gap.
It also migrates a database written by older code and rebuilds its marts, refuses one
written by newer code (etl.api.ensure_current), makes generated downloads short-lived
(chuangshu.downloads: random URLs, gone seconds after the download instead of living on with
the browser session), fixes glibc's malloc thresholds so that memory freed after big query
results goes back to the system (chuangshu.memtrim), serves the static briefing at /briefing
without a Streamlit session per reader (chuangshu.briefing_http) and keeps that briefing current:
a watcher thread rewrites it whenever a new load is published (chuangshu.briefing), and keeps the
collector's full passes short by freezing the objects of start-up and of the first page run
(chuangshu.heap: passes of up to a second stalled every reader together under a crowd).
"""
from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

from chuangshu import briefing, briefing_http, downloads, heap
from chuangshu.memtrim import configure_malloc

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard.py"


def main(argv: list[str] | None = None) -> None:
    """Run ``streamlit run dashboard.py`` in this process with st.navigation-only pages."""
    PagesManager.uses_pages_directory = False
    downloads.install()
    configure_malloc()  # freed result memory goes back to the system (chuangshu.memtrim)
    briefing_http.install()
    _upgrade_database()
    briefing.start_watcher()
    heap.enable()  # what start-up imported is never walked by the collector again (chuangshu.heap)
    sys.argv = ["streamlit", "run", str(DASHBOARD), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


def _upgrade_database() -> None:
    """A database written by older code is migrated and gets the current marts before the first
    visitor (etl.api.ensure_current); one written by newer code is refused: the server does not start."""
    from etl.api import SchemaTooNew, ensure_current

    try:
        report = ensure_current()
    except SchemaTooNew as exc:
        print(str(exc), file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    if report is not None:
        print(f"数据库已按新版本升级并重建汇总表（第 {report.db_version} 版）", flush=True)


if __name__ == "__main__":
    main()
