"""The dashboard load test's pure parts (``benchmarks/dashboard_load.py``: loopback only,
bounded, percentile summary) and the cache machinery it led to: data versions per table read
from the audit trail, and snapshots refreshed in the background.

The load test itself needs a PostgreSQL study built by ``peerstudy demo``; even ``--quick``
takes more than a minute on this machine, so it is not run here (see docs/dashboard.md for its
figures). Its protocol client is tested end to end in ``tests/test_streamlit_protocol.py``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from study.db import read_session, unit_of_work
from study.db.models import Study
from study.people import add_person

ROOT = Path(__file__).resolve().parent.parent


def _load_script():
    spec = importlib.util.spec_from_file_location("dashboard_load", ROOT / "benchmarks" / "dashboard_load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["dashboard_load"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


load = _load_script()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8501",
        "http://localhost:8501/",
        "http://[::1]:8501",
        "http://127.8.9.10",
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    ],
)
def test_loopback_addresses_are_driven(url):
    assert load.require_loopback(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:8501",
        "http://192.168.1.20",
        "http://172.16.0.1",
        "http://8.8.8.8",
        "http://example.org",
        "http://0.0.0.0:8501",
        "http://localhost.example.org",
        "/tmp/socket",
        "postgresql+psycopg://postgres@db.internal:5432/postgres",
    ],
)
def test_any_other_address_is_refused(url):
    with pytest.raises(ValueError, match="loopback addresses only"):
        load.require_loopback(url)


def test_a_non_loopback_database_is_refused_before_anything_is_created(capsys):
    with pytest.raises(SystemExit) as exit_:
        load.main(["--pg", "postgresql+psycopg://postgres@10.1.2.3:5432/postgres", "--users", "2"])
    assert exit_.value.code == 2
    assert "loopback addresses only" in capsys.readouterr().err


@pytest.mark.parametrize(
    "users, duration, participants",
    [
        (0, 60, 1000),
        (51, 60, 1000),
        (5, 0, 1000),
        (5, 601, 1000),
        (5, 60, 9),
        (5, 60, 20_001),
    ],
)
def test_the_run_is_bounded(users, duration, participants):
    with pytest.raises(ValueError):
        load.bounded(users, duration, participants)
    load.bounded(20, 120, 10_000)  # the run is within bounds


def test_the_summary_gives_percentiles_of_successes_and_counts_errors_per_page():
    rng = np.random.default_rng(3)
    rct = rng.exponential(1.0, 200)
    samples = pd.DataFrame(
        {
            "page": ["rct"] * 200 + ["save"] * 3,
            "seconds": [*rct, 0.5, 30.0, 0.7],
            "error": [None] * 200 + [None, "TimeoutError: save", None],
        }
    )
    summary = load.summarise(samples)
    assert list(summary.index) == ["rct", "save", "all"]
    assert summary.at["rct", "p50"] == pytest.approx(np.percentile(rct, 50))
    assert summary.at["rct", "p95"] == pytest.approx(np.percentile(rct, 95))
    # The timed-out save counts as an error, and its 30 s is in no percentile.
    assert summary.loc["save", ["n", "errors"]].tolist() == [3, 1]
    assert summary.at["save", "max"] == pytest.approx(0.7)
    assert summary.loc["all", ["n", "errors"]].tolist() == [203, 1]
    assert summary.at["all", "p95"] == pytest.approx(np.percentile([*rct, 0.5, 0.7], 95))
    assert not load.goal_met(summary)
    assert load.goal_met(load.summarise(samples[samples["error"].isna() & (samples["seconds"] < 2)]))


def test_a_page_with_only_errors_has_no_percentiles():
    summary = load.summarise(pd.DataFrame({"page": ["x"], "seconds": [30.0], "error": ["timeout"]}))
    assert summary.at["x", "errors"] == 1 and np.isnan(summary.at["x", "p95"])
    assert not load.goal_met(summary)


def test_users_take_the_roles_in_turn():
    roles = load.roles_for(20)
    assert (roles.count("attendance"), roles.count("questionnaire"), roles.count("researcher")) == (5, 5, 10)


# --- the cache machinery --------------------------------------------------------------------


def _add_person(engine, pseudonym: str) -> None:
    with unit_of_work(engine, "test") as s:
        study = s.scalar(select(Study))
        add_person(s, study, pseudonym, "participant", "CPH")


def test_data_versions_change_with_the_tables_a_query_reads_and_only_then(study_db):
    from dashboards.ui.data_versions import TableVersions

    versions = TableVersions()
    before = {
        "people": versions.versions(study_db, ["person", "enrolment"]),
        "attendance": versions.versions(study_db, ["attendance"]),
        "any": versions.versions(study_db, None),
    }
    versions.look_next_time()
    assert versions.versions(study_db, ["person", "enrolment"]) == before["people"]  # nothing changed
    _add_person(study_db, "LOAD-1")
    versions.look_next_time()
    assert versions.versions(study_db, ["person", "enrolment"]) != before["people"]
    assert versions.versions(study_db, ["attendance"]) == before["attendance"]
    assert versions.versions(study_db, None) != before["any"]


def test_data_versions_start_over_on_another_trail(study_db, db_factory):
    """A database emptied and rebuilt at the same URL (as the tests' fixtures do) is another
    trail, even when it grows longer than the old one: no version of the old one may be taken
    for it."""
    from dashboards.ui.data_versions import TableVersions
    from study.config import example_config_path, load_config
    from study.studies import create_study

    versions = TableVersions()
    _add_person(study_db, "LOAD-2")
    old = versions.versions(study_db, ["person"])
    old_study = versions.versions(study_db, ["study"])
    rebuilt = db_factory.new_engine()
    try:
        path = example_config_path()
        with unit_of_work(rebuilt, "test") as s:
            create_study(s, load_config(path), path.read_text(encoding="utf-8"))
        for k in range(3):
            _add_person(rebuilt, f"LOAD-R{k}")
        versions.look_next_time()
        new = versions.versions(rebuilt, ["person"])
        assert new != old
        # The rebuilt study's events all lie within the old trail's length: only knowing that
        # this is another trail tells that the study changed.
        assert versions.versions(rebuilt, ["study"]) != old_study
        with read_session(rebuilt) as s:
            assert s.scalar(select(Study.code)) is not None
        _add_person(rebuilt, "LOAD-R9")
        versions.look_next_time()
        assert versions.versions(rebuilt, ["person"]) != new
    finally:
        rebuilt.dispose()


def test_a_snapshot_is_served_while_the_next_one_is_computed():
    from dashboards.ui.snapshots import SnapshotStore

    store = SnapshotStore(max_age_s=3600, min_interval_s=0)
    release = threading.Event()
    calls = []

    def slow(value):
        def compute():
            calls.append(value)
            release.wait(10)
            return value

        return compute

    release.set()
    assert store.latest("analysis", 1, slow("v1")) == "v1"
    release.clear()
    # Data changed: the visit gets v1 at once, one refresh starts, a second visit starts none.
    assert store.latest("analysis", 2, slow("v2")) == "v1"
    assert store.latest("analysis", 2, slow("v2 again")) == "v1"
    release.set()
    store.wait_idle("analysis")
    assert store.latest("analysis", 2, slow("v3")) == "v2"
    assert calls == ["v1", "v2"]


def test_a_failed_refresh_keeps_the_last_snapshot_and_is_tried_again():
    from dashboards.ui.snapshots import SnapshotStore

    store = SnapshotStore(max_age_s=3600, min_interval_s=0)
    store.latest("k", 1, lambda: "good")

    def broken():
        raise RuntimeError("database went away")

    assert store.latest("k", 2, broken) == "good"
    store.wait_idle("k")
    assert store.latest("k", 2, lambda: "better") == "good"  # retried: version 2 still missing
    store.wait_idle("k")
    assert store.latest("k", 2, lambda: "unused") == "better"


def test_the_first_visit_computes_and_its_error_shows():
    from dashboards.ui.snapshots import SnapshotStore

    store = SnapshotStore(max_age_s=60)
    with pytest.raises(RuntimeError):
        store.latest("k", 1, lambda: (_ for _ in ()).throw(RuntimeError("no study")))
    assert store.latest("k", 1, lambda: "now") == "now"


def test_changed_data_refreshes_a_snapshot_at_most_once_per_interval():
    from dashboards.ui.snapshots import SnapshotStore

    store = SnapshotStore(max_age_s=3600, min_interval_s=3600)
    store.latest("k", 1, lambda: "first")
    assert store.latest("k", 2, lambda: "second") == "first"
    store.wait_idle("k")
    assert store.latest("k", 2, lambda: "third") == "first"  # no refresh within the interval
    store.min_interval_s = 0
    store.latest("k", 2, lambda: "fourth")
    store.wait_idle("k")
    assert store.latest("k", 2, lambda: "unused") == "fourth"


def test_data_versions_of_an_empty_trail_hold_until_its_first_event(db):
    from dashboards.ui.data_versions import TableVersions
    from study.config import example_config_path, load_config
    from study.studies import create_study

    versions = TableVersions()
    empty = versions.versions(db, ["study"])
    versions.look_next_time()
    assert versions.versions(db, ["study"]) == empty  # nothing happened: the cache holds
    path = example_config_path()
    with unit_of_work(db, "test") as s:
        create_study(s, load_config(path), path.read_text(encoding="utf-8"))
    versions.look_next_time()
    created = versions.versions(db, ["study"])
    assert created != empty
    versions.look_next_time()
    assert versions.versions(db, ["study"]) == created


def _fake_proc(root, pid: int, utime: int, stime: int, children: list[int]) -> None:
    task = root / str(pid) / "task" / str(pid)
    task.mkdir(parents=True)
    # Fields after the command name: state, ppid, ... utime is the 12th, stime the 13th.
    rest = ["S", "1"] + ["0"] * 9 + [str(utime), str(stime)] + ["0"] * 10
    (root / str(pid) / "stat").write_text(f"{pid} (python (x) y) " + " ".join(rest))
    (task / "children").write_text(" ".join(map(str, children)))


def test_the_server_cpu_is_summed_over_its_process_tree(tmp_path):
    ticks = os.sysconf("SC_CLK_TCK")
    _fake_proc(tmp_path, 10, 2 * ticks, ticks, [11])  # peerstudy dashboard
    _fake_proc(tmp_path, 11, 5 * ticks, 2 * ticks, [12])  # streamlit
    # 12 ended meanwhile: no /proc entry, counts nothing
    assert load.process_tree_cpu(10, tmp_path) == pytest.approx(10.0)
    assert load.process_tree_cpu(11, tmp_path) == pytest.approx(7.0)
    assert load.process_tree_cpu(99, tmp_path) == 0.0


def test_the_cpu_per_action_counts_failed_actions_too():
    recorder = load.Recorder(server_cpu_s=3.0)
    recorder.add(0, "rct", 1.0, None)
    recorder.add(0, "rct", 30.0, "TimeoutError")
    assert load.cpu_per_action(recorder) == pytest.approx(1.5)
    assert np.isnan(load.cpu_per_action(load.Recorder(server_cpu_s=3.0)))
