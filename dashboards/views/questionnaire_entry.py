"""Coordinator work: enter a participant's questionnaire with validation per item.

Participant of the own site → their schedule (due / overdue / complete per timepoint and
instrument) → timepoint → one form per instrument of that timepoint, an item a choice among
the item's response range and the instrument's declared missing codes →
:func:`dashboards.actions.save_questionnaire` (``questionnaires.capture.record_response``, one
audited transaction). An entered instrument can be corrected (the form starts from nothing;
all its items are given again).
"""

import datetime as dt
from functools import partial

import streamlit as st

from dashboards.actions import save_questionnaire
from dashboards.queries.questionnaires import instruments_of
from dashboards.ui import data, state
from dashboards.ui.saving import save
from dashboards.ui.widgets import show_error, table
from study.errors import PeerstudyError

FORM = "questionnaire"
viewer = state.require_viewer()
t = state.translator()
lang = state.language()
st.title(t("questionnaire.title"))
if viewer.role != "coordinator":
    st.warning(t("common.coordinators_only"))
    st.stop()

engine = data.engine()
# Cached until the tables they read change: the page runs again for every choice a
# coordinator makes, and another coordinator's save elsewhere need not recompute them.
people = data.query("entry_participants", viewer)
if people.empty:
    st.info(t("questionnaire.no_participants"))
    st.stop()
who = st.selectbox(t("questionnaire.participant"), people["pseudonym"].tolist(), key="questionnaire_who")
try:
    schedule = data.query("participant_schedule", viewer, who)
except PeerstudyError as exc:
    show_error(exc)
    st.stop()

st.subheader(t("questionnaire.schedule"))
shown = schedule.assign(status=schedule["status"].map(lambda s: t(f"questionnaire.status.{s}")))
table(shown, f"schedule_{who}")
timepoints = list(dict.fromkeys(schedule["timepoint"]))
if not timepoints:
    st.info(t("questionnaire.nothing_scheduled"))
    st.stop()
open_tps = [
    tp
    for tp in timepoints
    if schedule.loc[schedule["timepoint"] == tp, "status"].isin(["due", "overdue"]).any()
]
timepoint = st.selectbox(
    t("questionnaire.timepoint"),
    timepoints,
    # One box per participant: switching participant opens their first due timepoint instead of
    # keeping the previous person's choice.
    key=f"questionnaire_timepoint_{who}",
    index=timepoints.index(open_tps[0]) if open_tps else 0,
    format_func=lambda tp: t(f"code.timepoint.{tp}"),
)
rows = schedule[schedule["timepoint"] == timepoint]
instruments = instruments_of(engine, viewer)

for instrument_id, status in zip(rows["instrument"], rows["status"]):
    inst = instruments[instrument_id]
    label = t("questionnaire.instrument", name=inst.name, status=t(f"questionnaire.status.{status}"))
    with st.expander(label, expanded=status in ("due", "overdue")):
        prefix = f"q_{who}_{timepoint}_{instrument_id}"
        codes = dict(inst.missing_codes)
        with st.form(prefix):
            completed_on = st.date_input(
                t("questionnaire.completed_on"),
                value=dt.date.today(),
                max_value=dt.date.today(),
                key=f"{prefix}_date",
            )
            values = {}
            for item in inst.items:
                scale = item.response_scale or inst.response_scale
                options = list(range(scale.min, scale.max + 1)) + sorted(codes)

                def fmt(v, scale=scale, codes=codes):
                    if v in codes and not scale.min <= v <= scale.max:
                        return t("questionnaire.missing_code", code=v, meaning=codes[v])
                    return f"{v} – {scale.labels[v]}" if v in scale.labels else str(v)

                values[item.id] = st.selectbox(
                    item.wording or item.label,
                    options,
                    index=None,
                    key=f"{prefix}_{item.id}",
                    format_func=fmt,
                    placeholder=t("questionnaire.not_answered"),
                )
            submitted = st.form_submit_button(t("questionnaire.submit", name=inst.name), type="primary")
        if submitted:
            submission = (who, timepoint, instrument_id, completed_on, tuple(sorted(values.items())))
            saved = save(
                partial(
                    save_questionnaire, engine, viewer, who, timepoint, instrument_id, completed_on, values
                ),
                form=FORM,
                submission=submission,
            )
            if saved is not None:
                st.success(
                    t(
                        "questionnaire.saved",
                        name=inst.name,
                        pseudonym=who,
                        timepoint=t(f"code.timepoint.{timepoint}"),
                    )
                )
