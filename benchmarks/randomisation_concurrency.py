"""Concurrent randomisation on PostgreSQL: 8 worker processes, each with its own engine,
randomise 2,000 participants at once (issue 16: ≥ 200 allocations/s, 0 duplicates, 0 gaps;
88/s before the critical section was shortened).

Each worker randomises as a coordinator's command does: one unit of work per participant,
prepared before the writers' lock (``unit_of_work(lock_at_start=False)``). The same
population is then randomised by a single worker, in the same run, as the baseline (and, with
``--compare-lock-at-start``, by the workers with the lock taken at the start of each unit of
work, the critical section before issue 16).

Printed per run: wall time, allocations per second, duplicates (participants allocated twice
or slots used twice; must be 0), skipped slots (positions without an allocation below a
sequence's highest; must be 0), whether the statistician's regeneration matches every
allocation; then the figure beside the single-worker baseline and the goal.

    python benchmarks/randomisation_concurrency.py [--participants 2000] [--workers 8]
        [--method blocks|minimisation] [--compare-lock-at-start] [--quick]

PostgreSQL is reached at ``$PEERSTUDY_TEST_PG`` (default: the local server, user postgres);
the benchmark creates its own databases and drops them at the end. Without
``$PEERSTUDY_AUDIT_KEY`` a throw-away audit key is made for the run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages first

PG_ADMIN_URL = os.environ.get("PEERSTUDY_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
from rct_population import ON, rct_population  # noqa: E402  (benchmarks/ is on sys.path)
from scratch_databases import exit_on_sigterm  # noqa: E402

#: Issue 16's goal and the figure measured before it (quiet machine).
GOAL_PER_SECOND = 200.0
BEFORE_PER_SECOND = 88.0


def _server_cpu(backend_pid: int) -> float | None:
    """CPU seconds (user + system) of a PostgreSQL backend process, when the server runs on
    this machine and ``/proc`` shows it; else ``None``."""
    try:
        fields = Path(f"/proc/{backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _worker(url: str, pseudonyms: list[str], lock_at_start: bool, ready, results) -> None:
    """Randomise ``pseudonyms`` one transaction each, with this process's own engine; start
    only when every worker has imported and connected (``ready`` barrier). Reports the count,
    the end time and the CPU seconds of this process and of its server backend (the pool
    keeps the one connection of a single-threaded worker)."""
    from study.db import make_engine, unit_of_work
    from study.randomisation import randomise
    from study.studies import get_study

    engine = make_engine(url)
    with engine.connect() as conn:
        backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    ready.wait()
    client_start, server_start = time.process_time(), _server_cpu(backend)
    done = 0
    for pseudonym in pseudonyms:
        with unit_of_work(engine, f"worker-{os.getpid()}", lock_at_start=lock_at_start) as s:
            randomise(s, get_study(s), pseudonym, on=ON, place_in_group=False)
        done += 1
    server_end = _server_cpu(backend)
    server = None if server_start is None or server_end is None else server_end - server_start
    engine.dispose()
    results.put((done, time.perf_counter(), time.process_time() - client_start, server))


def _check(url: str) -> dict[str, object]:
    from sqlalchemy import func, select

    from study.db import make_engine, read_session
    from study.db.models import Allocation, User
    from study.randomisation import verify_allocations
    from study.studies import get_study

    engine = make_engine(url)
    with read_session(engine) as s:
        # The verification records a disclosure; here it is rolled back (a benchmark, not a
        # statistician's request).
        s.info["actor"] = "benchmark"
        n = s.scalar(select(func.count()).select_from(Allocation))
        people = s.scalar(select(func.count(func.distinct(Allocation.person_id))))
        slots = s.execute(select(Allocation.sequence, Allocation.sequence_position)).all()
        statistician = User(
            login="benchmark-statistician", role="statistician", password_hash="-", active=True
        )
        report = verify_allocations(s, get_study(s), statistician)
        s.rollback()
    engine.dispose()
    return {
        "allocations": n,
        "duplicates": (n - people) + (len(slots) - len(set(slots))),
        "skipped": int(report["skipped"].sum()) + int((report["counter"] != report["last_position"]).sum()),
        "regenerated_match": bool(report["ok"].all()),
        "sequences": len(report),
    }


def _run(admin, n: int, workers: int, method: str, lock_at_start: bool) -> dict[str, object]:
    """One race in a fresh database: set-up, ``workers`` processes, check; the database is
    dropped afterwards. Returns the check's figures with ``per_second`` and ``wall``."""
    from sqlalchemy import text

    name = f"peerstudy_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        start = time.perf_counter()
        pseudonyms = rct_population(url, n, method)
        setup_s = time.perf_counter() - start
        chunks = [pseudonyms[i::workers] for i in range(workers)]
        ready = mp.Barrier(workers + 1)
        results = mp.Queue()
        procs = [
            mp.Process(target=_worker, args=(url, chunk, lock_at_start, ready, results)) for chunk in chunks
        ]
        for w in procs:
            w.start()
        ready.wait()  # every worker imported and connected: the race starts now
        start = time.perf_counter()
        reports = [results.get() for _ in procs]
        for w in procs:
            w.join()
        done = sum(r[0] for r in reports)
        wall = max(r[1] for r in reports) - start
        client_ms = 1000 * sum(r[2] for r in reports) / done
        servers = [r[3] for r in reports]
        server_ms = None if None in servers else 1000 * sum(servers) / done
        result = _check(url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    lock = "lock at start" if lock_at_start else "prepared before the lock"
    print(
        f"{workers} worker(s), {method}, {lock}: set-up {setup_s:.1f} s, race {wall:.2f} s, "
        f"{done / wall:.1f} allocations/s; {result['allocations']} allocations in "
        f"{result['sequences']} sequences, duplicates {result['duplicates']}, skipped slots "
        f"{result['skipped']}, regenerated sequence matches: {result['regenerated_match']}; "
        f"CPU per allocation: client {client_ms:.2f} ms, server "
        + ("unknown" if server_ms is None else f"{server_ms:.2f} ms")
    )
    return dict(result, done=done, wall=wall, per_second=done / wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--method", choices=["blocks", "minimisation"], default="blocks")
    parser.add_argument(
        "--compare-lock-at-start",
        action="store_true",
        help="also race with the writers' lock taken at the start (before issue 16)",
    )
    parser.add_argument("--quick", action="store_true", help="300 participants, no comparison run")
    args = parser.parse_args()
    n = 300 if args.quick else args.participants

    from sqlalchemy import create_engine

    if not os.environ.get("PEERSTUDY_AUDIT_KEY"):
        from study.audit_key import create_key

        key = Path(tempfile.mkdtemp(prefix="peerstudy-bench-key-")) / "audit.key"
        create_key(key)
        os.environ["PEERSTUDY_AUDIT_KEY"] = str(key)  # inherited by the worker processes

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        race = _run(admin, n, args.workers, args.method, lock_at_start=False)
        single = _run(admin, n, 1, args.method, lock_at_start=False)
        old = None
        if args.compare_lock_at_start and not args.quick:
            old = _run(admin, n, args.workers, args.method, lock_at_start=True)
    finally:
        admin.dispose()
    flawless = all(
        r["duplicates"] == 0 and r["skipped"] == 0 and r["regenerated_match"]
        for r in (race, single, old)
        if r is not None
    )
    print()
    print(f"figure: {args.workers} workers, {n} allocations, PostgreSQL, {args.method}")
    print(f"  {args.workers} workers:              {race['per_second']:7.1f} allocations/s")
    print(
        f"  1 worker (baseline, same run): {single['per_second']:7.1f} allocations/s "
        f"(ratio {race['per_second'] / single['per_second']:.2f})"
    )
    if old is not None:
        print(
            f"  {args.workers} workers, lock at start:  {old['per_second']:7.1f} allocations/s "
            f"(ratio {race['per_second'] / old['per_second']:.2f})"
        )
    print(
        f"  goal: >= {GOAL_PER_SECOND:.0f}/s, 0 duplicates, 0 gaps (before issue 16: "
        f"{BEFORE_PER_SECOND:.0f}/s); duplicates {race['duplicates']}, gaps {race['skipped']}: "
        f"{'met' if race['per_second'] >= GOAL_PER_SECOND and flawless else 'NOT met'}"
    )
    if not flawless:
        sys.exit(1)


if __name__ == "__main__":
    exit_on_sigterm()  # all.py stops it at its timeout with SIGTERM: clean up first
    main()
