"""RCT overview: recruitment against target per site over time, allocation balance, retention,
questionnaire completion per timepoint (with the coordinator's chase list), and fidelity per
group and site against the configured thresholds (chart with threshold lines, flags).
"""

import streamlit as st

from dashboards.i18n.formats import format_number
from dashboards.queries.monitoring import fidelity_by_site
from dashboards.ui import data, state
from dashboards.ui.widgets import table

viewer = state.require_viewer()
t = state.translator()
lang = state.language()
st.title(t("rct.title"))

overview = data.query("rct_overview", viewer)
if overview.screened == 0:
    st.info(t("rct.no_participants"))
    st.stop()

summary = overview.summary
cols = st.columns(4)
cols[0].metric(t("rct.metric.screened"), int(summary["screened"].sum()))
cols[1].metric(
    t("rct.metric.recruited"), int(summary["consented"].sum()), help=t("rct.metric.recruited_help")
)
cols[2].metric(t("rct.metric.randomised"), int(summary["randomised"].sum()))
cols[3].metric(t("rct.metric.target"), int(summary["target"].sum()))

st.subheader(t("rct.recruitment"))
if not overview.over_time.empty:
    labels = (t("rct.chart_title"), t("rct.recruited"), t("rct.target"), t("column.site"), t("column.date"))
    st.vega_lite_chart(spec=data.recruitment_spec(viewer, labels, lang), width="stretch")
table(summary, "recruitment_by_site")

st.subheader(t("rct.allocation"))
if overview.balance.empty:
    st.info(t("rct.no_allocations"))
else:
    table(overview.balance, "allocation_balance")

st.subheader(t("rct.retention"))
st.caption(t("rct.retention_note"))
table(overview.retention, "retention_by_site")

st.subheader(t("rct.completion"))
st.caption(t("rct.completion_note"))
table(data.query("completion", viewer), "questionnaire_completion")
if viewer.role == "coordinator":
    st.markdown(f"**{t('rct.chase')}**")
    table(data.query("chase_list", viewer), "chase_list", empty_key="rct.chase_empty")

st.subheader(t("rct.fidelity"))
# The RCT's groups only: the pilot groups have their own page.
fidelity = data.query("fidelity_groups", viewer, "rct")
thresholds = data.query("fidelity_thresholds", viewer)


def pct(value: float) -> str:
    """A threshold as the page's language writes it (``80,0`` in Danish)."""
    return format_number(value, 1, lang)


flag = pct(thresholds.loc[thresholds["flag"], "percent"].iloc[0])
st.caption(
    t(
        "rct.fidelity_note",
        high=pct(thresholds.at[0, "percent"]),
        moderate=pct(thresholds.at[1, "percent"]),
        flag=flag,
    )
)
if (~fidelity["never_observed"]).any():
    chart_labels = {
        name: t(f"column.{name}") for name in ("group", "site", "n_observations", "classification")
    }
    chart_labels |= {"level": t("column.level")}
    chart_labels |= {c: t(f"code.classification.{c}") for c in ("high", "moderate", "low")}
    texts = (t("rct.fidelity_chart"), t("rct.adherence"))
    st.vega_lite_chart(spec=data.fidelity_spec(viewer, "rct", texts, chart_labels, lang), width="stretch")
flagged = fidelity[fidelity["below_threshold"]]
if not flagged.empty:
    st.warning(t("rct.fidelity_flagged", groups=", ".join(flagged["group"]), flag=flag))
unobserved = fidelity[fidelity["never_observed"]]
if not unobserved.empty:
    st.caption(t("rct.never_observed", groups=", ".join(unobserved["group"])))
table(fidelity.drop(columns="phase"), "fidelity_by_group", formatted=True)
table(fidelity_by_site(fidelity), "fidelity_by_site", formatted=True)
