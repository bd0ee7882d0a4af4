"""Which metric functions each page calls on its default view (what ui.get runs when its cache is cold).

Kept by hand beside pages/*.py: each entry is (metric name, arguments after the cursor). A page
that calls the same metric twice with the same arguments pays once (ui.get caches it), so each
call is listed once per page. Derived metrics (metrics.DERIVED: service_totals,
community_rate_ranking) are served from their base metric's cached result and cost no query:
the page's base metric is listed instead. The ad-hoc SQL, intake and export pages compute nothing until the
user acts, and are left out.
"""
from __future__ import annotations

from chuangshu.filters import Filters

F = Filters()
PROFILE_COMMUNITY = "桂南社区"  # the 社区画像 page's default

PAGES: dict[str, list[tuple[str, tuple]]] = {
    "overview": [("dataset_info", ()), ("headline", (F,)), ("mobilisation_2020", ()), ("cases_by_year", (F,))],
    "cases": [("dataset_info", ()), ("cases_by_year", (F,)), ("category_table", (F,)),
              ("backlog_ageing", (F,)), ("community_ranking", (F,)), ("community_category_matrix", (F,))],
    "teams": [("dataset_info", ()), ("volunteer_summary", (F,)), ("volunteer_flows", (F,))],
    "organizations": [("dataset_info", ()), ("headline", (F,)), ("organizations_by_kind", (F,)),
                      ("organization_flows", (F,)), ("organization_flows", (F, True))],
    "projects": [("dataset_info", ()), ("micro_projects", (F,)), ("micro_project_totals", (F,)),
                 ("activities_by_year", (F,))],
    "community": [("dataset_info", ()), ("community_profile", (F, PROFILE_COMMUNITY)),
                  ("compound_cases", (F, PROFILE_COMMUNITY)), ("cases_by_year", (F.only(PROFILE_COMMUNITY),))],
    "milestones": [("dataset_info", ()), ("milestones", ()), ("cases_by_month", (F,))],
    "quality": [("dataset_info", ()), ("data_quality", (F,)), ("reject_rows", (None,)),
                ("overdue_submissions", (F, "cases", 1))],
    "bigscreen": [("headline", (F,)), ("cases_by_year", (F,)), ("community_ranking", (F,)), ("category_table", (F,)),
                  ("volunteer_summary", (F,)), ("organization_flows", (F,)), ("cases_by_month", (F,)),
                  ("milestones", ()), ("dataset_info", ())],
}

# AppTest page scripts (dashboard.py's st.navigation entries) for the same pages.
SCRIPTS = {name: f"pages/{name}.py" for name in PAGES}
# URL paths on the real server.
URLS = {name: ("/" if name == "overview" else f"/{name}") for name in PAGES}
