"""The engine and cached queries of the Streamlit layer.

The engine is a resource per database URL. DataFrame queries are cached for a short time with
the viewer's role, site and study in the cache key (``Viewer.cache_key``), so one viewer's
rows are never served to another; the viewer object itself is passed with a leading
underscore to keep it out of the key. Writes call :func:`clear` so everybody sees them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from dashboards.access import Viewer, still_valid
from dashboards.charts import recruitment_chart, vega_spec
from dashboards.queries import QUERIES
from study.db import make_engine, read_session
from study.db.engine import resolve_url
from study.db.models import Study
from study.studies import config_of

__all__ = [
    "TTL_SECONDS",
    "clear",
    "engine",
    "query",
    "recruitment_spec",
    "study_info",
    "viewer_still_valid",
]

TTL_SECONDS = 60


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return make_engine(url)


def engine() -> Engine:
    """The engine of ``$PEERSTUDY_DB`` (one per URL for the whole server)."""
    return _engine(resolve_url())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _cached(name: str, url: str, viewer_key: tuple, args: tuple, _viewer: Viewer) -> pd.DataFrame:
    return QUERIES[name](_engine(url), _viewer, *args)


def query(name: str, viewer: Viewer, *args) -> pd.DataFrame:
    """Run the named query of :data:`dashboards.queries.QUERIES` for ``viewer`` (cached)."""
    return _cached(name, resolve_url(), viewer.cache_key, tuple(args), viewer)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _study_info(url: str, study_id: int) -> dict:
    with read_session(_engine(url)) as session:
        study = session.get(Study, study_id)
        config = config_of(study)
        return {
            "code": study.code,
            "name": study.name,
            "phase": study.current_phase,
            "unblinded": study.unblinded_at is not None,
            "demo": study.is_demo,
            "min_sessions": config.groups.per_protocol_min_sessions,
            "stratification": list(config.stratification),
            "factor_levels": {
                factor: {level.code: level.label for level in levels}
                for factor, levels in config.factor_levels.items()
            },
            "municipalities": {site.code: list(site.municipalities) for site in config.sites},
            "exclusions": sorted(
                {flag for role in config.roles.values() for flag in role.eligibility.exclusions}
            ),
            "max_sessions": config.groups.sessions,
        }


def study_info(viewer: Viewer) -> dict:
    """Code, name, current phase, blinding state and a few settings of the viewer's study."""
    return _study_info(resolve_url(), viewer.study_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _recruitment_spec(url: str, viewer_key: tuple, labels: tuple[str, ...], language: str, _viewer: Viewer) -> dict:
    overview = _cached("rct_overview", url, viewer_key, (), _viewer)
    return vega_spec(recruitment_chart(overview.over_time, *labels, language=language), language)


def recruitment_spec(viewer: Viewer, labels: tuple[str, ...], language: str = "en") -> dict:
    """The recruitment chart's Vega-Lite spec for ``viewer`` (cached; ``labels`` are the
    translated title, y-axis, target, site and date texts and ``language`` sets the axes'
    locale, so each language has its own entry)."""
    return _recruitment_spec(resolve_url(), viewer.cache_key, labels, language, viewer)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _still_valid(url: str, login: str, viewer_key: tuple, _viewer: Viewer) -> bool:
    return still_valid(_engine(url), _viewer)


def viewer_still_valid(viewer: Viewer) -> bool:
    """:func:`dashboards.access.still_valid`, checked at most once a minute per login."""
    return _still_valid(resolve_url(), viewer.login, viewer.cache_key, viewer)


def clear() -> None:
    """Drop cached data after a write, so the next page shows it."""
    _cached.clear()
    _study_info.clear()
    _recruitment_spec.clear()
