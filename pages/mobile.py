"""手机版 (/m): 总览, 事项 and 社区画像 (and 考核 when present) laid out for a phone, for links shared in WeChat.

Sections, layout and why it has its own address: chuangshu/phone_ui.py.
"""
import streamlit as st

from chuangshu import phone_ui, ui

ui.require()
f = ui.filters()
phone_ui.style()
top = st.container()  # the header, written once the section has said which scope it shows
section = phone_ui.choose()
shown = section.render(f) or f
with top:
    phone_ui.header(shown)
