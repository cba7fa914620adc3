"""Benchmark: the dashboard's RCT page with 10,000 participants.

Builds a temporary SQLite database (or ``--db URL``) with the small demo study, then adds
N synthetic screened RCT participants (about half of them allocated) and their questionnaire
responses (baseline from 95 % of the consented, post from 75 % and follow-up from 60 % of the
allocated: about 19 responses per participant) with Core bulk inserts — fast, and outside the
audit trail, which is fine for a throw-away benchmark database — and times:

1. the page's queries (screening, sites, allocations, questionnaire completion, fidelity)
   and its pandas summaries and chart, as the data layer runs them (no cache);
2. the whole page rendered by Streamlit's AppTest as a researcher: the first run of a fresh
   server (imports, component discovery), then a cold run (data cache cleared) and a warm
   run (DataFrames from ``st.cache_data``).

Usage::

    python benchmarks/dashboard_rct_page.py [--participants 10000] [--quick] [--db URL]

Prints figures; it is not a test (the issue's target: the page renders in under a second).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def populate(url: str, participants: int, seed: int = 1) -> None:
    """The demo study plus ``participants`` screened RCT participants, half allocated."""
    from sqlalchemy import insert, select

    from study.db import make_engine, read_session
    from study.db.models import Allocation, Enrolment, Person, QuestionnaireResponse, Site, Study
    from study.db.schema import upgrade
    from study.demo import build_demo
    from study.studies import config_of

    engine = make_engine(url)
    upgrade(engine)
    build_demo(engine, participants=20, seed=seed)
    rng = np.random.default_rng(seed)
    with read_session(engine) as s:
        sites = s.execute(select(Site.id, Site.study_id)).all()
        timepoints = config_of(s.get(Study, sites[0][1])).timepoints
    site_ids = np.array([site for site, _ in sites])
    study_id = sites[0][1]
    start = dt.date(2025, 8, 15)
    screened = [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 400, participants)]
    eligible = rng.random(participants) > 0.1
    consent = eligible & (rng.random(participants) > 0.05)
    withdrawn = consent & (rng.random(participants) < 0.08)
    chosen_sites = rng.choice(site_ids, participants)
    with engine.begin() as conn:
        first = conn.execute(select(Person.id).order_by(Person.id.desc()).limit(1)).scalar() + 1
        ids = list(range(first, first + participants))
        conn.execute(
            insert(Person.__table__),
            [
                {
                    "id": pid,
                    "study_id": study_id,
                    "pseudonym": f"B{k:06d}",
                    "role": "participant",
                    "site_id": int(chosen_sites[k]),
                    "created_at": dt.datetime.now(dt.UTC),
                }
                for k, pid in enumerate(ids)
            ],
        )
        conn.execute(
            insert(Enrolment.__table__),
            [
                {
                    "study_id": study_id,
                    "person_id": pid,
                    "phase": "rct",
                    "screened_on": screened[k],
                    "age_at_screening": 30,
                    "municipality": "X",
                    "eligible": bool(eligible[k]),
                    "ineligibility_reasons": "[]",
                    "consent_on": screened[k] + dt.timedelta(days=3) if consent[k] else None,
                    "withdrawn_on": screened[k] + dt.timedelta(days=60) if withdrawn[k] else None,
                    "withdrawal_reason": "benchmark" if withdrawn[k] else None,
                }
                for k, pid in enumerate(ids)
            ],
        )
        allocated = [k for k in range(participants) if consent[k] and k % 2 == 0]
        conn.execute(
            insert(Allocation.__table__),
            [
                {
                    "study_id": study_id,
                    "person_id": ids[k],
                    "arm": "INT" if k % 4 == 0 else "CTL",
                    "stratum": f"S{int(chosen_sites[k])}|{'female' if k % 3 else 'male'}",
                    "method": "blocks",
                    "sequence_position": k,
                    "allocated_on": screened[k] + dt.timedelta(days=5),
                    "allocated_by": "benchmark",
                    "created_at": dt.datetime.now(dt.UTC),
                }
                for k in allocated
            ],
        )
        # Responses as a running trial has them: everyone consented answered (most of) the
        # baseline, the allocated the later timepoints while they were due.
        share = {"baseline": 0.95, "post": 0.75, "followup": 0.6}
        responses = []
        for tp in timepoints:
            who = consent if tp.anchor == "consent" else np.isin(np.arange(participants), allocated)
            answers = who & (rng.random(participants) < share.get(tp.code, 0.5))
            for k in np.flatnonzero(answers):
                day = screened[k] + dt.timedelta(days=3 + 7 * int(tp.offset_weeks))
                responses += [
                    {
                        "study_id": study_id,
                        "person_id": ids[k],
                        "timepoint": tp.code,
                        "instrument": inst,
                        "version": "1",
                        "completed_on": day,
                        "item_values": "{}",
                        "created_at": dt.datetime.now(dt.UTC),
                    }
                    for inst in tp.instruments
                ]
        conn.execute(insert(QuestionnaireResponse.__table__), responses)
    engine.dispose()


def time_queries(url: str, repeats: int) -> dict[str, float]:
    """Median seconds of the RCT page's data work without any cache."""
    from sqlalchemy import select

    from dashboards.access import Viewer
    from dashboards.charts import recruitment_chart, vega_spec
    from dashboards.queries.allocation import allocation_balance_for
    from dashboards.queries.monitoring import fidelity_by_group, questionnaire_completion
    from dashboards.queries.recruitment import (
        recruitment_over_time,
        recruitment_summary,
        retention_summary,
        screening_frame,
        site_targets,
    )
    from study.db import make_engine, read_session
    from study.db.models import Study

    engine = make_engine(url)
    with read_session(engine) as s:
        study_id = s.scalar(select(Study.id))
    viewer = Viewer("researcher", "researcher", None, study_id)
    steps = {
        "screening query": lambda: screening_frame(engine, viewer),
        "sites query": lambda: site_targets(engine, viewer),
        "allocation balance (blinded codes)": lambda: allocation_balance_for(engine, viewer),
        "questionnaire completion": lambda: questionnaire_completion(engine, viewer),
        "fidelity per group": lambda: fidelity_by_group(engine, viewer),
    }
    results: dict[str, float] = {}
    data: dict[str, object] = {}
    for name, step in steps.items():
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            data[name] = step()
            times.append(time.perf_counter() - t0)
        results[name] = float(np.median(times))
    screening, targets = data["screening query"], data["sites query"]
    pandas_steps = {
        "summaries (pandas)": lambda: (recruitment_summary(screening, targets), retention_summary(screening)),
        "chart spec, validated (Altair)": lambda: recruitment_chart(
            recruitment_over_time(screening, targets), "t", "r", "g"
        ).to_dict(),
        "chart spec, unvalidated (used)": lambda: vega_spec(
            recruitment_chart(recruitment_over_time(screening, targets), "t", "r", "g")
        ),
    }
    for name, step in pandas_steps.items():
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        results[name] = float(np.median(times))
    allocated = int(data["allocation balance (blinded codes)"]["total"].sum())
    print(f"  rows: {len(screening)} screened, {allocated} allocated")
    engine.dispose()
    return results


def time_page(url: str, repeats: int, role: str = "researcher") -> tuple[float, float, float]:
    """Seconds of the first run of a fresh AppTest (the server's one-time start), and the
    medians of ``repeats`` cold runs (data cache cleared) and warm runs of the RCT page as a
    researcher (all sites) or as the coordinator of CPH (one site, plus the chase list)."""
    import streamlit as st
    from sqlalchemy import select
    from streamlit.testing.v1 import AppTest

    from dashboards.access import Viewer
    from study.db import make_engine, read_session
    from study.db.models import Site, Study
    from study.db.types import utcnow

    os.environ["PEERSTUDY_DB"] = url
    engine = make_engine(url)
    with read_session(engine) as s:
        study_id = s.scalar(select(Study.id))
        cph = s.scalar(select(Site.id).where(Site.code == "CPH"))
    engine.dispose()
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "dashboards" / "app.py"), default_timeout=120)
    at.session_state["viewer"] = (
        Viewer("researcher", "researcher", None, study_id)
        if role == "researcher"
        else Viewer("cph.coordinator", "coordinator", cph, study_id, "CPH")
    )
    at.session_state["last_seen"] = utcnow()

    def run(clear_cache: bool) -> float:
        if clear_cache:
            st.cache_data.clear()
        t0 = time.perf_counter()
        at.run()
        if at.exception:
            raise SystemExit(f"page failed: {at.exception}")
        return time.perf_counter() - t0

    first = run(False)
    cold = float(np.median([run(True) for _ in range(repeats)]))
    warm = float(np.median([run(False) for _ in range(repeats)]))
    return first, cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="1,000 participants, one repeat")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--populate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = 1_000 if args.quick else args.participants
    if args.populate_only:
        populate(args.db, n)
        return
    repeats = 1 if args.quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        t0 = time.perf_counter()
        # Populated in a child process, so the measuring process (like a dashboard server)
        # holds none of the set-up's objects and its garbage collector has nothing extra to walk.
        subprocess.run(
            [sys.executable, __file__, "--populate-only", "--db", url, "--participants", str(n)], check=True
        )
        print(
            f"RCT page benchmark, {n:,} participants ({url.split(':')[0]}); set-up {time.perf_counter() - t0:.1f} s"
        )
        results = time_queries(url, repeats)
        for name, seconds in results.items():
            print(f"  {name:<34} {seconds * 1000:8.1f} ms")
        used = sum(v for k, v in results.items() if "validated (Altair)" not in k)
        print(f"  {'data work, total (no cache)':<34} {used * 1000:8.1f} ms")
        for role in ("researcher", "coordinator"):
            first, cold, warm = time_page(url, repeats, role)
            print(
                f"  RCT page as {role}"
                + (" of CPH (with the chase list)" if role == "coordinator" else " (all sites)")
            )
            print(f"  {'  first run of a new server':<34} {first * 1000:8.1f} ms")
            print(f"  {'  page render, cold cache (median)':<34} {cold * 1000:8.1f} ms")
            print(f"  {'  page render, warm cache (median)':<34} {warm * 1000:8.1f} ms")
            print(
                f"  {'  target: under 1000 ms':<34} {'met' if warm < 1.0 else 'NOT met'} with the cache, "
                f"{'met' if cold < 1.0 else 'not met'} cold"
            )


if __name__ == "__main__":
    main()
