"""The neutral withdrawal reasons (CONSORT "discontinued intervention / lost to follow-up").

Kept apart from :mod:`study.withdrawal` so that the command line can list them in its help
without loading the database layer (``peerstudy --help`` stays instant).
"""

from __future__ import annotations

__all__ = ["WITHDRAWAL_REASONS"]

#: Neutral withdrawal reasons: a withdrawal never blames the participant.
WITHDRAWAL_REASONS: tuple[str, ...] = (
    "participant's own wish",
    "life circumstances",
    "moved away",
    "health reasons",
    "lost to follow-up",
    "other",
)
