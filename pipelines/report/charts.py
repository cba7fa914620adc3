"""Charts drawn as inline SVG (no JavaScript, no CDN: the report works offline), with their
numbers and words in the reader's language (decimal comma and catalogue texts in Danish)."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from dashboards.i18n import catalogue, translate

__all__ = ["forest_svg", "trajectories_svg"]

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def _ticks(low: float, high: float, n: int = 5) -> np.ndarray:
    span = high - low or 1.0
    step = 10 ** np.floor(np.log10(span / n))
    for m in (1, 2, 2.5, 5, 10):
        if span / (m * step) <= n:
            step *= m
            break
    # only ticks inside [low, high]: one past the end would be drawn beyond the axis and cut off
    return np.arange(np.ceil(low / step) * step, high + step * 1e-9, step)


def _tick(value: float, language: str) -> str:
    text = f"{value + 0.0:g}"
    return text.replace(".", ",") if language == "da" else text


def forest_svg(
    results: pd.DataFrame,
    value: str = "effect_size",
    low: str = "effect_size_ci_low",
    high: str = "effect_size_ci_high",
    label: str = "label",
    x_title: str | None = None,
    language: str = "en",
) -> str:
    """A forest plot: one row per result line, point and CI, a line at zero.

    ``x_title`` defaults to the catalogue's ``forest.hedges`` ("Hedges' g (95 % CI)") in
    ``language``; tick labels use the language's decimal mark.
    """
    if x_title is None:
        x_title = translate("forest.hedges", language)
    data = results.dropna(subset=[value, low, high]).reset_index(drop=True)
    if data.empty:
        return f"<p><em>{escape(translate('forest.none', language))}</em></p>"
    # The labels' column is as wide as the longest label (about 6.6 px per character of 12 px
    # Helvetica): a Danish method name is longer than the English one and must not be cut off.
    longest = int(data[label].astype(str).str.len().max())
    row_h, left, right, top = 22, max(300, int(longest * 6.6) + 20), 40, 20
    plot_w = 480
    width = left + plot_w + right
    height = top + row_h * len(data) + 50
    lo, hi = float(min(data[low].min(), 0)), float(max(data[high].max(), 0))
    pad = (hi - lo) * 0.05 or 0.1
    lo, hi = lo - pad, hi + pad

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * plot_w

    parts = [
        f'<line x1="{x(0):.1f}" y1="{top - 5}" x2="{x(0):.1f}" y2="{top + row_h * len(data)}" stroke="#999" stroke-dasharray="4 3"/>'
    ]
    for i, r in data.iterrows():
        y = top + row_h * i + row_h / 2
        parts.append(
            f'<text x="{left - 10}" y="{y + 4:.1f}" text-anchor="end">{escape(str(r[label]))}</text>'
        )
        parts.append(
            f'<line x1="{x(r[low]):.1f}" y1="{y:.1f}" x2="{x(r[high]):.1f}" y2="{y:.1f}" stroke="#333" stroke-width="1.5"/>'
        )
        parts.append(f'<rect x="{x(r[value]) - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="#1f77b4"/>')
    axis_y = top + row_h * len(data) + 5
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#333"/>')
    for t in _ticks(lo, hi):
        parts.append(f'<line x1="{x(t):.1f}" y1="{axis_y}" x2="{x(t):.1f}" y2="{axis_y + 5}" stroke="#333"/>')
        parts.append(
            f'<text x="{x(t):.1f}" y="{axis_y + 18}" text-anchor="middle">{_tick(t, language)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{axis_y + 38}" text-anchor="middle">{escape(x_title)}</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="Helvetica, Arial, sans-serif" '
        f'font-size="12" role="img"><title>{escape(translate("forest.title", language))}</title>'
        + "".join(parts)
        + "</svg>"
    )


def trajectories_svg(
    dataset: pd.DataFrame, outcome: str, timepoints: list[str], arms: list[str], language: str = "en"
) -> str:
    """Mean ± 95 % CI (t) of an outcome per arm over the timepoints, observed data; timepoint
    names and numbers in ``language``."""
    data = dataset[dataset["arm"].isin(arms)].dropna(subset=[outcome])
    if data.empty:
        return f"<p><em>{escape(translate('report.no_values', language, outcome=outcome))}</em></p>"
    stats = data.groupby(["arm", "timepoint"])[outcome].agg(["mean", "std", "count"]).reset_index()
    stats["half"] = 1.96 * stats["std"] / np.sqrt(stats["count"].clip(lower=1))
    width, height, left, bottom, top = 380, 240, 50, 40, 25
    plot_w, plot_h = width - left - 20, height - top - bottom
    lo = float((stats["mean"] - stats["half"].fillna(0)).min())
    hi = float((stats["mean"] + stats["half"].fillna(0)).max())
    pad = (hi - lo) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad

    def x(i: int) -> float:
        return left + (i + 0.5) / len(timepoints) * plot_w

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    parts = [
        f'<text x="{left}" y="15" font-weight="bold">{escape(outcome)}</text>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>',
    ]
    for t in _ticks(lo, hi, 4):
        parts.append(f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{_tick(t, language)}</text>')
    for i, tp in enumerate(timepoints):
        name = catalogue(language).get(f"code.timepoint.{tp}", tp)
        parts.append(
            f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{escape(name)}</text>'
        )
    for k, arm in enumerate(arms):
        color, shift = PALETTE[k % len(PALETTE)], (k - (len(arms) - 1) / 2) * 6
        s = stats[stats["arm"] == arm].set_index("timepoint").reindex(timepoints)
        points = [(x(i) + shift, y(m)) for i, m in enumerate(s["mean"]) if pd.notna(m)]
        if len(points) > 1:
            parts.append(
                '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
                    color, " ".join(f"{a:.1f},{b:.1f}" for a, b in points)
                )
            )
        for i, (m, h) in enumerate(zip(s["mean"], s["half"])):
            if pd.isna(m):
                continue
            if pd.notna(h):
                parts.append(
                    f'<line x1="{x(i) + shift:.1f}" y1="{y(m - h):.1f}" x2="{x(i) + shift:.1f}" y2="{y(m + h):.1f}" stroke="{color}"/>'
                )
            parts.append(f'<circle cx="{x(i) + shift:.1f}" cy="{y(m):.1f}" r="3.5" fill="{color}"/>')
        parts.append(
            f'<rect x="{left + 10 + 70 * k}" y="{height - 14}" width="10" height="10" fill="{color}"/>'
            f'<text x="{left + 24 + 70 * k}" y="{height - 5}">{escape(arm)}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="Helvetica, Arial, sans-serif" '
        f'font-size="11" role="img"><title>{escape(translate("report.by_arm", language, outcome=outcome))}</title>'
        + "".join(parts)
        + "</svg>"
    )
