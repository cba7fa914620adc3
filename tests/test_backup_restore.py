"""`peerstudy backup` / `restore`: a signed, consistent archive that restores into an empty
SQLite or PostgreSQL database with the same status, scores and a verifying audit chain."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest
from conftest import DatabaseFactory
from typer.testing import CliRunner

from study.cli import app

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, list(args), input=input)


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def archive(demo_engine, tmp_path_factory):
    path = tmp_path_factory.mktemp("backup") / "study.tar.gz"
    result = run("backup", "--out", str(path), "--db", _url(demo_engine))
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output and not path.with_name(path.name + ".partial").exists()
    return path


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    factories = [
        DatabaseFactory(b, tmp_path_factory.mktemp(f"restore-{b}")) for b in ("sqlite", "postgresql")
    ]
    yield factories
    for factory in factories:
        factory.close()


def _same_outputs(source_url, target_url, tmp_path):
    for args in (["status"], ["allocation", "report"]):
        source = run(*args, "--db", source_url)
        target = run(*args, "--db", target_url)
        assert source.exit_code == 0 and target.exit_code == 0, target.output
        assert source.output == target.output
    run("scores", "--out", str(tmp_path / "a.csv"), "--db", source_url)
    run("scores", "--out", str(tmp_path / "b.csv"), "--db", target_url)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert len((tmp_path / "a.csv").read_text().splitlines()) > 10


@pytest.mark.parametrize("target_backend", ["sqlite", "postgresql"])
def test_restore_gives_the_same_study_and_a_verifying_chain(
    demo_engine, archive, targets, target_backend, tmp_path
):
    factory = next(f for f in targets if f.backend == target_backend)
    target = factory.new_url()
    restored = run("restore", str(archive), "--db", target)
    assert restored.exit_code == 0, restored.output
    assert "audit chain intact" in restored.output and "data match it" in restored.output
    _same_outputs(_url(demo_engine), target, tmp_path)
    verified = run(
        "audit", "verify", "--db", target, "--anchor", str(_member(archive, "anchor.txt", tmp_path))
    )
    assert verified.exit_code == 0, verified.output
    # The restored database takes new writes (sequences moved past the restored ids).
    added = run(
        "users",
        "add",
        "new.admin",
        "--role",
        "admin",
        "--password-stdin",
        "--db",
        target,
        input="long-enough-pw\n",
    )
    assert added.exit_code == 0, added.output
    assert run("audit", "verify", "--db", target).exit_code == 0
    again = run("restore", str(archive), "--db", target)
    assert again.exit_code == 2 and "not empty" in again.output


def _member(archive, name, tmp_path):
    with tarfile.open(archive, "r:gz") as tar:
        data = tar.extractfile(name).read()
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_flipped_byte_is_refused_and_nothing_is_written(archive, tmp_path):
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(bytes(data))
    target = tmp_path / "target.db"
    result = run("restore", str(damaged), "--db", f"sqlite:///{target}")
    assert result.exit_code == 2 and "damaged" in result.output, result.output
    assert not target.exists() or target.stat().st_size == 0


def test_an_archive_edited_with_recomputed_checksums_is_refused(archive, tmp_path):
    with tarfile.open(archive, "r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    name = "tables/allocation.jsonl"
    members[name] = members[name].replace(b'"arm": "INT"', b'"arm": "CTL"', 1)
    manifest = json.loads(members["manifest.json"])
    manifest["sha256"][name] = hashlib.sha256(members[name]).hexdigest()
    members["manifest.json"] = json.dumps(manifest, indent=1, sort_keys=True).encode()
    forged = tmp_path / "forged.tar.gz"
    with tarfile.open(forged, "w:gz") as tar:
        for member_name, data in members.items():
            info = tarfile.TarInfo(member_name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    result = run("restore", str(forged), "--db", f"sqlite:///{tmp_path / 't.db'}")
    assert result.exit_code == 2 and "audit signature" in result.output


def test_a_backup_taken_while_others_write_is_one_consistent_state(study_db, tmp_path):
    """Writers keep going (as the dashboard would) while the backup reads: the archive is one
    snapshot, so it restores with a verifying chain whose data match it."""
    import threading

    from study.audit_key import key_path, load_key
    from study.backup import write_backup
    from study.db import unit_of_work
    from study.people import add_person
    from study.studies import get_study

    stop = threading.Event()
    written = []

    def keep_writing() -> None:
        k = 0
        while not stop.is_set() and k < 400:
            k += 1
            with unit_of_work(study_db, "dashboard") as s:
                add_person(
                    s, get_study(s), f"W{k:04d}", "participant", "CPH", attributes={"gender": "female"}
                )
            written.append(k)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 5:
            stop.wait(0.05)
        summaries = [
            write_backup(study_db, tmp_path / f"b{i}.tar.gz", load_key(key_path(study_db))) for i in range(3)
        ]
    finally:
        stop.set()
        writer.join()
    assert len({s.rows["person"] for s in summaries}) > 1, "the writer kept writing during the backups"
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    result = run("restore", str(summaries[1].path), "--db", target)
    assert result.exit_code == 0 and "data match it" in result.output, result.output
