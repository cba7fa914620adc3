"""Checks of the CONSORT arithmetic shared by the CONSORT tests and the analysis test matrix."""

from __future__ import annotations


def total(flow, stage, arm="all"):
    """The stage's total (the row without a reason)."""
    hit = flow[(flow.stage == stage) & (flow.arm == arm) & (flow.reason.fillna("") == "")]
    return int(hit["n"].iloc[0])


def reasons(flow, stage, arm="all"):
    """The stage's rows by reason."""
    return flow[(flow.stage == stage) & (flow.arm == arm) & (flow.reason.fillna("") != "")]


def check_arithmetic(flow, people, arms, outcome="qpr15.total", timepoint="post"):
    """Every allocated person is analysed or excluded with exactly one reason; the boxes add
    up; lost to follow-up = everyone without the primary outcome at its timepoint."""
    assert people["pseudonym"].is_unique
    assert (people["analysed"] == (people["exclusion_reason"] == "")).all()
    for arm in arms:
        members = people[people["arm"] == arm]
        allocated = total(flow, "allocated", arm)
        assert allocated == len(members)
        assert total(flow, "analysed", arm) + total(flow, "excluded_from_analysis", arm) == allocated
        assert reasons(flow, "excluded_from_analysis", arm)["n"].sum() == total(
            flow, "excluded_from_analysis", arm
        )
        no_outcome = reasons(flow, "excluded_from_analysis", arm)
        no_outcome = int(no_outcome.loc[no_outcome["reason"] == f"no {outcome} at {timepoint}", "n"].sum())
        assert total(flow, "lost_to_follow_up", arm) == no_outcome == int((~members["has_outcome"]).sum())
        assert reasons(flow, "lost_to_follow_up", arm)["n"].sum() == total(flow, "lost_to_follow_up", arm)
        assert (
            total(flow, "received_allocated", arm) + total(flow, "did_not_receive_allocated", arm)
            == allocated
        )
        assert reasons(flow, "discontinued", arm)["n"].sum() == total(flow, "discontinued", arm)
    assert sum(total(flow, "allocated", a) for a in arms) == total(flow, "randomised")
