"""People: the list of the viewer's sites and one person's page (enrolment, history; identity
only for the coordinator of the person's own site)."""

import pandas as pd
import streamlit as st

from dashboards.queries.people import person_view
from dashboards.ui import data, state
from dashboards.ui.widgets import show_error, table
from study.errors import PeerstudyError

viewer = state.require_viewer()
t = state.t
st.title(t("people.title"))

people = data.query("people", viewer)
roles = sorted(people["role"].unique()) if not people.empty else []
role = st.selectbox(t("people.role_filter"), [""] + roles, key="people_role",
                    format_func=lambda r: t("common.all") if r == "" else r)
shown = people[people["role"] == role] if role else people
table(shown, "people")

st.divider()
st.subheader(t("people.open"))
pseudonym = st.text_input(t("people.pseudonym"), key="person_pseudonym").strip()
if not pseudonym:
    st.stop()
try:
    person = person_view(data.engine(), viewer, pseudonym)
except PeerstudyError as exc:
    show_error(exc)
    st.stop()

st.markdown(f"### {person.pseudonym}")
left, right = st.columns(2)
left.markdown(f"**{t('people.role')}:** {person.role}  \n**{t('people.site')}:** {person.site}  \n"
              f"**{t('people.group')}:** {person.group or '–'}  \n**{t('people.arm')}:** {person.arm or '–'}")
if person.attributes:
    right.table(pd.DataFrame(person.attributes.items(), columns=[t("people.attribute"), t("people.value")]))
if person.enrolment:
    st.markdown(f"**{t('people.enrolment')}**")
    st.table(pd.DataFrame({k: [str(v) if v is not None else "–"] for k, v in person.enrolment.items()}).T
             .rename(columns={0: t("people.value")}))
if person.identity is not None:
    with st.expander(t("people.identity"), expanded=False):
        st.caption(t("people.identity_note"))
        for name, value in person.identity.items():
            st.text(f"{t('identity.' + name)}: {value if value is not None else '–'}")
st.markdown(f"**{t('people.history')}**")
table(person.history, f"history_{person.pseudonym}")
