"""Per-call cost of the command line: ``peerstudy --help`` and one ``peerstudy randomise
P0042`` on a 300-person SQLite study, wall time, beside ``python -c pass`` (the interpreter's
own start-up) measured in the same run.

Goals (issue 16): ``--help`` ≤ 0.4 s (0.66 s before), one randomise ≤ 0.6 s wall (~1.3 s CPU
before). Each command runs in a fresh process, as a coordinator's would; the median of the
repetitions is reported, each randomise on a participant not yet randomised.

    python benchmarks/cli_startup.py [--repeat 10] [--quick]

The study is built in a temporary directory with a throw-away audit key. The checkout's
packages are byte-compiled first, as an installed copy is: with ``PYTHONDONTWRITEBYTECODE``
set, an editable install would otherwise compile every peerstudy module from source on every
run (about a tenth more work for randomise).
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's packages first

from rct_population import ON, rct_population  # noqa: E402  (benchmarks/ is on sys.path)

PARTICIPANTS = 300
#: (figure, goal in seconds, before issue 16)
GOALS = {"--help": (0.4, "0.66 s"), "randomise": (0.6, "~1.3 s CPU")}


def _peerstudy() -> list[str]:
    """The console script next to this interpreter, else ``python -m study.cli``."""
    script = Path(sys.executable).parent / "peerstudy"
    return [str(script)] if script.exists() else [sys.executable, "-m", "study.cli"]


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``command`` in a new process."""
    cpu = _cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return wall, _cpu_of_children() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs of each command")
    parser.add_argument("--quick", action="store_true", help="3 runs of each command")
    args = parser.parse_args()
    repeat = 3 if args.quick else args.repeat
    for package in ("study", "questionnaires", "pipelines", "dashboards"):
        compileall.compile_dir(ROOT / package, quiet=1)

    work = Path(tempfile.mkdtemp(prefix="peerstudy-cli-bench-"))
    try:
        env = dict(os.environ)
        env["PEERSTUDY_AUDIT_KEY"] = str(work / "audit.key")
        env["PEERSTUDY_ANCHOR_LOG"] = str(work / "anchors.log")
        env.pop("PEERSTUDY_DB", None)
        os.environ.update({k: env[k] for k in ("PEERSTUDY_AUDIT_KEY", "PEERSTUDY_ANCHOR_LOG")})
        from study.audit_key import create_key

        create_key(work / "audit.key")
        db = work / "study.db"
        pseudonyms = rct_population(f"sqlite:///{db}", PARTICIPANTS, digits=4)
        peerstudy = _peerstudy()
        # P0042 first (the example), then its neighbours: each randomised once.
        start = pseudonyms.index("P0042")
        targets = pseudonyms[start : start + repeat]
        runs: dict[str, list[tuple[float, float]]] = {"python -c pass": [], "--help": [], "randomise": []}
        for i in range(repeat):  # interleaved, so that a burst of load hits all three alike
            runs["python -c pass"].append(_run([sys.executable, "-c", "pass"], env, work))
            runs["--help"].append(_run([*peerstudy, "--help"], env, work))
            runs["randomise"].append(
                _run(
                    [*peerstudy, "randomise", targets[i], "--db", str(db), "--on", ON.isoformat()], env, work
                )
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def medians(name: str) -> tuple[float, float]:
        return (statistics.median(w for w, _ in runs[name]), statistics.median(c for _, c in runs[name]))

    base, base_cpu = medians("python -c pass")
    print(f"command line, {repeat} runs each, median wall (CPU) time, SQLite, {PARTICIPANTS} participants")
    print(f"  {'python -c pass (baseline)':30s} {base:6.3f} s ({base_cpu:.3f} s CPU)")
    met = True
    for name, (goal, before) in GOALS.items():
        median, cpu = medians(name)
        ok = median <= goal
        met &= ok
        label = "peerstudy --help" if name == "--help" else "peerstudy randomise P0042"
        print(
            f"  {label:30s} {median:6.3f} s ({cpu:.3f} s CPU; {median / base:.1f}x the baseline; "
            f"goal <= {goal} s wall, before {before}: {'met' if ok else 'NOT met'})"
        )
    print(f"goals {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
