"""Analysis: outcomes by arm and timepoint, the ITT effect of the primary outcome (the plan's
primary method, the ANCOVA beside it) with its
forest plot, the CONSORT diagram and the data-quality status (the latest run of the checks,
flagged when study data changed since; a button runs them again); on the dummy allocation
(banner, watermark column, DUMMY_ALLOCATION_ download names) until unblinding.

One snapshot of the database, analysed on the fly and cached (:func:`dashboards.queries.analysis.analysis_view`;
no multiple imputation here: ``peerstudy analyse`` runs the full plan).
"""

import streamlit as st

from dashboards.actions import run_quality_checks
from dashboards.i18n.formats import format_datetime
from dashboards.ui import data, state
from dashboards.ui.widgets import show_error, table
from study.errors import PeerstudyError

viewer = state.require_viewer()
t = state.translator()
lang = state.language()
st.title(t("analysis.title"))
if viewer.role not in ("researcher", "statistician"):
    st.warning(t("analysis.analysts_only"))
    st.stop()

view = data.query("analysis", viewer, lang)
prefix = ""
if view.blinded:
    st.error(t("analysis.blinded"))
    prefix = "DUMMY_ALLOCATION_"
st.subheader(t("analysis.outcomes", outcome=view.primary))
table(view.outcomes, f"{prefix}outcomes_by_arm")
st.subheader(t("analysis.effects"))
st.caption(t("analysis.effects_note"))
table(view.effects, f"{prefix}effects_itt")
# Wide diagrams scroll inside the page rather than being cut off at its edge.
st.markdown(f'<div style="overflow-x:auto">{view.forest_svg}</div>', unsafe_allow_html=True)
for problem in view.problems:
    st.caption(problem)
st.subheader(t("analysis.consort"))
# The diagram has a viewBox: scaled to the page's width it stays whole and readable.
st.markdown(
    view.consort_svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1), unsafe_allow_html=True
)

st.subheader(t("analysis.quality"))
quality = data.query("quality", viewer)
if quality is None:
    st.info(t("analysis.quality_never"))
else:
    when = f"{format_datetime(quality.taken_at, lang)} UTC"
    st.caption(t("analysis.quality_run", when=when, who=quality.run_by))
    cols = st.columns(3)
    cols[0].metric(t("analysis.quality_passed"), f"{quality.passed} / {quality.checks}")
    cols[1].metric(t("analysis.quality_errors"), quality.errors)
    cols[2].metric(t("analysis.quality_warnings"), quality.warnings)
    if quality.out_of_date:
        st.warning(t("analysis.quality_out_of_date"))
    if quality.errors:
        st.error(t("analysis.quality_failed", n=quality.errors))
    elif quality.warnings:
        st.warning(t("analysis.quality_warned", n=quality.warnings))
    else:
        st.success(t("analysis.quality_ok"))
    failed = quality.failed[["table", "check", "severity", "failing_rows", "rows", "examples"]]
    table(failed, "quality_failed_checks", empty_key="analysis.quality_none_failed")
if st.button(t("analysis.quality_run_now"), key="run_quality"):
    with st.spinner(t("analysis.quality_running")):
        try:
            run_quality_checks(data.engine(), viewer)
        except PeerstudyError as exc:
            show_error(exc)
        else:
            data.clear()
            st.rerun()
