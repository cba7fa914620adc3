"""A child process for the fault tests: starts a real write, says READY in the middle of its
transaction (or archive) and waits to be killed.

    python tests/fault_driver.py import|randomise|backup URL ARG
"""

from __future__ import annotations

import datetime as dt
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _ready_and_wait() -> None:
    print("READY", flush=True)
    time.sleep(120)


def main(action: str, url: str, arg: str) -> None:
    from study.db import make_engine, unit_of_work
    from study.studies import get_study

    engine = make_engine(url)
    if action == "import":
        from questionnaires.capture import import_questionnaires, read_questionnaire_csv

        with unit_of_work(engine, "fault") as session:
            import_questionnaires(
                session,
                get_study(session),
                read_questionnaire_csv(arg),
                source=arg,
                today=dt.date(2026, 6, 1),
            )
            session.flush()  # every row and audit event written, not committed
            _ready_and_wait()
    elif action == "randomise":
        from study.randomisation import randomise

        with unit_of_work(engine, "fault") as session:
            randomise(session, get_study(session), arg, on=dt.date(2025, 9, 1))
            session.flush()
            _ready_and_wait()
    elif action == "backup":
        from study.audit_key import key_path, load_key
        from study.backup import write_backup

        original = tarfile.TarFile.addfile

        def addfile_then_wait(self, tarinfo, fileobj=None):
            original(self, tarinfo, fileobj)
            if tarinfo.name.startswith("tables/"):
                self.fileobj.flush()
                _ready_and_wait()

        tarfile.TarFile.addfile = addfile_then_wait
        write_backup(engine, Path(arg), load_key(key_path(engine)))
    else:
        raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
