"""Benchmark: peak memory of importing a junk file under a valid header (issue 16).

Builds a SQLite study (pilot phase), writes a file of random junk cells under a valid header
of each streamed import (questionnaires, participants, fidelity, attendance, contacts,
profiles; 10 MB each by default), then runs ``peerstudy import ...`` in a subprocess and reads its peak resident set size from the
operating system (``getrusage(RUSAGE_CHILDREN)`` of a fresh runner per command). Printed
beside, in the same run:

- the baseline: ``peerstudy status`` on the same database (what the command line itself
  takes: Python, pandas, SQLAlchemy);
- the same import with ``--all-errors`` (checks every row: what every import did before the
  50-problem limit) on a smaller junk file, with its number of output lines (every problem is
  listed, streamed out: its memory must stay bounded too).

Goal: ≤ 300 MB for any input up to 100 MB, and the errors capped at 50.

    python benchmarks/import_memory.py             # 10 MB junk files (the issue's case)
    python benchmarks/import_memory.py --quick     # 1 MB junk files
    python benchmarks/import_memory.py --mb 100    # the limit of the goal
    python benchmarks/import_memory.py --quick --kinds fidelity,contacts   # some imports only
"""

from __future__ import annotations

import argparse
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_MB = 300
HEADERS = {
    "questionnaires": "pseudonym,timepoint,completed_on,who5_1,who5_2,who5_3,who5_4,who5_5",
    "participants": "pseudonym,site,role,birth_date,municipality,screened_on,consent_on,exclusions,gender",
    "fidelity": "group,week,observer,observed_on,kind,item,value",
    "attendance": "group,week,pseudonym,status,held_on",
    "contacts": "recipient,buddy,contact_on,activity,minutes,note",
    "profiles": "pseudonym,area,availability,wishes,home_visits,age_min,age_max,since",
}
# Runs one command and prints the peak RSS (KiB) of that child alone.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(peak, done.returncode, (done.stdout + done.stderr).count('\\n'))\n"
)


def junk_file(path: Path, header: str, megabytes: float, seed: int = 16) -> int:
    """Random letters and digits, as many cells per row as the header has columns; returns
    the number of data rows."""
    rng = random.Random(seed)
    width = header.count(",") + 1
    alphabet = string.ascii_letters + string.digits
    rows = 0
    size = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write(header + "\n")
        while size < megabytes * 2**20:
            line = ",".join("".join(rng.choices(alphabet, k=rng.randint(1, 6))) for _ in range(width)) + "\n"
            handle.write(line)
            size += len(line)
            rows += 1
    return rows


def measure(args: list[str], env: dict[str, str]) -> tuple[float, int, int, float]:
    """(peak RSS in MiB, exit code, output lines, seconds) of one command."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *args], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    return int(out[0]) / 1024, int(out[1]), int(out[2]), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 MB junk files instead of 10 MB")
    parser.add_argument("--mb", type=float, default=None, help="size of each junk file (MB)")
    parser.add_argument(
        "--all-errors-mb",
        type=float,
        default=None,
        help="size of the junk file of the --all-errors comparison (default: a tenth)",
    )
    parser.add_argument(
        "--kinds",
        default=",".join(HEADERS),
        help=f"the imports to measure, comma-separated (default: all of {', '.join(HEADERS)})",
    )
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = sorted(set(kinds) - set(HEADERS))
    if unknown:
        parser.error(f"unknown import(s) {', '.join(unknown)}; imports: {', '.join(HEADERS)}")
    megabytes = args.mb or (1.0 if args.quick else 10.0)
    all_errors_mb = args.all_errors_mb or megabytes / 10
    peerstudy = (
        [sys.executable, "-m", "study.cli"]
        if not (Path(sys.executable).parent / "peerstudy").exists()
        else [str(Path(sys.executable).parent / "peerstudy")]
    )
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(
            os.environ,
            PEERSTUDY_DB=str(Path(tmp) / "study.db"),
            PEERSTUDY_AUDIT_KEY=str(Path(tmp) / "audit.key"),
            PEERSTUDY_ANCHOR_LOG=str(Path(tmp) / "anchors.log"),
            PYTHONPATH=str(ROOT),
        )
        config = ROOT / "study" / "examples" / "reference_study.yaml"
        subprocess.run(
            [*peerstudy, "init", "--config", str(config)], env=env, check=True, capture_output=True
        )
        subprocess.run([*peerstudy, "phase", "start", "pilot"], env=env, check=True, capture_output=True)
        base_mb, _, _, base_s = measure([*peerstudy, "status"], env)
        print(
            f"junk files of {megabytes:g} MB under a valid header; goal ≤ {GOAL_MB} MB peak, errors capped "
            f"(timings on a shared machine)"
        )
        print(f"  baseline `peerstudy status`: peak {base_mb:6.0f} MiB  {base_s:6.1f} s")
        for kind in kinds:
            header = HEADERS[kind]
            path = Path(tmp) / f"junk_{kind}.csv"
            rows = junk_file(path, header, megabytes)
            peak, code, lines, seconds = measure([*peerstudy, "import", kind, str(path)], env)
            verdict = "met" if peak <= GOAL_MB and lines <= 60 and code == 2 else "NOT met"
            print(
                f"  import {kind:14s}: peak {peak:6.0f} MiB  {seconds:6.1f} s  {lines:,} output lines "
                f"for {rows:,} junk rows (exit {code}; goal {verdict})"
            )
            small = Path(tmp) / f"junk_{kind}_small.csv"
            small_rows = junk_file(small, header, all_errors_mb)
            peak, code, lines, seconds = measure(
                [*peerstudy, "import", kind, str(small), "--all-errors"], env
            )
            verdict = "bounded" if peak <= GOAL_MB and code == 2 else "NOT bounded"
            print(
                f"    --all-errors, {all_errors_mb:g} MB  : peak {peak:6.0f} MiB  {seconds:6.1f} s  {lines:,} "
                f"output lines for {small_rows:,} junk rows (exit {code}; every row checked; {verdict})"
            )


if __name__ == "__main__":
    main()
