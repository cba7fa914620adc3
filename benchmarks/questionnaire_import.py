"""Benchmark: import a wide questionnaire CSV with full validation into SQLite and PostgreSQL.

Creates a study with enough consented participants (set-up, not timed), writes a CSV of N rows
(participant × timepoint, WHO-5 and QPR-15 answered: 20 item columns, a few empty items and
missing codes), then times in the same run:

- the baseline: the same import through ORM objects and the flush capture
  (``study.bulk_write.orm_writes``, the path every import took before the audited bulk
  writes) on a file of N/10 rows, scaled to N (linearly, which flatters it);
- the import of the file (streamed in chunks, validated, audited bulk writes);
- a re-import of the same file (the no-op path);

then checks the trail (``verify_chain``: chain and data). Goals (issue 16) for 100,000 rows:
≤ 10 s on SQLite, ≤ 15 s on PostgreSQL. Prints rows per second and peak memory (peak
resident set size of the process, and how much the import raised it).

    python benchmarks/questionnaire_import.py            # 100,000 rows
    python benchmarks/questionnaire_import.py --quick    # 3,000 rows
    python benchmarks/questionnaire_import.py --backends sqlite
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch_databases import PG_ADMIN, exit_on_sigterm, postgresql_urls, sqlite_urls

from questionnaires.capture import import_questionnaire_file
from questionnaires.definitions import shipped_instruments
from study.audit import verify_chain
from study.audit_key import create_key, load_key
from study.bulk_write import orm_writes
from study.config import example_config_path, load_config
from study.db import make_engine, unit_of_work
from study.db.models import Enrolment, Person
from study.db.schema import upgrade
from study.studies import create_study, get_study, site_by_code

TIMEPOINTS = ["baseline", "post", "followup"]
CONSENT = dt.date(2025, 9, 1)


def setup_study(engine, participants: int) -> None:
    """The reference study with ``participants`` consented participants (bulk ORM, audited)."""
    path = example_config_path()
    with unit_of_work(engine, "benchmark") as s:
        study = create_study(s, load_config(path), path.read_text(encoding="utf-8"))
        site = site_by_code(s, study, "CPH")
        people = [
            Person(study_id=study.id, pseudonym=f"P{k:06d}", role="participant", site_id=site.id)
            for k in range(participants)
        ]
        s.add_all(people)
        s.flush()
        s.add_all(
            Enrolment(
                study_id=study.id,
                person_id=p.id,
                phase="rct",
                screened_on=CONSENT,
                age_at_screening=40,
                municipality="København",
                eligible=True,
                ineligibility_reasons="[]",
                consent_on=CONSENT,
            )
            for p in people
        )


def make_csv(path: Path, rows: int, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    inst = shipped_instruments()
    n_people = -(-rows // len(TIMEPOINTS))
    frame = pd.DataFrame(
        {
            "pseudonym": np.repeat([f"P{k:06d}" for k in range(n_people)], len(TIMEPOINTS))[:rows],
            "timepoint": np.tile(TIMEPOINTS, n_people)[:rows],
        }
    )
    frame["completed_on"] = np.where(
        frame["timepoint"] == "baseline",
        "2025-09-03",
        np.where(frame["timepoint"] == "post", "2025-12-05", "2026-06-05"),
    )
    for instrument_id in ("who5", "qpr15"):
        definition = inst[instrument_id]
        s = definition.response_scale
        values = rng.integers(s.min, s.max + 1, (rows, len(definition.items))).astype(str).astype(object)
        values[rng.random(values.shape) < 0.02] = ""
        values[rng.random(values.shape) < 0.005] = "-9"
        frame = pd.concat([frame, pd.DataFrame(values, columns=definition.columns)], axis=1)
    frame.to_csv(path, index=False)


GOAL_SECONDS = {"SQLite": 10.0, "PostgreSQL": 15.0}  # for 100,000 rows (issue 16)
GOAL_ROWS = 100_000
CPU: dict[str, float] = {}  # process CPU seconds of the last import (unaffected by waiting for a core)


def _import(
    url: str, csv: Path, rows: int, reimport: bool = False
) -> tuple[float, object, float, object, object]:
    engine = make_engine(url)
    upgrade(engine)
    setup_study(engine, -(-rows // len(TIMEPOINTS)))
    start, cpu = time.perf_counter(), time.process_time()
    with unit_of_work(engine, "benchmark", reason="benchmark import") as s:
        summary = import_questionnaire_file(s, get_study(s), csv)
    first = time.perf_counter() - start
    CPU["last"] = time.process_time() - cpu
    second, again = 0.0, None
    if reimport:
        start = time.perf_counter()
        with unit_of_work(engine, "benchmark", reason="benchmark re-import") as s:
            again = import_questionnaire_file(s, get_study(s), csv)
        second = time.perf_counter() - start
    return first, summary, second, again, engine


def run(label: str, urls, csv: Path, rows: int, small_csv: Path, small: int) -> None:
    with orm_writes():
        orm_seconds, _, _, _, engine = _import(urls(), small_csv, small)
    orm_cpu = CPU["last"]
    engine.dispose()
    orm_scaled = orm_seconds * rows / small
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first, summary, second, again, engine = _import(urls(), csv, rows, reimport=True)
    bulk_cpu = CPU["last"]
    rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = verify_chain(engine, load_key(Path(os.environ["PEERSTUDY_AUDIT_KEY"])))
    engine.dispose()
    goal = GOAL_SECONDS[label] * rows / GOAL_ROWS
    print(f"{label}: {rows:,} rows, {summary.responses_created:,} responses")
    print(
        f"  baseline, ORM objects: {orm_seconds:8.2f} s for {small:,} rows → {orm_scaled:8.2f} s scaled to {rows:,} "
        f"(CPU {orm_cpu * rows / small:.2f} s scaled)"
    )
    print(
        f"  import               : {first:8.2f} s  {rows / first:10,.0f} rows/s  (CPU {bulk_cpu:.2f} s; "
        f"{orm_scaled / first:.1f}× the "
        f"baseline; goal ≤ {goal:.2f} s: {'met' if first <= goal else 'NOT met'}) "
        f"(peak RSS {rss_import:,.0f} MiB, {rss_import - rss_before:+,.0f} MiB)"
    )
    print(
        f"  re-import            : {second:8.2f} s  {rows / second:10,.0f} rows/s  "
        f"({again.responses_unchanged:,} unchanged, {again.responses_created} created)"
    )
    verdict = "intact" if report.intact else f"FAILED: {report.problem or report.discrepancies[:3]}"
    print(f"  audit verify         : {verdict} ({report.events:,} events)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 rows instead of 100,000")
    parser.add_argument("-n", type=int, default=None, help="rows of the CSV")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-admin", default=PG_ADMIN, help="PostgreSQL URL to create a scratch database")
    args = parser.parse_args()
    rows = args.n or (3_000 if args.quick else GOAL_ROWS)
    small = max(rows // 10, 300)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PEERSTUDY_AUDIT_KEY"] = str(Path(tmp) / "audit.key")
        os.environ.setdefault("PEERSTUDY_ANCHOR_LOG", str(Path(tmp) / "anchors.log"))
        create_key(Path(os.environ["PEERSTUDY_AUDIT_KEY"]))
        csv, small_csv = Path(tmp) / "questionnaires.csv", Path(tmp) / "small.csv"
        make_csv(csv, rows)
        make_csv(small_csv, small)
        print(
            f"CSV: {rows:,} rows x 23 columns ({csv.stat().st_size / 2**20:.1f} MiB); timings on a shared "
            "machine: compare with the baseline of the same run"
        )
        backends = args.backends.split(",")
        if "sqlite" in backends:
            run(
                "SQLite",
                sqlite_urls(Path(tmp)),
                csv,
                rows,
                small_csv,
                small,
            )
        if "postgresql" in backends:
            try:
                with postgresql_urls(args.pg_admin) as pg_url:
                    run("PostgreSQL", pg_url, csv, rows, small_csv, small)
            except Exception as exc:  # no server: say so
                print(f"PostgreSQL: skipped ({exc.__class__.__name__}: {exc})")


if __name__ == "__main__":
    exit_on_sigterm()  # all.py stops it at its timeout with SIGTERM: clean up first
    main()
