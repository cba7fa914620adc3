"""Login page: argon2 check, growing delays after repeated failures (one message for every
failure), message on expiry."""

import streamlit as st

from dashboards.access import LoginFailed, log_in
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
        address = st.context.ip_address  # the client's address, when Streamlit knows it
        viewer = log_in(
            data.engine(), login, password, client=address if isinstance(address, str) else "dashboard"
        )
    except LoginFailed:
        st.error(state.t("auth.failed"))
    else:
        state.set_viewer(viewer)
        st.rerun()
