"""Demo step: the study, its phases, volunteers, participants, pilot and RCT groups."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from study.companionship.volunteers import record_training
from study.config import StudyConfig, example_config_path, load_config
from study.config.schema import PhaseConfig
from study.db import unit_of_work
from study.demo.context import DemoContext
from study.demo.names import synthetic_identity_fields
from study.errors import BadInput
from study.fidelity.manual import shipped_manual_path
from study.fidelity.versions import store_manual_version
from study.groups import add_member, create_group, record_attendance
from study.people import Identity, add_person, enrol
from study.phases import start_phase
from study.studies import create_study, get_study

__all__ = ["people_and_groups"]

PILOT_PARTICIPANTS_PER_SITE = 8
LEADERS_PER_SITE = 6
BUDDIES_PER_SITE = 6
GENDERS = np.array(["female", "male", "other"])
GENDER_P = [0.6, 0.37, 0.03]
#: Municipalities next to the sites: people living there are screened and found ineligible.
OUTSIDE = {"CPH": ["Gentofte", "Hvidovre"], "HEL": ["Fredensborg", "Hillerød"], "FRE": ["Vejle", "Kolding"]}
RECRUITMENT = (dt.date(2025, 8, 15), dt.date(2026, 1, 31))
FIRST_RCT_GROUP = dt.date(2025, 9, 15)
#: The volunteers' education weekend, before the first pilot course.
EDUCATION_WEEKEND = dt.date(2025, 1, 25)
#: The manual version the pilot groups run (a draft; the RCT runs the shipped 1.0).
PILOT_MANUAL_VERSION = "0.1"


def pilot_manual(manual_text: str) -> str:
    """The pilot's draft of the shipped manual: version :data:`PILOT_MANUAL_VERSION`, in which
    the group's own ground rules were not yet an essential component."""
    draft = manual_text.replace('version: "1.0"', f'version: "{PILOT_MANUAL_VERSION}"', 1)
    draft = draft.replace(
        "{id: w01_agreements, essential: true,", "{id: w01_agreements, essential: false,", 1
    )
    if draft == manual_text or f'version: "{PILOT_MANUAL_VERSION}"' not in draft:
        raise RuntimeError("the shipped manual no longer has the lines the demo's pilot draft changes")
    return draft


def _planned(config: StudyConfig, phase: str) -> PhaseConfig:
    """The planned dates of ``phase``; the demo needs every phase it starts to be planned."""
    planned = config.phase(phase)
    if planned is None:
        raise BadInput(f"the demo study configuration plans no {phase!r} phase")
    return planned


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC)


def _birth_date(rng: np.random.Generator, age: int, on: dt.date) -> dt.date:
    # A birthday between one and 364 days before `on`'s anniversary keeps the age exact.
    return dt.date(on.year - age, on.month, 1) - dt.timedelta(days=int(rng.integers(1, 330)))


def people_and_groups(ctx: DemoContext) -> list[str]:
    """Create the reference study with volunteers, pilot and RCT participants and groups."""
    path = example_config_path()
    config = load_config(path)
    with unit_of_work(ctx.engine, ctx.actor, reason="demo: create study") as s:
        study = create_study(s, config, path.read_text(encoding="utf-8"), demo=True)
        ctx.study_code = study.code
        start_phase(s, study, "pilot", ctx.actor, at=_at(_planned(config, "pilot").start))

    site_codes = config.site_codes
    manual_text = shipped_manual_path(config.fidelity.manual).read_text(encoding="utf-8")
    with unit_of_work(ctx.engine, ctx.actor, reason="demo: volunteers and pilot") as s:
        study = get_study(s, ctx.study_code)
        # The pilot runs a draft of the manual; the RCT runs the version revised after it.
        store_manual_version(s, study, pilot_manual(manual_text), ctx.actor, note="draft for the pilot")
        _volunteers(ctx, s, study, config, site_codes)
        n_pilot = _pilot(ctx, s, study, config, site_codes)

    with unit_of_work(ctx.engine, ctx.actor, reason="demo: RCT recruitment") as s:
        study = get_study(s, ctx.study_code)
        store_manual_version(
            s,
            study,
            manual_text,
            ctx.actor,
            note="revised after the pilot's feedback: ground rules and closing round made essential",
        )
        start_phase(s, study, "rct", ctx.actor, at=_at(_planned(config, "rct").start))  # locks that version
        screened, ready_per_site = _rct_participants(ctx, s, study, config)
        n_groups = _rct_groups(ctx, s, study, config, ready_per_site)

    return [
        f"demo study {ctx.study_code}: {len(site_codes)} sites ({', '.join(site_codes)})",
        f"  volunteers: {LEADERS_PER_SITE * len(site_codes)} group leaders, "
        f"{BUDDIES_PER_SITE * len(site_codes)} peer buddies",
        f"  pilot: {n_pilot} participants in {len(site_codes)} groups (manual draft {PILOT_MANUAL_VERSION})",
        f"  RCT: {screened} screened, {len(ctx.rct_ready)} eligible and consented, {n_groups} groups planned",
    ]


def _volunteers(ctx, s, study, config, site_codes) -> None:
    screened_on = config.phase("pilot").start
    for i, site in enumerate(site_codes):
        municipality = config.site(site).municipalities[0]
        add_person(s, study, f"K{i + 1:02d}", "coordinator", site)
        add_person(s, study, f"V{i + 1:02d}", "communication_volunteer", site)
        for role, prefix, count, ages, store in (
            ("group_leader", "L", LEADERS_PER_SITE, (20, 40), ctx.leaders),
            ("peer_buddy", "B", BUDDIES_PER_SITE, (20, 50), ctx.buddies),
        ):
            ids = synthetic_identity_fields(ctx.rng, count)
            for k in range(count):
                pseudonym = f"{prefix}{i * count + k + 1:03d}"
                age = int(ctx.rng.integers(ages[0], ages[1] + 1))
                person = add_person(
                    s,
                    study,
                    pseudonym,
                    role,
                    site,
                    identity=Identity(
                        birth_date=_birth_date(ctx.rng, age, screened_on),
                        **{f: v[k] for f, v in ids.items()},
                    ),
                    attributes={"gender": str(ctx.rng.choice(GENDERS, p=GENDER_P))},
                )
                enrol(s, study, person, screened_on, municipality, consent_on=screened_on)
                if role == "group_leader":
                    # Leaders lead a course only after the education weekend (see
                    # study.companionship.volunteers.require_training).
                    record_training(
                        s, study, person, "education_weekend", EDUCATION_WEEKEND, today=EDUCATION_WEEKEND
                    )
                store.setdefault(site, []).append(pseudonym)


def _pilot(ctx, s, study, config, site_codes) -> int:
    rng = ctx.rng
    pilot = config.phase("pilot")
    count = 0
    for i, site in enumerate(site_codes):
        start = pilot.start + dt.timedelta(weeks=6 + i)
        group = create_group(
            s,
            study,
            f"{site}-P1",
            site,
            start,
            ctx.leaders[site][:2],
            phase="pilot",
            manual_version=PILOT_MANUAL_VERSION,
        )
        ids = synthetic_identity_fields(rng, PILOT_PARTICIPANTS_PER_SITE)
        members = []
        for k in range(PILOT_PARTICIPANTS_PER_SITE):
            count += 1
            pseudonym = f"PP{count:03d}"
            screened_on = pilot.start + dt.timedelta(days=int(rng.integers(0, 30)))
            age = int(np.clip(rng.normal(38, 12), 18, 75))
            person = add_person(
                s,
                study,
                pseudonym,
                "participant",
                site,
                identity=Identity(
                    birth_date=_birth_date(rng, age, screened_on), **{f: v[k] for f, v in ids.items()}
                ),
                attributes={"gender": str(rng.choice(GENDERS, p=GENDER_P))},
            )
            enrol(
                s,
                study,
                person,
                screened_on,
                config.site(site).municipalities[0],
                consent_on=screened_on + dt.timedelta(days=int(rng.integers(0, 8))),
                phase="pilot",
            )
            add_member(s, study, group, person, joined_on=start)
            members.append(pseudonym)
        # Attendance: each person has their own propensity to come (Beta around 0.8).
        propensity = rng.beta(8, 2, len(members))
        for week in range(1, config.groups.sessions + 1):
            present = rng.random(len(members)) < propensity
            record_attendance(
                s,
                study,
                group,
                week,
                {p: "present" if here else "absent" for p, here in zip(members, present)},
            )
    return count


def _rct_participants(ctx, s, study, config) -> tuple[int, dict[str, int]]:
    """Screen RCT candidates until ``ctx.participants`` are eligible and consented."""
    rng = ctx.rng
    n = int(ctx.participants * 1.3) + 20
    targets = np.array([site.recruitment_target for site in config.sites], dtype=float)
    sites = rng.choice(config.site_codes, n, p=targets / targets.sum())
    under_age = rng.random(n) < 0.03
    outside = rng.random(n) < 0.06
    declines = rng.random(n) < 0.05
    ages = np.where(under_age, rng.integers(16, 18, n), np.clip(rng.normal(38, 12, n), 18, 75)).astype(int)
    ready = ~under_age & ~outside & ~declines
    # Cut the candidate list where the wanted number of ready participants is reached.
    last = int(np.searchsorted(np.cumsum(ready), ctx.participants)) + 1
    window = (RECRUITMENT[1] - RECRUITMENT[0]).days
    offsets = np.sort(rng.integers(0, window, last))
    ids = synthetic_identity_fields(rng, last)
    genders = rng.choice(GENDERS, last, p=GENDER_P)
    for k in range(last):
        site = str(sites[k])
        screened_on = RECRUITMENT[0] + dt.timedelta(days=int(offsets[k]))
        municipality = (
            str(rng.choice(OUTSIDE[site]))
            if outside[k]
            else str(rng.choice(config.site(site).municipalities))
        )
        pseudonym = f"P{k + 1:04d}"
        person = add_person(
            s,
            study,
            pseudonym,
            "participant",
            site,
            identity=Identity(
                birth_date=_birth_date(rng, int(ages[k]), screened_on),
                **{f: v[k] for f, v in ids.items()},
            ),
            attributes={"gender": str(genders[k])},
        )
        eligible = not (under_age[k] or outside[k])
        consent = (
            screened_on + dt.timedelta(days=int(rng.integers(0, 10)))
            if eligible and not declines[k]
            else None
        )
        enrol(s, study, person, screened_on, municipality, consent_on=consent, phase="rct")
        if ready[k]:
            ctx.rct_ready.append(pseudonym)
    ready_per_site = pd.Series(sites[:last][ready[:last]]).value_counts().to_dict()
    return last, {str(k): int(v) for k, v in ready_per_site.items()}


def _rct_groups(ctx, s, study, config, ready_per_site: dict[str, int]) -> int:
    """Plan enough RCT groups per site for half of its ready participants, starting in waves."""
    count = 0
    for site in config.site_codes:
        expected_int = ready_per_site.get(site, 0) / 2
        # Leave room (10 % and two places a group) so that no wave overflows max_size.
        n_groups = max(1, math.ceil(expected_int * 1.1 / (config.groups.max_size - 2)))
        leaders = ctx.leaders[site]
        for g in range(n_groups):
            start = FIRST_RCT_GROUP + dt.timedelta(weeks=int(round(g * 22 / n_groups)) + 3)
            pair = [leaders[(2 * g) % len(leaders)], leaders[(2 * g + 1) % len(leaders)]]
            code = f"{site}-R{g + 1:02d}"
            create_group(s, study, code, site, start, pair, phase="rct")
            ctx.rct_groups.setdefault(site, []).append(code)
            count += 1
    return count
