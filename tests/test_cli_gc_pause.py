"""The console script pauses the cyclic garbage collector while a command starts up and
``open_db`` resumes it (study/cli/gc_pause.py): start-up must not leave a command — a long
import or analysis — running without cyclic collection."""

from __future__ import annotations

import gc

import pytest

import study.cli as cli
from study.cli.common import open_db
from study.cli.gc_pause import pause_collector, resume_collector


@pytest.fixture
def collector():
    """Leave the collector as the test found it (enabled, nothing frozen)."""
    yield
    gc.unfreeze()
    gc.enable()


def test_main_pauses_the_collector_for_the_start_up(monkeypatch, collector):
    seen = []
    monkeypatch.setattr(cli, "app", lambda: seen.append(gc.isenabled()))
    cli.main()
    assert seen == [False]


def test_opening_the_database_resumes_it_with_the_start_up_frozen(tmp_path, collector):
    pause_collector()
    garbage_before = gc.get_freeze_count()
    engine = open_db(f"sqlite:///{tmp_path / 'study.db'}", require_schema=False)
    engine.dispose()
    assert gc.isenabled()
    assert gc.get_freeze_count() > garbage_before  # start-up's objects left out of later collections


def test_resume_does_nothing_where_the_collector_runs(collector):
    frozen = gc.get_freeze_count()
    resume_collector()
    assert gc.isenabled() and gc.get_freeze_count() == frozen
