"""Blinding holds in the data layer: a random code mapping per study, the dummy allocation
for every analysis output, and no blinded view that pairs a participant with their arm.

The central check: no output a blinded role can reach before unblinding lets a simple rule
(missingness or values of a column, a section's n, the sign of an effect) tell which arm is
the intervention better than chance, judged against the real allocation.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dashboards.i18n import translate
from pipelines.analysis.consort import consort_flow
from pipelines.dataset import build_analysis_dataset, score_columns
from pipelines.dummy_allocation import DUMMY_WATERMARK, draw_dummy_allocation
from pipelines.simulate import simulate_trial
from study.blinding import code_mapping, draw_code_mapping
from study.config import example_config_path, load_config
from study.db import read_session
from study.db.models import Allocation, Person, RandomisationSecret
from study.randomisation.stream import secret_from_hex
from study.studies import get_study
from tests.test_dashboard_app import open_app  # noqa: F401  (fixture)

#: Columns that are the participant's own data (outcomes, completion, withdrawal, baseline
#: characteristics): they stay with the person, and no blinded output pairs a person with a code.
OWN_DATA = {"pseudonym", "site", "gender", "age", "allocated_on", "withdrawn_on", "timepoint", "completed_on"}


@pytest.fixture(scope="module")
def config():
    return load_config(example_config_path())


def _within_chance(successes: int, trials: int) -> bool:
    """A success rate within 4 binomial standard errors of 1/2."""
    return abs(successes / trials - 0.5) <= 4 * np.sqrt(0.25 / trials)


# --- the code mapping --------------------------------------------------------------------
def test_code_mapping_is_drawn_per_study_from_the_secret(config):
    secrets = [hashlib.sha256(f"study {i}".encode()).digest() for i in range(400)]
    mappings = [draw_code_mapping(secret, config) for secret in secrets]
    int_is_a = sum(m["INT"] == "A" for m in mappings)
    assert all(sorted(m.values()) == ["A", "B"] for m in mappings)
    assert _within_chance(int_is_a, len(mappings)), int_is_a  # not fixed by the order in study.yaml
    assert draw_code_mapping(secrets[0], config) == mappings[0]  # re-derivable from the secret


def test_three_arms_get_every_permutation(config):
    three = config.model_copy(
        update={"arms": [*config.arms, config.arms[0].model_copy(update={"code": "ALT"})]}
    )
    seen = {tuple(draw_code_mapping(bytes([i]) * 32, three).values()) for i in range(200)}
    assert len(seen) == 6


def test_stored_mapping_is_the_secrets_and_reports_do_not_order_codes_by_arm(demo_engine):
    with read_session(demo_engine) as s:
        study = get_study(s)
        seed = s.scalar(select(RandomisationSecret.seed).where(RandomisationSecret.study_id == study.id))
        assert code_mapping(s, study) == draw_code_mapping(
            secret_from_hex(seed), load_config(example_config_path())
        )
    url = demo_engine.url.render_as_string(hide_password=False)
    report = CliRunner().invoke(
        __import__("study.cli", fromlist=["app"]).app, ["allocation", "report", "--db", url]
    )
    assert report.exit_code == 0, report.output
    assert "arms: A, B;" in report.output and "INT" not in report.output
    header = next(line for line in report.output.splitlines() if "imbalance" in line)
    assert header.index(" A ") < header.index(" B ")  # code order, not the arms' order


# --- the dummy allocation ----------------------------------------------------------------
def test_dummy_allocation_keeps_strata_sizes_and_is_independent_of_the_real_arms():
    rng = np.random.default_rng(0)
    real = pd.DataFrame(
        {
            "pseudonym": [f"P{i:03d}" for i in range(90)],
            "stratum": rng.choice(["CPH|female", "CPH|male", "HEL|female"], 90),
            "arm": rng.choice(["INT", "CTL"], 90),
        }
    )
    agree = 0
    real_of = real.set_index("pseudonym")
    for seed in range(200):
        dummy = draw_dummy_allocation(real, {"INT": 1, "CTL": 1}, seed)
        dummy_of = dummy.allocations.set_index("pseudonym")
        # Balanced in every stratum (complete blocks), whatever the real counts
        counts = dummy.allocations.groupby(["stratum", "arm"]).size().unstack(fill_value=0)
        assert ((counts["INT"] - counts["CTL"]).abs() <= 1).all()
        # Every participant's donor is a real participant of their dummy arm, same stratum
        donors = pd.Series(dummy.donor_of)
        assert sorted(donors.index) == sorted(real["pseudonym"])
        assert (
            real_of.loc[donors.to_numpy(), "arm"].to_numpy() == dummy_of.loc[donors.index, "arm"].to_numpy()
        ).all()
        assert (
            real_of.loc[donors.to_numpy(), "stratum"].to_numpy()
            == real_of.loc[donors.index, "stratum"].to_numpy()
        ).all()
        agree += int((dummy_of["arm"] == real_of["arm"]).sum())
    assert _within_chance(agree, 200 * 90)  # independent of the real arms


def _participant_rules(blinded: pd.DataFrame, real_arm: pd.Series) -> dict[str, bool | None]:
    """For every column: does the rule "the arm whose participants have more filled values
    (resp. a higher mean) is the intervention" name the real intervention? ``None`` on a tie."""
    first = blinded.drop_duplicates("pseudonym").set_index("pseudonym")
    arm = real_arm.reindex(first.index)
    verdicts: dict[str, bool | None] = {}
    for column in first.columns:
        if column in OWN_DATA or column in score_columns(blinded):
            continue
        values = first[column]
        filled = values.notna().groupby(arm).mean()
        if filled["INT"] != filled["CTL"]:
            verdicts[f"{column} filled"] = bool(filled["INT"] > filled["CTL"])
        numeric = pd.to_numeric(values.map(lambda v: {"INT": 1, "CTL": 0}.get(v, v)), errors="coerce")
        means = numeric.astype(float).groupby(arm).mean()
        if means.notna().all() and means["INT"] != means["CTL"]:
            verdicts[f"{column} mean"] = bool(means["INT"] > means["CTL"])
    return verdicts


def test_no_column_of_the_blinded_dataset_tells_the_intervention(config):
    """Over many simulated trials, rules on the blinded dataset name the intervention at chance
    level, while the same rules on the unblinded dataset name it (the rules can tell)."""
    hits: dict[str, list[bool]] = {}
    real_hits: dict[str, list[bool]] = {}
    for seed in range(120):
        sources = simulate_trial(config, n=40, seed=seed)
        real_arm = sources["allocations"].set_index("pseudonym")["arm"]
        blinded = build_analysis_dataset(**sources, config=config, unblinded=False, dummy_seed=seed + 10_000)
        assert (blinded["dummy_allocation"] == DUMMY_WATERMARK).all()
        for rule, right in _participant_rules(blinded, real_arm).items():
            hits.setdefault(rule, []).append(right)
        # The CONSORT sections' n per (dummy) arm and the sign of the (dummy) effect
        flow = consort_flow(
            sources["participants"], blinded, "qpr15.total", "post", ["INT", "CTL"], ["INT"], "baseline"
        )
        received = flow[(flow.stage == "did_not_receive_allocated") & (flow.reason == "")].set_index("arm")[
            "n"
        ]
        if received["INT"] != received["CTL"]:
            # The section "attended no session" sits under the dummy intervention: which real
            # arm has more members in it?
            people = blinded.drop_duplicates("pseudonym").set_index("pseudonym")
            section = people.index[(people["arm"] == "INT") & (people["dose"] == 0)]
            counts = real_arm.reindex(section).value_counts()
            if counts.get("INT", 0) != counts.get("CTL", 0):
                hits.setdefault("consort section n", []).append(counts.get("INT", 0) > counts.get("CTL", 0))
        post = blinded[blinded.timepoint == "post"]
        effect = post.groupby("arm")["qpr15.total"].mean()
        hits.setdefault("sign of the effect", []).append(bool(effect["INT"] > effect["CTL"]))
        unblinded = build_analysis_dataset(**sources, config=config, unblinded=True)
        for rule, right in _participant_rules(unblinded, real_arm).items():
            real_hits.setdefault(rule, []).append(right)
    assert {
        "group filled",
        "dose mean",
        "per_protocol mean",
        "group_fidelity filled",
        "arm mean",
        "consort section n",
        "sign of the effect",
    } <= set(hits)
    for rule, outcomes in hits.items():
        if rule == "sign of the effect":
            continue  # the dummy effect compares dummy arms: the planted effect must vanish
        assert _within_chance(sum(outcomes), len(outcomes)), (rule, sum(outcomes), len(outcomes))
    assert _within_chance(sum(hits["sign of the effect"]), len(hits["sign of the effect"]))
    # The same rules do tell on the real allocation: the test can fail.
    assert all(real_hits["group filled"]) and all(real_hits["dose mean"])


# --- on the database: every output a blinded role reaches ---------------------------------
def _real_arms(engine) -> pd.Series:
    with read_session(engine) as s:
        rows = s.execute(
            select(Person.pseudonym, Allocation.arm).join(Person, Person.id == Allocation.person_id)
        ).all()
    return pd.DataFrame(rows, columns=["pseudonym", "arm"]).set_index("pseudonym")["arm"]


def test_blinded_outputs_on_the_database(demo_engine, tmp_path):
    """On SQLite and PostgreSQL: the pipeline dataset, the dashboard's people, person and
    allocation views and ``audit show`` pair no participant with their arm."""
    from dashboards.queries.allocation import allocation_frame
    from dashboards.queries.people import people_frame, person_view
    from pipelines.snapshot import take_snapshot
    from study.cli import app
    from tests.test_dashboard_access import viewer_of

    real = _real_arms(demo_engine)
    snap = take_snapshot(demo_engine)
    assert snap.dummy and (snap.dataset["dummy_allocation"] == DUMMY_WATERMARK).all()
    people = snap.dataset.drop_duplicates("pseudonym").set_index("pseudonym")
    filled = people["group"].notna().groupby(real.reindex(people.index)).mean()
    # Real code: INT 100 %, CTL 0 %; dummy: about the same share in both real arms
    assert abs(filled["INT"] - filled["CTL"]) < 0.5, filled
    for login in ("statistician", "researcher"):
        viewer = viewer_of(demo_engine, login)
        frame = people_frame(demo_engine, viewer, "participant")
        assert set(frame["group"]) == {"<blinded>"}
        assert set(allocation_frame(demo_engine, viewer)["arm"]) == {"<blinded>"}
    viewer = viewer_of(demo_engine, "statistician")
    url = demo_engine.url.render_as_string(hide_password=False)
    for pseudonym in [real[real == "INT"].index[0], real[real == "CTL"].index[0]]:
        view = person_view(demo_engine, viewer, pseudonym)
        assert view.arm == view.group == "<blinded>"
        assert not view.history["table_name"].isin(["group_member", "attendance"]).any()
        shown = CliRunner().invoke(app, ["audit", "show", "--person", pseudonym, "--db", url])
        assert shown.exit_code == 0, shown.output
        assert "group_member" not in shown.output and "attendance" not in shown.output
        assert "INT" not in shown.output


def test_only_the_dmc_opens_the_interim_comparison_by_real_arm_and_it_is_audited(dashboard_db, open_app):
    from dashboards.page_registry import pages_for
    from dashboards.queries.interim import interim_view
    from study.db import unit_of_work
    from study.db.models import AllocationDisclosure, AuditEvent
    from study.errors import NotAllowed
    from study.users import add_user
    from tests.test_dashboard_access import viewer_of

    with unit_of_work(dashboard_db, "admin") as s:
        add_user(s, "w.dmc", "dmc", "a long enough password", study=get_study(s))
    assert [p.url for p in pages_for("dmc")] == ["rct", "interim"]
    with pytest.raises(NotAllowed, match="dmc"):
        interim_view(dashboard_db, viewer_of(dashboard_db, "statistician"))
    view = interim_view(dashboard_db, viewer_of(dashboard_db, "w.dmc"))
    real = _real_arms(dashboard_db)
    baseline = view.outcomes[view.outcomes["timepoint"] == "baseline"].set_index("arm")
    assert set(baseline.index) == {"INT", "CTL"} and "dummy_allocation" not in view.outcomes
    assert baseline["n"].sum() <= len(real) and not view.effects.empty
    with read_session(dashboard_db) as s:
        opened = s.scalars(
            select(AllocationDisclosure.actor).where(AllocationDisclosure.kind == "dmc_interim")
        ).all()
        audited = s.scalar(
            select(AuditEvent.actor)
            .where(AuditEvent.table_name == "allocation_disclosure", AuditEvent.actor == "w.dmc")
            .limit(1)
        )
    assert opened == ["w.dmc"] and audited == "w.dmc"
    # The page: a confidential banner, the real arms, another recorded opening
    at = open_app(dashboard_db, "w.dmc")
    at.switch_page("views/interim.py").run()
    assert not at.exception and any("UNBLINDED" in e.value for e in at.error)
    assert set(at.dataframe[0].value[translate("column.arm", "en")]) == {"INT", "CTL"}
    with read_session(dashboard_db) as s:
        assert (
            len(
                s.scalars(
                    select(AllocationDisclosure.id).where(AllocationDisclosure.kind == "dmc_interim")
                ).all()
            )
            == 2
        )


def test_quality_examples_of_attendance_checks_are_withheld_from_blinded_viewers(dashboard_db, monkeypatch):
    import datetime as dt

    import dashboards.queries.quality as quality
    from pipelines.quality.history import QualityStatus
    from tests.test_dashboard_access import viewer_of

    results = pd.DataFrame(
        {
            "table": ["attendance", "scores"],
            "check": ["member of the group", "window"],
            "severity": ["error", "warning"],
            "success": [False, False],
            "rows": [9, 9],
            "failing_rows": [1, 1],
            "examples": ["P0007", "P0008"],
        }
    )
    run = QualityStatus(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "stat", 2, 0, 1, 1, False, results)
    monkeypatch.setattr(quality, "latest_quality_run", lambda session, study: run)
    shown = quality.quality_status(dashboard_db, viewer_of(dashboard_db, "statistician"))
    assert shown.failed.set_index("table")["examples"].to_dict() == {
        "attendance": "<blinded>",
        "scores": "P0008",
    }


@pytest.mark.parametrize("show_arms", [False, True])
def test_check_command_withholds_attendance_examples_until_unblinding(
    dashboard_db, monkeypatch, tmp_path, show_arms
):
    """`peerstudy check` prints (and writes into its HTML report) the same withheld examples as
    the dashboard: the site's coordinator may ask for them with --show-arms."""
    import datetime as dt
    import types

    import pipelines.quality.study_checks as study_checks
    from study.cli import app

    results = pd.DataFrame(
        {
            "table": ["attendance", "scores"],
            "check": ["member of the group", "window"],
            "expectation": ["in group", "in window"],
            "severity": ["warning", "warning"],
            "success": [False, False],
            "rows": [9, 9],
            "failing_rows": [1, 1],
            "examples": ["P0007", "P0008"],
        }
    )
    snap = types.SimpleNamespace(
        study_code="HOPE", taken_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), unblinded=False
    )
    monkeypatch.setattr(study_checks, "check_study", lambda engine, study, actor, record: (snap, results))
    url = dashboard_db.url.render_as_string(hide_password=False)
    args = ["check", "--db", url, "--html", str(tmp_path / "q.html"), *(["--show-arms"] if show_arms else [])]
    out = CliRunner().invoke(app, args)
    assert "P0008" in out.output  # other checks keep their examples
    assert ("P0007" in out.output) == show_arms
    assert ("P0007" in (tmp_path / "q.html").read_text(encoding="utf-8")) == show_arms
