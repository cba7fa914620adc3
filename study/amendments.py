"""Amendments of a running study's configuration (``study.yaml``), as a protocol amendment.

A study's configuration is stored with it when it is created (:func:`study.studies.create_study`).
Trials amend their protocol: a site joins, a target or a planned date moves, an eligibility
rule is clarified. What the data already depend on must not move under them, so an amendment
is refused (``NotAllowed`` naming the key) when it would

- change the study code;
- remove (or re-code) a site that has people, groups or users;
- change arms, the control arm, stratification or the randomisation once anybody is
  allocated (the allocation sequence was generated for them);
- change the outcomes once the RCT has started (they are pre-specified: switching outcomes
  after seeing data is the classic way to bias a trial);
- remove a phase that has started;
- remove a timepoint, or an instrument of a timepoint, that already has responses.

Everything else may change. The new YAML replaces the stored one in one audited update
(old and new text in the audit trail, with the reason), and the sites and phases tables follow
it (names, targets, planned dates; new sites and phases are added).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from study.config import StudyConfig, parse_config
from study.db.models import (
    Allocation,
    CourseGroup,
    Person,
    QuestionnaireResponse,
    Site,
    Study,
    StudyPhase,
    User,
)
from study.errors import BadInput, NotAllowed
from study.studies import config_of

__all__ = ["Amendment", "amend_config", "changed_sections"]

#: Sections fixed once the first participant is allocated.
LOCKED_AT_ALLOCATION = ("arms", "control_arm", "stratification", "randomisation")
#: Sections fixed from the start of the RCT.
LOCKED_AT_RCT = ("outcomes",)


@dataclass(frozen=True)
class Amendment:
    """What an amendment changed: the top-level sections of ``study.yaml`` that differ, and
    the sites and phases added."""

    sections: tuple[str, ...]
    sites_added: tuple[str, ...]
    phases_added: tuple[str, ...]


def changed_sections(old: StudyConfig, new: StudyConfig) -> list[str]:
    """Top-level sections whose validated content differs (formatting and comments aside).

    >>> from study.config import example_config_path, load_config
    >>> config = load_config(example_config_path())
    >>> moved = config.model_copy(update={"instruments": config.instruments[:-1]})
    >>> changed_sections(config, moved)
    ['instruments']
    """
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    return [name for name in type(new).model_fields if before.get(name) != after.get(name)]


def _refuse_locked(
    session: Session, study: Study, old: StudyConfig, new: StudyConfig, sections: list[str]
) -> None:
    if new.study.code != old.study.code:
        raise NotAllowed(f"study.code: the study code {old.study.code} cannot change")
    allocated = session.scalar(
        select(func.count()).select_from(Allocation).where(Allocation.study_id == study.id)
    )
    for section in LOCKED_AT_ALLOCATION:
        if section in sections and allocated:
            raise NotAllowed(
                f"{section}: fixed since the first allocation ({allocated} participants allocated); "
                "the allocation sequence was generated for it"
            )
    if "factor_levels" in sections and allocated:
        # Stored values and strata keys use the level codes: levels and synonyms may be added,
        # none removed or renamed.
        for factor, levels in old.factor_levels.items():
            kept = {level.code for level in new.factor_levels.get(factor, [])}
            gone = [level.code for level in levels if level.code not in kept]
            if gone:
                raise NotAllowed(
                    f"factor_levels: level(s) {', '.join(gone)} of {factor} are in use since the first "
                    "allocation; levels and synonyms may only be added"
                )
    for section in LOCKED_AT_RCT:
        if section in sections and study.current_phase in ("rct", "analysis"):
            raise NotAllowed(
                f"{section}: pre-specified, fixed from the start of the RCT (the study is in the "
                f"{study.current_phase} phase)"
            )
    kept_sites = {s.code for s in new.sites}
    for site in session.scalars(select(Site).where(Site.study_id == study.id)):
        if site.code not in kept_sites:
            for what, model in (("people", Person), ("groups", CourseGroup), ("users", User)):
                n = session.scalar(select(func.count()).select_from(model).where(model.site_id == site.id))
                if n:
                    raise NotAllowed(f"sites: site {site.code} has {n} {what} and cannot be removed")
    kept_phases = {p.name for p in new.phases}
    for phase in session.scalars(select(StudyPhase).where(StudyPhase.study_id == study.id)):
        if phase.name not in kept_phases and phase.started_at is not None:
            raise NotAllowed(f"phases: the {phase.name} phase has started and cannot be removed")
    planned = {(t.code, i) for t in new.timepoints for i in t.instruments}
    answered = session.execute(
        select(QuestionnaireResponse.timepoint, QuestionnaireResponse.instrument, func.count())
        .where(QuestionnaireResponse.study_id == study.id)
        .group_by(QuestionnaireResponse.timepoint, QuestionnaireResponse.instrument)
    ).all()
    for timepoint, instrument, n in answered:
        if (timepoint, instrument) not in planned:
            raise NotAllowed(
                f"timepoints: {instrument} at {timepoint} has {n} response(s) and cannot be removed"
            )


def _sync_rows(session: Session, study: Study, model, key: str, wanted: dict[str, dict]) -> list[str]:
    """Make the study's rows of ``model`` (keyed by column ``key``) match ``wanted`` (key →
    column values): add missing rows, update changed values (only those, so the audit trail
    lists real changes), delete rows no longer wanted. Returns the keys added, in order."""
    rows = {getattr(r, key): r for r in session.scalars(select(model).where(model.study_id == study.id))}
    added = []
    for code, values in wanted.items():
        row = rows.get(code)
        if row is None:
            session.add(model(study_id=study.id, **{key: code}, **values))
            added.append(code)
            continue
        for column, value in values.items():
            if getattr(row, column) != value:
                setattr(row, column, value)
    for code, row in rows.items():
        if code not in wanted:
            session.delete(row)
    return added


def amend_config(session: Session, study: Study, config_yaml: str, reason: str) -> Amendment:
    """Replace a study's stored configuration by an amended ``study.yaml`` (inside a unit of
    work, so the change is audited with ``reason``).

    Raises ``ConfigError`` (a ``BadInput``) naming the key of an invalid file, ``BadInput``
    without a reason or without any change, ``NotAllowed`` for a change the data forbid (see
    the module docstring); nothing is written then.
    """
    if not reason or not reason.strip():
        raise BadInput("an amendment needs a reason (it is kept in the audit trail)")
    new = parse_config(config_yaml, source="amended study.yaml")
    old = config_of(study)
    sections = changed_sections(old, new)
    if not sections:
        raise BadInput("the amended study.yaml changes nothing in the configuration")
    _refuse_locked(session, study, old, new, sections)

    # Checked above: removed sites have no people, groups or users; removed phases never started.
    added_sites = _sync_rows(
        session,
        study,
        Site,
        "code",
        {cfg.code: {"name": cfg.name, "recruitment_target": cfg.recruitment_target} for cfg in new.sites},
    )
    added_phases = _sync_rows(
        session,
        study,
        StudyPhase,
        "name",
        {cfg.name: {"planned_start": cfg.start, "planned_end": cfg.end} for cfg in new.phases},
    )
    if study.name != new.study.name:
        study.name = new.study.name
    study.config_yaml = config_yaml
    session.flush()
    return Amendment(tuple(sections), tuple(added_sites), tuple(added_phases))
