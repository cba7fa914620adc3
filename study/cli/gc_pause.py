"""Python's cyclic garbage collector paused while a command starts up (issue 16).

Starting a command imports a few hundred modules (SQLAlchemy, the 40 declarative models,
typer, pydantic) and so allocates several hundred thousand objects; the collector's
generation thresholds make it traverse that growing heap again and again, about a seventh of
``peerstudy randomise``'s CPU, and it finds nothing: module-level objects live as long as the
process. So :func:`main <study.cli.main>` pauses it first and :func:`open_db
<study.cli.common.open_db>` — where every command's start-up ends and its work on the
database begins — resumes it after :func:`gc.freeze`, which moves the objects of the start-up
into the permanent generation: later collections (a long import or analysis) do not walk
them again. Reference counting frees memory as usual meanwhile; only cycles wait.

The pause is for the console script only: a test that invokes the typer app in-process
never pauses its collector, and :func:`resume_collector` does nothing where it is running.
"""

from __future__ import annotations

import gc

__all__ = ["pause_collector", "resume_collector"]


def pause_collector() -> None:
    """Stop automatic cyclic collection until :func:`resume_collector` (reference counting goes on)."""
    gc.disable()


def resume_collector() -> None:
    """Freeze what start-up created and let the collector run again, if :func:`pause_collector` stopped it."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
