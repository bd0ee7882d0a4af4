"""总览: the 数读 headline figures, the programme's scope, and the 2020 mobilisation."""
import streamlit as st

from chuangshu import metrics, ui

f = ui.page_header("总览", "桂城街道“创熟”（熟人社区）工作的核心数字。悬停卡片右上角的问号可查看口径。")
headline = ui.get("headline", f)

st.subheader("数读")
if f.categories:
    st.caption(":material/filter_alt: 事项卡片只显示所选类别；三长与组织的数字不分事项类别，不受类别筛选影响。")
ui.kpi_cards(headline, columns=5, group="数读")
ui.zero_note(headline, metrics.CASE_KEYS, "办结的事项", f)

st.subheader("工作范围")
ui.kpi_cards(headline, columns=4, group="范围")

st.subheader("2020 年群防群治")
ui.published_cards(ui.get("mobilisation_2020"), f, 2020,
                   "2020 年疫情防控期间动员参与群防群治的力量（街道公布数字）")

trend = ui.get("cases_by_year", f)
ui.bar_chart(trend, "year", "resolved", "各类事项逐年受理并办结的数量", "逐年办结事项", color="category",
             x_title="登记年份", y_title="办结事项（件）", note="按登记年份计当年登记、截至统计区间末已办结的事项",
             what="办结的事项")
ui.definitions([*metrics.HEADLINE, *metrics.SCOPE])
