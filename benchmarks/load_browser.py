"""The load test's Chromium user: one headless browser context (one Streamlit session) per
simulated person, driven by Playwright (``--client browser``).

A *page time* runs from the navigation or click until the page's final element is visible and
Streamlit's script run is over (``stApp[data-test-script-state=notRunning]``); an *error* is an
action that timed out, a Streamlit exception box, or a save without its confirmation. Each
browser renders the page on this machine: with many users the browsers' CPU, not the server,
sets the page times (docs/dashboard.md), which is why the protocol client is the default.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from load_users import ACTION_TIMEOUT_S, Recorder, SimulatedUser, UserPlan

from study.demo.users import DEMO_PASSWORD

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "BrowserUser", "browser_users", "css_key"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
#: page name → the sidebar link's message key
NAV = {
    "RCT overview": "nav.rct",
    "analysis": "nav.analysis",
    "attendance": "nav.attendance",
    "questionnaire entry": "nav.questionnaire",
}


class BrowserUser(SimulatedUser):
    """One simulated person in their own browser context (a Streamlit session)."""

    def __init__(
        self,
        plan: UserPlan,
        page,
        base: str,
        recorder: Recorder,
        think: float,
        seed: int,
        timeout: float = ACTION_TIMEOUT_S,
    ) -> None:
        super().__init__(plan, recorder, think, seed)
        self.page, self.base = page, base
        page.set_default_timeout(timeout * 1000)

    async def timed(self, name: str, action: Callable[[], Awaitable], final: Callable[[], Awaitable]) -> bool:
        """Run ``action`` and wait for ``final`` and the end of the script run; record it."""
        t0 = time.perf_counter()
        try:
            await action()
            await final()
            await self.page.locator(DONE).wait_for()
            exceptions = self.page.locator('[data-testid="stException"]')
            if await exceptions.count():
                raise RuntimeError("exception on the page: " + (await exceptions.first.inner_text())[:200])
        except Exception as exc:
            await self.failure(name, exc, time.perf_counter() - t0)
            return False
        self.recorder.add(self.plan.number, name, time.perf_counter() - t0, None)
        return True

    async def attempt(self, name: str, action: Callable[[], Awaitable]) -> bool:
        """Run an action that causes no script run; only its failure is recorded."""
        try:
            await action()
        except Exception as exc:
            await self.failure(name, exc, float("nan"))
            return False
        return True

    async def failure(self, name: str, exc: BaseException, seconds: float) -> None:
        """Record a failed action (and keep a screenshot of it in ``$PEERSTUDY_LOAD_SHOTS``)."""
        await super().failure(name, exc, seconds)
        shots = os.environ.get("PEERSTUDY_LOAD_SHOTS")
        if shots:
            path = Path(shots) / f"user{self.plan.number}_{len(self.recorder.samples)}_{css_key(name)}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(Exception):  # a screenshot is a diagnostic, never a failure
                await self.page.screenshot(path=str(path), full_page=True)

    def heading(self, text: str):
        return self.page.get_by_role("heading", name=text).first

    async def log_in(self) -> bool:
        page = self.page
        login_box = page.get_by_role("textbox", name=self.t("auth.login"))
        if not await self.timed("login page", lambda: page.goto(self.base), login_box.wait_for):
            return False

        async def submit() -> None:
            await login_box.fill(self.plan.login)
            await page.get_by_role("textbox", name=self.t("auth.password")).fill(DEMO_PASSWORD)
            await page.get_by_role("button", name=self.t("auth.submit")).click()

        return await self.timed("log in → RCT overview", submit, self.rct_final)

    async def rct_final(self) -> None:
        await self.heading(self.t("rct.title")).wait_for()
        await self.heading(self.t("rct.fidelity")).wait_for()

    async def log_out(self) -> None:
        await self.page.get_by_role("button", name=self.t("auth.log_out")).click()
        await self.heading(self.t("auth.title")).wait_for()

    async def open_page(self, name: str) -> bool:
        """Click the page's link in the sidebar; done when its final element is shown."""
        finals = {
            "RCT overview": self.rct_final,
            "analysis": self.analysis_final,
            "attendance": lambda: self.heading(self.t("attendance.title")).wait_for(),
            "questionnaire entry": lambda: self.heading(self.t("questionnaire.title")).wait_for(),
        }
        link = self.page.get_by_role("link", name=self.t(NAV[name]), exact=True)
        return await self.timed(name, link.click, finals[name])

    async def choose(self, label: str, option: str, prefix: bool = False) -> None:
        """Pick ``option`` in the selectbox ``label`` (typed in to filter a long list); with
        ``prefix`` the first option whose text starts with ``option``."""
        box = self.page.get_by_role("combobox", name=label)
        if not prefix and await box.input_value() == option:
            return  # chosen already: choosing it again would not rerun the page
        await box.click()
        await box.fill(option)
        if prefix:
            choice = self.page.get_by_role("option").filter(has_text=re.compile("^" + re.escape(option)))
        else:
            choice = self.page.get_by_role("option", name=option, exact=True)
        await choice.first.click()

    # researcher: the RCT overview and the analysis in turn
    async def researcher_round(self) -> None:
        await self.open_page("analysis")
        await self.pause()
        await self.open_page("RCT overview")

    async def analysis_final(self) -> None:
        await self.heading(self.t("analysis.title")).wait_for()
        await self.heading(self.t("analysis.quality")).wait_for()

    # coordinator: one session's attendance
    async def attendance_round(self, k: int) -> None:
        if not self.plan.sessions:
            return
        group, week, _held_on = self.plan.sessions[k % len(self.plan.sessions)]
        present = k // len(self.plan.sessions) % 2 == 0  # alternate once every session is done
        t, page = self.t, self.page
        if not await self.open_page("attendance"):
            return
        await self.pause()
        # "Week 3 (": the option's text up to the date, whatever the date's format
        week_prefix = t("attendance.week_label", week=week, date="\0").split("\0")[0]

        async def pick() -> None:
            await self.choose(t("attendance.group"), group)
            # The group's run is over when a grid of this group is shown (a week chosen
            # earlier would be lost to that run).
            await page.locator(f'[class*="st-key-{css_key(f"attendance_grid_{group}_")}"]').wait_for()
            await page.locator(DONE).wait_for()
            await self.choose(t("attendance.week"), week_prefix, prefix=True)

        # The grid of the chosen session (its widget key names group and week).
        grid = page.locator(f".st-key-{css_key(f'attendance_grid_{group}_{week}')}")
        if not await self.timed("attendance: choose session", pick, grid.wait_for):
            return
        await self.pause()
        fill = "attendance.all_present" if present else "attendance.all_absent"
        filled = "attendance.filled_present" if present else "attendance.filled_absent"
        if not await self.timed(
            "attendance: fill",
            lambda: page.get_by_role("button", name=t(fill)).click(),
            lambda: page.get_by_text(t(filled)).wait_for(),
        ):
            return
        await self.pause()
        saved = t("attendance.saved", group=group, week=week, n=0).split(" (")[0]
        if await self.timed(
            "attendance: save",
            lambda: page.get_by_role("button", name=t("attendance.save")).click(),
            lambda: page.get_by_text(saved).wait_for(),
        ):
            self.recorder.attendance[(group, week)] = present
        await self.pause()
        await self.open_page("RCT overview")

    # coordinator: one participant's questionnaire
    async def questionnaire_round(self, k: int) -> None:
        if k >= len(self.plan.entries):
            return
        who, tp, inst_id, name, answers = self.plan.entries[k]
        t, page = self.t, self.page
        if not await self.open_page("questionnaire entry"):
            return
        await self.pause()
        prefix = f"q_{who}_{tp}_{inst_id}"
        first_item = page.locator(f".st-key-{css_key(prefix)}_{css_key(answers[0][0])}")

        async def pick() -> None:
            await self.choose(t("questionnaire.participant"), who)
            # The participant's run is over when a form of theirs is on the page.
            await page.locator(f'[class*="st-key-{css_key(f"q_{who}_")}"]').first.wait_for(state="attached")
            await page.locator(DONE).wait_for()
            # The timepoint box keeps the last participant's choice: set it every time.
            await self.choose(t("questionnaire.timepoint"), t(f"code.timepoint.{tp}"))

        if not await self.timed(
            "questionnaire: open participant", pick, lambda: first_item.wait_for(state="attached")
        ):
            return
        values: dict[str, int] = {}

        async def fill_in() -> None:
            # Inside a form: answering causes no script run (not a page time, but it can fail).
            if not await first_item.is_visible():
                await page.locator('[data-testid="stExpander"] summary').filter(has_text=name).first.click()
            for item_id, index in answers:
                box = page.locator(f".st-key-{css_key(prefix)}_{css_key(item_id)}").get_by_role("combobox")
                await box.click()
                options = page.get_by_role("option")
                try:
                    await options.first.wait_for(timeout=2_000)
                except Exception:
                    # A click sometimes only focuses the box (seen in the load test's
                    # screenshots): the arrow key opens its list as a person would.
                    await box.press("ArrowDown")
                option = options.nth(index)
                values[item_id] = int((await option.inner_text()).split(" ")[0])
                await option.click()

        if not await self.attempt("questionnaire: fill in", fill_in):
            return
        await self.pause()
        saved = t("questionnaire.saved", name=name, pseudonym=who, timepoint=t(f"code.timepoint.{tp}"))
        if await self.timed(
            "questionnaire: save",
            lambda: page.get_by_role("button", name=t("questionnaire.submit", name=name)).click(),
            lambda: page.get_by_text(saved).wait_for(),
        ):
            self.recorder.questionnaires[(who, tp, inst_id)] = values
        await self.pause()


@contextlib.asynccontextmanager
async def browser_users(plans: list[UserPlan], base: str, think: float, seed: int):
    """One headless Chromium with a browser context per plan; yields a factory
    ``(plan, recorder, think, seed, timeout) -> BrowserUser`` on the plan's own context
    (a user made again for the same plan drives the same context)."""
    # Imported here so the protocol client (the default) runs without Playwright's driver.
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            pages = {}
            for plan in plans:
                context = await browser.new_context(viewport={"width": 1400, "height": 1000})
                pages[plan.number] = await context.new_page()

            def make(
                plan: UserPlan, recorder: Recorder, think: float, seed: int, timeout: float = ACTION_TIMEOUT_S
            ) -> BrowserUser:
                return BrowserUser(plan, pages[plan.number], base, recorder, think, seed, timeout)

            yield make
        finally:
            await browser.close()


def css_key(key: str) -> str:
    """Streamlit's class name for a widget key (``st-key-`` + the key, other characters ``-``).

    >>> css_key("q_CPH-0012_post_who5")
    'q_CPH-0012_post_who5'
    >>> css_key("a.b c")
    'a-b-c'
    """
    return "".join(ch if ch.isalnum() or ch in "_-" else "-" for ch in key.strip())
