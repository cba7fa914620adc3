"""Volunteers and 1:1 companionship on SQLite and PostgreSQL: training, profiles, matching
constraints, the waitlist, relationships, dose, and every bad input (nothing written)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from study.companionship.dose import companionship_dose
from study.companionship.profiles import ProfileInput, set_profile
from study.companionship.relationships import (
    confirm_match,
    end_match,
    extend_match,
    find_match,
    log_contact,
    matches_table,
)
from study.companionship.suggestions import suggest_buddies
from study.companionship.volunteers import (
    is_accepted,
    record_interview,
    record_training,
    require_training,
    set_commitment,
    volunteer_table,
)
from study.companionship.waiting import log_call, overdue_calls, waitlist_table
from study.db import read_session, unit_of_work
from study.db.models import AuditEvent, CompanionProfile, Match, MatchContact, WaitlistEntry
from study.errors import BadInput, NotAllowed
from study.groups import create_group
from study.people import Identity, add_person, enrol, person_by_pseudonym
from study.studies import get_study

ACTOR = "coordinator.cph"
TODAY = dt.date(2025, 12, 1)
SCREENED = dt.date(2025, 8, 20)


def _person(s, st, pseudonym, role, site, age, gender, municipality):
    birth = dt.date(SCREENED.year - age - 1, 12, 31)
    person = add_person(
        s,
        st,
        pseudonym,
        role,
        site,
        identity=Identity(birth_date=birth),
        attributes={"gender": gender},
        today=TODAY,
    )
    enrol(s, st, person, SCREENED, municipality, consent_on=SCREENED, phase="rct")
    return person


def _buddy(s, st, pseudonym, site, age, gender, municipality, profile, *, train=True, accept=True):
    person = _person(s, st, pseudonym, "peer_buddy", site, age, gender, municipality)
    if accept:
        record_interview(s, st, person, dt.date(2025, 8, 25), "accepted", today=TODAY)
    if train:
        record_training(s, st, person, "companionship_workshop", dt.date(2025, 9, 1), today=TODAY)
    set_profile(s, st, person, profile, waiting_since=dt.date(2025, 9, 1), today=TODAY)
    return person


@pytest.fixture
def scene(study_db):
    """Recipients R1–R3 and buddies B1–B6 at CPH (B6 at HEL), profiles made to test
    each constraint; R1 and R2 joined the waitlist on 1 and 15 September 2025."""
    with unit_of_work(study_db, ACTOR) as s:
        st = get_study(s)
        r1 = _person(s, st, "R1", "participant", "CPH", 35, "female", "København")
        set_profile(
            s,
            st,
            r1,
            ProfileInput(
                area="Nørrebro",
                wishes=["walks", "appointments", "networks"],
                availability=["mon_pm", "wed_pm", "thu_eve"],
                home_visits="wanted",
                preferred_genders=["female"],
                preferred_age_min=25,
                preferred_age_max=45,
            ),
            waiting_since=dt.date(2025, 9, 1),
            today=TODAY,
        )
        r2 = _person(s, st, "R2", "participant", "CPH", 50, "male", "Frederiksberg")
        set_profile(
            s,
            st,
            r2,
            ProfileInput(
                area="Frederiksberg C",
                wishes=["talks"],
                availability=["tue_am"],
                same_diagnosis_required=True,
                diagnosis="F31",
            ),
            waiting_since=dt.date(2025, 9, 15),
            today=TODAY,
        )
        _person(s, st, "R3", "participant", "CPH", 28, "female", "København")  # no profile
        # B1: the best for R1 (all wishes, two slots, same area, female aged 33).
        _buddy(
            s,
            st,
            "B1",
            "CPH",
            33,
            "female",
            "København",
            ProfileInput(
                area="Nørrebro",
                wishes=["walks", "appointments", "networks"],
                availability=["mon_pm", "wed_pm", "fri_am"],
            ),
        )
        # B2: good, but no home visits (R1 needs them): excluded for R1.
        _buddy(
            s,
            st,
            "B2",
            "CPH",
            30,
            "female",
            "København",
            ProfileInput(
                area="Nørrebro",
                wishes=["walks", "appointments", "networks"],
                availability=["mon_pm", "wed_pm", "thu_eve"],
                home_visits="no",
            ),
        )
        # B3: one shared wish, one slot, other area in the same municipality, male aged 48.
        _buddy(
            s,
            st,
            "B3",
            "CPH",
            48,
            "male",
            "København",
            ProfileInput(
                area="Valby", wishes=["walks", "talks"], availability=["thu_eve", "tue_am"], diagnosis="F31"
            ),
        )
        # B4: no shared availability with R1.
        _buddy(
            s,
            st,
            "B4",
            "CPH",
            30,
            "female",
            "København",
            ProfileInput(area="Nørrebro", wishes=["walks"], availability=["sat_am"]),
        )
        # B5: untrained.
        _buddy(
            s,
            st,
            "B5",
            "CPH",
            30,
            "female",
            "København",
            ProfileInput(area="Nørrebro", wishes=["walks"], availability=["mon_pm"]),
            train=False,
        )
        # B6: at another site.
        _buddy(
            s,
            st,
            "B6",
            "HEL",
            30,
            "female",
            "Helsingør",
            ProfileInput(area="Nørrebro", wishes=["walks"], availability=["mon_pm"]),
        )
    return study_db


def _count(engine, model) -> int:
    with read_session(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def _suggest(engine, pseudonym, include_excluded=False):
    with read_session(engine) as s:
        st = get_study(s)
        return suggest_buddies(
            s,
            st,
            person_by_pseudonym(s, st, pseudonym),
            TODAY,
            top=None,
            include_excluded=include_excluded,
        )


def _write(engine, fn):
    with unit_of_work(engine, ACTOR) as s:
        st = get_study(s)
        return fn(s, st, lambda p: person_by_pseudonym(s, st, p))


def _unchanged(engine):
    """Counts of the companionship tables and audit events, to prove nothing was written."""
    return tuple(
        _count(engine, m) for m in (Match, MatchContact, WaitlistEntry, CompanionProfile, AuditEvent)
    )


# --- volunteers ----------------------------------------------------------------------------
def test_interviews_at_most_two_and_must_decide(study_db):
    with unit_of_work(study_db, ACTOR) as s:
        st = get_study(s)
        v = add_person(s, st, "L1", "group_leader", "CPH")
        record_interview(s, st, v, dt.date(2025, 8, 1), "second_interview", today=TODAY)
        with pytest.raises(BadInput, match="last allowed"):
            record_interview(s, st, v, dt.date(2025, 8, 8), "second_interview", today=TODAY)
        with pytest.raises(BadInput, match="before"):
            record_interview(s, st, v, dt.date(2025, 7, 8), "accepted", today=TODAY)
        record_interview(s, st, v, dt.date(2025, 8, 8), "accepted", today=TODAY)
        assert is_accepted(s, v)
        with pytest.raises(BadInput, match="already interviewed"):
            record_interview(s, st, v, dt.date(2025, 8, 9), "accepted", today=TODAY)
        p = add_person(s, st, "P1", "participant", "CPH")
        with pytest.raises(BadInput, match="not a volunteer"):
            record_interview(s, st, p, dt.date(2025, 8, 1), "accepted", today=TODAY)
        with pytest.raises(BadInput, match="unknown interview outcome"):
            record_interview(
                s,
                st,
                add_person(s, st, "L2", "group_leader", "CPH"),
                dt.date(2025, 8, 1),
                "hired",
                today=TODAY,
            )


def test_group_leader_needs_training_before_the_course(study_db):
    with unit_of_work(study_db, ACTOR) as s:
        st = get_study(s)
        a = add_person(s, st, "L1", "group_leader", "CPH")
        b = add_person(s, st, "L2", "group_leader", "CPH")
        record_training(s, st, a, "education_weekend", dt.date(2025, 8, 1), today=TODAY)
        require_training(s, st, a, "group_leader")
        with pytest.raises(NotAllowed, match="L2 cannot start as group_leader.*education_weekend"):
            require_training(s, st, b, "group_leader")
        # Training after the course start does not count for that course.
        record_training(s, st, b, "education_weekend", dt.date(2025, 10, 1), today=TODAY)
        with pytest.raises(NotAllowed, match="by 2025-09-15"):
            require_training(s, st, b, "group_leader", on=dt.date(2025, 9, 15))
        with pytest.raises(BadInput, match="already recorded"):
            record_training(s, st, b, "education_weekend", dt.date(2025, 10, 1), today=TODAY)
        with pytest.raises(BadInput, match="unknown training"):
            record_training(s, st, b, "first_aid", dt.date(2025, 10, 1), today=TODAY)
        with pytest.raises(BadInput, match="in the future"):
            record_training(s, st, b, "supervision", dt.date(2026, 1, 1), today=TODAY)


def test_create_group_refuses_untrained_leaders_and_writes_nothing(study_db):
    with unit_of_work(study_db, ACTOR) as s:
        st = get_study(s)
        for p in ("L1", "L2"):
            add_person(s, st, p, "group_leader", "CPH")
        record_training(
            s, st, person_by_pseudonym(s, st, "L1"), "education_weekend", dt.date(2025, 8, 1), today=TODAY
        )
    with pytest.raises(NotAllowed, match="L2 cannot start as group_leader"):
        _write(
            study_db,
            lambda s, st, p: create_group(s, st, "CPH-R01", "CPH", dt.date(2025, 9, 1), ["L1", "L2"]),
        )
    _write(
        study_db,
        lambda s, st, p: record_training(
            s, st, p("L2"), "education_weekend", dt.date(2025, 8, 2), today=TODAY
        ),
    )
    group = _write(
        study_db, lambda s, st, p: create_group(s, st, "CPH-R01", "CPH", dt.date(2025, 9, 1), ["L1", "L2"])
    )
    assert group.code == "CPH-R01"
    # Supervision after an observed session names a course the volunteer leads.
    _write(
        study_db,
        lambda s, st, p: record_training(
            s, st, p("L1"), "supervision", dt.date(2025, 9, 8), group_code="CPH-R01", today=TODAY
        ),
    )
    with pytest.raises(BadInput, match="does not lead"):
        _write(
            study_db,
            lambda s, st, p: record_training(
                s,
                st,
                add_person(s, st, "L3", "group_leader", "CPH"),
                "supervision",
                dt.date(2025, 9, 8),
                group_code="CPH-R01",
                today=TODAY,
            ),
        )
    with read_session(study_db) as s:
        table = volunteer_table(s, get_study(s))
    row = table.set_index("pseudonym").loc["L1"]
    assert row["training"] == "education_weekend;supervision" and row["missing_training"] == ""


def test_commitment_limits(study_db):
    with unit_of_work(study_db, ACTOR) as s:
        st = get_study(s)
        leader = add_person(s, st, "L1", "group_leader", "CPH")
        buddy = add_person(s, st, "B1", "peer_buddy", "CPH")
        set_commitment(s, st, leader, dt.date(2025, 8, 1), dt.date(2026, 1, 31), courses=2)
        set_commitment(s, st, buddy, dt.date(2025, 8, 1), companionship_months=6)
        for kwargs, message in (
            (dict(person=leader, courses=3), "courses must be 1–2"),
            (dict(person=buddy, companionship_months=7), "1–6"),
            (dict(person=leader, companionship_months=3), "only peer buddies"),
            (dict(person=buddy, courses=1), "only group leaders"),
            (dict(person=buddy, available_until=dt.date(2025, 7, 1)), "before available from"),
        ):
            person = kwargs.pop("person")
            with pytest.raises(BadInput, match=message):
                set_commitment(s, st, person, dt.date(2025, 8, 1), **kwargs)


# --- profiles and matching -----------------------------------------------------------------
def test_suggestions_rank_by_score_and_never_break_hard_constraints(scene):
    ranked = _suggest(scene, "R1")
    assert list(ranked["buddy"]) == ["B1", "B3"]
    best = ranked.iloc[0]
    # B1: 3/3 wishes (40) + 2/3 slots (25 × 2/3) + same area (20) + 2/2 preferences (15).
    assert best["score"] == pytest.approx(round(40 + 25 * 2 / 3 + 20 + 15, 1))
    assert "3 of 3 wishes shared (appointments, walks, networks)" in best["reasons"]
    assert "2 of 3 slots shared (mon_pm, wed_pm)" in best["reasons"]
    assert "same area (Nørrebro)" in best["reasons"]
    # B3: 1/3 wishes, 1/3 slots, same municipality (0.5), gender and age preferences unmet.
    assert ranked.iloc[1]["score"] == pytest.approx(round(40 / 3 + 25 / 3 + 10 + 0, 1))

    every = _suggest(scene, "R1", include_excluded=True).set_index("buddy")
    assert every.loc["B2", "excluded_because"] == "home visits needed by one, ruled out by the other"
    assert every.loc["B4", "excluded_because"] == "no shared availability"
    assert every.loc["B5", "excluded_because"] == "required training missing"
    assert every.loc["B6", "excluded_because"].startswith("other site")
    assert not every.loc[["B2", "B4", "B5", "B6"], "eligible"].any()


def test_same_diagnosis_when_required_and_never_shown(scene):
    ranked = _suggest(scene, "R2", include_excluded=True).set_index("buddy")
    assert ranked.loc["B3", "eligible"]  # shares tue_am and the diagnosis
    assert "same diagnosis required, not shared" in ranked.loc["B1", "excluded_because"]
    assert not ranked.astype(str).apply(lambda c: c.str.contains("F31")).any().any()
    with read_session(scene) as s:
        logged = s.scalars(
            select(AuditEvent.new_value).where(AuditEvent.table_name == "companion_profile")
        ).all()
    assert logged and not any("F31" in v for v in logged)
    assert any('"diagnosis": "<redacted:' in v for v in logged)


def test_profile_validation_names_every_problem(scene):
    before = _unchanged(scene)
    bad = ProfileInput(
        area="",
        wishes=["karaoke"],
        availability=["noon"],
        home_visits="maybe",
        preferred_age_min=50,
        preferred_age_max=20,
        diagnosis="F20",
    )
    with pytest.raises(BadInput) as err:
        _write(scene, lambda s, st, p: set_profile(s, st, p("R3"), bad, today=TODAY))
    message = str(err.value)
    for part in (
        "area is required",
        "unknown wish(es) karaoke",
        "unknown availability slot(s) noon",
        "home_visits must be",
        "reversed",
        "only when the same diagnosis is required",
    ):
        assert part in message
    with pytest.raises(BadInput, match="only participants"):
        _write(
            scene,
            lambda s, st, p: set_profile(
                s,
                st,
                add_person(s, st, "L9", "group_leader", "CPH"),
                ProfileInput(area="x", availability=["mon_am"]),
                today=TODAY,
            ),
        )
    assert _unchanged(scene) == before


def test_buddy_capacity_is_a_hard_constraint(scene):
    _write(
        scene,
        lambda s, st, p: confirm_match(s, st, p("R1"), p("B3"), dt.date(2025, 10, 1), ACTOR, today=TODAY),
    )
    ranked = _suggest(scene, "R2", include_excluded=True).set_index("buddy")
    assert ranked.loc["B3", "excluded_because"].startswith("at capacity (1 of 1 active)")
    before = _unchanged(scene)
    with pytest.raises(BadInput, match="B3 cannot be matched with R2: at capacity"):
        _write(
            scene,
            lambda s, st, p: confirm_match(s, st, p("R2"), p("B3"), dt.date(2025, 10, 2), ACTOR, today=TODAY),
        )
    assert _unchanged(scene) == before


def test_withdrawn_people_are_not_matched_nor_called(scene):
    from study.db.models import Enrolment

    def withdraw(s, st, p):
        for pseudonym in ("R1", "B1"):
            enrolment = s.scalar(select(Enrolment).where(Enrolment.person_id == p(pseudonym).id))
            enrolment.withdrawn_on = dt.date(2025, 11, 1)
            enrolment.withdrawal_reason = "no longer wishes to take part"

    _write(scene, withdraw)
    every = _suggest(scene, "R1", include_excluded=True).set_index("buddy")
    assert every.loc["B1", "excluded_because"] == "withdrawn from the study"
    with pytest.raises(BadInput, match="R1 withdrew from the study on 2025-11-01"):
        _write(
            scene,
            lambda s, st, p: confirm_match(s, st, p("R1"), p("B3"), dt.date(2025, 11, 5), ACTOR, today=TODAY),
        )
    with read_session(scene) as s:
        waiting = set(waitlist_table(s, get_study(s), TODAY)["pseudonym"])
        earlier = set(waitlist_table(s, get_study(s), dt.date(2025, 10, 31))["pseudonym"])
    assert {"R1", "B1"} & waiting == set() and {"R1", "B1"} <= earlier


# --- bad input of matches ------------------------------------------------------------------
def test_matching_someone_in_an_active_match_is_refused(scene):
    _write(
        scene,
        lambda s, st, p: confirm_match(s, st, p("R1"), p("B1"), dt.date(2025, 10, 1), ACTOR, today=TODAY),
    )
    before = _unchanged(scene)
    with pytest.raises(BadInput, match="R1 is already in an active match with B1"):
        _write(
            scene,
            lambda s, st, p: confirm_match(s, st, p("R1"), p("B3"), dt.date(2025, 10, 5), ACTOR, today=TODAY),
        )
    for args, message in (
        (("R3", "B1"), "no companionship profile"),
        (("B1", "R1"), "not a participant"),
        (("R2", "B1"), "cannot be matched"),
    ):
        with pytest.raises(BadInput, match=message):
            _write(
                scene,
                lambda s, st, p: confirm_match(
                    s, st, p(args[0]), p(args[1]), dt.date(2025, 10, 5), ACTOR, today=TODAY
                ),
            )
    with pytest.raises(BadInput, match="in the future"):
        _write(
            scene,
            lambda s, st, p: confirm_match(s, st, p("R2"), p("B3"), dt.date(2026, 1, 5), ACTOR, today=TODAY),
        )
    with pytest.raises(BadInput, match="before R2 joined the waitlist"):
        _write(
            scene,
            lambda s, st, p: confirm_match(s, st, p("R2"), p("B3"), dt.date(2025, 9, 10), ACTOR, today=TODAY),
        )
    assert _unchanged(scene) == before


def test_contacts_outside_the_match_are_refused(scene):
    _write(
        scene,
        lambda s, st, p: confirm_match(s, st, p("R1"), p("B1"), dt.date(2025, 10, 1), ACTOR, today=TODAY),
    )
    _write(
        scene,
        lambda s, st, p: log_contact(
            s, st, find_match(s, p("R1")), dt.date(2025, 10, 3), "walk", 90, today=TODAY
        ),
    )
    _write(
        scene,
        lambda s, st, p: end_match(
            s, st, find_match(s, p("R1")), dt.date(2025, 11, 1), "completed", today=TODAY
        ),
    )
    before = _unchanged(scene)
    for day, activity, minutes, message in (
        (dt.date(2025, 9, 30), "walk", 60, "before the match started"),
        (dt.date(2025, 11, 2), "walk", 60, "after the match ended"),
        (dt.date(2025, 10, 5), "karaoke", 60, "unknown activity"),
        (dt.date(2025, 10, 5), "walk", 0, "minutes must be"),
        (dt.date(2025, 10, 5), "walk", 2000, "minutes must be"),
    ):
        with pytest.raises(BadInput, match=message):
            _write(
                scene,
                lambda s, st, p: log_contact(
                    s, st, find_match(s, p("R1")), day, activity, minutes, today=TODAY
                ),
            )
    assert _unchanged(scene) == before
    # A late entry inside the match's dates is fine.
    _write(
        scene,
        lambda s, st, p: log_contact(
            s, st, find_match(s, p("R1")), dt.date(2025, 10, 20), "phone", 15, today=TODAY
        ),
    )


def test_extension_up_to_nine_months_only(scene):
    today = dt.date(2026, 5, 1)
    _write(
        scene,
        lambda s, st, p: confirm_match(s, st, p("R1"), p("B1"), dt.date(2025, 10, 1), ACTOR, today=today),
    )
    match = _write(scene, lambda s, st, p: find_match(s, p("R1")))
    assert match.planned_end_on == dt.date(2026, 4, 1)
    before = _unchanged(scene)
    with pytest.raises(BadInput, match="beyond 9 months.*latest end is 2026-07-01"):
        _write(
            scene,
            lambda s, st, p: extend_match(
                s,
                st,
                find_match(s, p("R1")),
                dt.date(2026, 7, 2),
                dt.date(2026, 3, 20),
                "more walks",
                today=today,
            ),
        )
    with pytest.raises(BadInput, match="needs a reason"):
        _write(
            scene,
            lambda s, st, p: extend_match(
                s, st, find_match(s, p("R1")), dt.date(2026, 6, 1), dt.date(2026, 3, 20), " ", today=today
            ),
        )
    with pytest.raises(BadInput, match="not after the current planned end"):
        _write(
            scene,
            lambda s, st, p: extend_match(
                s, st, find_match(s, p("R1")), dt.date(2026, 3, 1), dt.date(2026, 3, 20), "x", today=today
            ),
        )
    with pytest.raises(BadInput, match="after the match's planned end"):
        _write(
            scene,
            lambda s, st, p: log_contact(
                s, st, find_match(s, p("R1")), dt.date(2026, 4, 10), "walk", 60, today=today
            ),
        )
    assert _unchanged(scene) == before
    _write(
        scene,
        lambda s, st, p: extend_match(
            s,
            st,
            find_match(s, p("R1")),
            dt.date(2026, 7, 1),
            dt.date(2026, 3, 20),
            "tapering medication ongoing",
            today=today,
        ),
    )
    _write(
        scene,
        lambda s, st, p: log_contact(
            s, st, find_match(s, p("R1")), dt.date(2026, 4, 10), "walk", 60, today=today
        ),
    )
    with read_session(scene) as s:
        row = matches_table(s, get_study(s)).iloc[0]
    assert row["runs_until"] == dt.date(2026, 7, 1) and row["extended"] and row["contacts"] == 1


def test_ending_rules_and_neutral_reasons(scene):
    _write(
        scene,
        lambda s, st, p: confirm_match(s, st, p("R1"), p("B1"), dt.date(2025, 10, 1), ACTOR, today=TODAY),
    )
    _write(
        scene,
        lambda s, st, p: log_contact(
            s, st, find_match(s, p("R1")), dt.date(2025, 10, 10), "walk", 60, today=TODAY
        ),
    )
    before = _unchanged(scene)
    for day, reason, message in (
        (dt.date(2025, 11, 1), "buddy_was_rude", "unknown end reason"),
        (dt.date(2025, 9, 1), "completed", "before the match started"),
        (dt.date(2025, 10, 5), "completed", "before the match's last contact"),
        (dt.date(2025, 12, 5), "completed", "in the future"),
    ):
        with pytest.raises(BadInput, match=message):
            _write(scene, lambda s, st, p: end_match(s, st, find_match(s, p("R1")), day, reason, today=TODAY))
    assert _unchanged(scene) == before


# --- waitlist ------------------------------------------------------------------------------
def test_failed_match_returns_the_recipient_to_the_top(scene):
    with read_session(scene) as s:
        table = waitlist_table(s, get_study(s), TODAY, site="CPH")
    recipients = table[table["role"] == "participant"]
    assert list(recipients["pseudonym"]) == ["R1", "R2"]
    # R2 (waiting since 15 Sep) is matched; R1's first match fails on chemistry.
    _write(
        scene,
        lambda s, st, p: confirm_match(s, st, p("R2"), p("B3"), dt.date(2025, 10, 1), ACTOR, today=TODAY),
    )
    _write(
        scene,
        lambda s, st, p: confirm_match(s, st, p("R1"), p("B1"), dt.date(2025, 10, 1), ACTOR, today=TODAY),
    )
    _write(
        scene,
        lambda s, st, p: end_match(
            s, st, find_match(s, p("R1")), dt.date(2025, 10, 20), "chemistry", today=TODAY
        ),
    )

    # A new recipient who waits longer than R1's return date, but not than R1's first date.
    def newcomer(s, st, p):
        r4 = _person(s, st, "R4", "participant", "CPH", 40, "female", "København")
        set_profile(
            s,
            st,
            r4,
            ProfileInput(area="Valby", availability=["mon_am"]),
            waiting_since=dt.date(2025, 8, 25),
            today=TODAY,
        )

    _write(scene, newcomer)
    with read_session(scene) as s:
        table = waitlist_table(s, get_study(s), TODAY, site="CPH")
    assert list(table.columns[:6]) == ["pseudonym", "role", "since", "last_call", "next_call_due", "overdue"]
    assert table.iloc[0]["pseudonym"] == "R1"  # the top, although R4 has an earlier date
    assert table.iloc[0]["since"] == dt.date(2025, 9, 1)  # original waiting date kept
    assert table.iloc[0]["next_call_due"] == dt.date(2025, 11, 10)  # 3 weeks after returning
    assert "R2" not in set(table["pseudonym"])
    # B1 is back on the waitlist; R1 is never suggested B1 again.
    assert "B1" in set(table["pseudonym"])
    assert "B1" not in set(_suggest(scene, "R1")["buddy"])
    assert (
        _suggest(scene, "R1", include_excluded=True).set_index("buddy").loc["B1", "excluded_because"]
        == "matched before"
    )
    # A completed match does not return the recipient.
    _write(
        scene,
        lambda s, st, p: end_match(
            s, st, find_match(s, p("R2")), dt.date(2025, 11, 20), "completed", today=TODAY
        ),
    )
    with read_session(scene) as s:
        assert "R2" not in set(waitlist_table(s, get_study(s), TODAY)["pseudonym"])


def test_follow_up_calls_schedule_and_overdue(scene):
    with read_session(scene) as s:
        table = waitlist_table(s, get_study(s), TODAY).set_index("pseudonym")
    # R1 joined 1 Sep, never called: due 22 Sep, overdue on 1 Dec.
    assert table.loc["R1", "next_call_due"] == dt.date(2025, 9, 22) and table.loc["R1", "overdue"]
    _write(
        scene,
        lambda s, st, p: log_call(
            s, st, p("R1"), dt.date(2025, 11, 20), "reached", "still keen", ACTOR, today=TODAY
        ),
    )
    with read_session(scene) as s:
        st = get_study(s)
        table = waitlist_table(s, st, TODAY).set_index("pseudonym")
        overdue = overdue_calls(s, st, TODAY, site="HEL")
    assert table.loc["R1", "last_call"] == dt.date(2025, 11, 20)
    assert table.loc["R1", "next_call_due"] == dt.date(2025, 12, 11) and not table.loc["R1", "overdue"]
    assert list(overdue["pseudonym"]) == ["B6"] and set(overdue["site"]) == {"HEL"}
    before = _unchanged(scene)
    for pseudonym, day, outcome, message in (
        ("R1", dt.date(2025, 12, 2), "reached", "in the future"),
        ("R1", dt.date(2025, 8, 1), "reached", "before R1 joined"),
        ("R1", dt.date(2025, 11, 21), "shouted", "unknown call outcome"),
        ("R3", dt.date(2025, 11, 21), "reached", "not on the waitlist"),
    ):
        with pytest.raises(BadInput, match=message):
            _write(
                scene, lambda s, st, p: log_call(s, st, p(pseudonym), day, outcome, None, ACTOR, today=TODAY)
            )
    assert _unchanged(scene) == before
    # Declining takes a person off the waitlist; they may join again later.
    _write(
        scene,
        lambda s, st, p: log_call(
            s, st, p("R2"), dt.date(2025, 11, 21), "declined", None, ACTOR, today=TODAY
        ),
    )
    with read_session(scene) as s:
        assert "R2" not in set(waitlist_table(s, get_study(s), TODAY)["pseudonym"])
    result = _cli(scene, "match", "join", "R2", "--since", "2025-11-28", "--today", "2025-12-01")
    assert result.exit_code == 0 and "R2 waits since 2025-11-28" in result.output
    result = _cli(scene, "match", "join", "R2", "--today", "2025-12-01")
    assert result.exit_code == 2 and "already on the waitlist" in result.output
    result = _cli(scene, "match", "join", "R3", "--today", "2025-12-01")
    assert result.exit_code == 2 and "no companionship profile" in result.output


# --- dose ----------------------------------------------------------------------------------
def test_dose_counts_contacts_hours_and_months(scene):
    _write(
        scene,
        lambda s, st, p: confirm_match(s, st, p("R1"), p("B1"), dt.date(2025, 9, 10), ACTOR, today=TODAY),
    )
    _write(
        scene,
        lambda s, st, p: end_match(
            s, st, find_match(s, p("R1")), dt.date(2025, 9, 30), "chemistry", today=TODAY
        ),
    )
    _write(
        scene,
        lambda s, st, p: confirm_match(s, st, p("R1"), p("B3"), dt.date(2025, 10, 1), ACTOR, today=TODAY),
    )
    for day, minutes in ((dt.date(2025, 10, 2), 90), (dt.date(2025, 10, 9), 60), (dt.date(2025, 11, 9), 30)):
        _write(
            scene,
            lambda s, st, p: log_contact(s, st, find_match(s, p("R1")), day, "walk", minutes, today=TODAY),
        )
    with read_session(scene) as s:
        dose = companionship_dose(s, get_study(s), today=TODAY).set_index("pseudonym")
    assert list(dose.columns) == ["matched", "contacts", "hours", "months"]
    assert sorted(dose.index) == ["R1", "R2", "R3"]
    # 20 days (first match) + 61 days (1 Oct → 1 Dec, still running) = 81 days.
    assert dose.loc["R1"].tolist() == [True, 3, 3.0, round(81 / (365.25 / 12), 2)]
    assert dose.loc["R2"].tolist() == [False, 0, 0.0, 0.0]


# --- command line --------------------------------------------------------------------------
def _cli(engine, *args):
    from typer.testing import CliRunner

    from study.cli import app

    return CliRunner().invoke(app, [*args, "--db", engine.url.render_as_string(hide_password=False)])


def test_cli_match_commands(scene, tmp_path):
    result = _cli(scene, "match", "waitlist", "--site", "CPH", "--today", "2025-12-01")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["pseudonym", "role", "since", "last_call", "next_call_due", "overdue"]
    assert lines[1].split()[:2] == ["B1", "peer_buddy"] or "R1" in result.output
    assert any(
        line.split() == ["R1", "participant", "2025-09-01", "-", "2025-09-22", "yes"] for line in lines
    )
    assert "B6" not in result.output  # another site

    result = _cli(
        scene,
        "match",
        "profile",
        "R3",
        "--area",
        "Valby",
        "--wishes",
        "walks,karaoke",
        "--availability",
        "mon_am",
        "--today",
        "2025-12-01",
    )
    assert result.exit_code == 2 and "unknown wish(es) karaoke" in result.output
    result = _cli(
        scene,
        "match",
        "profile",
        "R3",
        "--area",
        "Valby",
        "--wishes",
        "walks,talks",
        "--availability",
        "mon_am,tue_am",
        "--prefer-gender",
        "female",
        "--since",
        "2025-11-20",
        "--today",
        "2025-12-01",
    )
    assert result.exit_code == 0 and "R3 profile saved (recipient)" in result.output
    result = _cli(scene, "match", "waitlist", "--site", "CPH", "--today", "2025-12-01")
    assert any(
        line.split() == ["R3", "participant", "2025-11-20", "-", "2025-12-11", "no"]
        for line in result.output.splitlines()
    )

    result = _cli(scene, "match", "suggest", "R1", "--today", "2025-12-01")
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[1].split()
    assert first[:3] == ["1", "B1", "91.7"]
    result = _cli(scene, "match", "suggest", "R1", "--all", "--today", "2025-12-01")
    assert "required training missing" in result.output and "excluded_because" in result.output

    assert _cli(
        scene, "match", "confirm", "R1", "B1", "--start", "2025-10-01", "--today", "2025-12-01"
    ).output.startswith("R1 B1 matched from 2025-10-01 until 2026-04-01")
    result = _cli(scene, "match", "confirm", "R1", "B3", "--start", "2025-10-02", "--today", "2025-12-01")
    assert result.exit_code == 2 and "already in an active match" in result.output

    result = _cli(
        scene,
        "match",
        "contact",
        "R1",
        "--on",
        "2025-09-01",
        "--activity",
        "walk",
        "--minutes",
        "60",
        "--today",
        "2025-12-01",
    )
    assert result.exit_code == 2 and "before the match started" in result.output
    result = _cli(
        scene,
        "match",
        "contact",
        "R1",
        "--on",
        "2025-10-05",
        "--activity",
        "walk",
        "--minutes",
        "60",
        "--today",
        "2025-12-01",
    )
    assert result.exit_code == 0, result.output
    result = _cli(
        scene, "match", "contact", "R1", "--on", "2025-13-05", "--activity", "walk", "--minutes", "60"
    )
    assert result.exit_code == 2 and "--on: '2025-13-05' is not a date" in result.output

    result = _cli(
        scene,
        "match",
        "extend",
        "R1",
        "--until",
        "2026-07-02",
        "--reason",
        "more time",
        "--on",
        "2026-03-01",
        "--today",
        "2026-03-01",
    )
    assert result.exit_code == 2 and "beyond 9 months" in result.output
    result = _cli(
        scene,
        "match",
        "extend",
        "R1",
        "--until",
        "2026-07-01",
        "--reason",
        "more time",
        "--on",
        "2026-03-01",
        "--today",
        "2026-03-01",
    )
    assert result.exit_code == 0 and "extended until 2026-07-01" in result.output

    result = _cli(
        scene,
        "match",
        "call",
        "R2",
        "--outcome",
        "reached",
        "--note",
        "asked about walks",
        "--on",
        "2025-11-30",
        "--today",
        "2025-12-01",
    )
    assert result.exit_code == 0 and "R2 called on 2025-11-30: reached" in result.output

    result = _cli(
        scene, "match", "end", "R1", "--reason", "chemistry", "--on", "2026-03-02", "--today", "2026-03-02"
    )
    assert result.exit_code == 0, result.output
    result = _cli(scene, "match", "waitlist", "--today", "2026-03-02")
    assert result.output.splitlines()[1].split()[:3] == ["R1", "participant", "2025-09-01"]

    result = _cli(scene, "match", "list")
    assert "chemistry" in result.output and "R1" in result.output
    out = tmp_path / "dose.csv"
    result = _cli(scene, "match", "dose", "--out", str(out), "--today", "2026-03-02")
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == "pseudonym,matched,contacts,hours,months"


def test_cli_volunteer_commands(study_db):
    with unit_of_work(study_db, ACTOR) as s:
        add_person(s, get_study(s), "L1", "group_leader", "CPH")
    ok = (
        ("volunteers", "interview", "L1", "--outcome", "second_interview", "--on", "2025-08-01"),
        ("volunteers", "interview", "L1", "--outcome", "accepted", "--on", "2025-08-08"),
        ("volunteers", "train", "L1", "--kind", "education_weekend", "--on", "2025-08-20"),
        ("volunteers", "commit", "L1", "--from", "2025-08-01", "--until", "2026-01-31", "--courses", "2"),
    )
    for args in ok:
        result = _cli(study_db, *args)
        assert result.exit_code == 0, result.output
    result = _cli(study_db, "volunteers", "interview", "L1", "--outcome", "accepted", "--on", "2025-08-09")
    assert result.exit_code == 2 and "already interviewed" in result.output
    result = _cli(study_db, "volunteers", "commit", "L1", "--from", "2025-08-01", "--courses", "3")
    assert result.exit_code == 2 and "courses must be 1–2" in result.output
    result = _cli(study_db, "volunteers", "list")
    row = [line.split() for line in result.output.splitlines() if line.split()[:1] == ["L1"]][0]
    assert row[:6] == ["L1", "CPH", "group_leader", "2", "True", "education_weekend"]


# --- demo ----------------------------------------------------------------------------------
def test_demo_has_volunteers_matches_and_a_waitlist(demo_engine):
    from study.db.models import Person, TrainingRecord
    from study.demo.companionship import DEMO_TODAY

    with read_session(demo_engine) as s:
        st = get_study(s)
        leaders = s.scalars(select(Person.id).where(Person.role == "group_leader")).all()
        weekends = s.scalars(
            select(TrainingRecord.person_id).where(TrainingRecord.kind == "education_weekend")
        ).all()
        assert set(leaders) == set(weekends)
        assert (
            s.scalar(
                select(func.count()).select_from(TrainingRecord).where(TrainingRecord.kind == "supervision")
            )
            > 0
        )
        matches = s.scalars(select(Match)).all()
        assert [m.end_reason for m in matches].count("chemistry") == 1
        assert sum(m.extended_until is not None for m in matches) >= 1
        assert _count(demo_engine, MatchContact) > len(matches)
        table = waitlist_table(s, st, DEMO_TODAY)
        assert table["overdue"].any() and not table["overdue"].all()
        failed = next(m for m in matches if m.end_reason == "chemistry")
        top = table.iloc[0]
        assert top["pseudonym"] == s.get(Person, failed.person_id).pseudonym and top["top"]
        dose = companionship_dose(s, st, DEMO_TODAY)
        assert dose["matched"].sum() == len({m.person_id for m in matches})
        assert (dose.loc[dose["matched"], "months"] > 0).all()


def test_help_of_match_and_volunteers():
    from typer.testing import CliRunner

    from study.cli import app

    for args in (["match"], ["volunteers"], ["match", "suggest"], ["match", "waitlist"], ["match", "end"]):
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
