"""Row filters every query applies: the viewer's study and, for coordinators, their site."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Engine, true

from dashboards.access import Viewer, viewer_study
from study.blinding import code_mapping, display_arms, is_unblinded
from study.db import read_session
from study.studies import config_of

__all__ = ["arm_view", "site_clause"]


def site_clause(viewer: Viewer, site_column) -> ColumnElement[bool]:
    """``WHERE`` clause keeping only rows of sites the viewer may see."""
    if viewer.all_sites:
        return true()
    return site_column == viewer.site_id


def arm_view(engine: Engine, viewer: Viewer, arms):
    """Stored arm codes (a Series) as this viewer may see them.

    Coordinators see the real codes of their site's participants; researchers, statisticians
    and admins see the blinded codes (``A``/``B``) until the study is unblinded
    (:func:`study.blinding.display_arms`).
    """
    with read_session(engine) as session:
        study = viewer_study(session, viewer)
        unblinded = is_unblinded(study)
        config = config_of(study)
        codes = code_mapping(session, study)
    return display_arms(arms, config, unblinded=viewer.sees_arm_labels(unblinded), codes=codes)
