"""``benchmarks/all.py`` stops a benchmark at its timeout so that the benchmark's own clean-up
runs (it drops its scratch databases and stops a dashboard it started): SIGTERM to the
benchmark's process group first, SIGKILL only after a grace period.

Stand-in benchmarks in a temporary folder play the part: one that cleans up on SIGTERM
(``scratch_databases.exit_on_sigterm``, as the PostgreSQL benchmarks do), one that ignores it
and one that prints nothing while it works. No timings are asserted.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def _load_all():
    spec = importlib.util.spec_from_file_location("benchmarks_all", BENCHMARKS / "all.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmarks_all"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _load_all()


def _script(folder: Path, body: str) -> Path:
    """A stand-in benchmark: ``body`` after the imports a benchmark has."""
    path = folder / "standin.py"
    path.write_text(
        "import os, signal, subprocess, sys, time\n"
        "from pathlib import Path\n"
        f"sys.path.insert(0, {str(BENCHMARKS)!r})\n"
        "from scratch_databases import exit_on_sigterm\n" + body,
        encoding="utf-8",
    )
    return path


def _start(path: Path) -> subprocess.Popen:
    """Start a stand-in as all.py does (its own process group) and wait until it says so."""
    process = subprocess.Popen(
        [sys.executable, str(path)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "started"
    return process


def _group_gone(pgid: int, patience: float = 30.0) -> bool:
    """Whether no process of the group is left (waiting a little for init to reap orphans)."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


CLEANS_UP = """
exit_on_sigterm()
scratch = Path(sys.argv[0]).with_name("scratch-database")
scratch.write_text("created")
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
try:
    # Said inside the try: a SIGTERM right after the word must still reach the finally.
    print("started", flush=True)
    time.sleep(600)
finally:
    scratch.unlink()  # stands for DROP DATABASE
    Path(sys.argv[0]).with_name("cleaned-up").write_text(str(worker.pid))
"""


def test_sigterm_lets_the_benchmark_clean_up_and_ends_its_workers(tmp_path):
    process = _start(_script(tmp_path, CLEANS_UP))
    bench.stop_group(process, grace=60)
    assert process.returncode == 128 + signal.SIGTERM  # its own exit, not a kill
    assert (tmp_path / "cleaned-up").exists()
    assert not (tmp_path / "scratch-database").exists()
    assert _group_gone(process.pid)  # the worker got SIGTERM as well


def test_a_benchmark_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path):
    body = 'signal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint("started", flush=True)\ntime.sleep(600)\n'
    process = _start(_script(tmp_path, body))
    bench.stop_group(process, grace=0.5)
    assert process.returncode == -signal.SIGKILL
    assert _group_gone(process.pid)


def test_a_silent_benchmark_is_stopped_at_its_timeout_and_reported(tmp_path):
    # Nothing printed: the old line-by-line check never looked at the clock.
    path = _script(tmp_path, "exit_on_sigterm()\ntime.sleep(600)\n")
    outcome = bench.run(path, quick=False, timeout=1.0, env=dict(os.environ), grace=60)
    assert outcome.status == "timed out"


def test_a_benchmark_within_its_timeout_reports_its_goal_lines(tmp_path):
    path = _script(tmp_path, 'print("engine 0.1 s  goal <= 0.5 s  met")\nsys.exit(0)\n')
    outcome = bench.run(path, quick=False, timeout=600, env=dict(os.environ))
    assert outcome.status == "ok"
    assert outcome.goal_lines == ["engine 0.1 s  goal <= 0.5 s  met"]
