"""组织: associations, self-governance groups, social organisations, red committees, stations, WeChat groups."""
from chuangshu import charts, metrics, ui

f = ui.page_header("组织", "街坊会、小区自治小组、社团、红色业委会、“创熟”加油站与楼道微信群。")
ui.kpi_cards(ui.get("headline", f), columns=6, keys=list(metrics.ORG_METRIC.values()))

by_kind = ui.get("organizations_by_kind", f)
ui.chart(charts.bars(by_kind, "community", "n", "各社区在册组织（不含楼道微信群）", color="kind",
                     x_title="社区", y_title="组织（个）"), by_kind, "各社区组织")
flows = ui.get("organization_flows", f)
ui.chart(charts.bars(flows, "year", "founded", "组织成立时间线：每年新成立的组织", color="kind",
                     x_title="成立年份", y_title="新成立（个）"), flows, "组织成立时间线")
groups = ui.get("organization_flows", f, True)
ui.chart(charts.bars(groups, "year", "founded", "楼道微信群逐年建立", x_title="建立年份", y_title="新建（个）"),
         groups, "楼道微信群建立")
ui.definitions(list(metrics.ORG_METRIC.values()))
