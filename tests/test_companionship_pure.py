"""Pure companionship functions: match scoring and hard constraints, call scheduling, dose,
calendar months, and the companionship configuration. No database."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from study.companionship.calendar import add_months
from study.companionship.dose import DOSE_COLUMNS, dose_from
from study.companionship.matching import SUGGESTION_COLUMNS, rank_buddies, score_buddies
from study.companionship.waitlist import WAITLIST_COLUMNS, schedule_calls
from study.config import ConfigError, example_config_path, parse_config

TODAY = dt.date(2025, 12, 1)
RECIPIENT = {
    "site": "CPH",
    "area": "Nørrebro",
    "municipality": "København",
    "wishes": ["walks", "appointments", "networks", "boundaries"],
    "availability": ["mon_pm", "wed_pm"],
    "home_visits": "ok",
    "gender": "female",
    "age": 30,
    "preferred_genders": ["female"],
    "preferred_age_min": 25,
    "preferred_age_max": 40,
}


def _buddies(**columns) -> pd.DataFrame:
    base = {
        "pseudonym": ["B1"],
        "site": ["CPH"],
        "area": ["Nørrebro"],
        "municipality": ["København"],
        "wishes": [["walks"]],
        "availability": [["mon_pm"]],
        "active_matches": [0],
        "max_matches": [1],
        "gender": ["female"],
        "age": [30],
    }
    base.update(columns)
    n = max(len(v) for v in base.values())
    return pd.DataFrame({k: v * n if len(v) == 1 else v for k, v in base.items()})


def test_score_is_the_weighted_mean_of_its_parts():
    buddies = _buddies(
        pseudonym=["B1", "B2", "B3"],
        area=["Nørrebro", "Valby", "Odense C"],
        municipality=["København", "København", "Odense"],
        wishes=[["walks", "appointments", "networks", "boundaries"], ["walks", "talks"], []],
        availability=[["mon_pm", "wed_pm"], ["mon_pm", "sun_am"], ["wed_pm"]],
        gender=["female", "male", "female"],
        age=[30, 30, 50],
        preferred_genders=[[], ["male"], []],
        preferred_age_min=[None, None, 40],
    )
    scored = score_buddies(RECIPIENT, buddies, today=TODAY)
    assert list(scored.columns) == SUGGESTION_COLUMNS
    # Hand computed with the default weights 40/25/20/15:
    # B1: wishes 4/4, slots 2/2, same area, preferences 2/2 met → 100.
    # B2: wishes 1/4, slots 1/2, same municipality (0.5), stated: R gender (unmet), R age (met),
    #     B gender (female ∉ {male}: unmet) → 1/3 → 10 + 12.5 + 10 + 5 = 37.5.
    # B3: wishes 0/4, slots 1/2, other area, stated: R gender (met), R age (50 > 40: unmet),
    #     B age (30 < 40: unmet) → 1/3 → 0 + 12.5 + 0 + 5 = 17.5.
    assert scored["score"].tolist() == [100.0, 37.5, 17.5]
    assert scored["eligible"].all()
    assert scored.loc[1, "reasons"] == (
        "1 of 4 wishes shared (walks); 1 of 2 slots shared (mon_pm); "
        "same municipality, other area (Valby); 1 of 3 preferences met"
    )
    assert scored.loc[2, "reasons"].startswith("no shared wishes")
    assert scored.loc[0, "reasons"].endswith("same area (Nørrebro); preferences met")


def test_weights_change_the_score():
    buddies = _buddies(wishes=[["walks", "appointments"]], availability=[["mon_pm"]])
    only_wishes = score_buddies(
        RECIPIENT, buddies, {"wishes": 1, "availability": 0, "area": 0, "preferences": 0}, TODAY
    )
    assert only_wishes.loc[0, "score"] == 50.0
    with pytest.raises(Exception, match="at least one matching weight"):
        score_buddies(
            RECIPIENT, buddies, {"wishes": 0, "availability": 0, "area": 0, "preferences": 0}, TODAY
        )


@pytest.mark.parametrize(
    ("column", "value", "recipient_change", "reason"),
    [
        ("site", "HEL", {}, "other site"),
        ("availability", ["sat_am"], {}, "no shared availability"),
        ("active_matches", 2, {}, "at capacity (2 of 1 active)"),
        ("home_visits", "no", {"home_visits": "wanted"}, "home visits needed by one, ruled out by the other"),
        ("home_visits", "wanted", {"home_visits": "no"}, "home visits needed by one, ruled out by the other"),
        ("trained", False, {}, "required training missing"),
        ("accepted", False, {}, "no accepted interview"),
        ("available_until", dt.date(2025, 11, 30), {}, "commitment ended"),
        (
            "diagnosis",
            "F20",
            {"same_diagnosis_required": True, "diagnosis": "F31"},
            "same diagnosis required, not shared",
        ),
        (
            "diagnosis",
            None,
            {"same_diagnosis_required": True, "diagnosis": "F31"},
            "same diagnosis required, not shared",
        ),
        ("previously_matched", True, {}, "matched before"),
    ],
)
def test_each_hard_constraint_excludes_whatever_the_score(column, value, recipient_change, reason):
    # The best possible buddy on every part of the score, broken on one hard constraint.
    buddies = _buddies(
        wishes=[RECIPIENT["wishes"]], availability=[RECIPIENT["availability"]], diagnosis=["F31"]
    )
    ok = score_buddies({**RECIPIENT, **recipient_change}, buddies, today=TODAY).iloc[0]
    buddies[column] = [value]
    scored = score_buddies({**RECIPIENT, **recipient_change}, buddies, today=TODAY).iloc[0]
    assert not scored["eligible"] and scored["excluded_because"] == reason
    assert ok["eligible"] and ok["score"] == 100.0
    assert rank_buddies(score_buddies({**RECIPIENT, **recipient_change}, buddies, today=TODAY)).empty


def test_same_diagnosis_matches_regardless_of_case_and_is_otherwise_ignored():
    buddies = _buddies(diagnosis=["f31 "])
    requiring = {**RECIPIENT, "same_diagnosis_required": True, "diagnosis": "F31"}
    assert score_buddies(requiring, buddies, today=TODAY).loc[0, "eligible"]
    # Without the wish, a different diagnosis does not matter.
    assert score_buddies({**RECIPIENT, "diagnosis": "F20"}, buddies, today=TODAY).loc[0, "eligible"]


def test_ranking_breaks_ties_by_load_then_waiting_time_then_name():
    buddies = _buddies(
        pseudonym=["B4", "B3", "B2", "B1", "B0"],
        active_matches=[1, 0, 0, 0, 0],
        max_matches=[2, 2, 2, 2, 2],
        waiting_since=[None, dt.date(2025, 9, 1), dt.date(2025, 8, 1), dt.date(2025, 8, 1), None],
        availability=[["mon_pm"], ["mon_pm"], ["mon_pm"], ["mon_pm"], ["sat_am"]],
    )
    ranked = rank_buddies(score_buddies(RECIPIENT, buddies, today=TODAY), include_excluded=True)
    assert ranked["buddy"].tolist() == ["B1", "B2", "B3", "B4", "B0"]
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]
    assert rank_buddies(score_buddies(RECIPIENT, buddies, today=TODAY), top=2)["buddy"].tolist() == [
        "B1",
        "B2",
    ]


def test_bad_frames_raise_value_error():
    with pytest.raises(ValueError, match="max_matches"):
        score_buddies(RECIPIENT, _buddies().drop(columns="max_matches"))
    with pytest.raises(ValueError, match="'availability'"):
        score_buddies({k: v for k, v in RECIPIENT.items() if k != "availability"}, _buddies())
    with pytest.raises(ValueError, match="top"):
        rank_buddies(score_buddies(RECIPIENT, _buddies(), today=TODAY), top=0)
    assert score_buddies(RECIPIENT, _buddies().iloc[0:0]).empty


# --- waitlist scheduling -------------------------------------------------------------------
def _entries():
    return pd.DataFrame(
        {
            "entry_id": [1, 2, 3, 4],
            "pseudonym": ["P1", "P2", "P3", "B1"],
            "role": ["participant", "participant", "participant", "peer_buddy"],
            "since": [dt.date(2025, 9, 1), dt.date(2025, 8, 1), dt.date(2025, 10, 1), dt.date(2025, 7, 1)],
            "entered_on": [
                dt.date(2025, 9, 1),
                dt.date(2025, 11, 10),
                dt.date(2025, 10, 1),
                dt.date(2025, 7, 1),
            ],
            "top": [False, True, False, False],
            "site": ["CPH", "CPH", "HEL", "CPH"],
        }
    )


def test_calls_every_three_weeks_from_the_last_call_or_the_start():
    calls = pd.DataFrame(
        {
            "entry_id": [1, 1, 3, 99],
            "called_on": [
                dt.date(2025, 9, 20),
                dt.date(2025, 11, 10),
                dt.date(2025, 10, 22),
                dt.date(2025, 11, 30),
            ],
        }
    )
    table = schedule_calls(_entries(), calls, TODAY, 3)
    assert list(table.columns[:6]) == WAITLIST_COLUMNS
    # Order: the returned person (top) first, then by since.
    assert table["pseudonym"].tolist() == ["P2", "B1", "P1", "P3"]
    rows = table.set_index("pseudonym")
    assert rows.loc["P1", "last_call"] == dt.date(2025, 11, 10)
    assert (
        rows.loc["P1", "next_call_due"] == dt.date(2025, 12, 1) and not rows.loc["P1", "overdue"]
    )  # due today
    assert rows.loc["P2", "last_call"] is None
    assert rows.loc["P2", "next_call_due"] == dt.date(2025, 12, 1)  # 3 weeks after re-entering
    assert rows.loc["P3", "next_call_due"] == dt.date(2025, 11, 12) and rows.loc["P3", "overdue"]
    assert rows.loc["B1", "next_call_due"] == dt.date(2025, 7, 22) and rows.loc["B1", "overdue"]
    # Another interval.
    weekly = schedule_calls(_entries(), calls, TODAY, 1).set_index("pseudonym")
    assert weekly.loc["P1", "next_call_due"] == dt.date(2025, 11, 17)
    with pytest.raises(ValueError, match="every_weeks"):
        schedule_calls(_entries(), calls, TODAY, 0)
    with pytest.raises(ValueError, match="entered_on"):
        schedule_calls(_entries().drop(columns="entered_on"), calls, TODAY)


# --- dose ----------------------------------------------------------------------------------
def test_dose_from_sums_contacts_hours_and_months():
    matches = pd.DataFrame(
        {
            "match_id": [1, 2, 3],
            "pseudonym": ["P1", "P1", "P2"],
            "started_on": [dt.date(2025, 1, 1), dt.date(2025, 3, 1), dt.date(2025, 11, 1)],
            "ended_on": [dt.date(2025, 1, 31), None, None],
            "runs_until": [dt.date(2025, 7, 1), dt.date(2025, 9, 1), dt.date(2026, 5, 1)],
        }
    )
    contacts = pd.DataFrame({"match_id": [1, 2, 2, 3], "minutes": [60, 30, 90, 45]})
    dose = dose_from(pd.Series(["P1", "P2", "P3"]), matches, contacts, TODAY)
    assert list(dose.columns) == DOSE_COLUMNS
    month = 365.25 / 12
    # P1: 30 days (ended) + 184 days (1 Mar → planned end 1 Sep, before today).
    # P2: 30 days (1 Nov → today, still running).
    assert dose["months"].tolist() == [round(214 / month, 2), round(30 / month, 2), 0.0]
    assert dose["contacts"].tolist() == [3, 1, 0]
    assert dose["hours"].tolist() == [3.0, 0.75, 0.0]
    assert dose["matched"].tolist() == [True, True, False]
    with pytest.raises(ValueError, match="runs_until"):
        dose_from(pd.Series(["P1"]), matches.drop(columns="runs_until"), contacts, TODAY)


def test_add_months_clips_to_month_end():
    assert add_months(dt.date(2025, 8, 31), 6) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2025, 10, 1), 9) == dt.date(2026, 7, 1)


# --- configuration -------------------------------------------------------------------------
def _config_with(extra: str) -> str:
    text = example_config_path().read_text(encoding="utf-8")
    head = text.split("\ncompanionship:")[0]
    return head + "\ncompanionship:\n" + extra


def test_reference_config_has_typed_companionship_settings():
    cfg = parse_config(example_config_path().read_text(encoding="utf-8")).companionship
    assert (cfg.planned_months, cfg.max_months, cfg.follow_up_call_weeks) == (6, 9, 3)
    assert cfg.required_for("group_leader") == ["education_weekend"]
    assert cfg.required_for("peer_buddy") == ["companionship_workshop"]
    assert cfg.required_for("communication_volunteer") == []
    assert "chemistry" in cfg.end_reasons and "completed" in cfg.end_reasons


@pytest.mark.parametrize(
    ("yaml", "key", "message"),
    [
        (
            "  planned_months: 6\n  max_months: 5\n",
            "companionship",
            "max_months (5) is below planned_months (6)",
        ),
        ("  follow_up_call_weeks: 0\n", "companionship.follow_up_call_weeks", "greater than or equal to 1"),
        ("  required_training: {group_leader: [yoga]}\n", "companionship", "yoga not in training_kinds"),
        ("  required_training: {wizard: []}\n", "companionship", "unknown role 'wizard'"),
        (
            "  end_reasons: [chemistry]\n  rematch_reasons: [chemistry]\n",
            "companionship",
            "must include 'completed'",
        ),
        ("  rematch_reasons: [fault]\n", "companionship", "fault not in the listed values"),
        ("  planned_monts: 6\n", "companionship.planned_monts", "is not a known key"),
    ],
)
def test_bad_companionship_config_names_the_key(yaml, key, message):
    with pytest.raises(ConfigError) as err:
        parse_config(_config_with(yaml), source="study.yaml")
    assert f"study.yaml: {key}: " in str(err.value) and message in str(err.value)
