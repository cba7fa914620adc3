"""The load test's simulated people: what each does, in any client, and the protocol client.

:class:`SimulatedUser` holds what every user does whatever drives the dashboard (log in, the
role's round of work, the warm-up, the baseline round, the timed loop, the record of page
times and confirmed writes); a client implements the steps. :class:`ProtocolUser` drives the
dashboard over Streamlit's websocket protocol (:mod:`streamlit_protocol`), costing almost no
CPU; the Chromium user is in :mod:`load_browser`. Both record the same page names, so their
figures compare.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from streamlit_protocol import ProtocolError, StreamlitSession

from dashboards.i18n import translate
from study.demo.users import DEMO_PASSWORD

__all__ = ["ACTION_TIMEOUT_S", "ProtocolUser", "Recorder", "SimulatedUser", "UserPlan"]

#: Every action (one rerun, or one page load) fails after this many seconds.
ACTION_TIMEOUT_S = 30.0
#: The page each role opens in the warm-up (a new server's first visits are not counted).
WARM_UP_PAGE = {"researcher": "analysis", "attendance": "attendance", "questionnaire": "questionnaire entry"}


@dataclass
class UserPlan:
    """What one simulated user does: its login and, for a coordinator, its work list."""

    number: int
    role: str
    login: str
    # attendance: (group, week, held_on) sessions of the own site, each only this user's
    sessions: list[tuple[str, int, str]] = field(default_factory=list)
    # questionnaire: (pseudonym, timepoint, instrument, name, [(item id, chosen option index)])
    entries: list[tuple[str, str, str, str, list[tuple[str, int]]]] = field(default_factory=list)


@dataclass
class Recorder:
    """Timed actions and confirmed writes of every user."""

    samples: list[dict] = field(default_factory=list)
    attendance: dict[tuple[str, int], bool] = field(default_factory=dict)
    questionnaires: dict[tuple[str, str, str], dict[str, int]] = field(default_factory=dict)
    #: CPU seconds the dashboard server used while these actions ran (NaN: not measured)
    server_cpu_s: float = float("nan")

    def add(self, user: int, page: str, seconds: float, error: str | None) -> None:
        self.samples.append({"user": user, "page": page, "seconds": seconds, "error": error})


class SimulatedUser:
    """One person: the rounds of work of their role; a client implements the steps
    (``log_in``, ``log_out``, ``open_page``, the three rounds)."""

    def __init__(self, plan: UserPlan, recorder: Recorder, think: float, seed: int) -> None:
        self.plan, self.recorder = plan, recorder
        self.think = think
        self.failed = False
        self.rng = random.Random(seed)

    @staticmethod
    def t(key: str, **values: object) -> str:
        return translate(key, "en", **values)

    async def pause(self) -> None:
        await asyncio.sleep(self.think * self.rng.uniform(0.5, 1.5))

    async def failure(self, name: str, exc: BaseException, seconds: float) -> None:
        """Record a failed action."""
        self.recorder.add(self.plan.number, name, seconds, f"{type(exc).__name__}: {str(exc)[:200]}")
        self.failed = True

    # the steps a client implements
    async def log_in(self) -> bool:
        raise NotImplementedError

    async def log_out(self) -> None:
        raise NotImplementedError

    async def open_page(self, name: str) -> bool:
        raise NotImplementedError

    async def researcher_round(self) -> None:
        raise NotImplementedError

    async def attendance_round(self, k: int) -> None:
        raise NotImplementedError

    async def questionnaire_round(self, k: int) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Let go of what the client holds (a connection); nothing by default."""

    # what every user does
    async def log_in_patiently(self, deadline: float, tries: int = 3) -> bool:
        """Log in, trying again (a person reloads) up to ``tries`` times before the deadline."""
        for _ in range(tries):
            self.failed = False
            if await self.log_in():
                return True
            if time.monotonic() > deadline:
                break
        return False

    async def warm_up(self) -> None:
        """Open the page this user works on once (without saving anything), then log out."""
        if not await self.log_in():
            return
        await self.open_page(WARM_UP_PAGE[self.plan.role])
        await self.log_out()

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
        await self.log_out()

    async def run(self, deadline: float) -> None:
        """Work until ``deadline`` (``time.monotonic()``); start over after an error."""
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


def page_shows(session: StreamlitSession, *texts: str) -> None:
    """``ProtocolError`` unless each of ``texts`` is part of a text element of the page."""
    shown = session.page.texts()
    for text in texts:
        if not any(text in s for s in shown):
            raise ProtocolError(f"{text!r} is not on the page")


class ProtocolUser(SimulatedUser):
    """A user speaking Streamlit's websocket protocol: one :class:`StreamlitSession` (a new
    one at each login, as a browser tab loading the app). A page time runs from the rerun
    request to the run's ``script_finished`` (the first load: from the HTTP request for the
    app's page)."""

    #: page name → (url path, texts the finished page shows); the RCT overview is every
    #: role's default page, whose URL is the app's root
    PAGES = {
        "RCT overview": ("", ("rct.title", "rct.fidelity")),
        "analysis": ("analysis", ("analysis.title", "analysis.quality")),
        "attendance": ("attendance", ("attendance.title",)),
        "questionnaire entry": ("questionnaire", ("questionnaire.title",)),
    }

    def __init__(
        self,
        plan: UserPlan,
        base: str,
        recorder: Recorder,
        think: float,
        seed: int,
        timeout: float = ACTION_TIMEOUT_S,
    ) -> None:
        super().__init__(plan, recorder, think, seed)
        self.base, self.timeout = base, timeout
        self.session: StreamlitSession | None = None

    @property
    def live(self) -> StreamlitSession:
        """The session this user is logged in with (``ProtocolError`` when there is none)."""
        if self.session is None:
            raise ProtocolError("not logged in")
        return self.session

    async def timed(self, name: str, action) -> bool:
        """Await ``action()`` (reruns and page checks); record its time or its failure."""
        t0 = time.perf_counter()
        try:
            await action()
        except Exception as exc:
            await self.failure(name, exc, time.perf_counter() - t0)
            return False
        self.recorder.add(self.plan.number, name, time.perf_counter() - t0, None)
        return True

    async def log_in(self) -> bool:
        await self.close()
        session = self.session = StreamlitSession(self.base, self.timeout)
        t = self.t

        async def load() -> None:
            await session.open()
            session.page.widget(label=t("auth.login"), kind="text_input")

        if not await self.timed("login page", load):
            return False

        async def submit() -> None:
            page = session.page
            form = {
                page.widget(key="login_name").id: self.plan.login,
                page.widget(key="login_password").id: DEMO_PASSWORD,
            }
            await session.press(label=t("auth.submit"), form=form)
            page_shows(session, t("rct.title"), t("rct.fidelity"))

        return await self.timed("log in → RCT overview", submit)

    async def log_out(self) -> None:
        if self.session is None:
            return
        await self.session.press(key="log_out")
        page_shows(self.session, self.t("auth.title"))
        await self.close()

    async def close(self) -> None:
        """End this user's Streamlit session (its websocket)."""
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def open_page(self, name: str) -> bool:
        url, texts = self.PAGES[name]
        session = self.live

        async def go() -> None:
            await session.navigate(url)
            page_shows(session, *(self.t(k) for k in texts))

        return await self.timed(name, go)

    async def researcher_round(self) -> None:
        await self.open_page("analysis")
        await self.pause()
        await self.open_page("RCT overview")

    async def attendance_round(self, k: int) -> None:
        if not self.plan.sessions:
            return
        group, week, _held_on = self.plan.sessions[k % len(self.plan.sessions)]
        present = k // len(self.plan.sessions) % 2 == 0  # alternate once every session is done
        t, session = self.t, self.live
        if not await self.open_page("attendance"):
            return
        await self.pause()
        # "Week 3 (": the option's text up to the date, whatever the date's format
        week_prefix = t("attendance.week_label", week=week, date="\0").split("\0")[0]

        async def pick() -> None:
            await session.choose("attendance_group", group)
            if not session.page.has_widget(f"attendance_grid_{group}_"):
                raise ProtocolError(f"no attendance grid of {group}")
            options = session.page.widget(key="attendance_week", kind="selectbox").options
            await session.choose("attendance_week", next(o for o in options if o.startswith(week_prefix)))
            session.page.widget(key=f"attendance_grid_{group}_{week}")

        if not await self.timed("attendance: choose session", pick):
            return
        await self.pause()

        async def fill() -> None:
            await session.press(key="attendance_all_present" if present else "attendance_all_absent")
            page_shows(session, t("attendance.filled_present" if present else "attendance.filled_absent"))

        if not await self.timed("attendance: fill", fill):
            return
        await self.pause()

        async def save() -> None:
            await session.press(key="attendance_save")
            page_shows(session, t("attendance.saved", group=group, week=week, n=0).split(" (")[0])

        if await self.timed("attendance: save", save):
            self.recorder.attendance[(group, week)] = present
        await self.pause()
        await self.open_page("RCT overview")

    async def questionnaire_round(self, k: int) -> None:
        if k >= len(self.plan.entries):
            return
        who, tp, inst_id, name, answers = self.plan.entries[k]
        t, session = self.t, self.live
        if not await self.open_page("questionnaire entry"):
            return
        await self.pause()
        prefix = f"q_{who}_{tp}_{inst_id}"

        async def pick() -> None:
            await session.choose("questionnaire_who", who)
            await session.choose(f"questionnaire_timepoint_{who}", t(f"code.timepoint.{tp}"))
            session.page.widget(key=f"{prefix}_{answers[0][0]}")

        if not await self.timed("questionnaire: open participant", pick):
            return
        # Answering inside a form causes no rerun: the person's time at the keyboard.
        form: dict[str, str] = {}
        values: dict[str, int] = {}
        for item_id, index in answers:
            proto = session.page.widget(key=f"{prefix}_{item_id}", kind="selectbox")
            form[proto.id] = proto.options[index]
            values[item_id] = int(proto.options[index].split(" ")[0])
        await self.pause()
        saved = t("questionnaire.saved", name=name, pseudonym=who, timepoint=t(f"code.timepoint.{tp}"))

        async def save() -> None:
            await session.press(label=t("questionnaire.submit", name=name), form=form)
            page_shows(session, saved)

        if await self.timed("questionnaire: save", save):
            self.recorder.questionnaires[(who, tp, inst_id)] = values
        await self.pause()
