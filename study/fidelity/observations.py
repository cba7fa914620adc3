"""Observations of group sessions: validated, then written in the caller's unit of work.

A coordinator observes one session of a group and rates every component of that week's
session in the manual 2 (fully) / 1 (partially) / 0 (not) / ``None`` (not applicable), rates
the competence items on the manual's scale (1–5), and notes the minutes, the number of
participants present and free text. Two observers may rate the same session independently
(double coding, for inter-rater reliability); the same observer twice is refused.

:func:`check_observation` returns every problem at once (the CSV import maps them to rows);
:func:`record_observation` raises on any problem, so nothing is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from study.bulk_write import RowUpdate, insert_rows, update_rows
from study.db.models import (
    CompetenceRating,
    ComponentRating,
    CourseGroup,
    FidelityObservation,
    GroupSession,
    Site,
    Study,
)
from study.errors import BadInput, NotAllowed
from study.fidelity.manual import COMPONENT_SCORES, Manual
from study.fidelity.session_dates import group_window
from study.fidelity.versions import group_manual
from study.studies import config_of

__all__ = [
    "ObservationInput",
    "ObservationProblem",
    "ObservationTarget",
    "SESSION_FIELDS",
    "check_observation",
    "record_observation",
    "write_observation",
    "write_observations",
]

#: Fields of an observation besides its ratings (also the ``session`` items of the CSV).
SESSION_FIELDS: tuple[str, ...] = ("minutes", "participants_present", "notes")
MAX_MINUTES = 600


@dataclass(frozen=True)
class ObservationInput:
    """One observer's observation of one group session (what the form or a CSV holds).

    ``components`` maps component id → 2, 1, 0 or ``None`` (not applicable) and must rate
    every component of the week's session. ``competence`` maps competence item id → rating on
    the manual's scale; an item the observer could not judge is left out.
    """

    group: str
    week: int
    observer: str
    observed_on: dt.date
    components: Mapping[str, int | None]
    competence: Mapping[str, int] = field(default_factory=dict)
    minutes: int | None = None
    participants_present: int | None = None
    notes: str | None = None


@dataclass(frozen=True)
class ObservationProblem:
    """Why an observation cannot be stored. ``field`` is ``group``, ``week``, ``observer``,
    ``observed_on``, a session field, ``component:<id>`` or ``competence:<id>``; ``refused``
    marks a permission problem (observing another site) rather than bad data."""

    field: str
    value: object
    reason: str
    refused: bool = False

    def __str__(self) -> str:
        return f"{self.field} = {self.value!r}: {self.reason}"


@dataclass
class ObservationTarget:
    """What a checked observation refers to: the group, its session, the manual version it is
    scored against and an existing observation by the same observer (to correct)."""

    group: CourseGroup
    group_session: GroupSession | None = None
    manual: Manual | None = None
    version: str | None = None
    existing: FidelityObservation | None = None


def check_observation(
    session: Session,
    study: Study,
    obs: ObservationInput,
    actor: str,
    restrict_to_site: str | None = None,
    replace: bool = False,
    today: dt.date | None = None,
) -> tuple[list[ObservationProblem], ObservationTarget | None]:
    """Every problem of ``obs`` (empty list when it can be stored) and what it refers to.

    ``restrict_to_site`` is the site code of a coordinator who may observe only their own
    site (the dashboard passes its user's site; ``None`` for unrestricted users).
    ``replace`` allows an existing observation by the same observer of the same session to be
    corrected (the import does that); otherwise it is a duplicate.
    """
    problems: list[ObservationProblem] = []
    add = lambda f, v, r, refused=False: problems.append(ObservationProblem(f, v, r, refused))  # noqa: E731
    today = today or dt.date.today()

    group = session.scalar(
        select(CourseGroup).where(CourseGroup.study_id == study.id, CourseGroup.code == obs.group)
    )
    if group is None:
        add("group", obs.group, f"no group {obs.group!r} in study {study.code}")
        return problems, None
    target = ObservationTarget(group)
    if restrict_to_site is not None:
        site_code = session.get_one(Site, group.site_id).code
        if site_code != restrict_to_site:
            add(
                "group",
                obs.group,
                f"group {group.code} is at site {site_code}; you may observe only groups at "
                f"{restrict_to_site}",
                refused=True,
            )
    try:
        manual, version = group_manual(session, study, group, actor)
    except (BadInput, NotAllowed) as exc:
        add("group", obs.group, str(exc), refused=isinstance(exc, NotAllowed))
        return problems, target
    target.manual, target.version = manual, version.version

    observer = (obs.observer or "").strip()
    if not observer:
        add("observer", obs.observer, "an observer is required")
    elif len(observer) > 255:
        add("observer", obs.observer, "at most 255 characters")
    if not isinstance(obs.observed_on, dt.date):
        add("observed_on", obs.observed_on, "must be a date (YYYY-MM-DD)")
    elif obs.observed_on > today:
        add("observed_on", obs.observed_on, f"is in the future (today is {today})")
    elif obs.observed_on < group.start_date:
        add("observed_on", obs.observed_on, f"is before group {group.code} started ({group.start_date})")
    elif not group_window(group.start_date, manual.weeks).contains(obs.observed_on):
        add(
            "observed_on",
            obs.observed_on,
            f"outside the dates of group {group.code} ({group_window(group.start_date, manual.weeks)})",
        )

    week_ok = isinstance(obs.week, int) and not isinstance(obs.week, bool) and 1 <= obs.week <= manual.weeks
    if not week_ok:
        add("week", obs.week, f"must be a week of the course, 1–{manual.weeks}")
    else:
        target.group_session = session.scalar(
            select(GroupSession).where(GroupSession.group_id == group.id, GroupSession.week == obs.week)
        )
        if target.group_session is None:
            add("week", obs.week, f"group {group.code} has no session in week {obs.week}")
        elif target.group_session.cancelled:
            add("week", obs.week, f"the week-{obs.week} session of {group.code} was cancelled")
        _check_components(manual, obs, add)
    _check_competence(manual, obs, add)
    _check_session_fields(study, obs, add)

    if target.group_session is not None and observer:
        target.existing = session.scalar(
            select(FidelityObservation).where(
                FidelityObservation.session_id == target.group_session.id,
                FidelityObservation.observer == observer,
            )
        )
        if target.existing is not None and not replace:
            add(
                "observer",
                observer,
                f"{observer} already observed the week-{obs.week} session of {group.code} "
                f"(on {target.existing.observed_on}); the same observer cannot score a session "
                "twice (a second observer may)",
            )
    return problems, target


def _check_components(manual: Manual, obs: ObservationInput, add) -> None:
    week_ids = [c.id for c in manual.session(obs.week).components]
    week_of = {c.id: s.week for s in manual.sessions for c in s.components}
    for component, score in obs.components.items():
        key = f"component:{component}"
        if component not in week_of:
            add(key, component, f"not a component of manual {manual.id} version {manual.version}")
        elif week_of[component] != obs.week:
            add(key, component, f"belongs to week {week_of[component]}, not to the week-{obs.week} session")
        if score is not None and (isinstance(score, bool) or score not in COMPONENT_SCORES):
            add(key, score, "must be 2 (fully), 1 (partially), 0 (not) or NA (not applicable)")
    for component in week_ids:
        if component not in obs.components:
            add(
                f"component:{component}",
                "",
                f"component {component} of week {obs.week} is not rated (give 2, 1, 0 or NA)",
            )


def _check_competence(manual: Manual, obs: ObservationInput, add) -> None:
    scale = manual.competence.scale
    for item, score in obs.competence.items():
        key = f"competence:{item}"
        if item not in manual.competence_ids:
            add(key, item, f"not a competence item of the manual ({', '.join(manual.competence_ids)})")
        if isinstance(score, bool) or not isinstance(score, int) or not scale.min <= score <= scale.max:
            add(key, score, f"must be a whole number from {scale.min} to {scale.max}")


def _check_session_fields(study: Study, obs: ObservationInput, add) -> None:
    if obs.minutes is not None and (
        isinstance(obs.minutes, bool)
        or not isinstance(obs.minutes, int)
        or not 0 <= obs.minutes <= MAX_MINUTES
    ):
        add("minutes", obs.minutes, f"must be a whole number of minutes from 0 to {MAX_MINUTES}")
    max_size = config_of(study).groups.max_size
    present = obs.participants_present
    if present is not None and (
        isinstance(present, bool) or not isinstance(present, int) or not 0 <= present <= max_size
    ):
        add("participants_present", present, f"must be a whole number from 0 to {max_size} (groups.max_size)")


def record_observation(
    session: Session,
    study: Study,
    obs: ObservationInput,
    actor: str,
    restrict_to_site: str | None = None,
    replace: bool = False,
    today: dt.date | None = None,
) -> FidelityObservation:
    """Validate and store one observation in the caller's unit of work.

    With ``replace=True`` an existing observation of the same session by the same observer is
    corrected in place (each changed value an audited update); an unchanged one is left alone.

    Raises
    ------
    NotAllowed
        The observer is restricted to another site, or the group runs a manual version the
        locked RCT does not allow.
    BadInput
        Any other problem; the message lists every problem found.
    """
    problems, target = check_observation(session, study, obs, actor, restrict_to_site, replace, today)
    if problems:
        where = f"observation of {obs.group} week {obs.week} by {obs.observer}"
        message = f"{where}: " + "; ".join(str(p) for p in problems)
        raise (NotAllowed if any(p.refused for p in problems) else BadInput)(message)
    # cannot be None: check_observation gives no target only together with a problem
    assert target is not None
    row, _status = write_observation(session, study, obs, target)
    return row


def write_observation(
    session: Session, study: Study, obs: ObservationInput, target: ObservationTarget
) -> tuple[FidelityObservation, str]:
    """Insert or correct the observation checked by :func:`check_observation` (no checks).

    Returns the row and what happened: ``created``, ``corrected`` or ``unchanged``.
    """
    row = target.existing
    values = _values(obs, target)
    changed = row is None
    if row is None:
        # cannot be None: a missing session is a problem of check_observation, which stops first
        assert target.group_session is not None
        row = FidelityObservation(
            study_id=study.id,
            group_id=target.group.id,
            session_id=target.group_session.id,
            week=obs.week,
            observer=obs.observer.strip(),
            **values,
        )
        session.add(row)
    else:
        for key, value in values.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
                changed = True
    changed |= _sync(row.components, ComponentRating, "component", obs.components, study.id)
    changed |= _sync(row.competences, CompetenceRating, "item", obs.competence, study.id)
    session.flush()
    status = "created" if target.existing is None else ("corrected" if changed else "unchanged")
    return row, status


#: The rating models and the column naming what each rates.
_RATED: dict[type[ComponentRating] | type[CompetenceRating], str] = {
    ComponentRating: "component",
    CompetenceRating: "item",
}


def _values(obs: ObservationInput, target: ObservationTarget) -> dict[str, Any]:
    """The fields of an observation's row that an import or the form may correct."""
    return dict(
        observed_on=obs.observed_on,
        manual_version=target.version,
        minutes=obs.minutes,
        participants_present=obs.participants_present,
        notes=(obs.notes or "").strip() or None,
    )


def write_observations(
    session: Session, study: Study, checked: Sequence[tuple[ObservationInput, ObservationTarget]]
) -> list[str]:
    """:func:`write_observation` of many observations in audited bulk writes
    (:mod:`study.bulk_write`: the same audit events as the ORM); ratings an observation no
    longer has are deleted through the ORM (rare, audited by the flush capture).

    Returns what happened to each: ``created``, ``corrected`` or ``unchanged``.
    """
    stored = _stored_ratings(session, [t.existing.id for _, t in checked if t.existing is not None])
    new_rows: list[dict[str, Any]] = []
    updates: list[RowUpdate] = []
    for obs, target in checked:
        values = _values(obs, target)
        if target.existing is None:
            # cannot be None: a missing session is a problem of check_observation, which stops first
            assert target.group_session is not None
            new_rows.append(
                dict(
                    study_id=study.id,
                    group_id=target.group.id,
                    session_id=target.group_session.id,
                    week=obs.week,
                    observer=obs.observer.strip(),
                    **values,
                )
            )
            continue
        old = {k: getattr(target.existing, k) for k in values}
        new = {k: v for k, v in values.items() if old[k] != v}
        if new:
            updates.append(RowUpdate(target.existing.id, {k: old[k] for k in new}, new, study.id, None))
    new_ids = iter(insert_rows(session, FidelityObservation, new_rows))
    update_rows(session, FidelityObservation, updates)
    statuses = []
    changes = {model: _RatingChanges(rated) for model, rated in _RATED.items()}
    updated = {u.key for u in updates}
    for obs, target in checked:
        observation_id = next(new_ids) if target.existing is None else target.existing.id
        changed = target.existing is None or observation_id in updated
        for model, wanted in ((ComponentRating, obs.components), (CompetenceRating, obs.competence)):
            changed |= changes[model].sync(
                study.id, observation_id, wanted, stored[model].get(observation_id, {})
            )
        statuses.append("created" if target.existing is None else ("corrected" if changed else "unchanged"))
    for model, change in changes.items():
        for rating_id in change.deleted:
            session.delete(session.get_one(model, rating_id))  # audited by the flush capture
        insert_rows(session, model, change.new_rows)
        update_rows(session, model, change.updates)
    session.flush()
    return statuses


def _stored_ratings(
    session: Session, observation_ids: list[int]
) -> dict[type, dict[int, dict[str, tuple[int, int | None]]]]:
    """The ratings of stored observations: model -> observation id -> rated -> (id, score)."""
    out: dict[type, dict[int, dict[str, tuple[int, int | None]]]] = {}
    for model, rated in _RATED.items():
        table = model.__table__
        by_observation: dict[int, dict[str, tuple[int, int | None]]] = {}
        if observation_ids:
            for r in session.execute(
                select(table.c.id, table.c.observation_id, table.c[rated], table.c.score).where(
                    table.c.observation_id.in_(observation_ids)
                )
            ):
                by_observation.setdefault(r.observation_id, {})[r[2]] = (r.id, r.score)
        out[model] = by_observation
    return out


@dataclass
class _RatingChanges:
    """The rating rows of one model (``rated``: its column naming what is rated) to insert,
    update and delete for a batch of observations."""

    rated: str
    new_rows: list[dict[str, Any]] = field(default_factory=list)
    updates: list[RowUpdate] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)

    def sync(
        self,
        study_id: int,
        observation_id: int,
        wanted: Mapping[str, int | None],
        stored: Mapping[str, tuple[int, int | None]],
    ) -> bool:
        """Add the changes that make one observation's ratings equal ``wanted`` (what
        :func:`_sync` does through the ORM); whether there are any."""
        changed = False
        for name, score in wanted.items():
            if name not in stored:
                self.new_rows.append(
                    {"study_id": study_id, "observation_id": observation_id, self.rated: name, "score": score}
                )
                changed = True
            elif stored[name][1] != score:
                rating_id, old = stored[name]
                self.updates.append(RowUpdate(rating_id, {"score": old}, {"score": score}, study_id, None))
                changed = True
        gone = [rating_id for name, (rating_id, _) in stored.items() if name not in wanted]
        self.deleted += gone
        return changed or bool(gone)


def _sync(rows: list, model, key: str, wanted: Mapping[str, int | None], study_id: int) -> bool:
    """Make the rating rows equal ``wanted``, touching only what differs (audited changes);
    whether anything changed."""
    changed = False
    by_key = {getattr(r, key): r for r in rows}
    for name, score in wanted.items():
        row = by_key.pop(name, None)
        if row is None:
            rows.append(model(study_id=study_id, **{key: name, "score": score}))
            changed = True
        elif row.score != score:
            row.score = score
            changed = True
    for row in by_key.values():
        rows.remove(row)  # delete-orphan: an audited delete
        changed = True
    return changed
