"""Login page: argon2 check, throttling after repeated failures, message on expiry."""

import streamlit as st

from dashboards.access import LoginFailed, LoginThrottled, log_in
from dashboards.ui import data, state

state.init()
st.title(state.t("auth.title"))
if st.session_state.get(state.EXPIRED):
    st.warning(state.t("auth.expired"))

with st.form("login"):
    login = st.text_input(state.t("auth.login"), key="login_name")
    password = st.text_input(state.t("auth.password"), type="password", key="login_password")
    submitted = st.form_submit_button(state.t("auth.submit"))

if submitted:
    try:
        viewer = log_in(data.engine(), login, password)
    except LoginThrottled as exc:
        st.error(state.t("auth.throttled"))
        st.caption(str(exc))
    except LoginFailed:
        st.error(state.t("auth.failed"))
    else:
        state.set_viewer(viewer)
        st.rerun()
