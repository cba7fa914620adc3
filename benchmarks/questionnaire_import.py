"""Benchmark: import a wide questionnaire CSV with full validation into SQLite and PostgreSQL.

Creates a study with enough consented participants (set-up, not timed), writes a CSV of N rows
(participant × timepoint, WHO-5 and QPR-15 answered: 20 item columns, a few empty items and
missing codes), then times ``import_questionnaires`` (validation + audited bulk insert) and a
re-import of the same file (the no-op path). Prints rows per second and peak memory (peak resident set size of the process,
and how much the import raised it; tracemalloc would slow the ORM several-fold).

    python benchmarks/questionnaire_import.py            # 100,000 rows
    python benchmarks/questionnaire_import.py --quick    # 3,000 rows
    python benchmarks/questionnaire_import.py --backends sqlite
"""

from __future__ import annotations

import argparse
import os
import datetime as dt
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from questionnaires.capture import import_questionnaires, read_questionnaire_csv  # noqa: E402
from questionnaires.definitions import shipped_instruments  # noqa: E402
from study.audit_key import create_key  # noqa: E402
from study.config import example_config_path, load_config  # noqa: E402
from study.db import make_engine, unit_of_work  # noqa: E402
from study.db.models import Enrolment, Person  # noqa: E402
from study.db.schema import upgrade  # noqa: E402
from study.studies import create_study, get_study, site_by_code  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
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
            Enrolment(study_id=study.id, person_id=p.id, phase="rct", screened_on=CONSENT,
                      age_at_screening=40, municipality="København", eligible=True,
                      ineligibility_reasons="[]", consent_on=CONSENT)
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
    frame["completed_on"] = np.where(frame["timepoint"] == "baseline", "2025-09-03",
                                     np.where(frame["timepoint"] == "post", "2025-12-05", "2026-06-05"))
    for instrument_id in ("who5", "qpr15"):
        definition = inst[instrument_id]
        s = definition.response_scale
        values = rng.integers(s.min, s.max + 1, (rows, len(definition.items))).astype(str).astype(object)
        values[rng.random(values.shape) < 0.02] = ""
        values[rng.random(values.shape) < 0.005] = "-9"
        frame = pd.concat([frame, pd.DataFrame(values, columns=definition.columns)], axis=1)
    frame.to_csv(path, index=False)


def run(label: str, url: str, csv: Path, rows: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    setup_study(engine, -(-rows // len(TIMEPOINTS)))
    frame = read_questionnaire_csv(csv)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    with unit_of_work(engine, "benchmark", reason="benchmark import") as s:
        summary = import_questionnaires(s, get_study(s), frame, source=str(csv))
    first = time.perf_counter() - start
    rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    with unit_of_work(engine, "benchmark", reason="benchmark re-import") as s:
        again = import_questionnaires(s, get_study(s), frame, source=str(csv))
    second = time.perf_counter() - start
    print(f"{label}: {rows:,} rows, {summary.responses_created:,} responses")
    print(f"  import   : {first:8.2f} s  {rows / first:10,.0f} rows/s  "
          f"(peak RSS {rss_import:,.0f} MiB, {rss_import - rss_before:+,.0f} MiB during the import)")
    print(f"  re-import: {second:8.2f} s  {rows / second:10,.0f} rows/s  "
          f"({again.responses_unchanged:,} unchanged, {again.responses_created} created)")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 rows instead of 100,000")
    parser.add_argument("-n", type=int, default=None, help="rows of the CSV")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-admin", default=PG_ADMIN, help="PostgreSQL URL to create a scratch database")
    args = parser.parse_args()
    rows = args.n or (3_000 if args.quick else 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PEERSTUDY_AUDIT_KEY"] = str(Path(tmp) / "audit.key")
        os.environ.setdefault("PEERSTUDY_ANCHOR_LOG", str(Path(tmp) / "anchors.log"))
        create_key(Path(os.environ["PEERSTUDY_AUDIT_KEY"]))
        csv = Path(tmp) / "questionnaires.csv"
        make_csv(csv, rows)
        print(f"CSV: {rows:,} rows x 23 columns ({csv.stat().st_size / 2**20:.1f} MiB)")
        backends = args.backends.split(",")
        if "sqlite" in backends:
            run("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", csv, rows)
        if "postgresql" in backends:
            name = f"peerstudy_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.pg_admin, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
            except Exception as exc:  # no server: say so and stop
                print(f"PostgreSQL: skipped ({exc.__class__.__name__}: {exc})")
                return
            try:
                run("PostgreSQL", args.pg_admin.rsplit("/", 1)[0] + "/" + name, csv, rows)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
