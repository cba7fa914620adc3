"""`peerstudy import contacts`: a buddy's contact log in one file, transactional (every bad
row named, nothing written) and idempotent (the same file twice adds nothing)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from study.cli import app
from study.companionship.contacts_import import contacts_template, import_contacts
from study.companionship.relationships import confirm_match
from study.db import read_session, unit_of_work
from study.db.models import AuditEvent, MatchContact
from study.errors import RowErrors
from study.studies import get_study
from tests.test_companionship import ACTOR, TODAY, _count, _write, scene  # noqa: F401  (fixture)

HEADER = "recipient,buddy,contact_on,activity,minutes,note\n"
GOOD = HEADER + (
    "R1,B1,2025-10-03,walk,90,\n"
    "R1,B1,2025-10-10,phone,15,short call\n"
    "R1,B1,2025-10-10,phone,15,short call\n"  # two calls that day: two contacts
)


@pytest.fixture
def matched(scene):
    _write(
        scene,
        lambda s, st, p: confirm_match(s, st, p("R1"), p("B1"), dt.date(2025, 10, 1), ACTOR, today=TODAY),
    )
    return scene


def _import(engine, text: str):
    with unit_of_work(engine, ACTOR, reason="import contacts") as s:
        return import_contacts(s, get_study(s), io.StringIO(text), today=TODAY)


def test_contacts_import_once_and_again_changes_nothing(matched):
    summary = _import(matched, GOOD)
    assert (summary.rows, summary.created, summary.unchanged) == (3, 3, 0)
    with read_session(matched) as s:
        stored = s.execute(
            select(
                MatchContact.contact_on, MatchContact.activity, MatchContact.minutes, MatchContact.note
            ).order_by(MatchContact.id)
        ).all()
        assert s.scalar(select(AuditEvent.actor).where(AuditEvent.table_name == "match_contact")) == ACTOR
    assert [tuple(r) for r in stored] == [
        (dt.date(2025, 10, 3), "walk", 90, None),
        (dt.date(2025, 10, 10), "phone", 15, "short call"),
        (dt.date(2025, 10, 10), "phone", 15, "short call"),
    ]
    again = _import(matched, GOOD)
    assert (again.created, again.unchanged) == (0, 3) and _count(matched, MatchContact) == 3
    more = _import(matched, GOOD + "R1,B1,2025-10-17,walk,60,\n")  # the log grew by one row
    assert (more.created, more.unchanged) == (1, 3) and _count(matched, MatchContact) == 4


def test_every_bad_row_is_named_and_nothing_is_written(matched):
    bad = HEADER + (
        "R1,B1,2025-10-03,walk,90,\n"  # fine, but the file has errors: not written
        "R9,B1,2025-10-04,walk,60,\n"  # unknown recipient
        "R1,B1,03/10/2025,walk,60,\n"  # not an ISO date
        "R1,B1,2025-10-05,karaoke,60,\n"  # unknown activity
        "R1,B1,2025-10-05,walk,sixty,\n"  # minutes not a number
        "R1,B1,2025-09-20,walk,60,\n"  # before the match started
        "R1,B3,2025-10-05,walk,60,\n"  # R1 has no match with B3
        "R1,B1,2025-12-24,walk,60,\n"  # in the future (today is 1 December 2025)
    )
    with pytest.raises(RowErrors) as caught:
        _import(matched, bad)
    found = {(p.row, p.column) for p in caught.value.problems}
    assert found == {
        (3, "recipient"),
        (4, "contact_on"),
        (5, "activity"),
        (6, "minutes"),
        (7, "contact_on"),
        (8, "buddy"),
        (9, "contact_on"),
    }
    assert _count(matched, MatchContact) == 0


def test_template_lists_active_matches_and_the_cli_imports(matched, tmp_path):
    with read_session(matched) as s:
        template = contacts_template(s, get_study(s))
    assert list(template.columns) == ["recipient", "buddy", "contact_on", "activity", "minutes", "note"]
    assert template[["recipient", "buddy"]].values.tolist() == [["R1", "B1"]]
    url = matched.url.render_as_string(hide_password=False)
    out = tmp_path / "contacts.csv"
    result = CliRunner().invoke(app, ["template", "contacts", "--db", url, "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("recipient,buddy,contact_on")
    log = tmp_path / "log.csv"
    log.write_text(HEADER + "R1,B1,2025-10-03,walk,90,\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "contacts", str(log), "--db", url, "--today", "2025-12-01"])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    log.write_text(HEADER + "R1,B1,2025-10-03,walk,ninety,\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "contacts", str(log), "--db", url, "--today", "2025-12-01"])
    assert result.exit_code == 2 and "row 2" in result.output and "minutes" in result.output
