"""The scoring engine: a wide item matrix in, one long row per response × scale out.

Everything is vectorised with NumPy over all responses at once (the only Python loops run
over an instrument's scales and bands and over cache-sized blocks of responses, never over
single responses), so a million responses score in well under a second — within a small
multiple of a bare NumPy sum of the items (benchmarks/scoring.py) — and every caller —
import, CLI, pipelines, dashboards — gets the same numbers from the same definition.

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
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

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

#: pandas' string dtype ``str`` of the text columns (Arrow-backed when pyarrow is installed).
_STRING = pd.array([], dtype="str").dtype


def reverse_key(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Reverse-key item values on a ``low``..``high`` scale: ``low + high − value``.

    NaN stays NaN. Applying it twice gives the original values back.

    Examples
    --------
    >>> reverse_key(np.array([1.0, 2.0, 4.0]), 1, 4).tolist()
    [4.0, 3.0, 1.0]
    """
    return (low + high) - np.asarray(values, dtype=float)


#: Responses per block of the item pass: a block of items × 16,384 answers (≈ 2 MB for
#: 15 items) stays in the CPU cache, so its temporaries never touch fresh memory.
_BLOCK = 1 << 14


def _item_matrix(instrument: Instrument, items: pd.DataFrame) -> np.ndarray:
    """Items × responses (k × n): one item's answers lie next to each other, so every
    per-response sum below adds whole rows instead of striding across them."""
    missing = [c for c in instrument.columns if c not in items.columns]
    if missing:
        raise ValueError(f"item columns missing for {instrument.id}: {', '.join(missing)}")
    try:
        matrix = items[instrument.columns].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"item values of {instrument.id} must be numeric: {exc}") from None
    # pandas keeps a float block as items × rows already: .T is then a view, not a copy.
    return matrix.T


def _missing_code_mask(matrix: np.ndarray, codes: Sequence[float]) -> np.ndarray:
    """Where the matrix holds a declared missing code (a few codes: one pass each)."""
    is_code = np.zeros(matrix.shape, dtype=bool)
    for code in codes:
        is_code |= matrix == code
    return is_code


@dataclass(frozen=True)
class _ItemRules:
    """An instrument's item rules as arrays over its items (rows of the item matrix)."""

    lows: np.ndarray  # (k, 1) lowest answer of each item's response scale
    highs: np.ndarray  # (k, 1) highest answer
    reverse: np.ndarray  # row numbers of reverse-keyed items
    codes: tuple[float, ...]  # declared missing codes
    scale_rows: dict[str, np.ndarray]  # scale name → row numbers of its items
    # (scales × k) 1.0 where an item belongs to a scale: one matrix product sums every scale.
    members: np.ndarray
    # scale name → its rows as a slice when they are consecutive (a view, not a copy).
    scale_slices: dict[str, slice | np.ndarray]

    @classmethod
    def of(cls, instrument: Instrument) -> _ItemRules:
        position = {item_id: j for j, item_id in enumerate(instrument.item_ids)}
        scales = [instrument.item_scale(i) for i in instrument.item_ids]
        scale_rows = {
            name: np.array([position[i] for i in instrument.scale_items(name)], dtype=np.intp)
            for name in instrument.scales
        }
        members = np.zeros((len(scale_rows), len(position)))
        for s, rows in enumerate(scale_rows.values()):
            members[s, rows] = 1.0
        return cls(
            lows=np.array([[scale.min] for scale in scales], dtype=float),
            highs=np.array([[scale.max] for scale in scales], dtype=float),
            reverse=np.array([position[i] for i in instrument.reverse], dtype=np.intp),
            codes=tuple(float(code) for code in sorted(instrument.missing_codes)),
            scale_rows=scale_rows,
            members=members,
            scale_slices={name: _as_slice(rows) for name, rows in scale_rows.items()},
        )


def _as_slice(rows: np.ndarray) -> slice | np.ndarray:
    """``rows`` as a slice when they are consecutive and ascending, else unchanged."""
    if rows.size and np.array_equal(rows, np.arange(rows[0], rows[0] + rows.size)):
        return slice(int(rows[0]), int(rows[0]) + rows.size)
    return rows


@dataclass
class _ScaleSums:
    """Per response: the sum of the answered (reverse-keyed) items and the number missing."""

    totals: np.ndarray  # float (n,)
    n_missing: np.ndarray  # unsigned int (n,)


def _item_sums(instrument: Instrument, rules: _ItemRules, matrix: np.ndarray) -> dict[str, _ScaleSums]:
    """Check every answer and sum each scale's answered items, block by block of responses.

    A value that is neither on its item's response scale (a whole number within min..max)
    nor a declared missing code raises ``ValueError`` naming the first such cell.

    Each block of responses stays in the CPU cache and takes only fast whole-block passes
    (comparisons, ``floor``, a matrix product, byte counts); masked indexing, which is
    several times slower, touches only the few cells that are not answers.
    """
    k, n = matrix.shape
    totals = np.empty((len(rules.scale_rows), n))
    # Counts in bytes when they fit (up to 255 items): several times faster to add and compare.
    count_type = np.uint8 if k < 256 else np.intp
    sums = {
        name: _ScaleSums(totals[s], np.empty(n, dtype=count_type)) for s, name in enumerate(rules.scale_rows)
    }
    answers_buffer = np.empty(k * min(n, _BLOCK))
    n_bad, first_bad = 0, None
    for start in range(0, n, _BLOCK):
        block = matrix[:, start : start + _BLOCK]
        stop = start + block.shape[1]
        answers = answers_buffer[: block.size].reshape(block.shape)  # contiguous: flat positions
        # floor copies the block, moving only fractions; NaN stays (and never equals itself).
        np.floor(block, out=answers)
        not_whole = answers != block
        # Every cell that is not an answer on the scale: empty, a missing code, or a bad value.
        gap = block < rules.lows
        gap |= block > rules.highs
        gap |= not_whole
        # Those are few, so they are told apart one by one (fancy indexing is slow on a
        # whole block): missing codes are whole numbers off every item's scale (the
        # definitions refuse codes on a scale).
        cells = np.flatnonzero(gap)
        values = answers.ravel()[cells]
        missing = np.isnan(values)
        missing |= _missing_code_mask(values, rules.codes) & ~not_whole.ravel()[cells]
        if not missing.all():
            # A bad value: rare, so its exact count and first cell are worked out only now.
            bad = _bad_cells(block, rules)
            n_bad += int(bad.sum())
            if first_bad is None:
                response = int(np.flatnonzero(bad.any(axis=0))[0])
                first_bad = (int(np.flatnonzero(bad[:, response])[0]), start + response)
            continue  # no sums: scoring stops with the error after the last block
        answers.ravel()[cells] = 0.0
        if rules.reverse.size:
            turned = rules.lows[rules.reverse] + rules.highs[rules.reverse] - answers[rules.reverse]
            answers[rules.reverse] = np.where(gap[rules.reverse], 0.0, turned)
        # Whole numbers add up exactly in any order, so the matrix product equals a plain sum.
        totals[:, start:stop] = rules.members @ answers
        gap_bytes = gap.view(np.uint8)
        for name, rows in rules.scale_slices.items():
            sums[name].n_missing[start:stop] = gap_bytes[rows].sum(axis=0, dtype=count_type)
    if first_bad is not None:
        item, response = first_bad
        raise ValueError(
            f"{n_bad} item value(s) of {instrument.id} are neither on the response "
            f"scale nor a declared missing code, e.g. {matrix[item, response]:g} in "
            f"{instrument.columns[item]} (row {response})"
        )
    return sums


def _bad_cells(block: np.ndarray, rules: _ItemRules) -> np.ndarray:
    """Cells of a block that are neither on their item's response scale (a whole number
    within min..max) nor a declared missing code nor empty."""
    gap = np.isnan(block) | _missing_code_mask(block, rules.codes)
    bad = (block < rules.lows) | (block > rules.highs) | (np.floor(block) != block)
    return bad & ~gap


def score_instrument(
    instrument: Instrument,
    items: pd.DataFrame,
    *,
    id_columns: Sequence[str] | None = None,
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
        - ``band`` (label of the first interpretation band containing the score, else missing),
        - ``missing_reason`` (missing when scored; ``not answered``; the label of a missing code
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
    [{'scale': 'raw', 'score': 15.0, 'band': nan}, {'scale': 'total', 'score': 60.0, 'band': 'adequate well-being'}]
    """
    matrix = _item_matrix(instrument, items)
    if id_columns is None:
        id_columns = [c for c in items.columns if c not in set(instrument.columns)]
    rules = _ItemRules.of(instrument)
    sums = _item_sums(instrument, rules, matrix)

    ids = {column: items[column].to_numpy() for column in id_columns}
    frames = []
    for name, definition in instrument.scales.items():
        rows = rules.scale_rows[name]
        score, ok = _score_scale(
            sums[name],
            len(rows),
            definition.method,
            instrument.scale_max_missing(name),
            definition.transform,
        )
        columns = {
            **ids,
            "instrument": _repeat(instrument.id, len(items)),
            "version": _repeat(instrument.version, len(items)),
            "scale": _repeat(name, len(items)),
            "score": score,
            "band": _bands(score, definition.bands),
            "missing_reason": _missing_reasons(
                sums[name].n_missing, ok, matrix, rows, instrument.missing_codes
            ),
        }
        frames.append(pd.DataFrame(columns, index=pd.RangeIndex(len(items))))
    if len(frames) == 1:
        return frames[0]
    # Responses in input order, scales in definition order: response i of scale s sits at
    # s·n + i in the stacked frames and goes to row i·S + s.
    n, n_scales = len(items), len(frames)
    interleave = (np.arange(n)[:, None] + n * np.arange(n_scales)[None, :]).ravel()
    return pd.concat(frames, ignore_index=True).take(interleave).reset_index(drop=True)


def _repeat(text: str, n: int) -> pd.api.extensions.ExtensionArray:
    """``text`` n times as a string array (no n Python strings).

    With Arrow-backed strings (pandas' default when pyarrow is installed, which peerstudy
    requires) the array is built straight from its buffers: offsets 0, len, 2·len, … and
    the text n times over, several times faster than taking one element n times.
    """
    if _STRING.storage != "pyarrow":
        return pd.array([text], dtype=_STRING).take(np.zeros(n, dtype=np.intp))
    encoded = text.encode()
    offsets = np.arange(n + 1, dtype=np.int64) * len(encoded)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(encoded * n)]
    return pd.array(pa.Array.from_buffers(pa.large_string(), n, buffers), dtype=_STRING)


def _labels_at(labels: Sequence[str | None], index: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``labels[index]`` as a string array, where ``labels[0]`` is None (a missing value).

    With Arrow-backed strings a mostly missing result (missing reasons: only unscored
    responses have one) is built straight from its buffers, looking at the few labelled
    responses only; a dense one is taken label by label.
    """
    n = len(index)
    labelled = np.flatnonzero(index)
    # Building the buffers passes over all n responses a few times, but joins label text for
    # the labelled ones only; past about one in eight, Arrow's take is the faster way.
    if _STRING.storage != "pyarrow" or labelled.size > n // 8:
        return pd.array(labels, dtype=_STRING).take(index)
    if not labelled.size:
        return pd.array(pa.nulls(n, pa.large_string()), dtype=_STRING)
    encoded = np.array([b"" if label is None else label.encode() for label in labels], dtype=object)
    sizes = np.array([len(label) for label in encoded], dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[labelled + 1] = sizes[index[labelled]]
    np.cumsum(offsets, out=offsets)
    valid = np.packbits(index != 0, bitorder="little")
    text = b"".join(encoded[index[labelled]])
    buffers = [pa.py_buffer(valid), pa.py_buffer(offsets), pa.py_buffer(text)]
    return pd.array(pa.Array.from_buffers(pa.large_string(), n, buffers), dtype=_STRING)


def _score_scale(
    sums: _ScaleSums,
    k: int,
    method: str,
    max_missing: int,
    transform,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores of one scale of ``k`` items from its per-response sums, and where it is scored.

    Works in place on one new array (each step of the rules a single pass over it).
    """
    n_missing = sums.n_missing
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = sums.totals / (k - n_missing)  # mean of the answered items
    if method == "sum":
        raw *= k
        # Exact sums when nothing is missing: dividing and multiplying back rounds only a few
        # sums (e.g. 31 / 15 · 15), and a sparse mask copies many times faster than a dense one.
        rounded = n_missing == 0
        rounded &= raw != sums.totals
        np.copyto(raw, sums.totals, where=rounded)
    ok = n_missing <= max_missing
    np.copyto(raw, np.nan, where=~ok)

    if isinstance(transform, LinearTransform):
        raw *= transform.multiply
        raw += transform.add
        score = raw
    elif isinstance(transform, LookupTransform):
        keys = np.array(sorted(transform.table), dtype=float)
        table = np.array([transform.table[int(key)] for key in keys])
        rounded = np.floor(raw + 0.5)  # half up: 12.5 → 13
        index = np.clip(np.searchsorted(keys, rounded), 0, len(keys) - 1)
        score = np.where(np.isnan(raw), np.nan, table[index])
    else:
        score = raw
    return score, ok


def _missing_reasons(
    n_missing: np.ndarray,
    ok: np.ndarray,
    matrix: np.ndarray,
    rows: np.ndarray,
    missing_codes: Mapping[int, str],
) -> pd.api.extensions.ExtensionArray:
    """Why a score is missing: nothing answered, one missing code throughout, or too many gaps.

    Only the (usually few) unscored responses are looked at; scored ones get a missing value.
    The reasons are picked by index from a short list of labels (no per-response strings).
    """
    k, n = len(rows), matrix.shape[1]
    # Label list: [scored, "too many missing items (1 of k)" … (k of k), not answered, codes…]
    code_values = sorted(float(code) for code in missing_codes)
    labels = [None, *(f"too many missing items ({m} of {k})" for m in range(1, k + 1)), NOT_ANSWERED]
    labels += [missing_codes[int(code)] for code in code_values]
    index = np.zeros(n, dtype=np.intp)
    unscored = np.flatnonzero(~ok)
    if unscored.size:
        index[unscored] = n_missing[unscored]
        cells = matrix[np.ix_(rows, unscored)]
        is_code = _missing_code_mask(cells, code_values)
        codes = np.where(is_code, cells, np.nan)
        low_code = np.fmin.reduce(codes, axis=0)
        high_code = np.fmax.reduce(codes, axis=0)
        any_code = ~np.isnan(low_code)
        all_missing = n_missing[unscored] == k
        index[unscored[all_missing & ~any_code]] = k + 1
        single = all_missing & any_code & (low_code == high_code) & is_code.all(axis=0)
        if single.any():
            position = np.searchsorted(np.array(code_values), low_code[single])
            index[unscored[single]] = k + 2 + position
    return _labels_at(labels, index)


def _bands(score: np.ndarray, bands) -> pd.api.extensions.ExtensionArray:
    """Label of the first interpretation band containing each score (missing when none)."""
    labels = [None, *(band.label for band in bands)]
    index = np.zeros(score.shape, dtype=np.intp)
    # Last band first, so the first containing band is the one left standing.
    for position in range(len(bands), 0, -1):
        band = bands[position - 1]
        cond = ~np.isnan(score)
        if band.min is not None:
            cond &= score >= band.min
        if band.max is not None:
            cond &= score <= band.max
        if band.below is not None:
            cond &= score < band.below
        index[cond] = position
    return _labels_at(labels, index)


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
