"""Inter-rater reliability: intraclass correlations, weighted kappa and percent agreement.

Pingouin-style functions: a long DataFrame and column names in, a tidy DataFrame with fixed,
documented columns out.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["ICC_FORMS", "agreement", "cohen_kappa", "icc", "long_pairs"]

#: The six Shrout & Fleiss forms, in the order :func:`icc` returns them.
ICC_FORMS: tuple[str, ...] = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")


def _check_columns(data: pd.DataFrame, columns: dict[str, str]) -> None:
    if not isinstance(data, pd.DataFrame):
        raise ValueError("data must be a pandas DataFrame in long format")
    missing = [f"{role}={name!r}" for role, name in columns.items() if name not in data.columns]
    if missing:
        raise ValueError(
            f"column(s) not in data: {', '.join(missing)}; columns: {', '.join(map(str, data.columns))}"
        )


def _wide(data: pd.DataFrame, target: str, rater: str, score: str, nan_policy: str) -> pd.DataFrame:
    """Targets × raters matrix of numeric scores (complete, balanced)."""
    _check_columns(data, {"target": target, "rater": rater, "score": score})
    if nan_policy not in ("raise", "omit"):
        raise ValueError("nan_policy must be 'raise' or 'omit'")
    df = data[[target, rater, score]].copy()
    df[score] = pd.to_numeric(df[score], errors="coerce")
    if data[score].notna().sum() != df[score].notna().sum():
        raise ValueError(f"column {score!r} holds values that are not numbers")
    if df[[target, rater]].isna().any().any():
        raise ValueError(f"columns {target!r} and {rater!r} must not be empty")
    duplicated = df.duplicated([target, rater])
    if duplicated.any():
        first = df.loc[duplicated, [target, rater]].iloc[0].tolist()
        raise ValueError(f"target {first[0]!r} is rated twice by rater {first[1]!r}")
    wide = df.pivot(index=target, columns=rater, values=score)
    if wide.isna().any().any():
        if nan_policy == "raise":
            raise ValueError(
                "every target must be rated by every rater (balanced design); "
                f"{int(wide.isna().any(axis=1).sum())} target(s) have missing scores "
                "(use nan_policy='omit' to drop them)"
            )
        wide = wide.dropna(axis=0, how="any")
    n, k = wide.shape
    if n < 2 or k < 2:
        raise ValueError(f"need at least 2 targets and 2 raters with complete scores; got {n} and {k}")
    return wide


def icc(
    data: pd.DataFrame,
    target: str = "target",
    rater: str = "rater",
    score: str = "score",
    ci: float = 0.95,
    nan_policy: Literal["raise", "omit"] = "raise",
) -> pd.DataFrame:
    """Intraclass correlation coefficients (the six forms of Shrout & Fleiss, 1979).

    Parameters
    ----------
    data
        Long format: one row per target × rater.
    target, rater, score
        Column names: what is rated (e.g. an observed session), who rates, the numeric score.
    ci
        Confidence level of the intervals, in (0, 1).
    nan_policy
        ``raise`` (default): every target must be rated by every rater once. ``omit``: drop
        targets with a missing score.

    Returns
    -------
    pandas.DataFrame
        One row per form, in the order ``ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k``:

        - ``form``: ``ICC1`` one-way random, single rater; ``ICC2`` two-way random, absolute
          agreement, single rater; ``ICC3`` two-way mixed, consistency, single rater; the
          ``k`` forms are the same for the mean of the k raters.
        - ``icc``: the coefficient.
        - ``ci_low``, ``ci_high``: confidence interval at level ``ci``.
        - ``f``, ``df1``, ``df2``, ``p``: the F test of ICC = 0.

    Notes
    -----
    From the two-way ANOVA of n targets × k raters, with mean squares for targets (MSR),
    raters (MSC), error (MSE) and within targets (MSW = (SSC + SSE) / (n(k − 1))):

    ICC1 = (MSR − MSW) / (MSR + (k − 1) MSW);
    ICC2 = (MSR − MSE) / (MSR + (k − 1) MSE + k (MSC − MSE) / n);
    ICC3 = (MSR − MSE) / (MSR + (k − 1) MSE);
    ICC1k = (MSR − MSW) / MSR; ICC2k = (MSR − MSE) / (MSR + (MSC − MSE) / n);
    ICC3k = (MSR − MSE) / MSR.

    Confidence intervals are the F-based intervals of McGraw & Wong (1996), with the
    Satterthwaite approximation for ICC2 and ICC2k, as in R ``psych::ICC`` and pingouin. When
    the raters differ between targets (as observers do between sessions), ICC1 is the
    appropriate form. With perfect agreement the F statistics are infinite and the
    intervals ``nan``; with no variance at all the coefficients are ``nan``. Checked against the worked example of Shrout & Fleiss (1979, Table 4)
    in the tests.

    References
    ----------
    Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
    reliability. *Psychological Bulletin*, 86(2), 420–428.

    McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass correlation
    coefficients. *Psychological Methods*, 1(1), 30–46.

    Examples
    --------
    >>> import pandas as pd
    >>> sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> data = pd.DataFrame(
    ...     [(t, r, s) for t, row in enumerate(sf) for r, s in enumerate(row)],
    ...     columns=["target", "rater", "score"])
    >>> icc(data)[["form", "icc"]].round(2).to_string(index=False)
    ' form  icc\\n ICC1 0.17\\n ICC2 0.29\\n ICC3 0.71\\nICC1k 0.44\\nICC2k 0.62\\nICC3k 0.91'
    """
    from scipy import stats

    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci}")
    # 1. check the data and make the targets × raters matrix
    x = _wide(data, target, rater, score, nan_policy).to_numpy(dtype=float)
    n, k = x.shape

    # Perfect agreement (MSE = 0) gives an infinite F and undefined intervals (nan), not an error.
    with np.errstate(divide="ignore", invalid="ignore"):
        # 2. two-way ANOVA sums of squares
        grand = x.mean()
        ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
        ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
        ss_total = ((x - grand) ** 2).sum()
        ss_error = ss_total - ss_rows - ss_cols
        msr = ss_rows / (n - 1)
        msc = ss_cols / (k - 1)
        mse = ss_error / ((n - 1) * (k - 1))
        msw = (ss_cols + ss_error) / (n * (k - 1))

        # 3. coefficients
        icc1 = (msr - msw) / (msr + (k - 1) * msw)
        icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        icc3 = (msr - mse) / (msr + (k - 1) * mse)
        icc1k = (msr - msw) / msr
        icc2k = (msr - mse) / (msr + (msc - mse) / n)
        icc3k = (msr - mse) / msr

        # 4. F tests and F-based confidence intervals (McGraw & Wong 1996)
        alpha = 1 - ci
        f1 = msr / msw
        f3 = msr / mse
        df1, df2_1, df2_3 = n - 1, n * (k - 1), (n - 1) * (k - 1)
        p1 = stats.f.sf(f1, df1, df2_1)
        p3 = stats.f.sf(f3, df1, df2_3)

        f1_low = f1 / stats.f.ppf(1 - alpha / 2, df1, df2_1)
        f1_high = f1 * stats.f.ppf(1 - alpha / 2, df2_1, df1)
        f3_low = f3 / stats.f.ppf(1 - alpha / 2, df1, df2_3)
        f3_high = f3 * stats.f.ppf(1 - alpha / 2, df2_3, df1)
        ci1 = ((f1_low - 1) / (f1_low + k - 1), (f1_high - 1) / (f1_high + k - 1))
        ci3 = ((f3_low - 1) / (f3_low + k - 1), (f3_high - 1) / (f3_high + k - 1))
        ci1k = (1 - 1 / f1_low, 1 - 1 / f1_high)
        ci3k = (1 - 1 / f3_low, 1 - 1 / f3_high)

        # Satterthwaite degrees of freedom for the two-way random model (ICC2)
        a = k * icc2 / (n * (1 - icc2))
        b = 1 + k * icc2 * (n - 1) / (n * (1 - icc2))
        v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
        f_star_high = stats.f.ppf(1 - alpha / 2, n - 1, v)
        f_star_low = stats.f.ppf(1 - alpha / 2, v, n - 1)
        denom = k * msc + (k * n - k - n) * mse
        ci2 = (
            n * (msr - f_star_high * mse) / (f_star_high * denom + n * msr),
            n * (f_star_low * msr - mse) / (denom + n * f_star_low * msr),
        )
        ci2k = tuple(c * k / (1 + c * (k - 1)) for c in ci2)

    # 5. the tidy output
    rows = [
        ("ICC1", icc1, *ci1, f1, df1, df2_1, p1),
        ("ICC2", icc2, *ci2, f3, df1, df2_3, p3),
        ("ICC3", icc3, *ci3, f3, df1, df2_3, p3),
        ("ICC1k", icc1k, *ci1k, f1, df1, df2_1, p1),
        ("ICC2k", icc2k, *ci2k, f3, df1, df2_3, p3),
        ("ICC3k", icc3k, *ci3k, f3, df1, df2_3, p3),
    ]
    out = pd.DataFrame(rows, columns=["form", "icc", "ci_low", "ci_high", "f", "df1", "df2", "p"])
    out.attrs.update(n_targets=n, n_raters=k, ci=ci)
    return out


def cohen_kappa(
    a: pd.Series | np.ndarray | list,
    b: pd.Series | np.ndarray | list,
    weights: Literal["linear", "quadratic"] | None = "quadratic",
    categories: list | None = None,
) -> float:
    """Cohen's (weighted) kappa of two raters' ratings of the same items.

    Parameters
    ----------
    a, b
        Ratings of the same items by rater A and rater B (same length, ordinal numbers).
    weights
        ``quadratic`` (default), ``linear`` or ``None`` (unweighted kappa).
    categories
        The ordered rating categories (e.g. ``[0, 1, 2]``). Default: every value seen. Give
        them when a category may be unused, since the weights depend on the range.

    Returns
    -------
    float
        κ_w = 1 − Σ w_ij O_ij / Σ w_ij E_ij, with observed proportions O, expected proportions
        under independence E (outer product of the two raters' margins), and disagreement
        weights w_ij = ((i − j)/(c − 1))² (quadratic) or |i − j|/(c − 1) (linear). ``nan`` when
        the expected disagreement is 0 (both raters used one and the same category).

    Notes
    -----
    The same formula as ``sklearn.metrics.cohen_kappa_score(weights="quadratic")``; checked in
    the tests against a value worked out by hand.

    References
    ----------
    Cohen, J. (1968). Weighted kappa: nominal scale agreement with provision for scaled
    disagreement or partial credit. *Psychological Bulletin*, 70(4), 213–220.

    Examples
    --------
    >>> round(cohen_kappa([0, 1, 2, 2], [0, 1, 2, 1]), 4)
    0.8
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("a and b must be one-dimensional and of the same length")
    if len(a) == 0:
        raise ValueError("no ratings to compare")
    if weights not in (None, "linear", "quadratic"):
        raise ValueError("weights must be 'linear', 'quadratic' or None")
    cats = list(categories) if categories is not None else sorted(set(a.tolist()) | set(b.tolist()))
    index = {c: i for i, c in enumerate(cats)}
    unknown = (set(a.tolist()) | set(b.tolist())) - set(cats)
    if unknown:
        raise ValueError(f"ratings {sorted(unknown)} are not among the categories {cats}")
    c = len(cats)
    if c < 2:
        return float("nan")
    observed = np.zeros((c, c))
    np.add.at(observed, ([index[v] for v in a.tolist()], [index[v] for v in b.tolist()]), 1)
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    i, j = np.indices((c, c))
    if weights is None:
        w = (i != j).astype(float)
    elif weights == "linear":
        w = np.abs(i - j) / (c - 1)
    else:
        w = ((i - j) / (c - 1)) ** 2
    expected_disagreement = (w * expected).sum()
    if expected_disagreement == 0:
        return float("nan")
    return float(1 - (w * observed).sum() / expected_disagreement)


def long_pairs(
    data: pd.DataFrame,
    target: str = "target",
    rater: str = "rater",
    score: str = "score",
    item: str | None = None,
) -> pd.DataFrame:
    """Pair the first two raters of each target (and item): columns ``[item,] target, a, b``.

    Raters are ordered by their name within a target, so "first" and "second" are stable.
    Targets with fewer than two ratings are dropped; a third rater is ignored.
    """
    keys = [item, target] if item else [target]
    _check_columns(data, {k: k for k in keys} | {"rater": rater, "score": score})
    df = data.sort_values(keys + [rater]).copy()
    df["_slot"] = df.groupby(keys).cumcount()
    wide = df[df["_slot"] < 2].pivot(index=keys, columns="_slot", values=score)
    wide = wide.reindex(columns=[0, 1]).dropna(how="any").reset_index()
    return wide.rename(columns={0: "a", 1: "b"})


def agreement(
    data: pd.DataFrame,
    item: str = "item",
    target: str = "target",
    rater: str = "rater",
    score: str = "score",
    categories: list | None = None,
    weights: Literal["linear", "quadratic"] | None = "quadratic",
) -> pd.DataFrame:
    """Percent agreement and weighted kappa per item for targets rated by two raters.

    Parameters
    ----------
    data
        Long format: one row per item × target × rater; missing scores (not applicable) are
        left out, so a pair counts only when both raters scored the item.
    item, target, rater, score
        Column names.
    categories
        Ordered categories for kappa (e.g. ``[0, 1, 2]`` for component ratings).
    weights
        Kappa weights (see :func:`cohen_kappa`).

    Returns
    -------
    pandas.DataFrame
        One row per item and a last row ``(all)`` pooling every pair:

        - ``item``; ``n_pairs``: targets scored by both raters;
        - ``pct_agreement``: percentage of pairs with identical scores (0–100);
        - ``kappa``: weighted kappa (``nan`` when undefined, e.g. one category only).

    Examples
    --------
    >>> d = pd.DataFrame({"item": ["x"] * 4, "target": [1, 1, 2, 2],
    ...                   "rater": ["A", "B", "A", "B"], "score": [2, 2, 1, 0]})
    >>> agreement(d, categories=[0, 1, 2])[["item", "n_pairs", "pct_agreement"]].values.tolist()
    [['x', 2, 50.0], ['(all)', 2, 50.0]]
    """
    _check_columns(data, {"item": item, "target": target, "rater": rater, "score": score})
    scored = data[data[score].notna()]
    pairs = long_pairs(scored, target=target, rater=rater, score=score, item=item)
    columns = ["item", "n_pairs", "pct_agreement", "kappa"]

    def summarise(p: pd.DataFrame) -> pd.Series:
        return pd.Series(
            {
                "n_pairs": len(p),
                "pct_agreement": 100.0 * float((p["a"] == p["b"]).mean()) if len(p) else np.nan,
                "kappa": cohen_kappa(p["a"], p["b"], weights, categories) if len(p) else np.nan,
            }
        )

    if pairs.empty:
        return pd.DataFrame(columns=columns)
    per_item = pairs.groupby(item, sort=True)[["a", "b"]].apply(summarise).reset_index()
    per_item = per_item.rename(columns={item: "item"})
    pooled = summarise(pairs).to_frame().T.assign(item="(all)")
    out = pd.concat([per_item, pooled[columns]], ignore_index=True)[columns]
    out["n_pairs"] = out["n_pairs"].astype(int)
    return out
