"""Session state of one browser session: language, the logged-in viewer, idle expiry, and
one-time form submissions."""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable

import streamlit as st

from dashboards.access import Viewer, is_expired
from dashboards.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate
from study.db.types import utcnow

__all__ = [
    "EXPIRED",
    "LANG",
    "LAST_SEEN",
    "VIEWER",
    "current_viewer",
    "init",
    "is_repeat_submit",
    "language",
    "log_out",
    "require_viewer",
    "remember_submit",
    "set_viewer",
    "t",
    "translator",
]

VIEWER = "viewer"
LAST_SEEN = "last_seen"
LANG = "lang"
EXPIRED = "session_expired"
SAVED = "saved_forms"


def init(language: str | None = None) -> None:
    """Set the session defaults (only keys that are missing).

    The language is ``language`` when given (a participant's survey opens in their study's
    language), else ``$PEERSTUDY_LANG``, else English; a choice in the language switch is
    never overridden.
    """
    if LANG not in st.session_state:
        wanted = language or os.environ.get("PEERSTUDY_LANG", DEFAULT_LANGUAGE)
        st.session_state[LANG] = wanted if wanted in LANGUAGES else DEFAULT_LANGUAGE
    if SAVED not in st.session_state:
        st.session_state[SAVED] = {}


def language() -> str:
    """The session's language (``en`` or ``da``)."""
    return st.session_state.get(LANG, DEFAULT_LANGUAGE)


def t(key: str, **values: object) -> str:
    """The text of ``key`` in the session's language."""
    return translate(key, language(), **values)


def translator() -> Callable[..., str]:
    """:func:`t` bound to the language of this run of the page.

    Widgets call their ``format_func`` also outside the page's run (when their state is
    serialised), where the session state is not at hand; a bound translator still speaks the
    page's language there.
    """
    return functools.partial(translate, language=language())


def set_viewer(viewer: Viewer) -> None:
    """Log ``viewer`` in for this browser session."""
    st.session_state[VIEWER] = viewer
    st.session_state[LAST_SEEN] = utcnow()
    st.session_state[EXPIRED] = False


def log_out(expired: bool = False) -> None:
    """Forget the viewer (and say why on the login page when the session expired)."""
    st.session_state.pop(VIEWER, None)
    st.session_state.pop(LAST_SEEN, None)
    st.session_state[EXPIRED] = expired


def current_viewer() -> Viewer | None:
    """The logged-in viewer, or ``None``; an idle session is ended here, before any page code
    (and so before any form it submitted) runs."""
    viewer = st.session_state.get(VIEWER)
    if viewer is None:
        return None
    if is_expired(st.session_state.get(LAST_SEEN)):
        log_out(expired=True)
        return None
    st.session_state[LAST_SEEN] = utcnow()
    return viewer


def require_viewer() -> Viewer:
    """The viewer of a page; stops the page with a message when nobody is logged in."""
    viewer = current_viewer()
    if viewer is None:
        key = "auth.expired" if st.session_state.get(EXPIRED) else "auth.login_required"
        st.warning(t(key))
        st.stop()
    return viewer


def _fingerprint(values: object) -> str:
    return hashlib.sha256(repr(values).encode("utf-8")).hexdigest()


def is_repeat_submit(form: str, values: object) -> bool:
    """Whether ``values`` are exactly what ``form`` last saved in this session.

    A double click, a resent request or a reload after saving submits the same values again;
    the page then says it was saved already instead of writing twice. (The domain's uniqueness
    rules — one pseudonym per study, one attendance row per person and session — are the
    backstop across sessions.)
    """
    return st.session_state.get(SAVED, {}).get(form) == _fingerprint(values)


def remember_submit(form: str, values: object) -> None:
    """Record that ``values`` of ``form`` were saved (call only after a successful write)."""
    st.session_state.setdefault(SAVED, {})[form] = _fingerprint(values)
