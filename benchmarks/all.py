"""Run every benchmark in benchmarks/ (``--quick`` by default) and print a summary.

A benchmark is a ``benchmarks/*.py`` script with an ``if __name__ == "__main__"`` block;
one whose argument parser has no ``--quick`` option is skipped with a note (as are helper
modules such as ``rct_population.py``). Each runs in its own process with a throw-away audit
key and anchor log (unless ``$PEERSTUDY_AUDIT_KEY`` is set), its output shown as it comes;
the summary gives each one's wall time, exit status and the lines that name a goal. One still
running at ``--timeout`` is stopped cleanly (:func:`stop_group`: SIGTERM, then SIGKILL).

    python benchmarks/all.py --quick [--only scoring,cli_startup] [--timeout 170]

Issue 16: ``--quick`` runs them all in under 3 minutes on the project's 2-core machine (quiet).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: The whole --quick run should finish within this (issue 16).
BUDGET_SECONDS = 180.0
#: Seconds a timed-out benchmark has, after SIGTERM, to clean up (drop its scratch
#: databases, stop its dashboard) before SIGKILL.
GRACE_SECONDS = 30.0
_QUICK_OPTION = re.compile(r"""add_argument\(\s*["']--quick["']""")
#: Benchmarks run only when named with ``--only``: they take minutes even with ``--quick``.
RUN_ALONE = {
    "dashboard_load": "a load test (builds a study and starts the dashboard; "
    "a minute or more with --quick): run it with --only dashboard_load or on its own",
}
_GOAL_LINE = re.compile(r"\b(goal|goals|met|NOT met)\b", re.IGNORECASE)


@dataclass
class Outcome:
    """What one benchmark did."""

    name: str
    status: str  # "ok", "failed (exit N)", "timed out", "skipped: <why>"
    seconds: float = 0.0
    goal_lines: list[str] = field(default_factory=list)


def discover(directory: Path = HERE) -> tuple[list[Path], list[Outcome]]:
    """The runnable benchmarks (sorted by name) and the scripts skipped, with why."""
    runnable, skipped = [], []
    for path in sorted(directory.glob("*.py")):
        if path.name == Path(__file__).name:
            continue
        source = path.read_text(encoding="utf-8")
        if "__main__" not in source:
            skipped.append(Outcome(path.stem, "skipped: not a script (a helper module)"))
        elif not _QUICK_OPTION.search(source):
            skipped.append(Outcome(path.stem, "skipped: has no --quick option"))
        else:
            runnable.append(path)
    return runnable, skipped


def stop_group(process: subprocess.Popen, grace: float = GRACE_SECONDS) -> None:
    """End a benchmark started in its own process group: SIGTERM to the whole group (the
    benchmark, its workers, its browser), and SIGKILL only if the benchmark has not exited
    after ``grace`` seconds.

    SIGTERM first lets the benchmark's own clean-up run (its ``finally`` blocks drop its
    scratch PostgreSQL databases and stop a dashboard it started, see
    ``scratch_databases.exit_on_sigterm``); a SIGKILL straight away would leave them behind.
    """
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):  # it has just exited on its own
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run(
    path: Path, quick: bool, timeout: float, env: dict[str, str], grace: float = GRACE_SECONDS
) -> Outcome:
    """Run one benchmark, echoing its output; the lines naming a goal are kept.

    After ``timeout`` seconds (checked by a timer, so a benchmark that prints nothing is
    stopped too) the benchmark is ended with :func:`stop_group`, allowing ``grace`` seconds
    for its clean-up.
    """
    command = [sys.executable, str(path), *(["--quick"] if quick else [])]
    print(f"\n=== {path.stem} ({' '.join(command[1:])})", flush=True)
    start = time.perf_counter()
    goal_lines: list[str] = []
    # Its own process group: the timer can end the benchmark with everything it started.
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        stop_group(process, grace)

    timer = threading.Timer(timeout, expire)
    timer.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:  # ends when the benchmark (or the timer) has ended it
            print(line, end="", flush=True)
            if _GOAL_LINE.search(line):
                goal_lines.append(line.strip())
        code = process.wait()
    except BaseException:
        # Ctrl-C no longer reaches a benchmark in its own session: end it here, cleanly.
        timer.cancel()
        stop_group(process, grace)
        raise
    timer.cancel()
    timer.join()  # a timer that fired has finished stopping the benchmark
    seconds = time.perf_counter() - start
    if expired.is_set():
        return Outcome(path.stem, "timed out", seconds, goal_lines)
    status = "ok" if code == 0 else f"failed (exit {code})"
    return Outcome(path.stem, status, seconds, goal_lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run each benchmark with --quick")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--timeout", type=float, default=BUDGET_SECONDS, help="seconds per benchmark")
    args = parser.parse_args()

    runnable, outcomes = discover()
    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = wanted - {p.stem for p in runnable}
        if unknown:
            raise SystemExit(f"no runnable benchmark named {', '.join(sorted(unknown))}")
        runnable = [p for p in runnable if p.stem in wanted]
    else:
        outcomes += [
            Outcome(p.stem, f"skipped: {RUN_ALONE[p.stem]}") for p in runnable if p.stem in RUN_ALONE
        ]
        runnable = [p for p in runnable if p.stem not in RUN_ALONE]
    env = dict(os.environ)
    scratch = None
    if not env.get("PEERSTUDY_AUDIT_KEY"):
        scratch = Path(tempfile.mkdtemp(prefix="peerstudy-benchmarks-"))
        sys.path.insert(0, str(ROOT))
        from study.audit_key import create_key

        create_key(scratch / "audit.key")
        env["PEERSTUDY_AUDIT_KEY"] = str(scratch / "audit.key")
        env["PEERSTUDY_ANCHOR_LOG"] = str(scratch / "anchors.log")
    start = time.perf_counter()
    try:
        for path in runnable:
            outcomes.append(run(path, args.quick, args.timeout, env))
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    total = time.perf_counter() - start

    print("\n=== summary" + (" (--quick)" if args.quick else ""))
    for outcome in sorted(outcomes, key=lambda o: o.name):
        print(f"{outcome.name:28s} {outcome.status:22s} {outcome.seconds:7.1f} s")
        for line in outcome.goal_lines:
            print(f"{'':30s}{line}")
    budget = (
        f"budget {BUDGET_SECONDS:.0f} s: {'within' if total <= BUDGET_SECONDS else 'OVER'}"
        if args.quick
        else ""
    )
    print(f"total {total:.1f} s for {len(runnable)} benchmarks; {budget}".rstrip("; "))
    if any(o.status.startswith(("failed", "timed out")) for o in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
