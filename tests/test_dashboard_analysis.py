"""The analysis page: blinded codes before unblinding, the ITT ANCOVA against the pipelines'
own function, and only for researchers and statisticians."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dashboards.i18n import translate
from dashboards.queries.analysis import analysis_view
from study.errors import NotAllowed
from tests.test_dashboard_access import viewer_of
from tests.test_dashboard_app import open_app, page_text  # noqa: F401  (fixture)


def test_analysis_view_is_blinded_and_matches_the_pipelines(demo_engine):
    from pipelines.analysis.ancova import ancova  # noqa: F401  (the function the pipeline runs)

    view = analysis_view(demo_engine, viewer_of(demo_engine, "statistician"))
    assert view.blinded
    assert set(view.outcomes["arm"]) <= {"INT", "CTL"}  # the dummy allocation's arms, watermarked
    assert (view.outcomes["dummy_allocation"] == "DUMMY ALLOCATION: not the trial result").all()
    assert not view.effects.empty and set(view.effects["estimand"]) == {"itt"}
    assert "<svg" in view.consort_svg and "<svg" in view.forest_svg
    # n and mean by arm and timepoint, recounted from the pipelines' own snapshot.
    from pipelines.snapshot import take_snapshot

    data = take_snapshot(demo_engine).dataset
    for _, row in view.outcomes.iterrows():
        scores = data.loc[
            (data["timepoint"] == row["timepoint"]) & (data["arm"] == row["arm"]), view.primary
        ].dropna()
        assert row["n"] == len(scores) and abs(row["mean"] - scores.mean()) < 0.006
    # The effect table is the pipelines' ANCOVA on the primary outcome's first follow-up.
    first = view.effects.iloc[0]
    assert first["outcome"] == view.primary and first["ci_low"] < first["estimate"] < first["ci_high"]


@pytest.mark.parametrize("login", ["cph.coordinator", "admin"])
def test_analysis_is_for_analysts_only(demo_engine, login):
    with pytest.raises(NotAllowed):
        analysis_view(demo_engine, viewer_of(demo_engine, login))


def test_analysis_page_for_the_statistician_shows_codes_and_the_diagram(open_app, demo_engine):
    at = open_app(demo_engine, "statistician")
    at.switch_page("views/analysis.py").run()
    assert not at.exception
    assert translate("analysis.blinded") in [e.value for e in at.error]
    text = page_text(at)
    assert "<svg" in text and translate("analysis.consort") in text
    assert set(at.dataframe[0].value[translate("column.arm")]) <= {"INT", "CTL"}
    first = at.dataframe[0].value.columns[0]  # the watermark column comes first
    assert first == translate("column.dummy_allocation")
    assert set(at.dataframe[0].value[first]) == {"DUMMY ALLOCATION: not the trial result"}
    # Numbers are formatted text on screen, right-aligned so that their digits line up.
    settings = json.loads(at.dataframe[0].proto.columns)
    right = {header for header, setting in settings.items() if setting.get("alignment") == "right"}
    assert right == {translate(f"column.{name}") for name in ("n", "mean", "sd")}


def test_danish_analysis_page_keeps_the_watermark_and_words_it_in_danish(open_app, demo_engine):
    from pipelines.dummy_allocation import DUMMY_WATERMARK

    danish = f"{DUMMY_WATERMARK} (dummy-allokering: ikke forsøgets resultat)"
    at = open_app(demo_engine, "statistician", lang="da")
    at.switch_page("views/analysis.py").run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert set(shown[translate("column.dummy_allocation", "da")]) == {danish}  # on screen
    assert danish in page_text(at)  # the CONSORT diagram's arm labels
    # The download keeps the bare watermark: a contract for whoever analyses it.
    view = analysis_view(demo_engine, viewer_of(demo_engine, "statistician"), "da")
    assert set(view.outcomes["dummy_allocation"]) == {DUMMY_WATERMARK}
    assert danish in view.consort_svg


@pytest.mark.parametrize("low, high", [(-0.055, 1.15), (0.0, 1.0), (-3.2, 7.9), (10.0, 10.4)])
def test_axis_ticks_stay_on_the_axis(low, high):
    """A tick past the axis end was drawn outside the plot and cut to a wrong label ("1")."""
    from pipelines.report.charts import _ticks

    ticks = _ticks(low, high)
    assert len(ticks) >= 2 and ticks.min() >= low - 1e-12 and ticks.max() <= high + 1e-12


def test_effects_are_shown_rounded_with_readable_p_values():
    import pandas as pd

    from dashboards.queries.analysis import effects_for_display

    raw = pd.DataFrame(
        {
            "outcome": ["qpr15.total"],
            "estimate": [8.014912],
            "ci_low": [5.92391],
            "ci_high": [10.1059],
            "p": [9.1e-13],
            "effect_size": [0.857201],
        }
    )
    shown = effects_for_display(raw).iloc[0]
    assert (shown["estimate"], shown["ci_low"], shown["effect_size"], shown["p"]) == (
        8.01,
        5.92,
        0.86,
        "<0.001",
    )


def test_effects_show_the_plans_primary_method_first_and_the_ancova_beside_it():
    from dashboards.queries.analysis import primary_effects

    results = pd.DataFrame(
        {
            "estimand": ["itt", "itt", "itt", "per_protocol", "itt"],
            "method": ["ancova", "mixed_partially_nested", "ancova", "ancova", "mice_ancova"],
            "timepoint": ["post", "post", "followup", "post", "post"],
        }
    )
    shown = primary_effects(results, "mixed_partially_nested")
    assert shown[["method", "timepoint"]].values.tolist() == [
        ["mixed_partially_nested", "post"],
        ["ancova", "post"],
        ["ancova", "followup"],
    ]
    assert primary_effects(results, "ancova")["method"].tolist() == ["ancova", "ancova"]
