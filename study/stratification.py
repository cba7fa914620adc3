"""Stratification factor values: required for participants and coded to declared levels.

Pure functions used by the participants import and the enrolment form alike: a value is
mapped to its level's code when it is the code, the label or a declared synonym, in any case
and with surrounding blanks (``" Female "``, ``"kvinde"`` → ``female``); anything else is
refused with the allowed levels. Factors without declared levels (``factor_levels`` in
study.yaml) keep the value as typed.
"""

from __future__ import annotations

import pandas as pd

from study.codes import Role
from study.config import StudyConfig
from study.errors import BadInput

__all__ = ["allowed_levels", "normalise_attributes", "normalise_levels"]


def allowed_levels(factor: str, config: StudyConfig) -> str:
    """The declared level codes of ``factor`` as a readable list (``female, male, other``)."""
    return ", ".join(level.code for level in config.factor_levels.get(factor, []))


def normalise_levels(values: pd.Series, factor: str, config: StudyConfig) -> pd.Series:
    """Values of ``factor`` mapped to their level codes (vectorised).

    Parameters
    ----------
    values
        Text values as entered (a CSV column, a form's field); ``""`` means not given.
    factor
        The stratification factor (e.g. ``gender``).
    config
        The study configuration with ``factor_levels``.

    Returns
    -------
    pandas.Series
        The level code; ``""`` where nothing was given; ``NaN`` where the value is no
        declared level (the caller refuses it). Without declared levels: the stripped value.

    Examples
    --------
    >>> from study.config import example_config_path, load_config
    >>> config = load_config(example_config_path())
    >>> normalise_levels(pd.Series([" Female", "kvinde", "MALE", "", "femal"]), "gender", config).tolist()
    ['female', 'female', 'male', '', nan]
    """
    text = values.fillna("").astype(str).str.strip()
    levels = config.factor_levels.get(factor)
    if not levels:
        return text
    lookup = {spelling: level.code for level in levels for spelling in level.spellings()}
    coded = text.str.casefold().map(lookup)
    return coded.where(text != "", "")


def normalise_attributes(attributes: dict[str, str], role: str, config: StudyConfig) -> dict[str, str]:
    """A form's stratification attributes, coded; ``BadInput`` naming the factor and the
    allowed levels when a participant lacks a randomisation factor or a value is no declared
    level."""
    coded: dict[str, str] = {}
    for factor in config.stratification:
        value = normalise_levels(pd.Series([attributes.get(factor) or ""]), factor, config).iloc[0]
        if pd.isna(value):
            raise BadInput(
                f"{factor} {attributes.get(factor)!r} is not a declared level (allowed: {allowed_levels(factor, config)})"
            )
        if value == "" and role == Role.PARTICIPANT and factor in config.randomisation.factors:
            allowed = allowed_levels(factor, config)
            raise BadInput(
                f"{factor} is required for participants (a stratification factor)"
                + (f"; allowed: {allowed}" if allowed else "")
            )
        if value:
            coded[factor] = value
    return coded
