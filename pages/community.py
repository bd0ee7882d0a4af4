"""社区画像: one community against the sub-district median, its rank, its compounds."""
import streamlit as st

from chuangshu import charts, metrics, ui

top = st.container()  # the title and the scope line, written once the community is chosen
f = ui.filters()
communities, _ = ui.choices()
default = f.communities[0] if f.communities else "桂南社区"
community = st.selectbox("选择社区", communities, index=communities.index(default) if default in communities else 0,
                         key="profile_community")
shown = f.only(community)
applies = ("years", "categories", "communities") if f.communities in ((), (community,)) else ("years", "categories")
with top:
    ui.page_header("社区画像", "一个社区与全街道中位数的比较。", applies=applies, shown=shown)
scoped = ui.scope() is not None  # a community account: no median or rank (they reveal other communities)
if scoped:
    st.info("社区账号只显示本社区的数字；与其他社区的比较（街道中位数、排名）仅街道办账号可见。",
            icon=":material/lock:")
else:
    st.info(f"街道中位数和排名在全部 {len(communities)} 个社区之间计算。办结率等比率指标只在区间内受理不少于 "
            f"{metrics.MIN_CASES_FOR_RATE} 件的社区之间排名，避免一两件事项的社区因比率极端而排在前列。",
            icon=":material/info:")
ui.profile_cards(ui.get("community_profile", f, community), compare=not scoped, f=shown)
if f.categories:
    st.caption(":material/filter_alt: 事项类别筛选只作用于事项数字（每千户受理事项、办结率、办结用时）；"
               "三长、组织和活动不分类别。")

compounds = ui.get("compound_cases", f, community)
ui.chart(ui.figure(charts.bars, compounds, "compound", "received", f"{community}各小区受理事项", horizontal=True,
                     x_title="受理事项（件）"), compounds, f"{community}小区事项", f=shown, applies=applies,
         what="受理的事项")
trend = ui.get("cases_by_year", shown)
ui.chart(ui.figure(charts.bars, trend, "year", "received", f"{community}各类事项逐年受理量", color="category",
                     x_title="登记年份", y_title="受理事项（件）"), trend, f"{community}事项逐年", f=shown,
         applies=applies, what="受理的事项")
ui.definitions(list(metrics.PROFILE_METRICS))
