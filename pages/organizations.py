"""组织: associations, self-governance groups, social organisations, red committees, stations, WeChat groups."""
import streamlit as st

from chuangshu import charts, metrics, ui

APPLIES = ("years", "communities")  # organisations have no case category
f = ui.page_header("组织", "街坊会、小区自治小组、社团、红色业委会、“创熟”加油站与楼道微信群。", applies=APPLIES)
headline = ui.get("headline", f)
by_kind = ui.get("organizations_by_kind", f)
flows = ui.get("organization_flows", f)
groups = ui.get("organization_flows", f, True)
if ui.is_zero(headline, metrics.ORG_METRIC.values()) and flows.empty and groups.empty:
    ui.empty_state("组织名册记录", f, APPLIES)
    st.stop()
ui.kpi_cards(headline, columns=6, keys=list(metrics.ORG_METRIC.values()))

ui.chart(charts.bars(by_kind, "community", "n", "各社区在册组织（不含楼道微信群）", color="kind",
                     x_title="社区", y_title="组织（个）"), by_kind, "各社区组织", applies=APPLIES,
         what="在册的组织")
ui.chart(charts.bars(flows, "year", "founded", "组织成立时间线：每年新成立的组织", color="kind",
                     x_title="成立年份", y_title="新成立（个）"), flows, "组织成立时间线", applies=APPLIES,
         what="新成立的组织")
ui.chart(charts.bars(groups, "year", "founded", "楼道微信群逐年建立", x_title="建立年份", y_title="新建（个）"),
         groups, "楼道微信群建立", applies=APPLIES, what="新建的楼道微信群")
ui.definitions(list(metrics.ORG_METRIC.values()))
