"""The phase check that actions make before they write: ``require_phase``.

A module of its own because both the phase transitions (:mod:`study.phases`) and the actions
that a phase allows (locking the manual, randomising, importing) depend on it, and the start
of the RCT itself locks the manual.
"""

from __future__ import annotations

from study.db.models import Study
from study.errors import NotAllowed

__all__ = ["require_phase"]


def require_phase(study: Study, *allowed: str, action: str) -> None:
    """Raise ``NotAllowed`` unless the study is in one of the ``allowed`` phases.

    ``action`` says what was refused, in words a dashboard user understands too (e.g.
    ``"locking the course manual"``).
    """
    if study.current_phase not in allowed:
        raise NotAllowed(
            f"{action} is allowed only in the {' or '.join(allowed)} phase; study "
            f"{study.code} is in {study.current_phase or 'set-up (no phase started)'}"
        )
