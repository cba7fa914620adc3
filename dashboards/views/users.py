"""Admin: the users of the study and adding a user (as ``peerstudy users add``)."""

from functools import partial

import streamlit as st

from dashboards.actions import create_user, set_user_active
from dashboards.queries.users import users_frame
from dashboards.ui import data, state
from dashboards.ui.saving import save
from dashboards.ui.widgets import show_error, table
from study.errors import PeerstudyError
from study.users import USER_ROLES

FORM = "add_user"
viewer = state.require_viewer()
t = state.translator()
lang = state.language()
st.title(t("users.title"))
try:
    users = users_frame(data.engine(), viewer)
except PeerstudyError as exc:
    show_error(exc)
    st.stop()
table(users, "users")

st.subheader(t("users.add"))
sites = data.query("sites", viewer)["site"].tolist()
with st.form(FORM, clear_on_submit=True):
    login = st.text_input(t("auth.login"), key="user_login")
    role = st.selectbox(t("users.role"), USER_ROLES, key="user_role", format_func=lambda r: t(f"role.{r}"))
    site = st.selectbox(t("users.site"), [""] + sites, key="user_site", help=t("users.site_help"))
    password = st.text_input(t("auth.password"), type="password", key="user_password")
    submitted = st.form_submit_button(t("users.submit"), type="primary")
if submitted:
    created = save(lambda: create_user(data.engine(), viewer, login.strip(), role, password, site or None))
    if created is None:
        st.stop()
    st.success(t("users.saved", login=created.value))

st.subheader(t("users.activation"))
c1, c2, c3 = st.columns([2, 1, 1])
chosen = c1.selectbox(t("auth.login"), users["login"].tolist(), key="user_activation_login")
for column, active, key in ((c2, False, "deactivate"), (c3, True, "reactivate")):
    if column.button(t(f"users.{key}"), key=f"user_{key}"):
        changed = save(partial(set_user_active, data.engine(), viewer, chosen, active))
        if changed is not None:
            st.success(t(f"users.{key}d" if changed.value else "users.unchanged", login=chosen))
