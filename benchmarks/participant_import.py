"""Benchmark: import 20,000 participants (eligibility, identity, strata) into SQLite.

Writes a participants CSV of N people at the three sites of the reference study (birth date,
municipality, screening and consent dates, gender), then times in the same run:

- the baseline: the same import through ORM objects and the flush capture
  (``study.bulk_write.orm_writes``, the path every import took before the audited bulk
  writes) on a smaller file (N/10 rows by default), scaled to N rows;
- the import with audited bulk writes (:mod:`study.bulk_write`) of all N rows;
- a re-import of the same file (nothing changes, no events).

and checks the audit trail afterwards (``verify_chain``: chain and data). The goal is
20,000 participants in at most 5 s on SQLite.

    python benchmarks/participant_import.py            # 20,000 participants
    python benchmarks/participant_import.py --quick    # 2,000 participants
    python benchmarks/participant_import.py --backends sqlite,postgresql
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch_databases import PG_ADMIN, exit_on_sigterm, postgresql_urls, sqlite_urls

from study.audit import verify_chain
from study.audit_key import create_key, load_key
from study.bulk_write import orm_writes
from study.config import example_config_path, load_config
from study.db import make_engine, unit_of_work
from study.db.schema import upgrade
from study.enrolment_import import import_participants, read_participants_csv
from study.phases import start_phase
from study.studies import create_study, get_study

GOAL_SECONDS = {"SQLite": 5.0, "PostgreSQL": None}  # for 20,000 participants (issue 16)
GOAL_ROWS = 20_000
TODAY = dt.date(2026, 1, 15)


def make_csv(path: Path, rows: int, seed: int = 5) -> None:
    """``rows`` synthetic people: mostly eligible participants, some too young, some elsewhere."""
    rng = np.random.default_rng(seed)
    sites = np.array(["CPH", "HEL", "FRE"])
    municipality = {"CPH": "København", "HEL": "Helsingør", "FRE": "Fredericia"}
    site = sites[rng.integers(0, 3, rows)]
    birth = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 25_000, rows), unit="D")
    screened = pd.Timestamp("2025-09-01") + pd.to_timedelta(rng.integers(0, 60, rows), unit="D")
    consent = screened + pd.to_timedelta(rng.integers(0, 10, rows), unit="D")
    frame = pd.DataFrame(
        {
            "pseudonym": [f"P{k:06d}" for k in range(rows)],
            "site": site,
            "role": "participant",
            "birth_date": birth.strftime("%Y-%m-%d"),
            "municipality": [municipality[s] if rng.random() > 0.05 else "Odense" for s in site],
            "screened_on": screened.strftime("%Y-%m-%d"),
            "consent_on": np.where(rng.random(rows) < 0.9, consent.strftime("%Y-%m-%d"), ""),
            "exclusions": "",
            "gender": rng.choice(["female", "male", "F", "M", "other"], rows),
        }
    )
    frame.to_csv(path, index=False)


def _new_study(url: str):
    engine = make_engine(url)
    upgrade(engine)
    path = example_config_path()
    with unit_of_work(engine, "benchmark") as s:
        study = create_study(s, load_config(path), path.read_text(encoding="utf-8"))
        start_phase(s, study, "rct", "benchmark")
    return engine


CPU: dict[str, float] = {}  # process CPU seconds of the last import (unaffected by waiting for a core)


def _import(engine, frame: pd.DataFrame) -> tuple[float, object]:
    start, cpu = time.perf_counter(), time.process_time()
    with unit_of_work(engine, "benchmark", reason="benchmark import") as s:
        summary = import_participants(s, get_study(s), frame, source="benchmark", today=TODAY)
    CPU["last"] = time.process_time() - cpu
    return time.perf_counter() - start, summary


def run(label: str, urls, csv: Path, small_csv: Path, rows: int, small: int) -> None:
    frame, small_frame = read_participants_csv(csv), read_participants_csv(small_csv)
    engine = _new_study(urls())
    with orm_writes():
        orm_seconds, _ = _import(engine, small_frame)
    orm_cpu = CPU["last"]
    engine.dispose()
    orm_scaled = orm_seconds * rows / small
    engine = _new_study(urls())
    bulk_seconds, summary = _import(engine, frame)
    bulk_cpu = CPU["last"]
    again_seconds, again = _import(engine, frame)
    report = verify_chain(engine, load_key(Path(os.environ["PEERSTUDY_AUDIT_KEY"])))
    engine.dispose()
    goal = GOAL_SECONDS.get(label)
    goal_text = f"goal ≤ {goal * rows / GOAL_ROWS:.2f} s" if goal else "no goal set"
    print(f"{label}: {rows:,} participants ({summary})")
    print(
        f"  baseline, ORM objects : {orm_seconds:8.2f} s for {small:,} rows  → {orm_scaled:8.2f} s scaled to {rows:,} "
        f"(CPU {orm_cpu * rows / small:.2f} s scaled)"
    )
    print(
        f"  audited bulk writes   : {bulk_seconds:8.2f} s  {rows / bulk_seconds:10,.0f} rows/s  (CPU {bulk_cpu:.2f} s) "
        f"({orm_scaled / bulk_seconds:.1f}× the baseline; {goal_text}: "
        f"{'met' if goal is None or bulk_seconds <= goal * rows / GOAL_ROWS else 'NOT met'})"
    )
    print(f"  re-import (no change) : {again_seconds:8.2f} s  ({again})")
    verdict = "intact" if report.intact else f"FAILED: {report.problem or report.discrepancies[:3]}"
    print(f"  audit verify          : {verdict} ({report.events:,} events)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 participants instead of 20,000")
    parser.add_argument("-n", type=int, default=None, help="participants in the file")
    parser.add_argument(
        "--baseline-n", type=int, default=None, help="rows of the ORM baseline (default n/10)"
    )
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--pg-admin", default=PG_ADMIN, help="PostgreSQL URL to create scratch databases")
    args = parser.parse_args()
    rows = args.n or (2_000 if args.quick else GOAL_ROWS)
    small = args.baseline_n or max(rows // 10, 100)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PEERSTUDY_AUDIT_KEY"] = str(Path(tmp) / "audit.key")
        os.environ.setdefault("PEERSTUDY_ANCHOR_LOG", str(Path(tmp) / "anchors.log"))
        create_key(Path(os.environ["PEERSTUDY_AUDIT_KEY"]))
        csv, small_csv = Path(tmp) / "participants.csv", Path(tmp) / "small.csv"
        make_csv(csv, rows)
        make_csv(small_csv, small)
        print(
            f"CSV: {rows:,} participants ({csv.stat().st_size / 2**20:.1f} MiB); "
            "timings on a shared machine: compare with the baseline of the same run"
        )
        backends = args.backends.split(",")
        if "sqlite" in backends:
            run(
                "SQLite",
                sqlite_urls(Path(tmp)),
                csv,
                small_csv,
                rows,
                small,
            )
        if "postgresql" in backends:
            with postgresql_urls(args.pg_admin) as pg_url:
                run("PostgreSQL", pg_url, csv, small_csv, rows, small)


if __name__ == "__main__":
    exit_on_sigterm()  # all.py stops it at its timeout with SIGTERM: clean up first
    main()
