"""Load test: N simulated users in headless Chromium against ``peerstudy dashboard`` on PostgreSQL.

Creates a fresh PostgreSQL database (dropped at the end), builds the demo study with
``--participants`` RCT participants into it (``peerstudy demo``: audited, so the audit chain can
be verified afterwards), serves it with ``peerstudy dashboard`` on 127.0.0.1 and drives it with
one headless Chromium (Playwright, Debian's ``/usr/bin/chromium``) holding one browser context
— one Streamlit session over its own websocket — per simulated user. The users, in turn:

- coordinators entering **attendance** (Attendance page → their own session of an RCT group →
  all present / all absent, alternating → save) and looking at the RCT overview;
- coordinators entering **questionnaires** (Questionnaire entry → a participant of their site →
  every item of the timepoint's shortest instrument → save);
- **researchers** opening the RCT overview and the Analysis page in turn.

A *page time* runs from the navigation or click until the page's final element is visible and
Streamlit's script run is over (``stApp[data-test-script-state=notRunning]``); an *error* is an
action that timed out, a Streamlit exception box, or a save without its confirmation. After a
warm-up (the first visits of a new server: not counted) one user of each kind works alone as
the baseline measured in the same run; then all users at once. Prints p50/p95 per page and
overall beside the baseline and the goal (20 users: p95 under 2 s, 0 errors), then checks
that every confirmed write is in the database and runs ``peerstudy audit verify``.

Bounded: at most 50 users, 600 s of load and 20,000 participants; every action times out after
30 s (the unmeasured warm-up: 300 s); users arrive 1.5 s apart; only loopback addresses are driven (the dashboard and the PostgreSQL server). Usage::

    python benchmarks/dashboard_load.py [--users 20] [--participants 10000] [--duration 120]
    python benchmarks/dashboard_load.py --quick      # 3 users, 200 participants, 15 s of load
    python benchmarks/dashboard_load.py --template DB --audit-key KEY   # copy a study built before

It is not a test; ``tests/test_dashboard_load.py`` runs ``--quick`` and checks the pure parts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Its helper modules also when a test loads it (last: benchmark names never shadow a package).
sys.path.append(str(ROOT / "benchmarks"))

from scratch_databases import exit_on_sigterm  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from dashboards.access import Viewer  # noqa: E402
from dashboards.i18n import translate  # noqa: E402
from dashboards.queries.groups import groups_frame, sessions_of_group  # noqa: E402
from dashboards.queries.questionnaires import (  # noqa: E402
    entry_participants,
    instruments_of,
    participant_schedule,
)
from study.audit_key import create_key  # noqa: E402
from study.db import make_engine, read_session  # noqa: E402
from study.db.models import (  # noqa: E402
    Attendance,
    CourseGroup,
    GroupSession,
    Person,
    QuestionnaireResponse,
    Site,
)
from study.db.models import User as DashboardUser  # noqa: E402
from study.demo.users import DEMO_PASSWORD  # noqa: E402

PG_ADMIN_URL = os.environ.get("PEERSTUDY_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
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
MAX_USERS = 50
MAX_DURATION_S = 600
MAX_PARTICIPANTS = 20_000
ACTION_TIMEOUT_MS = 30_000
WARM_UP_TIMEOUT_MS = 300_000
#: Seconds between two users' arrivals (people log in one after another, not all at once).
ARRIVAL_S = 1.5
START_TIMEOUT_S = 90
GOAL_P95_S = 2.0
#: The roles the users take in turn (so 20 users: 5 + 5 entering data, 10 researchers).
ROLES = ("attendance", "researcher", "questionnaire", "researcher")
SITES = ("CPH", "HEL", "FRE")
DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


# --- pure parts --------------------------------------------------------------------------


def require_loopback(url: str) -> str:
    """The host of ``url`` if it is a loopback address (127.0.0.0/8, ``::1``, ``localhost``).

    A load test sends traffic only to this machine: any other host raises ``ValueError``.

    >>> require_loopback("http://127.0.0.1:8501")
    '127.0.0.1'
    >>> require_loopback("postgresql+psycopg://postgres@localhost:5432/postgres")
    'localhost'
    >>> require_loopback("http://10.0.0.5:8501")
    Traceback (most recent call last):
    ...
    ValueError: refusing http://10.0.0.5:8501: the load test drives loopback addresses only (127.0.0.0/8, ::1, localhost)
    """
    host = urlsplit(url).hostname
    ok = host == "localhost"
    if host and not ok:
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
    if not ok:
        raise ValueError(
            f"refusing {url}: the load test drives loopback addresses only (127.0.0.0/8, ::1, localhost)"
        )
    return host


def bounded(users: int, duration: float, participants: int) -> None:
    """``ValueError`` unless 1 ≤ users ≤ 50, 1 ≤ duration ≤ 600 s, 10 ≤ participants ≤ 20,000."""
    if not 1 <= users <= MAX_USERS:
        raise ValueError(f"--users must be 1..{MAX_USERS}, not {users}")
    if not 1 <= duration <= MAX_DURATION_S:
        raise ValueError(f"--duration must be 1..{MAX_DURATION_S} s, not {duration}")
    if not 10 <= participants <= MAX_PARTICIPANTS:
        raise ValueError(f"--participants must be 10..{MAX_PARTICIPANTS}, not {participants}")


def summarise(samples: pd.DataFrame) -> pd.DataFrame:
    """p50/p95 page times and errors per page, and a last row ``all``.

    ``samples`` has one row per timed action: ``page`` (its name), ``seconds`` (float) and
    ``error`` (``None`` when it succeeded). Percentiles (linear interpolation) are over the
    successful actions only, in seconds; a page without any has NaN there.

    >>> s = pd.DataFrame({"page": ["rct"] * 4 + ["save"], "seconds": [1.0, 2.0, 3.0, 4.0, 9.0],
    ...                   "error": [None, None, None, None, "timeout"]})
    >>> summarise(s).round(2).to_dict("index")["rct"]
    {'n': 4, 'errors': 0, 'p50': 2.5, 'p95': 3.85, 'max': 4.0}
    >>> summarise(s).loc["all", ["n", "errors"]].tolist()
    [5, 1]
    """

    def stats(frame: pd.DataFrame) -> dict:
        ok = frame.loc[frame["error"].isna(), "seconds"].to_numpy(dtype=float)
        if ok.size:
            p50, p95 = np.percentile(ok, [50, 95])
            worst = ok.max()
        else:
            p50 = p95 = worst = float("nan")
        return {
            "n": len(frame),
            "errors": int(frame["error"].notna().sum()),
            "p50": float(p50),
            "p95": float(p95),
            "max": float(worst),
        }

    rows = {page: stats(group) for page, group in samples.groupby("page", sort=True)}
    rows["all"] = stats(samples)
    return pd.DataFrame.from_dict(rows, orient="index")[["n", "errors", "p50", "p95", "max"]]


def goal_met(summary: pd.DataFrame, goal_p95: float = GOAL_P95_S) -> bool:
    """The goal: no error and the overall p95 under ``goal_p95`` seconds.

    >>> goal_met(pd.DataFrame({"errors": [0], "p95": [1.5]}, index=["all"]))
    True
    >>> goal_met(pd.DataFrame({"errors": [1], "p95": [1.5]}, index=["all"]))
    False
    """
    return bool(summary.at["all", "errors"] == 0 and summary.at["all", "p95"] < goal_p95)


def roles_for(users: int) -> list[str]:
    """The role of each simulated user, taking :data:`ROLES` in turn.

    >>> roles_for(5)
    ['attendance', 'researcher', 'questionnaire', 'researcher', 'attendance']
    """
    return [ROLES[i % len(ROLES)] for i in range(users)]


# --- the study and its server ------------------------------------------------------------


@dataclass
class UserPlan:
    """What one simulated user does: its login and, for a coordinator, its work list."""

    number: int
    role: str
    login: str
    # attendance: (group, week, held_on) sessions of the own site, each only this user's
    sessions: list[tuple[str, int, str]] = field(default_factory=list)
    # questionnaire: (pseudonym, timepoint, instrument, [(item key suffix, options, chosen index)])
    entries: list[tuple[str, str, str, str, list[tuple[str, int]]]] = field(default_factory=list)


def _viewer(engine, login: str):
    with read_session(engine) as s:
        user = s.scalar(select(DashboardUser).where(DashboardUser.login == login))
        code = s.scalar(select(Site.code).where(Site.id == user.site_id)) if user.site_id else None
        return Viewer(user.login, user.role, user.site_id, user.study_id, code)


def plan_users(engine, roles: list[str], seed: int = 1, per_user: int = 40) -> list[UserPlan]:
    """Each user's login and work: attendance users get RCT sessions of their site that
    nobody else enters; questionnaire users get participants of their site that nobody else
    enters, each with the timepoint the page preselects and that timepoint's shortest
    instrument, and a random answer per item."""
    rng = random.Random(seed)
    today = dt.date.today()
    plans: list[UserPlan] = []
    free_sessions: dict[str, list[tuple[str, int, str]]] = {}
    free_people: dict[str, list[str]] = {}
    for number, role in enumerate(roles):
        if role == "researcher":
            plans.append(UserPlan(number, role, "researcher"))
            continue
        site = SITES[number % len(SITES)]
        login = f"{site.lower()}.coordinator"
        viewer = _viewer(engine, login)
        plan = UserPlan(number, role, login)
        if role == "attendance":
            if site not in free_sessions:
                groups = groups_frame(engine, viewer, "rct")
                found = []
                for group in groups.loc[groups["members"] > 0, "group"]:
                    sessions = sessions_of_group(engine, viewer, group)
                    held = sessions[
                        ~sessions["cancelled"].astype(bool)
                        & (pd.to_datetime(sessions["held_on"]).dt.date <= today)
                    ]
                    found += [(group, int(w), str(d)) for w, d in zip(held["week"], held["held_on"])]
                rng.shuffle(found)
                free_sessions[site] = found
            plan.sessions = [
                free_sessions[site].pop() for _ in range(min(per_user, len(free_sessions[site])))
            ]
        else:
            if site not in free_people:
                people = entry_participants(engine, viewer)["pseudonym"].tolist()
                rng.shuffle(people)
                free_people[site] = people
            instruments = instruments_of(engine, viewer)
            while len(plan.entries) < per_user and free_people[site]:
                who = free_people[site].pop()
                schedule = participant_schedule(engine, viewer, who)
                if schedule.empty or (schedule["status"] == "withdrawn").any():
                    continue
                timepoints = list(dict.fromkeys(schedule["timepoint"]))
                open_tps = [
                    tp
                    for tp in timepoints
                    if schedule.loc[schedule["timepoint"] == tp, "status"].isin(["due", "overdue"]).any()
                ]
                if not open_tps:
                    continue  # nothing to enter: the page would offer corrections only
                tp = open_tps[0]  # the page preselects the first open timepoint
                rows = schedule[(schedule["timepoint"] == tp) & schedule["status"].isin(["due", "overdue"])]
                inst_id = min(rows["instrument"], key=lambda i: len(instruments[i].items))
                inst = instruments[inst_id]
                answers = []
                for item in inst.items:
                    scale = item.response_scale or inst.response_scale
                    answers.append((item.id, rng.randrange(scale.max - scale.min + 1)))
                plan.entries.append((who, tp, inst_id, inst.name, answers))
        plans.append(plan)
    return plans


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dashboard(url: str, log_path: Path) -> tuple[subprocess.Popen, str]:
    """``peerstudy dashboard`` on ``url`` at a free loopback port; waits until it is healthy."""
    port = _free_port()
    peerstudy = Path(sys.executable).with_name("peerstudy")
    log = open(log_path, "w")  # noqa: SIM115 - the server writes to it until stop_dashboard closes it
    server = subprocess.Popen(
        [str(peerstudy), "dashboard", "--db", url, "--port", str(port), "--address", "127.0.0.1"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    require_loopback(base)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return server, base
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop(server)
            raise SystemExit(f"the dashboard did not start:\n{log_path.read_text()}")
        time.sleep(0.5)


def stop(server: subprocess.Popen) -> None:
    """End the dashboard server this script started: ``peerstudy dashboard`` and the
    Streamlit process it runs, which form their own process group (and nothing else does)."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


# --- the simulated users -----------------------------------------------------------------


@dataclass
class Recorder:
    """Timed actions and confirmed writes of every user."""

    samples: list[dict] = field(default_factory=list)
    attendance: dict[tuple[str, int], bool] = field(default_factory=dict)
    questionnaires: dict[tuple[str, str, str], dict[str, int]] = field(default_factory=dict)

    def add(self, user: int, page: str, seconds: float, error: str | None) -> None:
        self.samples.append({"user": user, "page": page, "seconds": seconds, "error": error})


class User:
    """One simulated person in their own browser context (a Streamlit session)."""

    def __init__(self, plan: UserPlan, page, base: str, recorder: Recorder, think: float, seed: int) -> None:
        self.plan, self.page, self.base, self.recorder = plan, page, base, recorder
        self.think = think
        self.failed = False
        self.rng = random.Random(seed)
        self.t = lambda key, **values: translate(key, "en", **values)

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

    async def failure(self, name: str, exc: Exception, seconds: float) -> None:
        """Record a failed action (and keep a screenshot of it in ``$PEERSTUDY_LOAD_SHOTS``)."""
        self.recorder.add(self.plan.number, name, seconds, f"{type(exc).__name__}: {str(exc)[:200]}")
        self.failed = True
        shots = os.environ.get("PEERSTUDY_LOAD_SHOTS")
        if shots:
            path = Path(shots) / f"user{self.plan.number}_{len(self.recorder.samples)}_{_css_key(name)}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(Exception):  # a screenshot is a diagnostic, never a failure
                await self.page.screenshot(path=str(path), full_page=True)

    async def pause(self) -> None:
        await asyncio.sleep(self.think * self.rng.uniform(0.5, 1.5))

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

    async def log_in_patiently(self, deadline: float, tries: int = 3) -> bool:
        """Log in, trying again (a person reloads) up to ``tries`` times before the deadline."""
        for _ in range(tries):
            self.failed = False
            if await self.log_in():
                return True
            if time.monotonic() > deadline:
                break
        return False

    async def rct_final(self) -> None:
        await self.heading(self.t("rct.title")).wait_for()
        await self.heading(self.t("rct.fidelity")).wait_for()

    async def open_page(self, name: str, nav: str, final: Callable[[], Awaitable]) -> bool:
        return await self.timed(
            name, lambda: self.page.get_by_role("link", name=self.t(nav), exact=True).click(), final
        )

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
        await self.open_page("analysis", "nav.analysis", self.analysis_final)
        await self.pause()
        await self.open_page("RCT overview", "nav.rct", self.rct_final)

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
        if not await self.open_page(
            "attendance", "nav.attendance", lambda: self.heading(t("attendance.title")).wait_for()
        ):
            return
        await self.pause()
        # "Week 3 (": the option's text up to the date, whatever the date's format
        week_prefix = t("attendance.week_label", week=week, date="\0").split("\0")[0]

        async def pick() -> None:
            await self.choose(t("attendance.group"), group)
            # The group's run is over when a grid of this group is shown (a week chosen
            # earlier would be lost to that run).
            await page.locator(f'[class*="st-key-{_css_key(f"attendance_grid_{group}_")}"]').wait_for()
            await page.locator(DONE).wait_for()
            await self.choose(t("attendance.week"), week_prefix, prefix=True)

        # The grid of the chosen session (its widget key names group and week).
        grid = page.locator(f".st-key-{_css_key(f'attendance_grid_{group}_{week}')}")
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
        await self.open_page("RCT overview", "nav.rct", self.rct_final)

    # coordinator: one participant's questionnaire
    async def questionnaire_round(self, k: int) -> None:
        if k >= len(self.plan.entries):
            return
        who, tp, inst_id, name, answers = self.plan.entries[k]
        t, page = self.t, self.page
        if not await self.open_page(
            "questionnaire entry",
            "nav.questionnaire",
            lambda: self.heading(t("questionnaire.title")).wait_for(),
        ):
            return
        await self.pause()
        prefix = f"q_{who}_{tp}_{inst_id}"
        first_item = page.locator(f".st-key-{_css_key(prefix)}_{_css_key(answers[0][0])}")

        async def pick() -> None:
            await self.choose(t("questionnaire.participant"), who)
            # The participant's run is over when a form of theirs is on the page.
            await page.locator(f'[class*="st-key-{_css_key(f"q_{who}_")}"]').first.wait_for(state="attached")
            await page.locator(DONE).wait_for()
            # The timepoint box keeps the last participant's choice: set it every time.
            await self.choose(t("questionnaire.timepoint"), tp)

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
                await (
                    page.locator(f".st-key-{_css_key(prefix)}_{_css_key(item_id)}")
                    .get_by_role("combobox")
                    .click()
                )
                option = page.get_by_role("option").nth(index)
                values[item_id] = int((await option.inner_text()).split(" ")[0])
                await option.click()

        if not await self.attempt("questionnaire: fill in", fill_in):
            return
        await self.pause()
        saved = t("questionnaire.saved", name=name, pseudonym=who, timepoint=tp)
        if await self.timed(
            "questionnaire: save",
            lambda: page.get_by_role("button", name=t("questionnaire.submit", name=name)).click(),
            lambda: page.get_by_text(saved).wait_for(),
        ):
            self.recorder.questionnaires[(who, tp, inst_id)] = values
        await self.pause()

    async def warm_up(self) -> None:
        """Open every page this user works on once (without saving anything), then log out."""
        if not await self.log_in():
            return
        if self.plan.role == "researcher":
            await self.open_page("analysis", "nav.analysis", self.analysis_final)
        elif self.plan.role == "attendance":
            await self.open_page(
                "attendance", "nav.attendance", lambda: self.heading(self.t("attendance.title")).wait_for()
            )
        else:
            await self.open_page(
                "questionnaire entry",
                "nav.questionnaire",
                lambda: self.heading(self.t("questionnaire.title")).wait_for(),
            )
        await self.page.get_by_role("button", name=self.t("auth.log_out")).click()
        await self.heading(self.t("auth.title")).wait_for()

    async def solo_round(self) -> None:
        """Log in, do one round of work (on the last item of the work list, which the
        concurrent run reaches last if at all), log out."""
        if not await self.log_in():
            return
        if self.plan.role == "researcher":
            await self.researcher_round()
        elif self.plan.role == "attendance":
            await self.attendance_round(len(self.plan.sessions) - 1)
        elif self.plan.entries:
            await self.questionnaire_round(len(self.plan.entries) - 1)
        await self.page.get_by_role("button", name=self.t("auth.log_out")).click()
        await self.heading(self.t("auth.title")).wait_for()

    async def run(self, deadline: float) -> None:
        if not await self.log_in_patiently(deadline):
            return
        k = 0
        while time.monotonic() < deadline:
            await self.pause()
            if self.plan.role == "researcher":
                await self.researcher_round()
            elif self.plan.role == "attendance":
                await self.attendance_round(k)
            else:
                if k >= len(self.plan.entries):
                    break
                await self.questionnaire_round(k)
            k += 1
            # Start over from a fresh page after an error (as a person would reload).
            if self.failed and not await self.log_in_patiently(deadline):
                return


def _css_key(key: str) -> str:
    """Streamlit's class name for a widget key (``st-key-`` + the key, other characters ``-``).

    >>> _css_key("q_CPH-0012_post_who5")
    'q_CPH-0012_post_who5'
    >>> _css_key("a.b c")
    'a-b-c'
    """
    return "".join(ch if ch.isalnum() or ch in "_-" else "-" for ch in key.strip())


async def safely(work: Awaitable, user: User, name: str) -> None:
    """Await a user's work; an unexpected failure stops only that user and is an error."""
    try:
        await work
    except Exception as exc:
        await user.failure(name, exc, float("nan"))


async def drive(
    plans: list[UserPlan], base: str, duration: float, think: float, seed: int
) -> tuple[Recorder, Recorder]:
    """Run every plan as a user in one browser, all at once, for ``duration`` seconds; first
    one user of each kind alone (the baseline). Returns the baseline's and the run's records."""
    # Imported here so the pure parts (and their tests) load without Playwright's driver.
    from playwright.async_api import async_playwright

    require_loopback(base)
    recorder, solo = Recorder(), Recorder()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            users = []
            for plan in plans:
                context = await browser.new_context(viewport={"width": 1400, "height": 1000})
                page = await context.new_page()
                page.set_default_timeout(ACTION_TIMEOUT_MS)
                users.append(User(plan, page, base, recorder, think, seed + plan.number))
            # A dashboard is a long-running server: its first visits (imports, first queries)
            # are start-up, not page times. One user of each kind goes through first, unmeasured.
            t0 = time.perf_counter()
            warm = Recorder()
            seen = set()
            for user in users:
                if user.plan.role not in seen:
                    seen.add(user.plan.role)
                    # The first analysis of a large study takes minutes on a busy machine.
                    user.page.set_default_timeout(WARM_UP_TIMEOUT_MS)
                    warming = User(user.plan, user.page, base, warm, 0, seed)
                    await safely(warming.warm_up(), warming, "warm-up stopped")
                    user.page.set_default_timeout(ACTION_TIMEOUT_MS)
            print(
                f"  warm-up (first visits of a new server, not counted): {time.perf_counter() - t0:.1f} s, "
                f"{sum(1 for x in warm.samples if x['error'])} errors"
            )
            # The baseline, measured in the same run on the same (shared) machine: one user of
            # each kind alone, one after the other, doing one round of its work.
            seen.clear()
            for user in users:
                if user.plan.role not in seen:
                    seen.add(user.plan.role)
                    alone = User(user.plan, user.page, base, solo, 0, seed)
                    await safely(alone.solo_round(), alone, "baseline stopped")
            recorder.attendance.update(solo.attendance)
            recorder.questionnaires.update(solo.questionnaires)
            deadline = time.monotonic() + duration

            # The users arrive within the first few seconds, not in the same millisecond.
            async def start(user: User, delay: float) -> None:
                await asyncio.sleep(delay)
                await safely(user.run(deadline), user, "user stopped")

            hard_stop = duration + 3 * ACTION_TIMEOUT_MS / 1000 + 60
            await asyncio.wait_for(
                asyncio.gather(*(start(u, i * ARRIVAL_S) for i, u in enumerate(users))), timeout=hard_stop
            )
        finally:
            await browser.close()
    return solo, recorder


# --- after the run -----------------------------------------------------------------------


def missing_writes(engine, recorder: Recorder) -> list[str]:
    """Every confirmed write that is not in the database as it was saved (empty: all there)."""
    problems = []
    with read_session(engine) as s:
        for (group, week), present in recorder.attendance.items():
            statuses = s.scalars(
                select(Attendance.status)
                .join(GroupSession, GroupSession.id == Attendance.session_id)
                .join(CourseGroup, CourseGroup.id == GroupSession.group_id)
                .where(CourseGroup.code == group, GroupSession.week == week)
            ).all()
            wanted = "present" if present else "absent"
            if not statuses or set(statuses) != {wanted}:
                problems.append(f"attendance {group} week {week}: {sorted(set(statuses))}, saved as {wanted}")
        for (who, tp, inst), values in recorder.questionnaires.items():
            stored = s.scalar(
                select(QuestionnaireResponse.item_values)
                .join(Person, Person.id == QuestionnaireResponse.person_id)
                .where(
                    Person.pseudonym == who,
                    QuestionnaireResponse.timepoint == tp,
                    QuestionnaireResponse.instrument == inst,
                )
            )
            if stored is None or {k: v for k, v in json.loads(stored).items() if k in values} != values:
                problems.append(f"questionnaire {inst} {tp} of {who}: stored {stored}, saved {values}")
    return problems


def _pg_admin(url: str):
    return create_engine(url, isolation_level="AUTOCOMMIT")


def run(
    users: int,
    participants: int,
    duration: float,
    think: float,
    seed: int,
    admin_url: str,
    template: str | None = None,
    audit_key: Path | None = None,
) -> int:
    """The whole load test; returns the exit code (0: goal met, writes present, chain verified).

    With ``template`` the fresh database is a copy of that one (``CREATE DATABASE ... TEMPLATE``:
    a study built once by ``peerstudy demo`` with ``audit_key``) instead of a new demo build,
    which takes half an hour for 10,000 participants on a busy 2-core machine.
    """
    bounded(users, duration, participants)
    require_loopback(admin_url)
    name = f"peerstudy_load_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    admin = _pg_admin(admin_url)
    work = Path(tempfile.mkdtemp(prefix="peerstudy-load-"))
    # A throw-away study has its own audit key and anchor log, never the developer's (a copied
    # template keeps the key it was built with).
    os.environ["PEERSTUDY_AUDIT_KEY"] = str(audit_key if template else work / "audit.key")
    os.environ["PEERSTUDY_ANCHOR_LOG"] = str(work / "anchors.log")
    if not template:
        create_key(work / "audit.key")
    peerstudy = str(Path(sys.executable).with_name("peerstudy"))
    t0 = time.perf_counter()
    with admin.connect() as conn:
        if template:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        else:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    server = None
    try:
        if not template:
            subprocess.run(
                [peerstudy, "demo", "--db", url, "--participants", str(participants), "--seed", str(seed)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        engine = make_engine(url)
        plans = plan_users(engine, roles_for(users), seed)
        built = time.perf_counter() - t0
        server, base = start_dashboard(url, work / "dashboard.log")
        from_where = f"a copy of {template}" if template else f"{participants:,} participants"
        print(
            f"dashboard load test: {users} users for {duration:.0f} s (think time ~{think:g} s) against "
            f"{base} on PostgreSQL, {from_where} (set-up {built:.0f} s); "
            f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the run"
        )
        t1 = time.perf_counter()
        solo, recorder = asyncio.run(drive(plans, base, duration, think, seed))
        print(f"  ran {time.perf_counter() - t1:.0f} s; load average {os.getloadavg()[0]:.1f} at the end")
        stop(server)
        server = None
        columns = ["user", "page", "seconds", "error"]
        samples = pd.DataFrame(recorder.samples, columns=columns)
        summary = summarise(samples)
        alone = summarise(pd.DataFrame(solo.samples, columns=columns))["p50"].reindex(summary.index)
        print(
            f"  {'page':<32} {'alone s':>8} | {users} users: {'n':>4} {'errors':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7}"
        )
        for page, row in summary.iterrows():
            print(
                f"  {page:<32} {alone[page]:>8.2f} | {'':>9}{int(row.n):>4} {int(row.errors):>6} "
                f"{row.p50:>7.2f} {row.p95:>7.2f} {row['max']:>7.2f}"
            )
        print(
            f"  ('alone': one user of each kind by itself just before, on the same machine; "
            f"{sum(1 for x in solo.samples if x['error'])} errors then)"
        )
        for error in samples["error"].dropna().unique()[:10]:
            print(f"  error: {error}")
        met = goal_met(summary)
        print(f"  goal (p95 under {GOAL_P95_S:g} s, 0 errors): {'met' if met else 'NOT met'}")
        problems = missing_writes(engine, recorder)
        print(
            f"  writes confirmed: {len(recorder.attendance)} attendance sessions, "
            f"{len(recorder.questionnaires)} questionnaires; missing or different in the database: {len(problems)}"
        )
        for problem in problems[:10]:
            print(f"    {problem}")
        engine.dispose()
        verify = subprocess.run([peerstudy, "audit", "verify", "--db", url], capture_output=True, text=True)
        print(f"  peerstudy audit verify: {(verify.stdout + verify.stderr).strip().splitlines()[-1]}")
        return 0 if met and not problems and verify.returncode == 0 else 1
    finally:
        if server is not None:
            stop(server)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20, help=f"simulated users at once (1..{MAX_USERS})")
    parser.add_argument("--participants", type=int, default=10_000, help="RCT participants of the study")
    parser.add_argument(
        "--duration", type=float, default=120, help=f"seconds of load (at most {MAX_DURATION_S})"
    )
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds a user pauses between actions")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pg", default=PG_ADMIN_URL, help="PostgreSQL maintenance database URL (loopback only)"
    )
    parser.add_argument(
        "--template",
        help="copy this PostgreSQL database (built by `peerstudy demo`) "
        "instead of building the demo; needs --audit-key",
    )
    parser.add_argument("--audit-key", type=Path, help="the audit key the --template database was built with")
    parser.add_argument("--quick", action="store_true", help="3 users, 200 participants, 15 s of load")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.quick:
        args.users, args.participants, args.duration = 3, 200, 15
    if bool(args.template) != bool(args.audit_key):
        parser.error("--template and --audit-key go together")
    if args.template and not re.fullmatch(r"[A-Za-z0-9_]+", args.template):
        parser.error("--template: a plain database name (letters, digits, _)")
    try:
        code = run(
            args.users,
            args.participants,
            args.duration,
            args.think,
            args.seed,
            args.pg,
            args.template,
            args.audit_key,
        )
    except ValueError as exc:
        parser.error(str(exc))
    raise SystemExit(code)


if __name__ == "__main__":
    exit_on_sigterm()  # all.py stops it at its timeout with SIGTERM: clean up first
    main()
