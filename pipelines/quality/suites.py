"""Expectation specifications generated from the study configuration (no GX import here).

Each :class:`Check` names a table, a GX 1.x expectation class and its arguments, and says in
words what it checks. :func:`checks_for` derives them from the config: required fields, unique
keys, allowed codes (sites, timepoints, instruments, arms), windows and scale ranges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from study.config import StudyConfig

__all__ = ["Check", "checks_for"]


@dataclass(frozen=True)
class Check:
    """One expectation: ``expectation`` is the class name in ``great_expectations.expectations``.

    ``severity`` is ``error`` (the data are wrong: ``peerstudy check`` exits 1) or ``warning``
    (the data are kept but flagged for review, e.g. a questionnaire answered outside its
    timepoint window).
    """

    table: str
    expectation: str
    kwargs: dict = field(default_factory=dict)
    description: str = ""
    severity: str = "error"


def checks_for(config: StudyConfig) -> list[Check]:
    """Every check of a study, generated from its configuration."""
    checks: list[Check] = []
    required = {
        "participants": ["pseudonym", "site", "screened_on", "eligible"],
        "scores": ["pseudonym", "timepoint", "instrument", "version", "scale", "completed_on"],
        "attendance": ["pseudonym", "group", "week", "status"],
        "items": ["pseudonym", "timepoint", "instrument", "item", "completed_on"],
        "group_fidelity": ["group", "mean_adherence_pct"],
    }
    for table, columns in required.items():
        for column in columns:
            checks.append(
                Check(
                    table,
                    "ExpectColumnValuesToNotBeNull",
                    {"column": column},
                    f"{table}: {column} is present",
                )
            )
    checks += [
        Check(
            "participants",
            "ExpectColumnValuesToBeUnique",
            {"column": "pseudonym"},
            "participants: one record per pseudonym",
        ),
        Check(
            "participants",
            "ExpectColumnValuesToBeInSet",
            {"column": "site", "value_set": config.site_codes},
            "participants: site is a configured site",
        ),
        Check(
            "allocations",
            "ExpectColumnValuesToBeBetween",
            {"column": "n_allocations", "min_value": 1, "max_value": 1},
            "every RCT participant is allocated exactly once",
        ),
        Check(
            "allocations",
            "ExpectColumnValuesToBeInSet",
            {"column": "is_rct_participant", "value_set": [True]},
            "allocations: only RCT participants are allocated",
        ),
        Check(
            "allocations",
            "ExpectColumnValuesToBeInSet",
            {"column": "eligible", "value_set": [True]},
            "allocations: only eligible participants are allocated",
        ),
        Check(
            "allocations",
            "ExpectColumnValuesToBeInSet",
            {"column": "consented", "value_set": [True]},
            "allocations: only consented participants are allocated",
        ),
        Check(
            "scores",
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["pseudonym", "instrument", "timepoint", "scale"]},
            "scores: unique per participant × instrument × timepoint (× scale)",
        ),
        Check(
            "scores",
            "ExpectColumnValuesToBeInSet",
            {"column": "timepoint", "value_set": [t.code for t in config.timepoints]},
            "scores: timepoint is configured",
        ),
        Check(
            "scores",
            "ExpectColumnValuesToBeInSet",
            {"column": "instrument", "value_set": list(config.instruments)},
            "scores: instrument is one the study uses",
        ),
        Check(
            "scores",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "completed_on",
                "column_B": "window_start",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            "scores: questionnaire not answered before its timepoint window",
            "warning",
        ),
        Check(
            "scores",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "window_end",
                "column_B": "completed_on",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            "scores: questionnaire not answered after its timepoint window",
            "warning",
        ),
        Check(
            "attendance",
            "ExpectColumnValuesToBeInSet",
            {"column": "session_exists", "value_set": [True]},
            "attendance: only for sessions that exist",
        ),
        Check(
            "attendance",
            "ExpectColumnValuesToBeInSet",
            {"column": "session_held", "value_set": [True]},
            "attendance: not for cancelled sessions",
        ),
        Check(
            "attendance",
            "ExpectColumnValuesToBeInSet",
            {"column": "member_of_group", "value_set": [True]},
            "attendance: only for members of the session's group",
        ),
        Check(
            "attendance",
            "ExpectColumnValuesToBeBetween",
            {"column": "week", "min_value": 1, "max_value": config.groups.sessions},
            f"attendance: week within 1–{config.groups.sessions}",
        ),
        Check(
            "items",
            "ExpectColumnValuesToBeInSet",
            {"column": "value_ok", "value_set": [True]},
            "items: value within the response scale or a declared missing code",
        ),
        Check(
            "items",
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["pseudonym", "instrument", "timepoint", "item"]},
            "items: one answer per participant × instrument × timepoint × item",
        ),
        Check(
            "group_fidelity",
            "ExpectColumnValuesToBeBetween",
            {"column": "mean_adherence_pct", "min_value": 0, "max_value": 100},
            "fidelity: adherence within 0–100 %",
        ),
    ]
    return checks
