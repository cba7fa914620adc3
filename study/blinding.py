"""Blinding: who sees arm labels, and the audited unblinding of a study.

Until a study is unblinded (only in the analysis phase), researchers and statisticians see
arm *codes* such as ``A``/``B``, never the labels or the arm codes ``INT``/``CTL``.

Which arm gets which code is not the order of the arms in ``study.yaml`` (that order is
printed by ``peerstudy config show``): each study draws its own mapping from the
randomisation secret (:func:`draw_code_mapping`, HMAC-SHA256 of the secret with the label
``blinded-codes``). The secret is created at the first allocation and is concealed (never
shown, redacted in the audit trail), so the mapping is concealed exactly like the allocation
sequence: nothing stores it in the clear, and only an unblinded study shows the real codes.
The configuration names only the *set* of codes (``blinded_code`` of the arms, default
``A``, ``B``, …).
"""

from __future__ import annotations

__all__ = [
    "ARM_REVEALING_TABLES",
    "BLINDED_VALUE",
    "CODE_MAPPING_LABEL",
    "arm_display_map",
    "blind_allocation_events",
    "blind_person_history",
    "code_mapping",
    "display_arms",
    "draw_code_mapping",
    "dummy_allocation_seed",
    "is_unblinded",
    "unblind",
    "withhold_arm_revealing_examples",
]

import hashlib
import hmac
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.config import StudyConfig
from study.db.models import RandomisationSecret, Study
from study.db.types import utcnow
from study.errors import NotAllowed
from study.phase_guard import require_phase
from study.randomisation.stream import HmacStream, secret_from_hex
from study.sap import require_locked
from study.studies import config_of


def is_unblinded(study: Study) -> bool:
    """Whether the study has been unblinded by ``peerstudy unblind``."""
    return study.unblinded_at is not None


#: The HMAC label of the stream the blinded code mapping is drawn from.
CODE_MAPPING_LABEL = "blinded-codes"


def draw_code_mapping(secret: bytes, config: StudyConfig) -> dict[str, str]:
    """Which blinded code each arm gets, drawn from the study's randomisation secret.

    The codes (the arms' ``blinded_code``, default ``A``, ``B``, … ; sorted) are shuffled by
    Fisher–Yates with draws from ``HmacStream(secret, "blinded-codes")``
    (:mod:`study.randomisation.stream`), so every study has its own mapping, each of the
    ``k!`` mappings is equally likely, and whoever holds the secret can re-derive it.

    Parameters
    ----------
    secret
        The study's randomisation secret (at least 16 bytes).
    config
        The study configuration (its arms and their codes).

    Returns
    -------
    dict
        Arm code → blinded code, e.g. ``{"INT": "B", "CTL": "A"}``.
    """
    codes = sorted(config.blinded_codes().values())
    stream = HmacStream(secret, CODE_MAPPING_LABEL)
    for i in range(len(codes) - 1, 0, -1):
        j = stream.randbelow(i + 1)
        codes[i], codes[j] = codes[j], codes[i]
    return dict(zip(config.arm_codes, codes))


def code_mapping(session: Session, study: Study) -> dict[str, str]:
    """The study's concealed arm code → blinded code mapping (:func:`draw_code_mapping`).

    Before the first allocation there is no secret and nothing is allocated, so nothing can
    be shown under a code: the codes are then listed in sorted order against the arms, a
    placeholder that reveals nothing (the real mapping is drawn from the secret created by
    the first allocation).
    """
    config = config_of(study)
    seed = session.scalar(select(RandomisationSecret.seed).where(RandomisationSecret.study_id == study.id))
    if seed is None:
        return dict(zip(config.arm_codes, sorted(config.blinded_codes().values())))
    return draw_code_mapping(secret_from_hex(seed), config)


#: The HMAC label of the dummy allocation's seed (:mod:`pipelines.dummy_allocation`).
DUMMY_SEED_LABEL = b"dummy-allocation"


def dummy_allocation_seed(session: Session, study: Study) -> int:
    """Seed of the study's dummy allocation: the first 8 bytes of
    ``HMAC-SHA256(secret, "dummy-allocation")``, big-endian; 0 before the first allocation
    (nothing to re-allocate). Concealed like the sequence and stable for the study, so the
    dummy outputs do not change from run to run."""
    seed = session.scalar(select(RandomisationSecret.seed).where(RandomisationSecret.study_id == study.id))
    if seed is None:
        return 0
    digest = hmac.new(secret_from_hex(seed), DUMMY_SEED_LABEL, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def arm_display_map(
    config: StudyConfig, unblinded: bool, codes: dict[str, str] | None = None
) -> dict[str, str]:
    """Map stored arm code → what a blinded or unblinded viewer sees.

    Unblinded: the arm code itself. Blinded: the study's concealed mapping ``codes``
    (:func:`code_mapping`), which a blinded display must pass: without it the call fails
    rather than fall back on the order of the arms in study.yaml (which would unblind).
    """
    if unblinded:
        return {code: code for code in config.arm_codes}
    if codes is None:
        raise ValueError("a blinded display needs the study's code mapping (study.blinding.code_mapping)")
    return dict(codes)


def display_arms(
    arms: pd.Series, config: StudyConfig, unblinded: bool, codes: dict[str, str] | None = None
) -> pd.Series:
    """Vectorised :func:`arm_display_map` over a Series of stored arm codes (NaN stays NaN)."""
    return arms.map(arm_display_map(config, unblinded, codes))


def unblind(session: Session, study: Study, actor: str, when: datetime | None = None) -> Study:
    """Unblind the study (audited); allowed only in the analysis phase, only once, and only
    with a locked statistical analysis plan (:func:`study.sap.require_locked`)."""
    require_phase(study, "analysis", action="unblinding")
    require_locked(session, study, "unblinding")
    if is_unblinded(study):
        raise NotAllowed(
            f"study {study.code} was already unblinded at {study.unblinded_at:%Y-%m-%d %H:%M} UTC"
        )
    study.unblinded_at = when or utcnow()
    study.unblinded_by = actor
    session.flush()
    return study


#: What a blinded reader sees instead of an allocation event's values.
BLINDED_VALUE = "<blinded>"


def blind_allocation_events(history: pd.DataFrame) -> pd.DataFrame:
    """Audit events (``table_name, old_value, new_value`` columns, e.g. of
    :func:`study.audit.person_history`) with the values of allocation events replaced by
    :data:`BLINDED_VALUE`: the insert of an allocation carries the arm, so a blinded reader
    of the audit trail would otherwise be unblinded. Empty values stay empty.

    >>> events = pd.DataFrame({"table_name": ["allocation", "person"],
    ...                        "old_value": [None, "x"], "new_value": ['{"arm": "INT"}', "y"]})
    >>> blind_allocation_events(events)["new_value"].tolist()
    ['<blinded>', 'y']
    """
    if history.empty:
        return history
    history = history.copy()
    mask = history["table_name"] == "allocation"
    values = history.loc[mask, ["old_value", "new_value"]]
    history.loc[mask, ["old_value", "new_value"]] = values.where(values.isna(), BLINDED_VALUE)
    return history


#: Tables whose rows exist only for participants of the intervention arm (course group
#: membership, attendance, 1:1 companionship): for a participant, the mere existence of such a
#: row or its audit event tells the arm.
ARM_REVEALING_TABLES = frozenset(
    {
        "group_member",
        "attendance",
        "companion_profile",
        "waitlist_entry",
        "follow_up_call",
        "companion_match",
        "match_contact",
    }
)


def withhold_arm_revealing_examples(results: pd.DataFrame) -> pd.DataFrame:
    """Data-quality results with the example pseudonyms of checks on arm-revealing tables
    (attendance, group membership, companionship) replaced by :data:`BLINDED_VALUE`: only
    intervention participants have such rows, so naming them would tell their arm.

    ``results`` has the columns ``table`` and ``examples`` (one row per check); a copy is
    returned."""
    withheld = results.copy()
    withheld.loc[withheld["table"].isin(ARM_REVEALING_TABLES), "examples"] = BLINDED_VALUE
    return withheld


def blind_person_history(history: pd.DataFrame) -> pd.DataFrame:
    """A participant's audit events as a blinded reader may see them: allocation values
    :data:`BLINDED_VALUE` (:func:`blind_allocation_events`) and the events of
    :data:`ARM_REVEALING_TABLES` left out (blanking their values would not do: that a
    ``group_member`` insert exists at all tells the arm).

    >>> events = pd.DataFrame({"table_name": ["allocation", "group_member", "enrolment"],
    ...                        "old_value": [None, None, "x"], "new_value": ["INT", "G1", "y"]})
    >>> blind_person_history(events)["table_name"].tolist()
    ['allocation', 'enrolment']
    """
    if history.empty:
        return history
    kept = history[~history["table_name"].isin(ARM_REVEALING_TABLES)].reset_index(drop=True)
    return blind_allocation_events(kept)
