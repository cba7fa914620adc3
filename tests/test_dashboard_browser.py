"""End to end in a real browser: headless Chromium (Debian's ``chromium``) driven by
Playwright logs in as a coordinator, saves a fidelity observation, and the test finds it in
the database (with the coordinator as the audited actor).

Locally the test skips when ``/usr/bin/chromium`` is missing; under ``CI=true`` it fails
instead (CI installs chromium, see docs/dashboard.md).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from study.db import read_session
from study.db.models import AuditEvent, CourseGroup, FidelityObservation
from study.demo.users import DEMO_PASSWORD
from tests.served_app import CHROMIUM, CHROMIUM_ARGS, require_browser, serve_demo

pytestmark = pytest.mark.browser

COORDINATOR = "hel.coordinator"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def served_demo(tmp_path_factory):
    """A temporary SQLite demo study served by ``streamlit run`` on a free localhost port."""
    require_browser()
    with serve_demo(tmp_path_factory.mktemp("browser")) as served:
        yield served


def _observations(engine, group: str, week: int) -> list[dict]:
    with read_session(engine) as s:
        rows = s.scalars(
            select(FidelityObservation)
            .join(CourseGroup, CourseGroup.id == FidelityObservation.group_id)
            .where(
                CourseGroup.code == group,
                FidelityObservation.week == week,
                FidelityObservation.observer == COORDINATOR,
            )
        ).all()
        return [
            {"components": {c.component: c.score for c in r.components}, "minutes": r.minutes} for r in rows
        ]


def _log_in(page, base: str) -> None:
    page.goto(base)
    page.get_by_role("textbox", name="Login").fill(COORDINATOR)
    page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("RCT overview").wait_for()


def _save_fidelity_observation(page, group: str, week: int, components: list[str]) -> str:
    """Open the fidelity form, choose the session, rate every component "2 fully", save."""
    page.get_by_role("link", name="Fidelity observation").click()
    _choose(page, "Group", group)
    _choose(page, "Session", f"Week {week} (")
    # Streamlit marks each widget's container with its key, so these are this week's radios
    # (not those of the session shown before the choice); competence items stay unjudged.
    for cid in components:
        page.locator(f".st-key-fidelity_{group}_{week}_c_{cid}").get_by_text("2 fully", exact=True).click()
    page.get_by_label("Minutes the session lasted").fill("111")
    page.get_by_role("button", name="Save observation").click()
    message = page.get_by_text(f"Fidelity observation of {group}, week {week} saved")
    message.wait_for()
    return message.inner_text()


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` (its text starts so) in the Streamlit selectbox labelled ``label``."""
    import re

    from playwright.sync_api import expect

    box = page.get_by_role("combobox", name=label)
    box.click()
    page.get_by_role("option").filter(has_text=option).first.click()
    expect(box).to_have_value(re.compile("^" + re.escape(option)), timeout=TIMEOUT_MS)


ENTRY = _save_fidelity_observation


def test_coordinator_saves_a_fidelity_observation_in_a_real_browser(served_demo):
    from playwright.sync_api import sync_playwright

    from dashboards.queries.fidelity import observation_form
    from tests.test_dashboard_access import viewer_of
    from tests.test_dashboard_fidelity_form import rct_group, unobserved_session

    base, engine = served_demo
    group = rct_group(engine)
    week = unobserved_session(engine, group)
    spec = observation_form(engine, viewer_of(engine, COORDINATOR), group, week)
    assert _observations(engine, group, week) == []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            _log_in(page, base)
            shown = ENTRY(page, group, week, [cid for cid, _d, _e in spec.components])
        finally:
            browser.close()
    assert group in shown
    assert _observations(engine, group, week) == [
        {"components": {cid: 2 for cid, _d, _e in spec.components}, "minutes": 111}
    ]
    with read_session(engine) as s:
        actors = set(
            s.scalars(
                select(AuditEvent.actor)
                .where(AuditEvent.table_name == "fidelity_observation", AuditEvent.action == "insert")
                .order_by(AuditEvent.id.desc())
                .limit(1)
            )
        )
    assert actors == {COORDINATOR}
