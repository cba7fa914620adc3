"""Coordinator work: screen and enrol a person at the coordinator's own site.

Form → :func:`dashboards.actions.enrol_person` (``study.people.add_person`` + ``enrol``, one
audited transaction) → the screening result. A repeated submit of the same values is refused
with a message; a duplicate pseudonym is refused by the domain.
"""

import datetime as dt
from collections.abc import Callable

import streamlit as st

from dashboards.actions import EARLIEST_BIRTH, EnrolmentForm, enrol_person
from dashboards.ui import data, state
from dashboards.ui.saving import save
from study.config.schema import ROLE_CODES
from study.people import Identity

FORM = "enrol"

viewer = state.require_viewer()
t = state.translator()
lang = state.language()
st.title(t("enrol.title"))
if viewer.role != "coordinator":
    st.warning(t("common.coordinators_only"))
    st.stop()
info = data.study_info(viewer)
st.caption(t("enrol.intro", site=viewer.site_code))
today = dt.date.today()
# Declared levels only (code shown with its label); a factor without declared levels is typed.
levels = info.get("factor_levels", {})


def level_label(factor: str) -> Callable[[str], str]:
    """How a level of ``factor`` is shown: the code with its declared label, else the code."""
    declared = levels.get(factor, {})
    return lambda code: f"{code} ({declared[code]})" if code in declared else code


with st.form(FORM, clear_on_submit=False):
    c1, c2 = st.columns(2)
    pseudonym = c1.text_input(t("enrol.pseudonym"), key="enrol_pseudonym", max_chars=64)
    role = c2.selectbox(
        t("enrol.role"),
        [r for r in ROLE_CODES if r != "coordinator"],
        key="enrol_role",
        format_func=lambda r: t(f"code.role.{r}"),
    )
    birth_date = c1.date_input(
        t("enrol.birth_date"), value=None, min_value=EARLIEST_BIRTH, max_value=today, key="enrol_birth_date"
    )
    municipality = c2.selectbox(
        t("enrol.municipality"),
        info["municipalities"][viewer.site_code],
        key="enrol_municipality",
        accept_new_options=True,
    )
    screened_on = c1.date_input(t("enrol.screened_on"), value=today, key="enrol_screened_on")
    consent_on = c2.date_input(
        t("enrol.consent_on"), value=None, key="enrol_consent_on", help=t("enrol.consent_help")
    )
    attributes = {
        factor: c1.selectbox(
            t("enrol.attribute", name=factor),
            list(levels.get(factor, {})),
            key=f"enrol_attr_{factor}",
            accept_new_options=factor not in levels,
            index=None,
            format_func=level_label(factor),
        )
        for factor in info["stratification"]
    }
    exclusions = c2.multiselect(t("enrol.exclusions"), info["exclusions"], key="enrol_exclusions")
    st.markdown(f"**{t('people.identity')}**")
    st.caption(t("enrol.identity_note"))
    i1, i2 = st.columns(2)
    identity = Identity(
        full_name=i1.text_input(t("identity.full_name"), key="enrol_full_name") or None,
        phone=i2.text_input(t("identity.phone"), key="enrol_phone") or None,
        email=i1.text_input(t("identity.email"), key="enrol_email") or None,
        address=i2.text_input(t("identity.address"), key="enrol_address") or None,
    )
    submitted = st.form_submit_button(t("enrol.submit"), type="primary")

if submitted:
    missing = [
        t(k)
        for k, v in (
            ("enrol.pseudonym", pseudonym.strip()),
            ("enrol.birth_date", birth_date),
            ("enrol.municipality", municipality),
        )
        if not v
    ]
    if missing:
        st.error(t("common.required", fields=", ".join(missing)))
        st.stop()
    # cannot be None: a missing birth date stopped the page just above
    assert birth_date is not None
    form = EnrolmentForm(
        pseudonym=pseudonym.strip(),
        role=role,
        birth_date=birth_date,
        municipality=municipality,
        screened_on=screened_on,
        consent_on=consent_on,
        attributes={k: v for k, v in attributes.items() if v},
        exclusions=tuple(exclusions),
        identity=identity,
    )
    saved = save(lambda: enrol_person(data.engine(), viewer, form), form=FORM, submission=form)
    if saved is None:
        st.stop()
    result = saved.value
    if result.eligible:
        st.success(t("enrol.saved_eligible", pseudonym=result.pseudonym))
    else:
        st.warning(t("enrol.saved_ineligible", pseudonym=result.pseudonym, reasons="; ".join(result.reasons)))
