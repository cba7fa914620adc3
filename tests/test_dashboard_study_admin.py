"""The admin's study page: the phase switch (confirmation, forward only) and the configuration
amended in place (validated, refused when the data forbid it), only for admins."""

from __future__ import annotations

import pytest
import yaml
from rct_fixtures import ACTOR
from sqlalchemy import select

from dashboards.actions import amend_study_config, start_study_phase
from dashboards.i18n import translate
from dashboards.queries.study_settings import study_settings
from study.db import read_session, unit_of_work
from study.db.models import AuditEvent, Site, Study
from study.errors import NotAllowed
from study.studies import get_study
from study.users import add_user
from tests.test_dashboard_access import viewer_of
from tests.test_dashboard_app import open_app, page_text  # noqa: F401  (fixture)

PAGE = "views/study_admin.py"


@pytest.fixture
def admin_db(study_db):
    with unit_of_work(study_db, ACTOR) as s:
        study = get_study(s)
        add_user(s, "boss", "admin", "a long enough password", study=study)
        add_user(s, "cph.coord", "coordinator", "a long enough password", study=study, site="CPH")
    return study_db


def _phase(engine):
    with read_session(engine) as s:
        return s.scalar(select(Study.current_phase))


def test_admin_starts_the_next_phase_only_after_confirming(open_app, admin_db):
    at = open_app(admin_db, "boss")
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.button(key="phase_start").disabled  # nothing happens without the confirmation
    at.checkbox(key="phase_confirm").check().run()
    at.button(key="phase_start").click().run()
    assert not at.exception and not at.error
    assert _phase(admin_db) == "pilot"
    with read_session(admin_db) as s:
        assert (
            s.scalar(
                select(AuditEvent.actor).where(
                    AuditEvent.table_name == "study", AuditEvent.field == "current_phase"
                )
            )
            == "boss"
        )
    assert translate("study_admin.current", phase=translate("phase.name.pilot")) in page_text(at)
    # the page now offers the RCT, with what starting it means
    assert translate("study_admin.consequence.rct") in page_text(at)


def test_admin_amends_the_configuration_in_place(open_app, admin_db):
    at = open_app(admin_db, "boss")
    at.switch_page(PAGE).run()
    data = yaml.safe_load(at.text_area(key="config_text").value)
    for site in data["sites"]:
        if site["code"] == "FRE":
            site["recruitment_target"] = 77
    at.text_area(key="config_text").set_value(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    at.text_input(key="config_reason").set_value("Fredericia recruits more")
    at.form_submit_button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success[0].value == translate("study_admin.amended", sections="sites")
    with read_session(admin_db) as s:
        assert s.scalar(select(Site.recruitment_target).where(Site.code == "FRE")) == 77


def test_a_bad_amendment_shows_the_key_and_saves_nothing(open_app, admin_db):
    with read_session(admin_db) as s:
        before = s.scalar(select(Study.config_yaml))
    at = open_app(admin_db, "boss")
    at.switch_page(PAGE).run()
    at.text_area(key="config_text").set_value(before.replace("recruitment_target:", "recruitment_tagret:", 1))
    at.text_input(key="config_reason").set_value("typo")
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert at.error and "amended study.yaml: sites" in at.error[0].value
    with read_session(admin_db) as s:
        assert s.scalar(select(Study.config_yaml)) == before


def test_only_admins_see_and_change_the_study_settings(admin_db):
    coordinator = viewer_of(admin_db, "cph.coord")
    with pytest.raises(NotAllowed):
        study_settings(admin_db, coordinator)
    with pytest.raises(NotAllowed):
        start_study_phase(admin_db, coordinator, "pilot")
    with read_session(admin_db) as s:
        text = s.scalar(select(Study.config_yaml))
    with pytest.raises(NotAllowed):
        amend_study_config(
            admin_db, coordinator, text.replace("recruitment_target: ", "recruitment_target: 1", 1), "x"
        )
    assert _phase(admin_db) is None


def test_study_page_shows_the_analysis_plan_and_its_lock(open_app, admin_db):
    from rct_fixtures import lock_current_sap

    from pipelines.sap import current_sap
    from study.studies import config_of

    at = open_app(admin_db, "boss")
    at.switch_page(PAGE).run()
    with read_session(admin_db) as s:
        sap = current_sap(config_of(get_study(s)))
    assert not at.exception
    assert sap.sha256 in " ".join(w.value for w in at.warning)  # not locked yet
    assert "Primary outcome [primary]: qpr15.total" in " ".join(c.value for c in at.code)
    with unit_of_work(admin_db, "boss") as s:
        lock_current_sap(s, get_study(s), actor="boss")
    at.switch_page(PAGE).run()
    assert any(sap.sha256 in s.value and "version 1" in s.value for s in at.success)
