"""Which tables each cached dashboard query reads (no Streamlit).

The Streamlit layer keys a query's cache by the data versions of exactly these tables
(:mod:`dashboards.ui.data_versions`), so saving attendance does not throw away the RCT
overview, and a questionnaire entry recomputes the completion counts but not the recruitment
chart. A query not listed here depends on every table: any change recomputes it (the safe
default). Every query also depends on :data:`STUDY_TABLES` (configuration, phase, blinding,
sites).
"""

from __future__ import annotations

__all__ = ["QUERY_TABLES", "STUDY_TABLES", "tables_of"]

#: The study's configuration and state: every query reads (some of) them.
STUDY_TABLES = frozenset(
    {"study", "study_phase", "site", "sap_version", "instrument_version", "manual_version"}
)

_PEOPLE = {"person", "enrolment", "allocation"}
_GROUPS = {"course_group", "group_leader", "group_member", "group_session"}
_FIDELITY = {*_GROUPS, "fidelity_observation", "component_rating", "competence_rating"}

QUERY_TABLES: dict[str, frozenset[str]] = {
    name: frozenset(tables) | STUDY_TABLES
    for name, tables in {
        # the blinded arm codes are drawn from the randomisation secret
        "rct_overview": {*_PEOPLE, "randomisation_secret"},
        "screening": _PEOPLE,
        "sites": set(),
        "allocation": {*_PEOPLE, *_GROUPS, "randomisation_secret"},
        # a timepoint anchored on the group's start reads the participant's group
        "completion": {*_PEOPLE, "group_member", "course_group", "questionnaire_response"},
        "chase_list": {*_PEOPLE, "group_member", "course_group", "questionnaire_response", "person_identity"},
        # the observers and leaders are people
        "fidelity_groups": {*_FIDELITY, "person"},
        "fidelity_observations": {*_FIDELITY, "person"},
        "fidelity_thresholds": set(),
        "groups": {*_GROUPS, "person"},
        "sessions": {*_GROUPS, "attendance"},
        "session_grid": {*_GROUPS, "person", "attendance"},
        "entry_participants": {"person", "enrolment"},
        # the anchors (consent, randomisation, group start, withdrawal) and the responses
        "participant_schedule": {*_PEOPLE, "group_member", "course_group", "questionnaire_response"},
    }.items()
}


def tables_of(query: str) -> frozenset[str] | None:
    """The tables ``query`` reads, or ``None``: it may read any table.

    >>> sorted(tables_of("sessions") - STUDY_TABLES)
    ['attendance', 'course_group', 'group_leader', 'group_member', 'group_session']
    >>> tables_of("analysis") is None
    True
    """
    return QUERY_TABLES.get(query)
