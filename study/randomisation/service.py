"""Randomisation in the database: checks, locked slots, allocation, verification, disclosure.

Concurrency. Every write runs in :func:`study.db.unit_of_work`, which serialises writers.
:func:`randomise` keeps its critical section short: everything that does not depend on the
slot (the participant, the checks, the stratum, the secret, the concealed list up to the
counter's current value, the minimisation counts so far) is prepared first; then it takes the
writers' lock (:func:`study.db.take_write_lock`; a no-op when the unit of work holds it from
the start) and, in one statement, locks the counter row of the slot's sequence (``SELECT …
FOR UPDATE``; the stratum for blocks and tables, ``*`` for minimisation, whose counts span all
strata), re-reads every fact the preparation used and reads the audit chain's head. Only if
one of them changed meanwhile (or the sequence has no counter yet) is the preparation repeated
under the lock, and the allocation written through the ORM. Otherwise the next position is
taken and the allocation, the counter and their audit events are written in Core statements
(:mod:`study.randomisation.slot`), in the same transaction: the critical section is the lock,
the locked read, one write of the slot, the events' ``COPY`` and the commit, with no ORM flush.
Correctness does not rest on the locks alone: a unique constraint on (study, sequence,
position) and on the person make a shared slot or a double allocation impossible at the
database level even for a writer that skipped them. On SQLite, ``BEGIN IMMEDIATE`` is the
(database-wide) write lock and ``FOR UPDATE`` is not needed.

Concealment. The secret seed (32 bytes from :mod:`secrets`) lives in its own table, is
redacted in the audit trail and never exported. Arms are derived from it on demand, so no
future slot exists anywhere in the database. Only :func:`reveal_sequence` and
:func:`verify_allocations` (trial statistician only, each recorded as an audited disclosure)
regenerate lists.
"""

from __future__ import annotations

__all__ = [
    "AllocationResult",
    "VERIFY_COLUMNS",
    "allocations_frame",
    "check_randomisable",
    "install_secret",
    "load_allocation_table",
    "pending_pseudonyms",
    "randomise",
    "randomise_pending",
    "reveal_sequence",
    "verify_allocations",
]

import dataclasses
import datetime as dt
import functools
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import BindParameter, Select, bindparam, select, true
from sqlalchemy.orm import Session

from study.audit_key import key_path, load_key
from study.config import StudyConfig
from study.db.audit_capture import chain_head_query, checked_chain_head
from study.db.engine import take_write_lock
from study.db.models import (
    Allocation,
    AllocationCounter,
    AllocationDisclosure,
    AllocationTableSlot,
    Enrolment,
    Person,
    PersonAttribute,
    RandomisationSecret,
    Site,
    Study,
    StudyPhase,
    User,
)
from study.errors import BadInput, NotAllowed, NotFound
from study.phase_guard import require_phase
from study.randomisation.minimisation import MinimisationState, minimisation_stream
from study.randomisation.sequence import BlockArms, block_sequence, blocks_stream
from study.randomisation.slot import AllocationRow, write_slot
from study.randomisation.strata import STRATUM_SEPARATOR, parse_stratum, stratum_key
from study.randomisation.stream import secret_from_hex
from study.studies import config_of

if TYPE_CHECKING:
    # pandas (and the table validation built on it) is imported inside the functions that
    # return frames: it is most of `peerstudy randomise`'s start-up cost and randomising one
    # participant does not need it.
    import pandas as pd

#: The sequence key of the study's single minimisation sequence.
MINIMISATION_SEQUENCE = "*"
#: Columns of :func:`verify_allocations`' result.
VERIFY_COLUMNS = [
    "sequence",
    "method",
    "allocated",
    "last_position",
    "counter",
    "skipped",
    "duplicated",
    "mismatched",
    "ok",
]


@dataclass(frozen=True)
class AllocationResult:
    """One randomisation: what the coordinator is told (``line``) and what was stored."""

    pseudonym: str
    arm: str
    stratum: str
    method: str
    sequence_position: int
    allocated_on: dt.date
    group: str | None = None

    @property
    def line(self) -> str:
        """``P0042 INT``: the pseudonym and the arm code (the CLI's output contract)."""
        return f"{self.pseudonym} {self.arm}"


# --- the secret ----------------------------------------------------------------------------
def _secret_row(session: Session, study: Study) -> RandomisationSecret | None:
    return session.scalar(select(RandomisationSecret).where(RandomisationSecret.study_id == study.id))


def _ensure_secret(session: Session, study: Study, actor: str) -> bytes:
    """The study's secret; created (CSPRNG, 256 bits) at its first randomisation."""
    row = _secret_row(session, study)
    if row is None:
        # Lock the study row so that two first randomisations cannot both create a secret.
        _lock_study(session, study)
        row = _secret_row(session, study)
        if row is None:
            row = RandomisationSecret(study_id=study.id, seed=secrets.token_hex(32), created_by=actor)
            session.add(row)
            session.flush()
    return secret_from_hex(row.seed)


def _lock_study(session: Session, study: Study) -> None:
    session.execute(select(Study.id).where(Study.id == study.id).with_for_update())


def install_secret(session: Session, study: Study, secret: bytes, actor: str) -> None:
    """Install a given secret before the first randomisation (the demo derives it from its
    seed so that the demo study is reproducible). A real study lets :func:`randomise` draw
    one from the operating system's CSPRNG instead."""
    if len(secret) < 16:
        raise BadInput("a randomisation secret needs at least 16 bytes")
    if _secret_row(session, study) is not None:
        raise NotAllowed(f"study {study.code} already has a randomisation secret; it cannot be replaced")
    session.add(RandomisationSecret(study_id=study.id, seed=secret.hex(), created_by=actor))
    session.flush()


# --- checks ----------------------------------------------------------------------------
def _rct_started(study: Study) -> dt.date | None:
    started = next((p.started_at for p in study.phases if p.name == "rct"), None)
    return started.date() if started else None


def _refuse_unless_randomisable(
    who: str,
    role: str,
    enrolment: _EnrolmentFacts | None,
    allocated_on: dt.date | None,
    rct_started: dt.date | None,
    on: dt.date,
    today: dt.date | None,
) -> None:
    """The participant-level checks of :func:`check_randomisable` on facts already read."""
    if role != "participant":
        raise BadInput(f"{who} is a {role}; only participants are randomised")
    if enrolment is None:
        raise BadInput(f"{who} has not been screened; screen and enrol before randomisation")
    if enrolment.phase != "rct":
        raise BadInput(f"{who} is a {enrolment.phase} participant; only RCT participants are randomised")
    if not enrolment.eligible:
        reasons = "; ".join(json.loads(enrolment.ineligibility_reasons or "[]")) or "ineligible"
        raise BadInput(f"{who} is not eligible ({reasons})")
    if enrolment.consent_on is None:
        raise BadInput(f"{who} has not consented; consent is required before randomisation")
    if enrolment.withdrawn_on is not None:
        raise BadInput(f"{who} withdrew on {enrolment.withdrawn_on}")
    if allocated_on is not None:
        raise BadInput(f"{who} was already randomised on {allocated_on}")
    today = today or dt.date.today()
    if on > today:
        raise BadInput(f"allocation date {on} is in the future")
    if on < enrolment.consent_on:
        raise BadInput(f"{who}: allocation date {on} is before consent ({enrolment.consent_on})")
    if rct_started is not None and on < rct_started:
        raise BadInput(f"allocation date {on} is before the RCT phase started ({rct_started})")


@dataclass(frozen=True)
class _EnrolmentFacts:
    """The enrolment fields randomisation depends on."""

    phase: str
    eligible: bool
    ineligibility_reasons: str | None
    consent_on: dt.date | None
    withdrawn_on: dt.date | None


def check_randomisable(
    session: Session, study: Study, person: Person, on: dt.date, today: dt.date | None = None
) -> Enrolment:
    """Raise unless ``person`` may be randomised on ``on``; return their enrolment.

    Refused (``NotAllowed``): the study is not in the rct phase. Refused (``BadInput``): not a
    participant, never screened, enrolled in the pilot, ineligible, not consented (or consent
    after ``on``), withdrawn, already allocated, a date in the future or before the RCT began.
    """
    require_phase(study, "rct", action="randomisation")
    found = session.execute(
        select(Enrolment, Allocation.allocated_on)
        .outerjoin(Allocation, Allocation.person_id == Enrolment.person_id)
        .where(Enrolment.person_id == person.id)
    ).first()
    enrolment, allocated_on = found if found is not None else (None, None)
    facts = (
        None
        if enrolment is None
        else _EnrolmentFacts(
            enrolment.phase,
            enrolment.eligible,
            enrolment.ineligibility_reasons,
            enrolment.consent_on,
            enrolment.withdrawn_on,
        )
    )
    _refuse_unless_randomisable(
        person.pseudonym, person.role, facts, allocated_on, _rct_started(study), on, today
    )
    assert enrolment is not None  # refused above: nobody without an enrolment is randomisable
    return enrolment


# --- preparing (outside the critical section) -------------------------------------------
@dataclass(frozen=True)
class _Prepared:
    """Everything one allocation needs except its slot, read before the writers' lock.

    ``facts`` are the values the checks and the stratum rest on, in the order
    :func:`_lock_counter_if_unchanged` re-reads them under the lock.
    """

    person_id: int
    pseudonym: str
    stratum: str
    sequence: str
    levels: dict[str, str]
    secret: bytes | None
    facts: tuple[Any, ...]
    minimisation: _MinimisationCounts | None
    audit_key: bytes


def _enrolment_columns() -> list[Any]:
    return [Enrolment.phase, Enrolment.eligible, Enrolment.consent_on, Enrolment.withdrawn_on]


def _prepare(
    session: Session,
    study: Study,
    config: StudyConfig,
    pseudonym: str,
    on: dt.date,
    today: dt.date | None,
) -> _Prepared:
    """Check ``pseudonym`` and work out their stratum and sequence in one query (two for
    minimisation); raises like :func:`check_randomisable` and ``NotFound``. Takes no lock."""
    require_phase(study, "rct", action="randomisation")
    rnd = config.randomisation
    # Stored pseudonyms are trimmed and upper-case (study.imports.normalise_pseudonym; not
    # imported here because the import kit loads pandas).
    wanted = (pseudonym or "").strip().upper()
    conn = session.connection()
    row = conn.execute(
        _participant_query(tuple(rnd.factors)), {"study_id": study.id, "pseudonym": wanted}
    ).first()
    if row is None:
        raise NotFound(f"unknown pseudonym {pseudonym!r} in study {study.code}")
    (
        person_id,
        who,
        role,
        site_id,
        site,
        enrolment_id,
        phase,
        eligible,
        consent_on,
        withdrawn_on,
        reasons,
        allocated_on,
        started,
        seed_hex,
        peek,
        *values,
    ) = row
    enrolment = (
        None if enrolment_id is None else _EnrolmentFacts(phase, eligible, reasons, consent_on, withdrawn_on)
    )
    _refuse_unless_randomisable(
        who, role, enrolment, allocated_on, started.date() if started else None, on, today
    )
    attributes = dict(zip(rnd.factors, values))
    missing = [f for f in rnd.factors if not attributes.get(f)]
    if missing:
        raise BadInput(f"{who} has no {', '.join(missing)} recorded (a stratification factor)")
    levels = {"site": site, **{f: attributes[f] for f in rnd.factors}}
    stratum = stratum_key(site, rnd.factors, levels)
    sequence = MINIMISATION_SEQUENCE if rnd.method == "minimisation" else stratum
    secret = secret_from_hex(seed_hex) if seed_hex is not None else None
    minimisation = None
    if rnd.method == "minimisation":
        # The counts of the allocations committed so far; the few made while this one waits
        # for the lock are added under it (_minimisation_state_for).
        minimisation = _count_minimisation(session, study, config)
    elif rnd.method == "blocks" and secret is not None:
        # Generate the concealed list up to the slots in use now, outside the lock.
        _block_arms(secret, stratum, config).arm((peek or 0) + 1)
    facts = (
        study.current_phase,
        site_id,
        phase,
        eligible,
        consent_on,
        withdrawn_on,
        *(attributes[f] for f in rnd.factors),
    )
    audit_key = load_key(key_path(session.get_bind()))
    return _Prepared(person_id, who, stratum, sequence, levels, secret, facts, minimisation, audit_key)


# The statements of one allocation are built once per process with bound parameters:
# SQLAlchemy then reuses their cache keys and compiled SQL (and psycopg its prepared
# statements) instead of rebuilding them for every participant.
@functools.cache
def _participant_query(factors: tuple[str, ...]) -> Select:
    """The participant's role, site, enrolment, allocation, the RCT start, the secret, the
    counter of their stratum (unlocked: only to prepare the concealed list of blocks) and the
    values of the stratification ``factors``."""
    study_id: BindParameter[int] = bindparam("study_id")
    rct_started = (
        select(StudyPhase.started_at)
        .where(StudyPhase.study_id == study_id, StudyPhase.name == "rct")
        .scalar_subquery()
    )
    seed = select(RandomisationSecret.seed).where(RandomisationSecret.study_id == study_id).scalar_subquery()
    values = [_attribute_value(Person.id, factor) for factor in factors]
    stratum = Site.code  # as stratum_key joins the levels (a value with "|" is refused there)
    for value in values:
        stratum = stratum + STRATUM_SEPARATOR + value
    peek = (
        select(AllocationCounter.allocated)
        .where(AllocationCounter.study_id == study_id, AllocationCounter.stratum == stratum)
        .correlate_except(AllocationCounter)
        .scalar_subquery()
    )
    return (
        select(
            Person.id,
            Person.pseudonym,
            Person.role,
            Person.site_id,
            Site.code,
            Enrolment.id,
            *_enrolment_columns(),
            Enrolment.ineligibility_reasons,
            Allocation.allocated_on,
            rct_started,
            seed,
            peek,
            *values,
        )
        .join(Site, Site.id == Person.site_id)
        .outerjoin(Enrolment, Enrolment.person_id == Person.id)
        .outerjoin(Allocation, Allocation.person_id == Person.id)
        .where(Person.study_id == study_id, Person.pseudonym == bindparam("pseudonym"))
    )


def _attribute_value(person: Any, factor: str) -> Any:
    """The value of the person's attribute ``factor`` (a scalar subquery)."""
    return (
        select(PersonAttribute.value)
        .where(PersonAttribute.person_id == person, PersonAttribute.name == factor)
        .correlate_except(PersonAttribute)  # to the person of the outermost query
        .scalar_subquery()
    )


@functools.cache
def _recheck_query(factors: tuple[str, ...]) -> Select:
    """The counter row of a sequence, locked, with whether the person is allocated, the
    facts of :attr:`_Prepared.facts` as they are now and the audit chain's head (its
    :func:`~study.db.audit_capture.chain_head_query` columns, null for an empty chain).

    Run only after the writers' lock was taken, in a statement of its own: its snapshot then
    holds every event of the writers before (the head is extended by :func:`write_slot`)."""
    person: BindParameter[int] = bindparam("person_id")
    current = [
        select(Study.current_phase).where(Study.id == bindparam("study_id")).scalar_subquery(),
        select(Person.site_id).where(Person.id == person).scalar_subquery(),
    ]
    current += [
        select(column).where(Enrolment.person_id == person).scalar_subquery()
        for column in _enrolment_columns()
    ]
    current += [_attribute_value(person, factor) for factor in factors]
    taken = select(Allocation.id).where(Allocation.person_id == person).exists()
    head = chain_head_query().subquery("chain_head")
    return (
        select(AllocationCounter.id, AllocationCounter.allocated, taken, *current, *head.c)
        .select_from(AllocationCounter)
        .outerjoin(head, true())
        .where(
            AllocationCounter.study_id == bindparam("study_id"),
            AllocationCounter.stratum == bindparam("sequence"),
        )
        .with_for_update(of=AllocationCounter)
    )


@functools.lru_cache(maxsize=64)
def _block_arms_cached(
    secret: bytes, stratum: str, ratios: tuple[tuple[str, int], ...], block_sizes: tuple[int, ...]
) -> BlockArms:
    return BlockArms(blocks_stream(secret, stratum), dict(ratios), block_sizes)


def _block_arms(secret: bytes, stratum: str, config: StudyConfig) -> BlockArms:
    """The stratum's concealed block list, kept for this process (the secret is in memory
    for every allocation anyway; the list is derived from it and never stored)."""
    return _block_arms_cached(
        secret, stratum, tuple(config.arm_ratios.items()), tuple(config.randomisation.block_sizes)
    )


# --- slots -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _LockedCounter:
    """A sequence's counter row, locked, and the audit chain's head, read in one statement."""

    counter_id: int
    allocated: int
    head: tuple[int, str]


def _lock_counter_if_unchanged(
    session: Session, study: Study, config: StudyConfig, prepared: _Prepared
) -> _LockedCounter | None:
    """Lock the counter row of the prepared sequence, re-read the prepared facts and read the
    audit chain's head, in one statement. ``None`` when the sequence has no counter yet or a
    fact changed since :func:`_prepare` (the caller then prepares again under the lock)."""
    factors = tuple(config.randomisation.factors)
    row = (
        session.connection()
        .execute(
            _recheck_query(factors),
            {"study_id": study.id, "sequence": prepared.sequence, "person_id": prepared.person_id},
        )
        .first()
    )
    if row is None or row[2]:
        return None
    facts_end = 3 + len(prepared.facts)
    if tuple(row[3:facts_end]) != prepared.facts:
        return None
    names = [c.name for c in chain_head_query().selected_columns]
    head = dict(zip(names, row[facts_end:]))
    return _LockedCounter(
        row[0], row[1], checked_chain_head(None if head["seq"] is None else head, prepared.audit_key)
    )


def _lock_counter(session: Session, study: Study, sequence: str) -> AllocationCounter:
    """The counter row of ``sequence``, locked for the rest of the transaction."""
    query = (
        select(AllocationCounter)
        .where(AllocationCounter.study_id == study.id, AllocationCounter.stratum == sequence)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    counter = session.scalars(query).one_or_none()
    if counter is None:
        # First slot of this sequence: serialise creators on the study row, then look again.
        _lock_study(session, study)
        counter = session.scalars(query).one_or_none()
        if counter is None:
            counter = AllocationCounter(study_id=study.id, stratum=sequence, allocated=0)
            session.add(counter)
            session.flush()
    return counter


def _new_minimisation_state(config: StudyConfig) -> MinimisationState:
    rnd = config.randomisation
    return MinimisationState(
        ratios=config.arm_ratios,
        factors=rnd.minimisation_factors,
        weights=rnd.factor_weights,
        preferred_probability=rnd.preferred_arm_probability,
    )


@dataclass
class _MinimisationCounts:
    """Minimisation counts of the study's slots ``1..through``."""

    state: MinimisationState
    through: int = 0


def _count_minimisation(
    session: Session, study: Study, config: StudyConfig, counts: _MinimisationCounts | None = None
) -> _MinimisationCounts:
    """``counts`` (new when ``None``) brought up to date with the minimisation allocations
    in later slots, as far as their positions follow without a gap."""
    factors = config.randomisation.factors
    counts = counts or _MinimisationCounts(_new_minimisation_state(config))
    rows = session.execute(
        select(Allocation.stratum, Allocation.arm, Allocation.sequence_position)
        .where(
            Allocation.study_id == study.id,
            Allocation.method == "minimisation",
            Allocation.sequence_position > counts.through,
        )
        .order_by(Allocation.sequence_position)
    ).all()
    for stratum, arm, position in rows:
        if position != counts.through + 1:
            break
        counts.state.add(parse_stratum(stratum, factors), arm)
        counts.through = position
    return counts


def _minimisation_state_for(
    session: Session, study: Study, config: StudyConfig, prepared: _Prepared, position: int
) -> MinimisationState:
    """The counts every allocation before slot ``position`` contributes (under the lock):
    the prepared counts plus the allocations made since."""
    counts = prepared.minimisation
    if counts is not None and counts.through < position:
        counts = _count_minimisation(session, study, config, counts)
    if counts is None or counts.through != position - 1:
        # Not the slots 1..position-1 (a gap in the stored sequence, which verify reports):
        # count every stored allocation, as a replay from the start would.
        counts = _MinimisationCounts(_new_minimisation_state(config))
        factors = config.randomisation.factors
        for stratum, arm in session.execute(
            select(Allocation.stratum, Allocation.arm)
            .where(Allocation.study_id == study.id, Allocation.method == "minimisation")
            .order_by(Allocation.sequence_position)
        ).all():
            counts.state.add(parse_stratum(stratum, factors), arm)
    return counts.state


def _draw(
    session: Session,
    study: Study,
    config: StudyConfig,
    secret: bytes,
    prepared: _Prepared,
    position: int,
) -> str:
    """The arm of slot ``position`` of the method's sequence (under the lock)."""
    rnd = config.randomisation
    if rnd.method == "blocks":
        return _block_arms(secret, prepared.stratum, config).arm(position)
    if rnd.method == "minimisation":
        state = _minimisation_state_for(session, study, config, prepared, position)
        return state.choose(prepared.levels, minimisation_stream(secret, position))
    slot = session.scalar(
        select(AllocationTableSlot.arm).where(
            AllocationTableSlot.study_id == study.id,
            AllocationTableSlot.stratum == prepared.stratum,
            AllocationTableSlot.position == position,
        )
    )
    if slot is None:
        raise NotAllowed(
            f"the allocation table has no slot {position} for stratum {prepared.stratum}: "
            "upload a longer table (peerstudy allocation load-table)"
        )
    return slot


# --- randomising -----------------------------------------------------------------------
def randomise(
    session: Session,
    study: Study,
    pseudonym: str,
    actor: str | None = None,
    on: dt.date | None = None,
    place_in_group: bool = True,
    today: dt.date | None = None,
) -> AllocationResult:
    """Allocate one participant to an arm with the study's configured method.

    Parameters
    ----------
    session
        A :func:`~study.db.unit_of_work` session: on any error nothing is written and no slot
        is consumed (the transaction rolls back). With ``lock_at_start=False`` (PostgreSQL)
        the preparation runs before the writers' lock and only the slot is taken under it
        (see the module docstring).
    pseudonym
        The participant.
    actor
        Who randomises (default: the unit of work's actor); stored as ``allocated_by``.
    on
        Date of randomisation (default today): not in the future, not before consent or the
        start of the RCT phase.
    place_in_group
        Place a participant allocated to a non-control arm in the first group of their site
        starting on or after ``on`` with room (see :func:`study.group_placement.place_in_next_group`).
    """
    actor = actor or session.info.get("actor")
    if not actor:
        raise ValueError("randomise needs an actor")
    on = on or dt.date.today()
    config = config_of(study)
    method = config.randomisation.method
    # The preparation reads with Core statements, which do not flush pending ORM changes.
    session.flush()
    prepared = _prepare(session, study, config, pseudonym, on, today)
    # The critical section: from here to the commit.
    take_write_lock(session)
    # The configuration needs no re-check: a sequence has a counter only after its first
    # allocation, from which on amendments refuse to change arms and randomisation.
    secret = prepared.secret
    locked = None if secret is None else _lock_counter_if_unchanged(session, study, config, prepared)
    if locked is not None and secret is not None:
        # Nothing changed: the allocation, the counter and their audit events without the
        # ORM flush (study.randomisation.slot).
        position = locked.allocated + 1
        arm = _draw(session, study, config, secret, prepared, position)
        allocation = _allocation_row(study, prepared, arm, method, position, on, actor)
        write_slot(session, allocation, locked.counter_id, locked.head, prepared.audit_key)
    else:
        # A new sequence (or a first allocation, which creates the secret), or the participant
        # changed while we prepared: again, under the lock, through the ORM.
        session.refresh(study)
        config = config_of(study)
        method = config.randomisation.method
        prepared = _prepare(session, study, config, pseudonym, on, today)
        counter = _lock_counter(session, study, prepared.sequence)
        secret = prepared.secret or _ensure_secret(session, study, actor)
        position = counter.allocated + 1
        arm = _draw(session, study, config, secret, prepared, position)
        row = _allocation_row(study, prepared, arm, method, position, on, actor)
        session.add(Allocation(**dataclasses.asdict(row)))
        counter.allocated = position
        session.flush()
    group = None
    if place_in_group and arm != config.control_arm:
        from study.group_placement import place_in_next_group

        person = session.get_one(Person, prepared.person_id)
        placed = place_in_next_group(session, study, person, on)
        group = placed.code if placed is not None else None
    return AllocationResult(prepared.pseudonym, arm, prepared.stratum, method, position, on, group)


def _allocation_row(
    study: Study, prepared: _Prepared, arm: str, method: str, position: int, on: dt.date, actor: str
) -> AllocationRow:
    """The new allocation's values, written by either path of :func:`randomise`."""
    return AllocationRow(
        study_id=study.id,
        person_id=prepared.person_id,
        arm=arm,
        stratum=prepared.stratum,
        method=method,
        sequence=prepared.sequence,
        sequence_position=position,
        allocated_on=on,
        allocated_by=actor,
    )


def pending_pseudonyms(session: Session, study: Study, on: dt.date | None = None) -> list[str]:
    """RCT participants waiting for randomisation: eligible, consented (on or before ``on``
    when given), not withdrawn, not allocated; in consent-date order."""
    query = (
        select(Person.pseudonym)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .outerjoin(Allocation, Allocation.person_id == Person.id)
        .where(
            Person.study_id == study.id,
            Person.role == "participant",
            Enrolment.phase == "rct",
            Enrolment.eligible.is_(True),
            Enrolment.consent_on.is_not(None),
            Enrolment.withdrawn_on.is_(None),
            Allocation.id.is_(None),
        )
        .order_by(Enrolment.consent_on, Enrolment.screened_on, Person.pseudonym)
    )
    if on is not None:
        query = query.where(Enrolment.consent_on <= on)
    return list(session.scalars(query))


def randomise_pending(
    session: Session,
    study: Study,
    actor: str | None = None,
    on: dt.date | None = None,
    place_in_group: bool = True,
) -> list[AllocationResult]:
    """Randomise every pending participant (:func:`pending_pseudonyms`) in consent order."""
    require_phase(study, "rct", action="randomisation")
    on = on or dt.date.today()
    # A batch: the list of who is waiting must not change before the last of them is
    # allocated, so the writers' lock is taken before reading it.
    take_write_lock(session)
    return [
        randomise(session, study, p, actor=actor, on=on, place_in_group=place_in_group)
        for p in pending_pseudonyms(session, study, on=on)
    ]


# --- reading -------------------------------------------------------------------------
def allocations_frame(session: Session, study: Study) -> pd.DataFrame:
    """Every allocation of the study with its factor levels, in allocation order.

    Columns: ``pseudonym, arm, stratum, method, sequence, sequence_position, allocated_on,
    site`` and one column per configured factor (parsed from the stratum).
    """
    import pandas as pd  # lazily: see the imports at the top

    factors = config_of(study).randomisation.factors
    rows = session.execute(
        select(
            Person.pseudonym,
            Allocation.arm,
            Allocation.stratum,
            Allocation.method,
            Allocation.sequence,
            Allocation.sequence_position,
            Allocation.allocated_on,
        )
        .join(Person, Person.id == Allocation.person_id)
        .where(Allocation.study_id == study.id)
        .order_by(Allocation.id)
    ).all()
    cols = ["pseudonym", "arm", "stratum", "method", "sequence", "sequence_position", "allocated_on"]
    df = pd.DataFrame(rows, columns=cols)
    levels = pd.DataFrame(
        [parse_stratum(s, factors) for s in df["stratum"]], columns=["site", *factors], index=df.index
    )
    return pd.concat([df, levels], axis=1)


# --- the statistician's commands ------------------------------------------------------
def _require_statistician(user: User) -> None:
    if user is None or user.role != "statistician" or not user.active:
        raise NotAllowed("only the trial statistician may see or regenerate the allocation sequence")


def _disclose(session: Session, study: Study, user: User, kind: str, detail: dict) -> None:
    session.add(
        AllocationDisclosure(
            study_id=study.id,
            kind=kind,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
            actor=user.login,
        )
    )
    session.flush()


def _stored_secret(session: Session, study: Study) -> bytes | None:
    row = _secret_row(session, study)
    return secret_from_hex(row.seed) if row is not None else None


def _expected_arms(
    session: Session, study: Study, allocations: pd.DataFrame, secret: bytes | None
) -> pd.Series:
    """The arm each allocation should have, regenerated from the secret (or the table)."""
    import pandas as pd  # lazily: see the imports at the top

    config = config_of(study)
    rnd = config.randomisation
    expected = pd.Series(index=allocations.index, dtype=object)
    if secret is None:
        return expected
    blocks = allocations[allocations["method"] == "blocks"]
    for stratum, part in blocks.groupby("stratum"):
        seq = block_sequence(
            blocks_stream(secret, stratum),
            config.arm_ratios,
            rnd.block_sizes,
            int(part["sequence_position"].max()),
        ).set_index("position")["arm"]
        expected[part.index] = part["sequence_position"].map(seq).to_numpy()
    minim = allocations[allocations["method"] == "minimisation"].sort_values("sequence_position")
    if not minim.empty:
        # Replay in slot order, adding the arm actually stored, so that one mismatch does not
        # cascade into every later comparison.
        state = MinimisationState(
            ratios=config.arm_ratios,
            factors=rnd.minimisation_factors,
            weights=rnd.factor_weights,
            preferred_probability=rnd.preferred_arm_probability,
        )
        for idx, row in minim.iterrows():
            levels = parse_stratum(row["stratum"], rnd.factors)
            expected[idx] = state.choose(levels, minimisation_stream(secret, int(row["sequence_position"])))
            state.add(levels, row["arm"])
    table = allocations[allocations["method"] == "table"]
    if not table.empty:
        slots = pd.DataFrame(
            session.execute(
                select(
                    AllocationTableSlot.stratum, AllocationTableSlot.position, AllocationTableSlot.arm
                ).where(AllocationTableSlot.study_id == study.id)
            ).all(),
            columns=["stratum", "sequence_position", "expected"],
        )
        merged = table.reset_index().merge(slots, on=["stratum", "sequence_position"], how="left")
        expected[merged["index"]] = merged["expected"].to_numpy()
    return expected


def verify_allocations(session: Session, study: Study, statistician: User) -> pd.DataFrame:
    """Regenerate every sequence from the secret and compare it with what was allocated.

    Allowed for the trial statistician only; recorded as an audited disclosure. Shows no
    future slot.

    Returns
    -------
    DataFrame
        One row per sequence (stratum, or ``*`` for minimisation):

        * ``sequence``, ``method``;
        * ``allocated`` – allocations stored;
        * ``last_position`` – highest slot used;
        * ``counter`` – slots the counter says were consumed (must equal ``last_position``);
        * ``skipped`` – slots in 1..``last_position`` without an allocation (must be 0);
        * ``duplicated`` – slots used more than once (must be 0);
        * ``mismatched`` – allocations whose arm differs from the regenerated one (must be 0);
        * ``ok`` – all of the above hold.
    """
    import pandas as pd  # lazily: see the imports at the top

    _require_statistician(statistician)
    allocations = allocations_frame(session, study)
    secret = _stored_secret(session, study)
    allocations["expected"] = _expected_arms(session, study, allocations, secret)
    counters = dict(
        session.execute(
            select(AllocationCounter.stratum, AllocationCounter.allocated).where(
                AllocationCounter.study_id == study.id
            )
        ).all()
    )
    rows = []
    for sequence, part in allocations.groupby("sequence", sort=True):
        positions = part["sequence_position"].astype(int)
        last = int(positions.max())
        rows.append(
            {
                "sequence": sequence,
                "method": ",".join(sorted(part["method"].unique())),
                "allocated": len(part),
                "last_position": last,
                "counter": int(counters.get(sequence, 0)),
                "skipped": last - positions.nunique(),
                "duplicated": int(positions.duplicated().sum()),
                "mismatched": int((part["arm"] != part["expected"]).sum()),
            }
        )
    result = pd.DataFrame(rows, columns=VERIFY_COLUMNS[:-1])
    result["ok"] = (
        (result["counter"] == result["last_position"])
        & (result["skipped"] == 0)
        & (result["duplicated"] == 0)
        & (result["mismatched"] == 0)
    )
    _disclose(
        session,
        study,
        statistician,
        "verify",
        {
            "sequences": len(result),
            "allocations": int(result["allocated"].sum()),
            "ok": bool(result["ok"].all()),
        },
    )
    return result


def reveal_sequence(
    session: Session, study: Study, statistician: User, stratum: str, length: int
) -> pd.DataFrame:
    """The first ``length`` slots of a stratum's concealed list, future slots included.

    Trial statistician only; recorded as an audited disclosure. Minimisation has no list in
    advance (each arm depends on the allocations before it): use :func:`verify_allocations`.

    Returns
    -------
    DataFrame
        ``position, arm, block, block_size, position_in_block, allocated`` (blocks; the
        block columns are empty for a table), where ``allocated`` is the pseudonym holding the
        slot, empty for a future slot.
    """
    import pandas as pd  # lazily: see the imports at the top

    _require_statistician(statistician)
    config = config_of(study)
    rnd = config.randomisation
    if length < 1:
        raise BadInput(f"the number of slots must be at least 1, got {length}")
    _check_stratum(stratum, rnd.factors, config)
    if rnd.method == "minimisation":
        raise BadInput("minimisation has no list in advance; use `peerstudy allocation verify`")
    if rnd.method == "blocks":
        secret = _ensure_secret(session, study, statistician.login)
        slots = block_sequence(blocks_stream(secret, stratum), config.arm_ratios, rnd.block_sizes, length)
    else:
        slots = pd.DataFrame(
            session.execute(
                select(AllocationTableSlot.position, AllocationTableSlot.arm)
                .where(
                    AllocationTableSlot.study_id == study.id,
                    AllocationTableSlot.stratum == stratum,
                    AllocationTableSlot.position <= length,
                )
                .order_by(AllocationTableSlot.position)
            ).all(),
            columns=["position", "arm"],
        )
    taken = session.execute(
        select(Allocation.sequence_position, Person.pseudonym)
        .join(Person, Person.id == Allocation.person_id)
        .where(Allocation.study_id == study.id, Allocation.sequence == stratum)
    ).all()
    slots["allocated"] = slots["position"].map(dict(taken)).fillna("")
    _disclose(session, study, statistician, "sequence", {"stratum": stratum, "slots": int(len(slots))})
    return slots


def _check_stratum(stratum: str, factors: list[str], config: StudyConfig) -> None:
    """``BadInput`` unless ``stratum`` has the study's shape (``SITE|level…``) and site."""
    try:
        levels = parse_stratum(stratum, factors)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    if levels["site"] not in config.site_codes:
        raise BadInput(f"stratum {stratum!r}: unknown site {levels['site']!r}")


def load_allocation_table(
    session: Session, study: Study, table: pd.DataFrame, source: str = "allocation table"
) -> pd.DataFrame:
    """Store an uploaded allocation table (validated with :func:`~study.randomisation.table.table_slots`).

    Allowed before any allocation by table and only once: slots are concealed and can never
    be changed. Returns the number of slots per stratum (``stratum, slots``), nothing about
    their arms.
    """
    config = config_of(study)
    if config.randomisation.method != "table":
        raise BadInput(
            f"study {study.code} randomises by {config.randomisation.method}, not by an allocation table"
        )
    existing = session.scalar(
        select(AllocationTableSlot.id).where(AllocationTableSlot.study_id == study.id).limit(1)
    )
    if existing is not None:
        raise NotAllowed("an allocation table was already loaded; its slots cannot be replaced")
    from study.randomisation.table import table_slots  # lazily: it loads pandas

    slots = table_slots(
        table, config.site_codes, config.randomisation.factors, config.arm_codes, source=source
    )
    session.add_all(
        AllocationTableSlot(study_id=study.id, stratum=r.stratum, position=int(r.position), arm=r.arm)
        for r in slots.itertuples(index=False)
    )
    session.flush()
    return slots.groupby("stratum").size().rename("slots").reset_index()
