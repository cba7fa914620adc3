"""How a page saves: the one idiom around every dashboard action (:mod:`dashboards.actions`).

A repeat of what the form last saved is not written again (a double click, a reload after
saving); a refused or bad action is shown as one message and nothing was written; after a
write, the cached data are dropped so every table shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import streamlit as st

from dashboards.ui import data, state
from dashboards.ui.widgets import show_error
from study.errors import PeerstudyError

__all__ = ["Saved", "save"]

T = TypeVar("T")


@dataclass(frozen=True)
class Saved(Generic[T]):
    """A write that happened, with what the action returned (which may itself be ``None``)."""

    value: T


def save(write: Callable[[], T], *, form: str | None = None, submission: object = None) -> Saved[T] | None:
    """Run ``write`` (a call of a dashboard action) as every page saves.

    With ``form``, a ``submission`` equal to the one that form last saved in this browser
    session is not written again: the page says it was saved already
    (:func:`dashboards.ui.state.is_repeat_submit`). A ``PeerstudyError`` is shown with
    :func:`dashboards.ui.widgets.show_error` (the action rolled back: nothing was written).

    Returns :class:`Saved` with the action's result after a write, ``None`` when nothing was
    written; the caller then shows its own success message.
    """
    if form is not None and state.is_repeat_submit(form, submission):
        st.info(state.t("common.already_saved"))
        return None
    try:
        result = write()
    except PeerstudyError as exc:
        show_error(exc)
        return None
    if form is not None:
        state.remember_submit(form, submission)
    data.clear()
    return Saved(result)
