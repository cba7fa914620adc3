"""CONSORT flow: counts add up along the flow and match the data they come from."""

from __future__ import annotations

import xml.dom.minidom

import pytest
from consort_checks import check_arithmetic, reasons, total

from pipelines.analysis.consort import consort_flow, consort_svg
from pipelines.dataset import build_analysis_dataset
from pipelines.simulate import simulate_trial
from study.config import example_config_path, load_config


@pytest.fixture(scope="module")
def flow_and_sources():
    config = load_config(example_config_path())
    sources = simulate_trial(config, n=120, seed=2)
    ds = build_analysis_dataset(**sources, config=config, unblinded=False)  # the dummy allocation
    flow = consort_flow(
        sources["participants"], ds, "qpr15.total", "post", ["INT", "CTL"], ["INT"], "baseline"
    )
    return flow, sources, ds


def test_flow_adds_up(flow_and_sources):
    flow, sources, ds = flow_and_sources
    assert total(flow, "assessed") == len(sources["participants"])
    assert total(flow, "randomised") == 120
    assert total(flow, "assessed") == total(flow, "excluded") + total(flow, "randomised")
    assert reasons(flow, "excluded")["n"].sum() == total(flow, "excluded")
    assert total(flow, "allocated", "INT") + total(flow, "allocated", "CTL") == 120
    for arm in ("INT", "CTL"):
        assert total(flow, "analysed", arm) + total(flow, "excluded_from_analysis", arm) == total(
            flow, "allocated", arm
        )
        assert reasons(flow, "discontinued", arm)["n"].sum() == total(flow, "discontinued", arm)


def test_flow_matches_the_data(flow_and_sources):
    flow, sources, ds = flow_and_sources
    people = ds.drop_duplicates("pseudonym")
    # Received = attended at least one session (dummy intervention arm: real doses handed over)
    assert total(flow, "received_allocated", "INT") == int((people[people.arm == "INT"].dose > 0).sum())
    assert total(flow, "received_allocated", "CTL") == total(flow, "allocated", "CTL")
    # Analysed = primary outcome at post and baseline observed (the ANCOVA sample)
    post = ds[ds.timepoint == "post"].set_index("pseudonym")["qpr15.total"]
    base = ds[ds.timepoint == "baseline"].set_index("pseudonym")["qpr15.total"]
    analysed = people.set_index("pseudonym").assign(ok=post.notna() & base.notna()).groupby("arm")["ok"].sum()
    assert total(flow, "analysed", "INT") == analysed["INT"]
    ineligible = sources["participants"].query("not eligible")
    age = reasons(flow, "excluded").query("reason.str.contains('age below 18')", engine="python")
    assert age["n"].sum() == ineligible["ineligibility_reasons"].map(lambda r: "age below 18" in r).sum()


def test_svg_is_well_formed_and_self_contained(flow_and_sources):
    flow, _, _ = flow_and_sources
    svg = consort_svg(flow, {"INT": "arm INT"})
    xml.dom.minidom.parseString(svg)  # raises on malformed XML
    assert "Randomised (n = 120)" in svg and "http://" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_ineligibility_is_reported_by_category_not_by_each_persons_detail(demo_engine):
    """The demo screens people from six neighbouring towns and of several ages: the diagram
    shows one line per rule (CONSORT), with the counts of all their persons."""
    from pipelines.snapshot import take_snapshot

    snap = take_snapshot(demo_engine)
    flow = snap.consort()
    excluded = reasons(flow, "excluded")
    ineligible = excluded[excluded["reason"].str.startswith("not meeting inclusion criteria")]
    people = snap.sources.participants
    raw = people.loc[~people["eligible"].astype(bool), "ineligibility_reasons"].explode().dropna()
    assert raw.nunique() > ineligible["reason"].nunique()  # details were grouped
    assert not ineligible["reason"].str.contains(r"\(|\d+ below", regex=True).any()
    assert ineligible["n"].sum() == len(raw)
    assert "not meeting inclusion criteria: lives outside the site's municipalities" in set(
        ineligible["reason"]
    )


def test_arithmetic_of_a_simulated_trial(flow_and_sources):
    from pipelines.analysis.consort import consort_people

    flow, sources, ds = flow_and_sources
    people = consort_people(sources["participants"], ds, "qpr15.total", "post", ["INT"], "baseline")
    check_arithmetic(flow, people, ["INT", "CTL"])
    # Withdrawn people without the outcome are lost to follow-up too (they were not before)
    withdrawn_lost = people[people["withdrawn"] & ~people["has_outcome"]]
    assert len(withdrawn_lost) > 0
    lost = reasons(flow, "lost_to_follow_up", "INT")
    assert lost["reason"].str.startswith("withdrew from the study").any()


def test_arithmetic_of_the_demo(demo_engine):
    from pipelines.analysis.consort import consort_people
    from pipelines.snapshot import take_snapshot

    snap = take_snapshot(demo_engine)
    flow = snap.consort()
    plan = snap.plan()
    people = consort_people(
        snap.sources.participants,
        snap.dataset,
        plan.primary,
        plan.followups[0],
        [plan.treatment],
        plan.baseline,
    )
    check_arithmetic(flow, people, [plan.treatment, plan.control], plan.primary, plan.followups[0])
    assert total(flow, "randomised") == len(people) > 0
