"""Benchmark: how long a login takes for each kind of failure, beside a successful login.

Unknown logins, wrong passwords and throttled attempts must take the same time (each runs one
argon2 verification), so that timing does not tell them apart; the baseline is a successful
login measured in the same run. Uses a temporary SQLite database. Prints the median of
``--repeats`` attempts per case in milliseconds.

    python benchmarks/login_timing.py --quick
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete

from study.config import example_config_path, load_config
from study.db import make_engine, unit_of_work
from study.db.models import LoginThrottle
from study.db.schema import upgrade
from study.db.types import utcnow
from study.studies import create_study
from study.users import add_user, authenticate


def median_ms(engine, login: str, password: str, repeats: int, before=None) -> float:
    times = []
    for _ in range(repeats):
        if before:
            before()
        start = time.perf_counter()
        authenticate(engine, login, password, client="bench")
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 attempts per case instead of 20")
    args = parser.parse_args()
    repeats = 5 if args.quick else 20
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        path = example_config_path()
        with unit_of_work(engine, "bench") as s:
            study = create_study(s, load_config(path), path.read_text(encoding="utf-8"))
            add_user(s, "admin", "admin", "correct horse", study=study)

        def throttle() -> None:
            with unit_of_work(engine, "bench") as s:
                s.execute(delete(LoginThrottle))
                s.add(LoginThrottle(kind="login", key="admin", failures=50, last_failure_at=utcnow()))

        def reset() -> None:
            with unit_of_work(engine, "bench") as s:
                s.execute(delete(LoginThrottle))

        cases = [
            ("successful login (baseline)", "admin", "correct horse", reset),
            ("wrong password", "admin", "wrong", reset),
            ("unknown login", "nobody", "wrong", reset),
            ("throttled attempt (right password)", "admin", "correct horse", throttle),
        ]
        print(f"peerstudy login timing: median of {repeats} attempts per case")
        for label, login, password, before in cases:
            print(f"{label:<40} {median_ms(engine, login, password, repeats, before):8.1f} ms", flush=True)
        engine.dispose()


if __name__ == "__main__":
    main()
