"""Screenshots of the dashboard's main pages in real headless Chromium, in English and Danish.

One Streamlit server on a small SQLite demo study and one browser take every shot: the login
page, People, RCT, fidelity observation, analysis, the participant survey (by a one-time link)
and attendance entry, each in both languages. Each shot is kept as a PNG in
``artifacts/screenshots/`` (gitignored; ``$PEERSTUDY_SCREENSHOTS`` moves it) for a reviewer
to look at; the test asserts that every page rendered: its heading in that language is visible
and no Streamlit exception box is on it. ``make screenshots`` runs only this test (marker
``screenshots``); it is also a ``browser`` test of ``make test``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboards.actions import create_survey_link
from dashboards.i18n import LANGUAGES, translate
from study.demo.users import DEMO_PASSWORD
from tests.served_app import CHROMIUM, CHROMIUM_ARGS, require_browser, serve_demo
from tests.test_dashboard_access import viewer_of
from tests.test_dashboard_questionnaire_entry import COORDINATOR, open_instrument

pytestmark = [pytest.mark.browser, pytest.mark.screenshots]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("PEERSTUDY_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
TIMEOUT_MS = 60_000
WIDTH = 1400
#: A full page is taller than the window: the window is stretched to the page, up to this.
MAX_HEIGHT = 6000
LANGUAGE_NAMES = {"en": "English", "da": "Dansk"}


@dataclass(frozen=True)
class Shot:
    """One page to photograph: who opens it (``None``: nobody logged in), its menu entry
    (``None``: the page the login or link lands on) and the message key of its heading."""

    name: str
    login: str | None
    nav: str | None
    heading: str


SHOTS_TAKEN = (
    Shot("login", None, None, "auth.title"),
    Shot("rct", "researcher", None, "rct.title"),
    Shot("people", "researcher", "nav.people", "people.title"),
    Shot("analysis", "researcher", "nav.analysis", "analysis.title"),
    Shot("fidelity", COORDINATOR, "nav.fidelity", "fidelity_form.title"),
    Shot("attendance", COORDINATOR, "nav.attendance", "attendance.title"),
    Shot("survey", None, None, "nav.survey"),
)


def _settle(page) -> None:
    """Wait until the script run is over (Streamlit's running state gone) and charts drew."""
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()
    page.wait_for_timeout(400)


def _choose_language(page, lang: str) -> None:
    """Switch the sidebar's language box (labelled in the language shown now) to ``lang``."""
    for shown in LANGUAGES:
        box = page.get_by_role("combobox", name=translate("common.language", shown))
        if box.count():
            break
    box.click()
    page.get_by_role("option", name=LANGUAGE_NAMES[lang], exact=True).click()
    _settle(page)


def _log_in(page, login: str, lang: str) -> None:
    page.get_by_role("textbox", name=translate("auth.login", lang)).fill(login)
    page.get_by_role("textbox", name=translate("auth.password", lang)).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=translate("auth.submit", lang)).click()
    page.get_by_role("heading", name=translate("rct.title", lang)).first.wait_for()
    _settle(page)


def _photograph(page, path: Path) -> None:
    """A PNG of the whole page: the window is stretched to the height of Streamlit's
    scrolling main area (a plain full-page shot stops at the window)."""
    height = page.evaluate(
        "() => Math.max(...['stMain', 'stAppViewContainer', 'stSidebarContent']"
        ".map(id => document.querySelector(`[data-testid=${id}]`)?.scrollHeight || 0))"
    )
    page.set_viewport_size({"width": WIDTH, "height": min(max(int(height) + 40, 900), MAX_HEIGHT)})
    _settle(page)
    page.screenshot(path=str(path), full_page=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A SQLite demo study served on loopback, and a survey link of a participant with a
    questionnaire due."""
    require_browser()
    with serve_demo(tmp_path_factory.mktemp("screenshots")) as (base, engine):
        who, timepoint, _instrument = open_instrument(engine)
        token = create_survey_link(engine, viewer_of(engine, COORDINATOR), who, timepoint)
        yield base, token


def test_main_pages_render_in_both_languages_and_are_kept_as_screenshots(served):
    from playwright.sync_api import sync_playwright

    base, token = served
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    taken: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for lang in LANGUAGES:
                for shot in SHOTS_TAKEN:
                    # A fresh browser context per shot: a new Streamlit session, logged out.
                    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, locale=lang)
                    page = context.new_page()
                    page.set_default_timeout(TIMEOUT_MS)
                    try:
                        page.goto(f"{base}/?survey={token}" if shot.name == "survey" else base)
                        _settle(page)
                        _choose_language(page, lang)
                        if shot.login:
                            _log_in(page, shot.login, lang)
                        if shot.nav:
                            page.get_by_role("link", name=translate(shot.nav, lang)).click()
                        heading = translate(shot.heading, lang)
                        page.get_by_role("heading", name=heading).first.wait_for()
                        _settle(page)
                        path = SHOTS / f"{lang}_{shot.name}.png"
                        _photograph(page, path)
                        taken.append(path)
                        exceptions = page.locator('[data-testid="stException"]')
                        if exceptions.count():
                            problems.append(
                                f"{lang} {shot.name}: exception {exceptions.first.inner_text()[:300]}"
                            )
                        if not page.get_by_role("heading", name=heading).first.is_visible():
                            problems.append(f"{lang} {shot.name}: heading {heading!r} not visible")
                    except Exception as exc:  # one broken page must not hide the others' shots
                        page.screenshot(path=str(SHOTS / f"{lang}_{shot.name}_FAILED.png"), full_page=True)
                        problems.append(f"{lang} {shot.name}: {type(exc).__name__}: {str(exc)[:300]}")
                    finally:
                        context.close()
        finally:
            browser.close()
    assert problems == []
    assert len(taken) == len(LANGUAGES) * len(SHOTS_TAKEN)
    assert all(path.stat().st_size > 10_000 for path in taken)  # a real picture, not a blank page
