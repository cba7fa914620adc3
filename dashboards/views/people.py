"""People: the list of the viewer's sites and one person's page (enrolment, history; identity
only for the coordinator of the person's own site)."""

import datetime as dt
from urllib.parse import urlsplit

import pandas as pd
import streamlit as st

from dashboards.actions import create_survey_link, withdraw_participant
from dashboards.audit_timeline import audit_timeline
from dashboards.i18n import catalogue
from dashboards.i18n.formats import format_date
from dashboards.queries.people import person_view
from dashboards.ui import data, state
from dashboards.ui.saving import save
from dashboards.ui.widgets import for_people, show_error, table
from study.errors import PeerstudyError
from study.withdrawal import WITHDRAWAL_REASONS


def survey_url(token: str) -> str:
    """The app's address with the participant's token (shown once to the coordinator)."""
    base = urlsplit(st.context.url or "")
    root = f"{base.scheme}://{base.netloc}/" if base.netloc else "<dashboard URL>/"
    return f"{root}?survey={token}"


viewer = state.require_viewer()
t = state.translator()
lang = state.language()
st.title(t("people.title"))

people = data.query("people", viewer)
roles = sorted(people["role"].unique()) if not people.empty else []
role = st.selectbox(
    t("people.role_filter"),
    [""] + roles,
    key="people_role",
    format_func=lambda r: t("common.all") if r == "" else t(f"code.role.{r}"),
)
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
left.markdown(
    f"**{t('people.role')}:** {t(f'code.role.{person.role}')}  \n**{t('people.site')}:** {person.site}  \n"
    f"**{t('people.group')}:** {person.group or '–'}  \n**{t('people.arm')}:** {person.arm or '–'}"
)
if person.attributes:
    right.table(pd.DataFrame(person.attributes.items(), columns=[t("people.attribute"), t("people.value")]))
if person.enrolment:
    st.markdown(f"**{t('people.enrolment')}**")
    enrolment = for_people(pd.DataFrame({k: [v] for k, v in person.enrolment.items()}))
    st.table(enrolment.replace("", "–").T.rename(columns={0: t("people.value")}))
if person.identity is not None:
    with st.expander(t("people.identity"), expanded=False):
        st.caption(t("people.identity_note"))
        for name, value in person.identity.items():
            shown = format_date(value, lang) if isinstance(value, dt.date) else value
            st.text(f"{t('identity.' + name)}: {shown if shown not in (None, '') else '–'}")
if person.role == "participant" and viewer.may_edit_site_code(person.site):
    st.markdown(f"**{t('people.survey_link')}**")
    st.caption(t("people.survey_link_note"))
    if st.button(t("people.survey_link_create"), key="survey_link_create"):
        link = save(lambda: create_survey_link(data.engine(), viewer, person.pseudonym))
        if link is not None:
            st.success(t("people.survey_link_created"))
            st.code(survey_url(link.value), language=None)
enrolled = person.enrolment and person.enrolment.get("withdrawn_on") is None
if person.role == "participant" and enrolled and viewer.may_edit_site_code(person.site):
    with st.expander(t("people.withdraw"), expanded=False):
        st.caption(t("people.withdraw_note"))
        with st.form("withdraw", clear_on_submit=True):
            on = st.date_input(
                t("people.withdraw_on"), value=dt.date.today(), max_value=dt.date.today(), key="withdraw_on"
            )
            reason = st.selectbox(
                t("people.withdraw_reason"),
                WITHDRAWAL_REASONS,
                key="withdraw_reason",
                format_func=lambda r: t(f"code.withdrawal_reason.{r}"),
            )
            sure = st.checkbox(t("people.withdraw_confirm", pseudonym=person.pseudonym), key="withdraw_sure")
            submitted = st.form_submit_button(t("people.withdraw_submit"))
        if submitted:
            if not sure:
                st.warning(t("people.withdraw_unconfirmed"))
            else:
                if save(lambda: withdraw_participant(data.engine(), viewer, person.pseudonym, on, reason)):
                    st.success(t("people.withdrawn", pseudonym=person.pseudonym, on=format_date(on, lang)))
st.markdown(f"**{t('people.history')}**")
# A readable timeline on screen (when, who, what, from → to); the download keeps every field.
words = catalogue(lang)
timeline = audit_timeline(person.history, lambda key: t(f"audit.{key}"), names=words.get, language=lang)
if timeline.empty:
    st.info(t("common.empty"))
else:
    st.dataframe(for_people(timeline), hide_index=True, width="stretch", key="person_timeline")
    st.download_button(
        t("common.download_csv"),
        person.history.to_csv(index=False).encode("utf-8"),
        file_name=f"history_{person.pseudonym}.csv",
        mime="text/csv",
        key=f"download_history_{person.pseudonym}",
    )
