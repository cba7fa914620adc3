"""Randomisation in the database: checks, locked slots, allocation, verification, disclosure.

Concurrency. Every write already runs in :func:`study.db.unit_of_work`, which serialises
writers. Correctness does not rest on that lock alone: before taking a slot, randomisation
locks the counter row of the slot's sequence (``SELECT … FOR UPDATE``; the stratum for blocks
and tables, ``*`` for minimisation, whose counts span all strata), re-reads it, takes the next
position and writes the allocation in the same transaction. A unique constraint on
(study, sequence, position) and on the person make a shared slot or a double allocation
impossible at the database level even for a writer that skipped the locks. On SQLite,
``BEGIN IMMEDIATE`` is the (database-wide) write lock and ``FOR UPDATE`` is not needed.

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

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Optional

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.config import StudyConfig
from study.db.models import (
    Allocation,
    AllocationCounter,
    AllocationDisclosure,
    AllocationTableSlot,
    Enrolment,
    Person,
    PersonAttribute,
    RandomisationSecret,
    Study,
    StudyPhase,
    User,
)
from study.errors import BadInput, NotAllowed
from study.people import person_by_pseudonym
from study.phases import require_phase
from study.randomisation.minimisation import MinimisationState, minimisation_stream
from study.randomisation.sequence import block_sequence, blocks_stream
from study.randomisation.strata import parse_stratum, stratum_key
from study.randomisation.stream import secret_from_hex
from study.randomisation.table import table_slots
from study.studies import config_of

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
    group: Optional[str] = None

    @property
    def line(self) -> str:
        """``P0042 INT``: the pseudonym and the arm code (the CLI's output contract)."""
        return f"{self.pseudonym} {self.arm}"


# --- the secret ----------------------------------------------------------------------------
def _secret_row(session: Session, study: Study) -> Optional[RandomisationSecret]:
    return session.scalar(
        select(RandomisationSecret).where(RandomisationSecret.study_id == study.id)
    )


def _ensure_secret(session: Session, study: Study, actor: str) -> bytes:
    """The study's secret; created (CSPRNG, 256 bits) at its first randomisation."""
    row = _secret_row(session, study)
    if row is None:
        # Lock the study row so that two first randomisations cannot both create a secret.
        _lock_study(session, study)
        row = _secret_row(session, study)
        if row is None:
            row = RandomisationSecret(
                study_id=study.id, seed=secrets.token_hex(32), created_by=actor
            )
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
def _rct_started(study: Study) -> Optional[dt.date]:
    started = next((p.started_at for p in study.phases if p.name == "rct"), None)
    return started.date() if started else None


def check_randomisable(
    session: Session, study: Study, person: Person, on: dt.date, today: Optional[dt.date] = None
) -> Enrolment:
    """Raise unless ``person`` may be randomised on ``on``; return their enrolment.

    Refused (``NotAllowed``): the study is not in the rct phase. Refused (``BadInput``): not a
    participant, never screened, enrolled in the pilot, ineligible, not consented (or consent
    after ``on``), withdrawn, already allocated, a date in the future or before the RCT began.
    """
    require_phase(study, "rct", action="randomisation")
    who = person.pseudonym
    if person.role != "participant":
        raise BadInput(f"{who} is a {person.role}; only participants are randomised")
    found = session.execute(
        select(Enrolment, Allocation.allocated_on)
        .outerjoin(Allocation, Allocation.person_id == Enrolment.person_id)
        .where(Enrolment.person_id == person.id)
    ).first()
    if found is None:
        raise BadInput(f"{who} has not been screened; screen and enrol before randomisation")
    enrolment, allocated_on = found
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
    started = _rct_started(study)
    if started is not None and on < started:
        raise BadInput(f"allocation date {on} is before the RCT phase started ({started})")
    return enrolment


def _levels(session: Session, study: Study, person: Person, config: StudyConfig) -> dict[str, str]:
    """``{"site": code, factor: level, ...}`` of a participant; ``BadInput`` if one is missing."""
    attributes = dict(
        session.execute(
            select(PersonAttribute.name, PersonAttribute.value).where(
                PersonAttribute.person_id == person.id
            )
        ).all()
    )
    missing = [f for f in config.randomisation.factors if not attributes.get(f)]
    if missing:
        raise BadInput(
            f"{person.pseudonym} has no {', '.join(missing)} recorded (a stratification factor)"
        )
    site = next(s.code for s in study.sites if s.id == person.site_id)
    return {"site": site, **{f: attributes[f] for f in config.randomisation.factors}}


# --- slots -----------------------------------------------------------------------------
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


def _minimisation_state(session: Session, study: Study, config: StudyConfig) -> MinimisationState:
    rnd = config.randomisation
    state = MinimisationState(
        ratios=config.arm_ratios,
        factors=rnd.minimisation_factors,
        weights=rnd.factor_weights,
        preferred_probability=rnd.preferred_arm_probability,
    )
    rows = session.execute(
        select(Allocation.stratum, Allocation.arm)
        .where(Allocation.study_id == study.id, Allocation.method == "minimisation")
        .order_by(Allocation.sequence_position)
    ).all()
    for stratum, arm in rows:
        state.add(parse_stratum(stratum, rnd.factors), arm)
    return state


def _draw(
    session: Session,
    study: Study,
    config: StudyConfig,
    secret: bytes,
    stratum: str,
    levels: dict[str, str],
    position: int,
) -> str:
    """The arm of slot ``position`` of the method's sequence."""
    rnd = config.randomisation
    if rnd.method == "blocks":
        sequence = block_sequence(
            blocks_stream(secret, stratum), config.arm_ratios, rnd.block_sizes, position
        )
        return str(sequence["arm"].iloc[-1])
    if rnd.method == "minimisation":
        state = _minimisation_state(session, study, config)
        return state.choose(levels, minimisation_stream(secret, position))
    slot = session.scalar(
        select(AllocationTableSlot.arm).where(
            AllocationTableSlot.study_id == study.id,
            AllocationTableSlot.stratum == stratum,
            AllocationTableSlot.position == position,
        )
    )
    if slot is None:
        raise NotAllowed(
            f"the allocation table has no slot {position} for stratum {stratum}: "
            "upload a longer table (peerstudy allocation load-table)"
        )
    return slot


# --- randomising -----------------------------------------------------------------------
def randomise(
    session: Session,
    study: Study,
    pseudonym: str,
    actor: Optional[str] = None,
    on: Optional[dt.date] = None,
    place_in_group: bool = True,
    today: Optional[dt.date] = None,
) -> AllocationResult:
    """Allocate one participant to an arm with the study's configured method.

    Parameters
    ----------
    session
        A :func:`~study.db.unit_of_work` session: on any error nothing is written and no slot
        is consumed (the transaction rolls back).
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
    person = person_by_pseudonym(session, study, pseudonym)
    check_randomisable(session, study, person, on, today=today)
    levels = _levels(session, study, person, config)
    stratum = stratum_key(levels["site"], config.randomisation.factors, levels)
    method = config.randomisation.method
    secret = _ensure_secret(session, study, actor)
    sequence = MINIMISATION_SEQUENCE if method == "minimisation" else stratum
    counter = _lock_counter(session, study, sequence)
    position = counter.allocated + 1
    arm = _draw(session, study, config, secret, stratum, levels, position)
    session.add(
        Allocation(
            study_id=study.id,
            person_id=person.id,
            arm=arm,
            stratum=stratum,
            method=method,
            sequence=sequence,
            sequence_position=position,
            allocated_on=on,
            allocated_by=actor,
        )
    )
    counter.allocated = position
    session.flush()
    group = None
    if place_in_group and arm != config.control_arm:
        from study.group_placement import place_in_next_group

        placed = place_in_next_group(session, study, person, on)
        group = placed.code if placed is not None else None
    return AllocationResult(person.pseudonym, arm, stratum, method, position, on, group)


def pending_pseudonyms(
    session: Session, study: Study, on: Optional[dt.date] = None
) -> list[str]:
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
    actor: Optional[str] = None,
    on: Optional[dt.date] = None,
    place_in_group: bool = True,
) -> list[AllocationResult]:
    """Randomise every pending participant (:func:`pending_pseudonyms`) in consent order."""
    require_phase(study, "rct", action="randomisation")
    on = on or dt.date.today()
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


def _stored_secret(session: Session, study: Study) -> Optional[bytes]:
    row = _secret_row(session, study)
    return secret_from_hex(row.seed) if row is not None else None


def _expected_arms(
    session: Session, study: Study, allocations: pd.DataFrame, secret: Optional[bytes]
) -> pd.Series:
    """The arm each allocation should have, regenerated from the secret (or the table)."""
    config = config_of(study)
    rnd = config.randomisation
    expected = pd.Series(index=allocations.index, dtype=object)
    if secret is None:
        return expected
    blocks = allocations[allocations["method"] == "blocks"]
    for stratum, part in blocks.groupby("stratum"):
        seq = block_sequence(
            blocks_stream(secret, stratum), config.arm_ratios, rnd.block_sizes,
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
        session, study, statistician, "verify",
        {"sequences": len(result), "allocations": int(result["allocated"].sum()),
         "ok": bool(result["ok"].all())},
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
    slots = table_slots(
        table, config.site_codes, config.randomisation.factors, config.arm_codes, source=source
    )
    session.add_all(
        AllocationTableSlot(study_id=study.id, stratum=r.stratum, position=int(r.position), arm=r.arm)
        for r in slots.itertuples(index=False)
    )
    session.flush()
    return slots.groupby("stratum").size().rename("slots").reset_index()
