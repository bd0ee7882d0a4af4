"""大事记: the programme's milestones 2011–2022 over the monthly case trend."""
import streamlit as st

from chuangshu import charts, ui

f = ui.page_header("大事记", "从 2011 年课题组成立到 2022 年全区推广。")
milestones = ui.get("milestones", f.as_of)  # none after the as-of date
monthly = ui.get("cases_by_month", f)
ui.chart(charts.milestones_over_trend(monthly, milestones, "“创熟”十一年：关键节点与每月受理事项"), monthly,
         "每月受理事项", note="曲线为每月受理事项；大事记为街道层面的工作节点，不随社区、类别筛选变化",
         what="事项记录（大事记见下表）")
ui.table(milestones, {"when": ("时间", "text"), "title": ("事件", "text"), "detail": ("说明", "text")})
st.caption("大事记为街道层面的工作节点，不随社区、年份和事项类别筛选变化。")
