"""Benchmark: `audit verify` on a study with 1,000,000 audit events.

Builds a study whose trail holds N events (a quarter inserts of rows, the rest updates of a
field of those rows, chained in batches with study.audit_chain.chain_events as a bulk import
would), then times in the same run:

- the baseline: walking the chain alone (keyed hashes and links, what `verify` did before it
  covered the data);
- the full verification: the chain plus the replay of every event and the comparison with every
  audited table's rows.

The target is under 60 s for 1,000,000 events.

    python benchmarks/audit_verify.py                 # 1,000,000 events, SQLite
    python benchmarks/audit_verify.py --quick         # 100,000 events
    python benchmarks/audit_verify.py --db postgresql://postgres@127.0.0.1/bench   # an EMPTY database
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select

from study.audit_chain import audit_text, chain_events, row_json
from study.audit_key import create_key, key_path, load_key

_BATCH = 50_000


class _BulkWriter:
    """Rows and their events, chained and inserted a batch at a time (as a bulk import would)."""

    def __init__(self, engine, key: bytes, last_seq: int, last_hash: str) -> None:
        from study.db.models import AllocationDisclosure, AuditEvent

        self.engine, self.key = engine, key
        self.last_seq, self.last_hash = last_seq, last_hash
        self.rows_table, self.events_table = AllocationDisclosure.__table__, AuditEvent.__table__
        self.rows: list[dict] = []
        self.events: list[dict] = []

    def add(self, row: dict, events: list[dict]) -> None:
        self.rows.append(row)
        self.events.extend(events)
        if len(self.events) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.events:
            return
        chained = chain_events(self.events, last_seq=self.last_seq, last_hash=self.last_hash, key=self.key)
        with self.engine.begin() as conn:
            if self.rows:
                conn.execute(insert(self.rows_table), self.rows)
            conn.execute(insert(self.events_table), chained)
        self.last_seq, self.last_hash = chained[-1]["seq"], chained[-1]["hash"]
        self.rows, self.events = [], []


def _row_events(row: dict, updates: int, base: dict) -> list[dict]:
    """The insert event of one row, then ``updates`` changes of its ``detail`` (row ends changed)."""
    events = [
        dict(
            base,
            action="insert",
            row_id=str(row["id"]),
            field=None,
            new_value=row_json({k: audit_text(v) for k, v in row.items()}),
        )
    ]
    for u in range(1, updates + 1):
        events.append(
            dict(
                base,
                action="update",
                row_id=str(row["id"]),
                field="detail",
                old_value=f"v{u - 1}",
                new_value=f"v{u}",
            )
        )
    row["detail"] = f"v{updates}"
    return events


def build(engine, n_events: int, key: bytes) -> None:
    """A reference study, then n_events events about allocation_disclosure rows, and the rows."""
    from study.config import example_config_path, load_config
    from study.db import unit_of_work
    from study.db.models import AuditEvent
    from study.studies import create_study

    path = example_config_path()
    with unit_of_work(engine, "bench") as session:
        study_id = create_study(session, load_config(path), path.read_text(encoding="utf-8")).id
    with engine.connect() as conn:
        last_seq, last_hash = conn.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).one()
    rows_n = max(1, n_events // 4)
    updates_per_row = (n_events - rows_n) // rows_n
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    base = dict(
        study_id=study_id,
        person_id=None,
        occurred_at=at,
        actor="bench",
        reason=None,
        table_name="allocation_disclosure",
        old_value=None,
    )
    writer = _BulkWriter(engine, key, last_seq, last_hash)
    for i in range(1, rows_n + 1):
        row = dict(id=i, study_id=study_id, kind="bench", detail="v0", actor="bench", disclosed_at=at)
        writer.add(row, _row_events(row, updates_per_row, base))
    writer.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 events instead of 1,000,000")
    parser.add_argument("-n", type=int, default=None, help="number of events")
    parser.add_argument("--db", default=None, help="an empty database URL [default: a temporary SQLite file]")
    args = parser.parse_args()
    n = args.n or (100_000 if args.quick else 1_000_000)

    from study.audit import verify_chain
    from study.db import make_engine
    from study.db.schema import upgrade

    workdir = tempfile.mkdtemp(prefix="peerstudy-bench-")
    os.environ.setdefault("PEERSTUDY_AUDIT_KEY", str(Path(workdir) / "audit.key"))
    engine = make_engine(args.db or f"sqlite:///{workdir}/bench.db")
    create_key(key_path(engine))
    key = load_key(key_path(engine))
    upgrade(engine)
    start = time.perf_counter()
    build(engine, n, key)
    print(f"built {n:,} events in {time.perf_counter() - start:.1f} s ({engine.dialect.name})")

    start, cpu = time.perf_counter(), time.process_time()
    chain_only = verify_chain(engine, key, check_data=False)
    baseline, baseline_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    full = verify_chain(engine, key)
    full_time, full_cpu = time.perf_counter() - start, time.process_time() - cpu
    assert chain_only.intact and full.intact, (chain_only, full.discrepancies[:3])
    # CPU time beside wall time: on a shared machine the wall time mostly measures the others.
    print(
        f"  baseline, chain walk only:     {baseline:7.1f} s wall, {baseline_cpu:6.1f} s CPU "
        f"({chain_only.events / baseline:,.0f} events/s)"
    )
    print(
        f"  audit verify, chain + data:    {full_time:7.1f} s wall, {full_cpu:6.1f} s CPU "
        f"({full.events / full_time:,.0f} events/s)"
    )
    print(
        f"  data check costs {full_time / baseline:.2f}x the chain walk; target < 60 s: "
        f"{'met' if full_time < 60 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
