"""`peerstudy import profiles`: companionship profiles from a file, through set_profile's
validation; transactional and idempotent; a new profile joins the waitlist."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from study.cli import app
from study.companionship.profiles_import import import_profiles, profiles_template
from study.db import read_session, unit_of_work
from study.db.models import AuditEvent, CompanionProfile, Person, WaitlistEntry
from study.errors import RowErrors
from study.studies import get_study
from tests.test_companionship import ACTOR, TODAY, _count, scene  # noqa: F401  (fixture)

HEADER = "pseudonym,area,availability,wishes,home_visits,prefer_gender,age_min,age_max,same_diagnosis,diagnosis,max_matches,since\n"


def _import(engine, text: str):
    with unit_of_work(engine, ACTOR, reason="import profiles") as s:
        return import_profiles(s, get_study(s), io.StringIO(text), today=TODAY)


def _profile(engine, pseudonym: str) -> CompanionProfile:
    with read_session(engine) as s:
        return s.scalar(
            select(CompanionProfile)
            .join(Person, Person.id == CompanionProfile.person_id)
            .where(Person.pseudonym == pseudonym)
        )


def test_new_profile_joins_the_waitlist_and_a_second_import_changes_nothing(scene):
    text = HEADER + "R3,Amager,mon_pm;thu_eve,walks;talks,wanted,female,25,45,no,,,2025-09-20\n"
    first = _import(scene, text)
    assert (first.created, first.corrected, first.unchanged) == (1, 0, 0)
    row = _profile(scene, "R3")
    assert (row.area, row.home_visits, row.preferred_age_min) == ("Amager", "wanted", 25)
    with read_session(scene) as s:
        waiting = s.scalar(
            select(WaitlistEntry)
            .join(Person, Person.id == WaitlistEntry.person_id)
            .where(Person.pseudonym == "R3")
        )
    assert waiting is not None and str(waiting.since) == "2025-09-20"
    events = _count(scene, AuditEvent)
    again = _import(scene, text)
    assert (again.created, again.corrected, again.unchanged) == (0, 0, 1)
    assert _count(scene, AuditEvent) == events  # nothing written the second time
    corrected = _import(scene, text.replace("Amager", "Christianshavn"))
    assert corrected.corrected == 1 and _profile(scene, "R3").area == "Christianshavn"


def test_every_bad_row_is_named_and_nothing_is_written(scene):
    before = _count(scene, CompanionProfile)
    bad = HEADER + (
        "R3,Amager,mon_pm,walks,ok,,,,,,,\n"  # fine, but the file has errors
        "R9,Amager,mon_pm,walks,ok,,,,,,,\n"  # unknown person
        "R3,Amager,mon_pm,walks,ok,,,,,,,\n"  # listed twice
        "B5,Valby,someday,walks,ok,,,,,,,\n"  # unknown slot (set_profile's check)
        "B4,Valby,mon_pm,walks,ok,,thirty,,,,,\n"  # not a number
        "B3,Valby,mon_pm,walks,ok,,,,maybe,,,\n"  # yes/no
        "B2,Valby,mon_pm,walks,ok,,,,,,,2025-13-01\n"  # not a date
        "B1,Valby,mon_pm,walks,ok,,40,30,,,,\n"  # age range reversed (set_profile's check)
    )
    with pytest.raises(RowErrors) as caught:
        _import(scene, bad)
    found = {(p.row, p.column) for p in caught.value.problems}
    assert found == {
        (3, "pseudonym"),
        (4, "pseudonym"),
        (5, "availability"),  # a profile's problem named by its cell
        (6, "age_min"),
        (7, "same_diagnosis"),
        (8, "since"),
        (9, "age_max"),
    }
    assert "unknown availability slot" in str(caught.value)
    slot = next(p for p in caught.value.problems if p.row == 5)
    assert slot.value == "someday" and "unknown availability slot(s) someday" in slot.reason
    assert _count(scene, CompanionProfile) == before and _profile(scene, "R3") is None


def test_template_and_cli(scene, tmp_path):
    with read_session(scene) as s:
        template = profiles_template(s, get_study(s))
    assert list(template["pseudonym"]) == ["R3"]  # the only one without a profile
    url = scene.url.render_as_string(hide_password=False)
    sheet = tmp_path / "profiles.csv"
    assert CliRunner().invoke(app, ["template", "profiles", "--db", url, "-o", str(sheet)]).exit_code == 0
    sheet.write_text(HEADER + "R3,Amager,mon_pm,walks,ok,,,,,,,\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "profiles", str(sheet), "--db", url, "--today", "2025-12-01"])
    assert result.exit_code == 0 and "1 created" in result.output, result.output
