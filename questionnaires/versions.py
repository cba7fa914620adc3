"""Instrument versions kept with the data they scored.

The first response scored with a definition stores the definition (JSON and SHA-256) in the
study. From then on that ``id``/``version`` is frozen: recording data with a definition that
carries the same version but different content is refused, so a changed definition must get
a new version, and old responses keep being scored with the version they were recorded with.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from questionnaires.definitions import Instrument, canonical_definition, definition_hash, instrument_from_dict
from study.db.models import InstrumentVersion, Study
from study.errors import NotAllowed

__all__ = ["ensure_version", "stored_definitions"]


def ensure_version(session: Session, study: Study, instrument: Instrument) -> InstrumentVersion:
    """The stored version of ``instrument`` in ``study``, created on first use.

    Raises
    ------
    NotAllowed
        When a definition with this id and version but different content already scored
        data in the study (a definition with data is never changed in place).
    """
    digest = definition_hash(instrument)
    stored = session.scalar(
        select(InstrumentVersion).where(
            InstrumentVersion.study_id == study.id,
            InstrumentVersion.instrument == instrument.id,
            InstrumentVersion.version == instrument.version,
        )
    )
    if stored is None:
        stored = InstrumentVersion(
            study_id=study.id,
            instrument=instrument.id,
            version=instrument.version,
            definition=json.dumps(canonical_definition(instrument), sort_keys=True, ensure_ascii=False),
            sha256=digest,
        )
        session.add(stored)
        session.flush()
    elif stored.sha256 != digest:
        raise NotAllowed(
            f"the definition of {instrument.id} version {instrument.version} differs from the one "
            f"that already scored data in study {study.code}: give the changed definition a new "
            "version (a definition with data is never changed in place)"
        )
    return stored


def stored_definitions(session: Session, study: Study) -> dict[tuple[str, str], Instrument]:
    """Every instrument version that scored data in ``study``, keyed by ``(id, version)``."""
    rows = session.scalars(select(InstrumentVersion).where(InstrumentVersion.study_id == study.id))
    return {
        (row.instrument, row.version): instrument_from_dict(
            json.loads(row.definition), source=f"stored definition {row.instrument} {row.version}"
        )
        for row in rows
    }
