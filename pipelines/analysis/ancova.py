"""ANCOVA of a follow-up outcome: the primary intention-to-treat analysis of the trial."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipelines.analysis.design import require_columns, result_row, treatment_indicator, trial_design

__all__ = ["ANCOVA_COLUMNS", "ancova"]

#: Columns of the frame :func:`ancova` returns.
ANCOVA_COLUMNS = [
    "estimate",
    "se",
    "df",
    "ci_low",
    "ci_high",
    "p",
    "n",
    "n_treatment",
    "n_control",
]


def ancova(
    data: pd.DataFrame,
    outcome: str,
    arm: str = "arm",
    treatment: str = "INT",
    control: str = "CTL",
    baseline: str | None = None,
    covariates: Sequence[str] = (),
    ci: float = 0.95,
    summary: bool = False,
) -> pd.DataFrame:
    """Adjusted mean difference between two arms by ANCOVA (ordinary least squares).

    Fits ``outcome ~ 1 + treat + baseline + covariates`` on the participants with an observed
    outcome, baseline and arm (complete cases), where ``treat`` is 1 for ``treatment`` and 0
    for ``control``.

    Parameters
    ----------
    data
        One row per participant (wide): the outcome at follow-up, its baseline value, the arm
        and the covariates.
    outcome, arm, baseline
        Column names. ``baseline`` may be ``None`` (unadjusted comparison).
    treatment, control
        Arm codes as they appear in ``arm`` (blinded codes work the same way: the estimate is
        always ``treatment`` minus ``control``).
    covariates
        Further adjustment columns (stratification factors, site). Text columns are dummy
        coded; a column with one level is dropped.
    ci
        Confidence level of the interval, in (0, 1).
    summary
        When true, the statsmodels summary text is attached as ``result.attrs["summary"]``.

    Returns
    -------
    pandas.DataFrame
        One row:

        * ``estimate`` – adjusted mean difference treatment − control, in outcome units
        * ``se`` – its standard error
        * ``ci_low``, ``ci_high`` – confidence interval from the t distribution
        * ``p`` – two-sided p-value of H0: no difference
        * ``df`` – residual degrees of freedom
        * ``n``, ``n_treatment``, ``n_control`` – participants analysed

    Notes
    -----
    The ANCOVA of a follow-up score adjusted for its baseline is the recommended primary
    analysis of a pre-post randomised trial (more efficient than change scores; EMA 2015
    guideline on adjustment for baseline covariates). Checked against ``statsmodels``
    formula OLS in ``tests/test_analysis_agreement.py``.

    References
    ----------
    Vickers AJ, Altman DG. Analysing controlled trials with baseline and follow up
    measurements. BMJ 2001;323:1123–1124.
    """
    # Check the data
    if not 0 < ci < 1:
        raise ValueError(f"ci must lie between 0 and 1, got {ci}")
    require_columns(data, [outcome, arm, baseline, *covariates])
    frame = data.assign(_treat=treatment_indicator(data[arm], treatment, control))
    needed = ["_treat", outcome] + ([baseline] if baseline else [])
    frame = frame.dropna(subset=needed)
    n_t, n_c = int((frame["_treat"] == 1).sum()), int((frame["_treat"] == 0).sum())
    if n_t == 0 or n_c == 0:
        raise ValueError(
            f"{outcome}: no participant with an observed outcome"
            + (" and baseline" if baseline else "")
            + f" in arm {treatment if n_t == 0 else control!r}"
        )

    # Compute: OLS on an explicit design (treat first after the constant)
    X = trial_design(frame, frame["_treat"].rename("treat"), baseline, covariates)
    y = frame[outcome].to_numpy(dtype=float)
    design = X.to_numpy(dtype=float)
    if len(y) <= design.shape[1]:
        raise ValueError(f"{outcome}: {len(y)} participants are too few for {design.shape[1]} parameters")
    # OLS by QR-based least squares; the covariance σ²(X'X)⁻¹ by the pseudo-inverse so that a
    # covariate collinear with others (an empty stratum) does not stop the analysis.
    beta, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    if rank < design.shape[1] and np.linalg.matrix_rank(design[:, :2]) < 2:
        raise ValueError(f"{outcome}: the arm is collinear with the covariates")
    df = float(len(y) - rank)
    resid = y - design @ beta
    cov = (resid @ resid / df) * np.linalg.pinv(design.T @ design)

    # Build the output frame
    result = pd.DataFrame(
        [
            {
                **result_row(float(beta[1]), float(np.sqrt(cov[1, 1])), df, ci),
                "n": n_t + n_c,
                "n_treatment": n_t,
                "n_control": n_c,
            }
        ],
        columns=ANCOVA_COLUMNS,
    )
    if summary:
        import statsmodels.api as sm

        fit = sm.OLS(y, design).fit()
        result.attrs["summary"] = fit.summary(
            title=f"ANCOVA of {outcome}", xname=list(X.columns), yname=outcome
        ).as_text()
    return result
