"""Profiles of recipients and buddies: wishes or offers, area, availability, preferences.

A recipient is a ``participant`` who wants a buddy; a buddy is a ``peer_buddy``. Registering a
recipient's or a buddy's first profile puts them on the waitlist (they wait until a meaningful
match is found). Diagnosis is sensitive health data: it is stored only where it is used (a
recipient who requires a buddy with the same diagnosis; a buddy who agrees to be matched on
it), redacted in the audit trail and never shown.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.companionship.waiting import join_waitlist
from study.config.companionship import AVAILABILITY_DAYS, AVAILABILITY_PARTS
from study.db.models import CompanionProfile, Enrolment, Person, PersonAttribute, Site, Study
from study.errors import BadInput, NotFound
from study.studies import config_of

__all__ = [
    "AVAILABILITY_SLOTS",
    "HOME_VISITS",
    "ProfileInput",
    "ProfileProblems",
    "SIDE_OF_ROLE",
    "profile_of",
    "profile_values",
    "profiles_frame",
    "set_profile",
]

#: Every availability slot in week order: ``mon_am, mon_pm, mon_eve, tue_am, …``.
AVAILABILITY_SLOTS: tuple[str, ...] = tuple(
    f"{day}_{part}" for day in AVAILABILITY_DAYS for part in AVAILABILITY_PARTS
)
#: ``wanted``: meetings at home are needed; ``ok``: possible; ``no``: never at home.
HOME_VISITS: tuple[str, ...] = ("wanted", "ok", "no")
SIDE_OF_ROLE: dict[str, str] = {"participant": "recipient", "peer_buddy": "buddy"}


@dataclass(frozen=True)
class ProfileInput:
    """A profile as entered by the coordinator.

    ``wishes``: for a recipient what they wish for, for a buddy what they offer (codes from
    ``companionship.wishes``). ``availability``: slots such as ``tue_pm``. Preferences are
    about the other person: genders (as recorded in the ``gender`` attribute) and an age range
    in whole years, both bounds inclusive.
    """

    area: str
    wishes: Sequence[str] = ()
    availability: Sequence[str] = ()
    home_visits: str = "ok"
    preferred_genders: Sequence[str] = ()
    preferred_age_min: int | None = None
    preferred_age_max: int | None = None
    same_diagnosis_required: bool = False
    diagnosis: str | None = None
    max_matches: int | None = None


class ProfileProblems(BadInput):
    """A profile that cannot be stored, with each problem beside the :class:`ProfileInput`
    field it is about (``person`` for the person's role), so that an import can name the
    column; the message lists them all."""

    def __init__(self, message: str, problems: Sequence[tuple[str, str]]):
        super().__init__(message)
        self.problems = list(problems)


def _validated(study: Study, side: str, pseudonym: str, p: ProfileInput) -> dict:
    cfg = config_of(study).companionship
    problems: list[tuple[str, str]] = []  # (ProfileInput field, what is wrong)
    area = (p.area or "").strip()
    if not area:
        problems.append(("area", "an area is required"))
    unknown = sorted(set(p.wishes) - set(cfg.wishes))
    if unknown:
        problems.append(("wishes", f"unknown wish(es) {', '.join(unknown)}; wishes: {', '.join(cfg.wishes)}"))
    bad_slots = sorted(set(p.availability) - set(AVAILABILITY_SLOTS))
    if bad_slots:
        problems.append(
            (
                "availability",
                f"unknown availability slot(s) {', '.join(bad_slots)}; slots are <day>_<part> with "
                f"day {'/'.join(AVAILABILITY_DAYS)} and part {'/'.join(AVAILABILITY_PARTS)}",
            )
        )
    if not p.availability:
        problems.append(("availability", "at least one availability slot is required"))
    if p.home_visits not in HOME_VISITS:
        problems.append(
            ("home_visits", f"home_visits must be one of {', '.join(HOME_VISITS)}, got {p.home_visits!r}")
        )
    for field, bound in (
        ("preferred_age_min", p.preferred_age_min),
        ("preferred_age_max", p.preferred_age_max),
    ):
        if bound is not None and not 0 <= bound <= 120:
            problems.append((field, f"preferred age {bound} outside 0–120"))
    if (
        p.preferred_age_min is not None
        and p.preferred_age_max is not None
        and p.preferred_age_min > p.preferred_age_max
    ):
        problems.append(
            (
                "preferred_age_max",
                f"preferred age range {p.preferred_age_min}–{p.preferred_age_max} is reversed",
            )
        )
    diagnosis = (p.diagnosis or "").strip() or None
    if side == "recipient":
        if p.same_diagnosis_required and diagnosis is None:
            problems.append(("diagnosis", "same diagnosis required, but no diagnosis given"))
        if diagnosis is not None and not p.same_diagnosis_required:
            # Minimal storage: a recipient's diagnosis is kept only when it is a matching key.
            problems.append(
                ("diagnosis", "a recipient's diagnosis is stored only when the same diagnosis is required")
            )
        if p.max_matches is not None:
            problems.append(("max_matches", "max_matches applies to buddies only"))
    else:
        if p.same_diagnosis_required:
            problems.append(("same_diagnosis_required", "only a recipient can require the same diagnosis"))
        if p.max_matches is not None and not 1 <= p.max_matches <= cfg.max_matches_per_buddy:
            problems.append(
                (
                    "max_matches",
                    f"max_matches must be 1–{cfg.max_matches_per_buddy} (companionship.max_matches_per_buddy)",
                )
            )
    if problems:
        raise ProfileProblems(f"profile of {pseudonym}: " + "; ".join(text for _, text in problems), problems)
    # every wish and slot was checked against these just above, so each has a position
    wish_order = {w: i for i, w in enumerate(cfg.wishes)}
    slot_order = {s: i for i, s in enumerate(AVAILABILITY_SLOTS)}
    return dict(
        side=side,
        area=area,
        wishes=json.dumps(sorted(set(p.wishes), key=wish_order.__getitem__)),
        availability=json.dumps(sorted(set(p.availability), key=slot_order.__getitem__)),
        home_visits=p.home_visits,
        preferred_genders=json.dumps(sorted({g.strip() for g in p.preferred_genders if g.strip()})),
        preferred_age_min=p.preferred_age_min,
        preferred_age_max=p.preferred_age_max,
        same_diagnosis_required=bool(p.same_diagnosis_required),
        diagnosis=diagnosis,
        max_matches=p.max_matches,
    )


def profile_values(study: Study, person: Person, profile: ProfileInput) -> dict[str, Any]:
    """The columns of ``person``'s profile row (``side`` from their role), validated.

    Raises
    ------
    BadInput
        The person is neither a participant nor a peer buddy, or a field is invalid (every
        problem is named in one message).
    """
    side = SIDE_OF_ROLE.get(person.role)
    if side is None:
        text = (
            f"{person.pseudonym} is a {person.role}: only participants (recipients) and peer "
            "buddies have companionship profiles"
        )
        raise ProfileProblems(text, [("person", text)])
    return _validated(study, side, person.pseudonym, profile)


def set_profile(
    session: Session,
    study: Study,
    person: Person,
    profile: ProfileInput,
    waiting_since: dt.date | None = None,
    today: dt.date | None = None,
) -> CompanionProfile:
    """Create or correct (audited) a person's profile; a new profile joins the waitlist.

    Parameters
    ----------
    waiting_since
        The date the person joined the waitlist (default ``today``); used only when the
        profile is created.

    Raises
    ------
    BadInput
        The person is neither a participant nor a peer buddy, or a field is invalid (every
        problem is named in one message).
    """
    values = profile_values(study, person, profile)
    row = session.scalar(select(CompanionProfile).where(CompanionProfile.person_id == person.id))
    created = row is None
    if row is None:
        row = CompanionProfile(study_id=study.id, person_id=person.id)
        session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()
    if created:
        today = today or dt.date.today()
        join_waitlist(session, study, person, waiting_since or today, today=today)
    return row


def profile_of(session: Session, person: Person) -> CompanionProfile:
    """The person's profile, or ``NotFound``."""
    row = session.scalar(select(CompanionProfile).where(CompanionProfile.person_id == person.id))
    if row is None:
        raise NotFound(f"{person.pseudonym} has no companionship profile yet")
    return row


def profiles_frame(
    session: Session, study: Study, side: str, person_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """Profiles of one side as a DataFrame with lists decoded, plus gender, age and site.

    Returns
    -------
    DataFrame
        Columns ``person_id, pseudonym, site, municipality, area, wishes, availability,
        home_visits, gender, age, preferred_genders, preferred_age_min, preferred_age_max,
        same_diagnosis_required, diagnosis, max_matches``; ``wishes``, ``availability`` and
        ``preferred_genders`` hold lists; ``age`` is the age at screening (missing when the
        person was never screened); ``diagnosis`` is for matching only: never display it.
    """
    gender = (
        select(PersonAttribute.person_id, PersonAttribute.value)
        .where(PersonAttribute.name == "gender")
        .subquery()
    )
    query = (
        select(
            CompanionProfile.person_id,
            Person.pseudonym,
            Site.code.label("site"),
            Enrolment.municipality,
            CompanionProfile.area,
            CompanionProfile.wishes,
            CompanionProfile.availability,
            CompanionProfile.home_visits,
            gender.c.value.label("gender"),
            Enrolment.age_at_screening.label("age"),
            CompanionProfile.preferred_genders,
            CompanionProfile.preferred_age_min,
            CompanionProfile.preferred_age_max,
            CompanionProfile.same_diagnosis_required,
            CompanionProfile.diagnosis,
            CompanionProfile.max_matches,
        )
        .join(Person, Person.id == CompanionProfile.person_id)
        .join(Site, Site.id == Person.site_id)
        .outerjoin(Enrolment, Enrolment.person_id == Person.id)
        .outerjoin(gender, gender.c.person_id == Person.id)
        .where(CompanionProfile.study_id == study.id, CompanionProfile.side == side)
        .order_by(Person.pseudonym)
    )
    if person_ids is not None:
        query = query.where(CompanionProfile.person_id.in_(list(person_ids)))
    rows = session.execute(query).mappings().all()
    df = pd.DataFrame(rows, columns=list(query.selected_columns.keys()))
    for column in ("wishes", "availability", "preferred_genders"):
        df[column] = df[column].map(json.loads)
    df["age"] = df["age"].astype("Float64")
    return df
