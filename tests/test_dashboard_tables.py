"""Tables for people: formatted numbers, labelled headers, empty cells, p values, and the
person's audit history as a readable timeline (pure functions and the pages that use them)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dashboards.audit_timeline import TIMELINE_COLUMNS, audit_timeline
from dashboards.i18n import translate
from dashboards.table_format import format_p, format_table
from tests.test_dashboard_access import person_at
from tests.test_dashboard_app import _open_person, open_app  # noqa: F401  (fixture)


def test_dates_numbers_and_p_in_danish_do_not_depend_on_the_os_locale():
    import datetime as dt

    from dashboards.i18n.formats import format_date, format_datetime, format_percent

    assert [format_date(dt.date(2025, m, 5), "da") for m in (3, 5, 12)] == [
        "5. mar. 2025",
        "5. maj 2025",
        "5. dec. 2025",
    ]
    assert format_date("2025-03-05") == "5 Mar 2025" and format_date(None, "da") == ""
    assert format_datetime(pd.Timestamp("2026-01-05 14:03:59", tz="UTC"), "da") == "5. jan. 2026 14:03"
    assert format_percent(80, language="da") == "80,0 %" and format_percent(float("nan")) == ""
    assert format_p(0.0004, "da") == "<0,001" and format_p("<0.001", "da") == "<0,001"
    df = pd.DataFrame(
        {
            "timepoint": ["post", "custom"],
            "due_on": [dt.date(2025, 3, 5), None],
            "percent_of_target": [23.3, None],
            "eligible": [True, None],
        }
    )
    words = {"code.timepoint.post": "Efter kurset"}
    shown = format_table(df, "da", yes_no=("ja", "nej"), code=lambda n, v: words.get(f"code.{n}.{v}"))
    assert shown.to_dict("list") == {
        "Timepoint": ["Efter kurset", "custom"],
        "Due on": ["5. mar. 2025", ""],
        "Percent of target": ["23,3 %", ""],
        "Eligible": ["ja", ""],
    }


def test_charts_speak_danish():
    from dashboards.charts import attendance_chart, vega_spec

    rates = pd.DataFrame(
        {"group": ["CPH-P1"], "week": [1], "present": [7], "recorded": [8], "percent_present": [87.5]}
    )
    spec = vega_spec(
        attendance_chart(
            rates, "Andel til stede", "Til stede (%)", "Uge", "Gruppe", "Til stede", "Registreret"
        ),
        "da",
    )
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    assert "maj" in spec["config"]["locale"]["time"]["shortMonths"]
    titles = [t["title"] for t in spec["encoding"]["tooltip"]]
    assert titles == ["Gruppe", "Uge", "Til stede", "Registreret", "Til stede (%)"]
    assert "locale" not in vega_spec(attendance_chart(rates, "t", "p", "w")).get("config", {})


def test_numbers_are_formatted_per_kind_of_column():
    df = pd.DataFrame(
        {
            "group": ["CPH-R01", "HEL-R01", None],
            "n_observations": [3, 0, 2],
            "mean_adherence_pct": [80.04444, None, 66.6666],
            "mean_competence": [2.34567, float("nan"), 3.0],
            "below_threshold": [False, True, False],
            "p": [0.00001, 0.0456, None],
        }
    )
    shown = format_table(df, "en", label=lambda n: {"group": "Group"}.get(n))
    assert list(shown.columns) == [
        "Group",
        "N observations",
        "Mean adherence pct",
        "Mean competence",
        "Below threshold",
        "P",
    ]
    assert shown["Group"].tolist() == ["CPH-R01", "HEL-R01", ""]  # empty, never "None"
    assert shown["N observations"].tolist() == ["3", "0", "2"]
    assert shown["Mean adherence pct"].tolist() == ["80.0 %", "", "66.7 %"]
    assert shown["Mean competence"].tolist() == ["2.35", "", "3.00"]
    assert shown["P"].tolist() == ["<0.001", "0.046", ""]
    assert not shown.isin(["None", "nan", "NaN"]).any().any()
    danish = format_table(df, "da", yes_no=("ja", "nej"))
    assert danish.iloc[0].tolist()[2:5] == ["80,0 %", "2,35", "nej"]
    assert format_p(0.0009999) == "<0.001" and format_p(0.001) == "0.001" and format_p(0.5, "da") == "0,500"


def _history() -> pd.DataFrame:
    at = pd.Timestamp("2026-01-05 14:03:59", tz="UTC")
    return pd.DataFrame(
        {
            "occurred_at": [at, at, at],
            "actor": ["demo", "hel.coordinator", "survey-link"],
            "action": ["insert", "update", "insert"],
            "table_name": ["enrolment", "enrolment", "questionnaire_response"],
            "row_id": ["63", "63", "3"],
            "field": [None, "withdrawn_on", None],
            "old_value": [None, None, None],
            "new_value": [
                json.dumps(
                    {
                        "id": "63",
                        "person_id": "69",
                        "study_id": "1",
                        "consent_on": "2025-09-28",
                        "municipality": "Helsingør",
                        "withdrawn_on": None,
                    }
                ),
                "2026-01-05",
                json.dumps(
                    {
                        "id": "3",
                        "instrument": "qpr15",
                        "timepoint": "baseline",
                        "item_values": json.dumps({"1": 2, "2": 3}),
                        "created_at": "2026-01-05T14:03",
                    }
                ),
            ],
            "reason": ["screening", "moved away", None],
        }
    )


def test_each_distinct_value_is_formatted_once_and_every_cell_as_alone():
    """A big table formats each distinct value once (the dashboard formats on every page
    run); every cell still reads as if formatted on its own, missing ones empty."""
    import datetime as dt

    from dashboards.i18n.formats import format_date, format_number, format_percent
    from dashboards.table_format import by_value

    rows = 3_000
    frame = pd.DataFrame(
        {
            "completion_pct": [12.345, None, 80.0] * (rows // 3),
            "mean_score": [2.3456, 3.0, float("nan")] * (rows // 3),
            "held_on": [dt.date(2025, 3, 5), None, dt.date(2025, 5, 17)] * (rows // 3),
            "timepoint": ["baseline", "post", None] * (rows // 3),
            "present": pd.array([True, None, False] * (rows // 3), dtype="boolean"),
        }
    )
    shown = format_table(frame, "da", code=lambda name, value: {"baseline": "Baseline"}.get(value))
    assert shown["Completion pct"].tolist()[:3] == [format_percent(12.345, 1, "da"), "", "80,0 %"]
    assert shown["Mean score"].tolist()[:3] == [
        format_number(2.3456, 2, "da"),
        format_number(3.0, 2, "da"),
        "",
    ]
    assert shown["Held on"].tolist()[:3] == [format_date(dt.date(2025, 3, 5), "da"), "", "17. maj 2025"]
    assert shown["Timepoint"].tolist()[:3] == ["Baseline", "post", ""]
    assert shown["Present"].tolist()[:3] == ["yes", "", "no"]
    assert (shown.iloc[3:6].to_numpy() == shown.iloc[:3].to_numpy()).all()  # repeats alike

    calls = []
    by_value(frame["completion_pct"], lambda v: calls.append(v) or str(v))
    assert len(calls) == 3  # two distinct values and the missing one, not 3,000 cells
    unhashable = pd.Series([[1], [1], None])
    assert by_value(unhashable, lambda v: "" if v is None else str(v)).tolist() == ["[1]", "[1]", ""]


def test_the_audit_history_reads_as_a_timeline():
    timeline = audit_timeline(_history())
    assert list(timeline.columns) == TIMELINE_COLUMNS
    assert timeline["when"].tolist() == ["2026-01-05 14:03"] * 3
    assert timeline["what"].tolist() == [
        "created: enrolment",
        "changed: enrolment, withdrawn on",
        "created: questionnaire response",
    ]
    assert timeline.at[0, "change"] == "consent on: 2025-09-28 · municipality: Helsingør"
    assert timeline.at[1, "change"] == "– → 2026-01-05"
    assert timeline.at[2, "change"] == "instrument: qpr15 · timepoint: baseline · item values: 2 answers"
    assert timeline.at[2, "reason"] == ""
    assert not timeline["change"].str.contains('[{}"]', regex=True).any()  # no raw JSON
    danish = audit_timeline(_history(), lambda key: translate(f"audit.{key}", "da"))
    assert danish.at[1, "what"].startswith("ændret: ") and danish.at[2, "change"].endswith("2 svar")


# Both languages: the pages' translators are bound to the run's language, so the role
# filter's options format alike when AppTest replays the widget state.
@pytest.mark.parametrize("lang", ["en", "da"])
def test_person_page_shows_the_history_as_a_timeline(open_app, demo_engine, lang):
    at = _open_person(open_app(demo_engine, "cph.coordinator", lang=lang), person_at(demo_engine, "CPH"))
    assert not at.exception
    frame = next(f.value for f in at.dataframe if translate("column.change", lang) in f.value.columns)
    assert list(frame.columns) == [translate(f"column.{c}", lang) for c in TIMELINE_COLUMNS]
    change = frame[translate("column.change", lang)]
    assert len(frame) > 3 and not change.str.contains('{"', regex=False).any()
    assert frame[translate("column.what", lang)].str.startswith(translate("audit.created", lang)).any()


@pytest.mark.parametrize("lang", ["en", "da"])
def test_rct_page_fidelity_tables_read_as_percentages(open_app, demo_engine, lang):
    at = open_app(demo_engine, "researcher", lang=lang)
    assert not at.exception
    header = translate("column.mean_adherence_pct", lang)
    tables = [f.value for f in at.dataframe if header in f.value.columns]
    assert len(tables) == 2  # per group and per site
    for frame in tables:
        shown = frame[header]
        filled = shown[shown != ""]
        assert len(filled) and filled.str.fullmatch(r"\d+[.,]\d %").all()
        assert ("," in filled.iloc[0]) == (lang == "da")
        assert not frame.isin(["None", "nan"]).any().any()


def test_randomise_page_pending_list_has_labelled_headers(open_app, dashboard_db):
    from tests.test_dashboard_randomise import PAGE, _enrol_hel

    _enrol_hel(dashboard_db, "W-TAB-1")
    at = open_app(dashboard_db, "hel.coordinator")
    at.switch_page(PAGE).run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert list(frame.columns) == [
        translate(f"column.{c}") for c in ("pseudonym", "screened_on", "consent_on")
    ]
    assert "W-TAB-1" in set(frame[translate("column.pseudonym")])
    assert not frame.isin(["None", "nan"]).any().any()
