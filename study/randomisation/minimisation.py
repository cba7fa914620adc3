"""Pocock–Simon minimisation with a random element.

For a new participant, for every arm ``c`` the imbalance that would follow from assigning ``c``
is computed per factor over the participants already allocated who share the new
participant's level of that factor: with ``n_a`` the number of them in arm ``a`` (plus one for
``a = c``) scaled by the arm's ratio share, the factor's imbalance is the range
``max_a n_a/r_a − min_a n_a/r_a``. The total is the weighted sum over factors (site and the
configured factors). The arm with the smallest total is *preferred* (ties broken at random)
and assigned with probability ``p`` (default 0.8); otherwise one of the other arms is chosen
at random. With ``p < 1`` no allocation is deterministic, which keeps it unpredictable.

Every draw of allocation ``k`` comes from the stream ``minimisation|k``, so the statistician can
replay the whole sequence from the secret and the participants' factor levels.

References
----------
Pocock SJ, Simon R. Sequential treatment assignment with balancing for prognostic factors in
the controlled clinical trial. Biometrics 1975;31:103–115.
Altman DG, Bland JM. Treatment allocation by minimisation. BMJ 2005;330:843.
"""

from __future__ import annotations

__all__ = ["MinimisationState", "minimisation_stream"]

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from study.randomisation.stream import HmacStream, RandomStream


def minimisation_stream(secret: bytes, position: int) -> HmacStream:
    """The concealed stream of the ``position``-th minimisation allocation of a study."""
    return HmacStream(secret, f"minimisation|{position}")


@dataclass
class MinimisationState:
    """Counts of allocated participants per factor level and arm, updated as they come.

    Parameters
    ----------
    ratios
        Arm code → ratio share, in a fixed order.
    factors
        Factor names (``site`` and the configured factors).
    weights
        Factor → weight (default 1 for each).
    preferred_probability
        Probability of assigning the preferred arm, in (0.5, 1].
    """

    ratios: Mapping[str, int]
    factors: Sequence[str]
    weights: Mapping[str, float] = field(default_factory=dict)
    preferred_probability: float = 0.8
    _counts: dict[tuple[str, str], dict[str, int]] = field(
        default_factory=lambda: defaultdict(dict), init=False, repr=False
    )

    def __post_init__(self) -> None:
        if len(self.ratios) < 2 or any(r < 1 for r in self.ratios.values()):
            raise ValueError(f"need at least two arms with positive ratios, got {dict(self.ratios)}")
        if not 0.5 < self.preferred_probability <= 1.0:
            raise ValueError(f"preferred_probability must be in (0.5, 1], got {self.preferred_probability}")
        self._arms = list(self.ratios)

    def _levels(self, levels: Mapping[str, str]) -> list[tuple[str, str]]:
        missing = [f for f in self.factors if f not in levels]
        if missing:
            raise ValueError(f"no level given for factor(s) {', '.join(missing)}")
        return [(f, str(levels[f])) for f in self.factors]

    def add(self, levels: Mapping[str, str], arm: str) -> None:
        """Record an allocation of a participant with these factor levels to ``arm``."""
        if arm not in self.ratios:
            raise ValueError(f"unknown arm {arm!r}")
        for key in self._levels(levels):
            counts = self._counts[key]
            counts[arm] = counts.get(arm, 0) + 1

    def imbalance(self, levels: Mapping[str, str]) -> dict[str, float]:
        """Total weighted imbalance that assigning each arm would produce (arm → score)."""
        keys = self._levels(levels)
        scores = {}
        for candidate in self._arms:
            total = 0.0
            for factor, level in keys:
                counts = self._counts.get((factor, level), {})
                scaled = [
                    (counts.get(arm, 0) + (arm == candidate)) / ratio for arm, ratio in self.ratios.items()
                ]
                total += self.weights.get(factor, 1.0) * (max(scaled) - min(scaled))
            scores[candidate] = total
        return scores

    def choose(self, levels: Mapping[str, str], stream: RandomStream) -> str:
        """The arm for a new participant (does not record it: call :meth:`add`).

        Draws, in this order: one to break a tie among preferred arms (only when tied), one
        uniform to decide preferred vs other (always), one to pick among the others (only
        when not preferred and there are several).
        """
        scores = self.imbalance(levels)
        best = min(scores.values())
        preferred = [a for a in self._arms if scores[a] == best]
        chosen = preferred[stream.randbelow(len(preferred))] if len(preferred) > 1 else preferred[0]
        if stream.random() < self.preferred_probability:
            return chosen
        others = [a for a in self._arms if a != chosen]
        return others[stream.randbelow(len(others))] if len(others) > 1 else others[0]

    def marginal_counts(self) -> dict[tuple[str, str], dict[str, int]]:
        """(factor, level) → arm → count, a copy."""
        return {k: dict(v) for k, v in self._counts.items()}
