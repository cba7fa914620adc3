"""The engine and cached queries of the Streamlit layer.

The engine is a resource per database URL. DataFrame queries are cached with the viewer's
role, site and study in the cache key (``Viewer.cache_key``), so one viewer's rows are never
served to another; the viewer object itself is passed with a leading underscore to keep it out
of the key. The key also holds the data versions of the tables the query reads
(:mod:`dashboards.queries.dependencies`, :mod:`dashboards.ui.data_versions`): a change of those
tables — by this dashboard, another or the CLI — shows on the next page run, and a change of
other tables keeps the cached result (saving attendance does not recompute the RCT overview).
The analysis, a snapshot of the whole study with its models fitted, is served from the latest
snapshot while a newer one is computed in the background (:mod:`dashboards.ui.snapshots`).
"""

from __future__ import annotations

import copy

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from dashboards.access import Viewer, still_valid
from dashboards.charts import fidelity_chart, recruitment_chart, vega_spec
from dashboards.queries import QUERIES
from dashboards.queries.dependencies import STUDY_TABLES, tables_of
from dashboards.ui.data_versions import TableVersions
from dashboards.ui.snapshots import SnapshotStore
from study.db import make_engine, read_session
from study.db.engine import resolve_url
from study.db.models import Study
from study.studies import config_of

__all__ = [
    "TTL_SECONDS",
    "clear",
    "engine",
    "fidelity_spec",
    "query",
    "recruitment_spec",
    "study_info",
    "viewer_still_valid",
]

#: Seconds a cached result lives at most. Changes of data show at once (the data versions);
#: this bounds only what the date changes (a questionnaire turning overdue at midnight).
TTL_SECONDS = 600
#: A deactivated user (or one whose role or site changed) loses open sessions within this.
VALIDITY_TTL_SECONDS = 60
#: Queries served from a background-refreshed snapshot (they take seconds on a large study).
SNAPSHOT_QUERIES = frozenset({"analysis"})
#: A snapshot is refreshed after a change of data, but at most once in this many seconds ...
SNAPSHOT_MIN_INTERVAL_SECONDS = 60
#: ... and after this many seconds even without a change (for what the date changes).
SNAPSHOT_MAX_AGE_SECONDS = 600


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return make_engine(url)


def engine() -> Engine:
    """The engine of ``$PEERSTUDY_DB`` (one per URL for the whole server)."""
    return _engine(resolve_url())


@st.cache_resource(show_spinner=False)
def _versions(url: str) -> TableVersions:
    return TableVersions()


@st.cache_resource(show_spinner=False)
def _snapshots(url: str) -> SnapshotStore:
    return SnapshotStore(max_age_s=SNAPSHOT_MAX_AGE_SECONDS, min_interval_s=SNAPSHOT_MIN_INTERVAL_SECONDS)


def _data_version(url: str, name: str) -> tuple:
    """The data versions of the tables query ``name`` reads (any table when not listed)."""
    return _versions(url).versions(_engine(url), tables_of(name))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _cached(
    name: str, url: str, viewer_key: tuple, args: tuple, version: tuple, _viewer: Viewer
) -> pd.DataFrame:
    return QUERIES[name](_engine(url), _viewer, *args)


def query(name: str, viewer: Viewer, *args) -> pd.DataFrame:
    """Run the named query of :data:`dashboards.queries.QUERIES` for ``viewer`` (cached)."""
    url = resolve_url()
    version = _data_version(url, name)
    if name in SNAPSHOT_QUERIES:
        # Keyed by the trail's generation too: a rebuilt database never gets an old snapshot.
        key = (name, url, viewer.cache_key, tuple(args), version[0])
        latest = _snapshots(url).latest(key, version, lambda: QUERIES[name](_engine(url), viewer, *args))
        return copy.deepcopy(latest)  # shared by every session: each page gets its own copy
    return _cached(name, url, viewer.cache_key, tuple(args), version, viewer)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _study_info(url: str, study_id: int, version: tuple) -> dict:
    with read_session(_engine(url)) as session:
        study = session.get_one(Study, study_id)
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
    url = resolve_url()
    return _study_info(url, viewer.study_id, _versions(url).versions(_engine(url), STUDY_TABLES))


# The recruitment chart's translated texts: title, y-axis, target, site and date.
RecruitmentLabels = tuple[str, str, str, str, str]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _recruitment_spec(
    url: str, viewer_key: tuple, labels: RecruitmentLabels, language: str, version: tuple, _viewer: Viewer
) -> dict:
    overview = _cached("rct_overview", url, viewer_key, (), version, _viewer)
    return vega_spec(recruitment_chart(overview.over_time, *labels, language=language), language)


def recruitment_spec(viewer: Viewer, labels: RecruitmentLabels, language: str = "en") -> dict:
    """The recruitment chart's Vega-Lite spec for ``viewer`` (cached; ``labels`` are the
    translated title, y-axis, target, site and date texts and ``language`` sets the axes'
    locale, so each language has its own entry)."""
    url = resolve_url()
    return _recruitment_spec(
        url, viewer.cache_key, labels, language, _data_version(url, "rct_overview"), viewer
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _fidelity_spec(
    url: str,
    viewer_key: tuple,
    phase: str,
    texts: tuple[str, str],
    labels: dict[str, str],
    language: str,
    version: tuple,
    _viewer: Viewer,
) -> dict:
    groups = query("fidelity_groups", _viewer, phase)
    thresholds = query("fidelity_thresholds", _viewer)
    return vega_spec(fidelity_chart(groups, thresholds, *texts, labels), language)


def fidelity_spec(
    viewer: Viewer, phase: str, texts: tuple[str, str], labels: dict[str, str], language: str = "en"
) -> dict:
    """The fidelity chart's Vega-Lite spec for ``viewer``'s groups of ``phase`` (cached until
    the fidelity data change; building it with Altair costs more than the rest of the RCT
    page's work). ``texts`` are the translated title and adherence axis, ``labels`` the
    tooltip titles and coded words (:func:`dashboards.charts.fidelity_chart`)."""
    url = resolve_url()
    version = _data_version(url, "fidelity_groups") + _data_version(url, "fidelity_thresholds")
    return _fidelity_spec(url, viewer.cache_key, phase, texts, labels, language, version, viewer)


@st.cache_data(ttl=VALIDITY_TTL_SECONDS, show_spinner=False)
def _still_valid(url: str, login: str, viewer_key: tuple, _viewer: Viewer) -> bool:
    return still_valid(_engine(url), _viewer)


def viewer_still_valid(viewer: Viewer) -> bool:
    """:func:`dashboards.access.still_valid`, checked at most once a minute per login."""
    return _still_valid(resolve_url(), viewer.login, viewer.cache_key, viewer)


def clear() -> None:
    """After a write: look at the audit trail on the next query, so the page shows the write
    even within :data:`dashboards.ui.data_versions.MIN_INTERVAL_S` (the data versions then
    recompute exactly the results it changed; nothing else is thrown away)."""
    _versions(resolve_url()).look_next_time()
