"""The scoring engine: a wide item matrix in, one long row per response × scale out.

Everything is vectorised with NumPy over all responses at once (the only Python loops run
over an instrument's scales and bands, never over responses), so a million responses score
in about a second and every caller — import, CLI, pipelines, dashboards — gets the same
numbers from the same definition.

Rules applied, in order, to each scale of an instrument:

1. Declared missing-data codes (e.g. ``-9`` refused) and empty cells are missing values; a
   code is never counted as an answer.
2. Reverse-keyed items are turned: ``value' = min + max − value`` on the item's scale.
3. ``n_missing`` of the scale's items are missing. When ``n_missing`` ≤ the scale's
   ``max_missing`` the score is prorated: ``sum`` → mean of the answered items × number of
   items; ``mean`` → mean of the answered items. Otherwise the score is missing.
4. The transform (linear ``× multiply + add``, or a lookup table on the raw sum rounded half
   up) gives the score.
5. The first interpretation band that contains the score names it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

import numpy as np
import pandas as pd

from questionnaires.definitions import Instrument, LinearTransform, LookupTransform

__all__ = [
    "NOT_ANSWERED",
    "SCORE_COLUMNS",
    "reverse_key",
    "score_instrument",
    "score_wide",
]

#: Columns added by the engine after the caller's id columns.
SCORE_COLUMNS = ["instrument", "version", "scale", "score", "band", "missing_reason"]
#: ``missing_reason`` when no item of the scale was answered and no missing code given.
NOT_ANSWERED = "not answered"


def reverse_key(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Reverse-key item values on a ``low``..``high`` scale: ``low + high − value``.

    NaN stays NaN. Applying it twice gives the original values back.

    Examples
    --------
    >>> reverse_key(np.array([1.0, 2.0, 4.0]), 1, 4).tolist()
    [4.0, 3.0, 1.0]
    """
    return (low + high) - np.asarray(values, dtype=float)


def _item_matrix(instrument: Instrument, items: pd.DataFrame) -> np.ndarray:
    missing = [c for c in instrument.columns if c not in items.columns]
    if missing:
        raise ValueError(f"item columns missing for {instrument.id}: {', '.join(missing)}")
    try:
        return items[instrument.columns].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"item values of {instrument.id} must be numeric: {exc}") from None


def _check_values(instrument: Instrument, matrix: np.ndarray, is_code: np.ndarray) -> None:
    lows = np.array([instrument.item_scale(i).min for i in instrument.item_ids], dtype=float)
    highs = np.array([instrument.item_scale(i).max for i in instrument.item_ids], dtype=float)
    answered = ~np.isnan(matrix) & ~is_code
    bad = answered & ((matrix < lows) | (matrix > highs) | (matrix != np.round(matrix)))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{int(bad.sum())} item value(s) of {instrument.id} are neither on the response "
            f"scale nor a declared missing code, e.g. {matrix[row, col]:g} in "
            f"{instrument.columns[col]} (row {row})"
        )


def score_instrument(
    instrument: Instrument,
    items: pd.DataFrame,
    *,
    id_columns: Optional[Sequence[str]] = None,
) -> pd.DataFrame:
    """Score one instrument for many responses.

    Parameters
    ----------
    instrument
        The definition to score with (its ``version`` is written to the output).
    items
        One row per response; item columns named ``<instrument>_<item>`` (e.g. ``who5_1``),
        numeric: the answer, a declared missing code, or NaN for an empty cell.
    id_columns
        Columns of ``items`` copied to every output row (e.g. ``pseudonym``, ``timepoint``);
        default: every column that is not an item column of this instrument.

    Returns
    -------
    pandas.DataFrame
        One row per response × scale, responses in input order and scales in definition order:

        - the id columns,
        - ``instrument`` (id) and ``version`` (of the definition),
        - ``scale`` (e.g. ``total``, ``pathways``),
        - ``score`` (float; NaN when missing),
        - ``band`` (label of the first interpretation band containing the score, else None),
        - ``missing_reason`` (None when scored; ``not answered``; the label of a missing code
          given for every item, e.g. ``refused``; or ``too many missing items (k of n)``).

    Raises
    ------
    ValueError
        When item columns are missing, non-numeric, or hold a value that is neither on the
        item's response scale nor a declared missing code (validate input before scoring).

    Notes
    -----
    Prorated sums are not rounded (a statistician can round; the engine never hides
    precision). See the module docstring for the order of the rules.

    Examples
    --------
    >>> from questionnaires.definitions import shipped_instruments
    >>> who5 = shipped_instruments()["who5"]
    >>> df = pd.DataFrame({"pseudonym": ["P1"], "who5_1": [5], "who5_2": [4],
    ...                    "who5_3": [3], "who5_4": [2], "who5_5": [1]})
    >>> score_instrument(who5, df)[["scale", "score", "band"]].to_dict("records")
    [{'scale': 'raw', 'score': 15.0, 'band': None}, {'scale': 'total', 'score': 60.0, 'band': 'adequate well-being'}]
    """
    matrix = _item_matrix(instrument, items)
    if id_columns is None:
        id_columns = [c for c in items.columns if c not in set(instrument.columns)]
    codes = np.array(sorted(instrument.missing_codes), dtype=float)
    is_code = np.isin(matrix, codes) if codes.size else np.zeros(matrix.shape, dtype=bool)
    _check_values(instrument, matrix, is_code)

    values = np.where(is_code, np.nan, matrix)
    position = {item_id: j for j, item_id in enumerate(instrument.item_ids)}
    for item_id in instrument.reverse:
        j = position[item_id]
        scale = instrument.item_scale(item_id)
        values[:, j] = reverse_key(values[:, j], scale.min, scale.max)
    coded = np.where(is_code, matrix, np.nan)

    ids = items[list(id_columns)].reset_index(drop=True)
    n = len(items)
    frames = []
    for name, definition in instrument.scales.items():
        cols = [position[i] for i in instrument.scale_items(name)]
        score, reason = _score_scale(
            values[:, cols],
            coded[:, cols],
            definition.method,
            instrument.scale_max_missing(name),
            definition.transform,
            instrument.missing_codes,
        )
        frame = ids.copy()
        frame["instrument"] = instrument.id
        frame["version"] = instrument.version
        frame["scale"] = name
        frame["score"] = score
        frame["band"] = _bands(score, definition.bands)
        frame["missing_reason"] = reason
        frame["_row"] = np.arange(n)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    if len(frames) > 1:
        # Responses in input order, scales in definition order (a stable sort keeps the latter).
        out = out.sort_values("_row", kind="stable").reset_index(drop=True)
    out = out.drop(columns="_row")
    return out[[*id_columns, *SCORE_COLUMNS]]


def _score_scale(
    values: np.ndarray,
    coded: np.ndarray,
    method: str,
    max_missing: int,
    transform,
    missing_codes: Mapping[int, str],
) -> tuple[np.ndarray, pd.Series]:
    k = values.shape[1]
    missing = np.isnan(values)
    n_missing = missing.sum(axis=1)
    answered = k - n_missing
    totals = np.where(missing, 0.0, values).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = totals / answered
    raw = mean * k if method == "sum" else mean
    # Exact sums when nothing is missing (prorating divides and multiplies back).
    raw = np.where(n_missing == 0, totals if method == "sum" else mean, raw)
    ok = n_missing <= max_missing
    raw = np.where(ok, raw, np.nan)

    if isinstance(transform, LinearTransform):
        score = raw * transform.multiply + transform.add
    elif isinstance(transform, LookupTransform):
        keys = np.array(sorted(transform.table), dtype=float)
        table = np.array([transform.table[int(key)] for key in keys])
        rounded = np.floor(raw + 0.5)  # half up: 12.5 → 13
        index = np.clip(np.searchsorted(keys, rounded), 0, len(keys) - 1)
        score = np.where(np.isnan(raw), np.nan, table[index])
    else:
        score = raw

    # Why a score is missing: nothing answered, one missing code throughout, or too many gaps.
    low_code = np.fmin.reduce(coded, axis=1)
    high_code = np.fmax.reduce(coded, axis=1)
    any_code = ~np.isnan(low_code)
    all_missing = n_missing == k
    single_code = all_missing & any_code & (low_code == high_code) & (~np.isnan(coded)).all(axis=1)
    # One message per possible count of missing items, picked by index (no per-row strings).
    messages = np.array([None] + [f"too many missing items ({m} of {k})" for m in range(1, k + 1)], dtype=object)
    reason = messages[n_missing]
    reason[all_missing & ~any_code] = NOT_ANSWERED
    if single_code.any():
        labels = {float(code): label for code, label in missing_codes.items()}
        reason[single_code] = pd.Series(low_code[single_code]).map(labels).to_numpy(dtype=object)
    reason[ok] = None
    return score, reason


def _bands(score: np.ndarray, bands) -> np.ndarray:
    if not bands:
        return np.full(score.shape, None, dtype=object)
    conditions = []
    for band in bands:
        cond = ~np.isnan(score)
        if band.min is not None:
            cond &= score >= band.min
        if band.max is not None:
            cond &= score <= band.max
        if band.below is not None:
            cond &= score < band.below
        conditions.append(cond)
    return np.select(conditions, [band.label for band in bands], default=None).astype(object)


def score_wide(
    instruments: Mapping[str, Instrument],
    wide: pd.DataFrame,
    *,
    id_columns: Sequence[str],
) -> pd.DataFrame:
    """Score every instrument whose item columns appear in a wide frame.

    Rows in which every item column of an instrument is empty are not responses to it and
    give no output rows for it (a wide file holds several instruments and timepoints).

    Returns
    -------
    pandas.DataFrame
        ``id_columns`` + :data:`SCORE_COLUMNS`, as :func:`score_instrument`.
    """
    frames = []
    for instrument in instruments.values():
        present = [c for c in instrument.columns if c in wide.columns]
        if not present:
            continue
        block = wide[list(id_columns)].copy()
        for col in instrument.columns:
            block[col] = pd.to_numeric(wide[col], errors="raise") if col in wide.columns else np.nan
        answered = block[instrument.columns].notna().any(axis=1)
        if answered.any():
            frames.append(score_instrument(instrument, block[answered], id_columns=id_columns))
    if not frames:
        return pd.DataFrame(columns=[*id_columns, *SCORE_COLUMNS])
    return pd.concat(frames, ignore_index=True)
