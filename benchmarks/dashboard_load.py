"""Load test: N simulated users against ``peerstudy dashboard`` on PostgreSQL.

Creates a fresh PostgreSQL database (dropped at the end), builds the demo study with
``--participants`` RCT participants into it (``peerstudy demo``: audited, so the audit chain can
be verified afterwards) or copies one built before, serves it with ``peerstudy dashboard`` on
127.0.0.1 and drives it with one Streamlit session per simulated user. The users, in turn:

- coordinators entering **attendance** (Attendance page → their own session of an RCT group →
  all present / all absent, alternating → save) and looking at the RCT overview;
- coordinators entering **questionnaires** (Questionnaire entry → a participant of their site →
  every item of the timepoint's shortest instrument → save);
- **researchers** opening the RCT overview and the Analysis page in turn.

Two clients (``--client``): ``protocol`` (the default) speaks Streamlit's websocket protocol
(:mod:`streamlit_protocol`): a user costs almost no CPU, so the figures are the server's; a
*page time* runs from the rerun request to the run's ``script_finished``. ``browser`` drives
headless Chromium (:mod:`load_browser`): a page time runs until the page's final element is
visible, and on a small machine the browsers' own CPU dominates. An *error* is an action that
timed out (30 s), an exception on the page, or a save without its confirmation. After a
warm-up (the first visits of a new server: not counted) one user of each kind works alone as
the baseline measured in the same run; then all users at once. Prints p50/p95 per page and
overall beside the baseline and the goal (20 users: p95 under 2 s, 0 errors), then checks
that every confirmed write is in the database and runs ``peerstudy audit verify``.

Bounded: at most 50 users, 600 s of load and 20,000 participants; every action times out after
30 s (the unmeasured warm-up: 300 s); users arrive 1.5 s apart and pause ``--think`` seconds on
average between actions (default 5: a person reads the page before the next click; ``--think 1``
is a stress run); only loopback addresses are
driven (the dashboard and the PostgreSQL server). Usage::

    python benchmarks/dashboard_load.py [--users 20] [--participants 10000] [--duration 120]
    python benchmarks/dashboard_load.py --quick      # 3 users, 200 participants, 15 s of load
    python benchmarks/dashboard_load.py --template DB --audit-key KEY   # copy a study built before
    python benchmarks/dashboard_load.py --client browser   # headless Chromium instead

It is not a test; ``tests/test_dashboard_load.py`` checks the pure parts.
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
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
# Its helper modules also when a test loads it (last: benchmark names never shadow a package).
sys.path.append(str(HERE))

from load_browser import browser_users  # noqa: E402
from load_users import ACTION_TIMEOUT_S, ProtocolUser, Recorder, SimulatedUser, UserPlan  # noqa: E402
from scratch_databases import exit_on_sigterm  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from dashboards.access import Viewer  # noqa: E402
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

PG_ADMIN_URL = os.environ.get("PEERSTUDY_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MAX_USERS = 50
MAX_DURATION_S = 600
MAX_PARTICIPANTS = 20_000
#: The unmeasured warm-up's timeout per action: a new server's first analysis takes minutes.
WARM_UP_TIMEOUT_S = 300.0
#: Seconds between two users' arrivals (people log in one after another, not all at once).
ARRIVAL_S = 1.5
START_TIMEOUT_S = 90
GOAL_P95_S = 2.0
#: The roles the users take in turn (so 20 users: 5 + 5 entering data, 10 researchers).
ROLES = ("attendance", "researcher", "questionnaire", "researcher")
SITES = ("CPH", "HEL", "FRE")
CLIENTS = ("protocol", "browser")


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


def process_tree_cpu(pid: int, proc: Path = Path("/proc")) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its descendants (Linux
    ``/proc``; a process that ended meanwhile counts nothing). The dashboard server is
    ``peerstudy dashboard`` and the Streamlit process it starts."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            # After the command name (in parentheses, may hold spaces): utime, stime are
            # fields 14 and 15 of the line, 12 and 13 after the parenthesis.
            fields = (proc / str(p) / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in (proc / str(p) / "task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


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


async def safely(work: Awaitable, user: SimulatedUser, name: str) -> None:
    """Await a user's work; an unexpected failure stops only that user and is an error."""
    try:
        await work
    except Exception as exc:
        await user.failure(name, exc, float("nan"))


@contextlib.asynccontextmanager
async def protocol_users(plans: list[UserPlan], base: str, think: float, seed: int):
    """A factory ``(plan, recorder, think, seed, timeout) -> ProtocolUser`` (each user its
    own websocket session; nothing to start)."""

    def make(
        plan: UserPlan, recorder: Recorder, think: float, seed: int, timeout: float = ACTION_TIMEOUT_S
    ) -> ProtocolUser:
        return ProtocolUser(plan, base, recorder, think, seed, timeout)

    yield make


async def drive(
    plans: list[UserPlan],
    base: str,
    duration: float,
    think: float,
    seed: int,
    client: str = "protocol",
    server_cpu: Callable[[], float] = lambda: float("nan"),
) -> tuple[Recorder, Recorder]:
    """Run every plan as a user, all at once, for ``duration`` seconds; first one user of
    each kind alone (the baseline). ``client``: ``protocol`` (Streamlit's websocket protocol)
    or ``browser`` (headless Chromium); ``server_cpu()`` reads the server's CPU seconds so far
    (kept in each record's ``server_cpu_s``). Returns the baseline's and the run's records."""
    require_loopback(base)
    recorder, solo = Recorder(), Recorder()
    clients = {"protocol": protocol_users, "browser": browser_users}
    async with clients[client](plans, base, think, seed) as make:
        # A dashboard is a long-running server: its first visits (imports, first queries)
        # are start-up, not page times. One user of each kind goes through first, unmeasured.
        t0 = time.perf_counter()
        warm = Recorder()
        first_of_role: list[UserPlan] = []
        for plan in plans:
            if all(p.role != plan.role for p in first_of_role):
                first_of_role.append(plan)
        for plan in first_of_role:
            # The first analysis of a large study takes minutes on a busy machine.
            warming = make(plan, warm, 0, seed, WARM_UP_TIMEOUT_S)
            await safely(warming.warm_up(), warming, "warm-up stopped")
            await warming.close()
        print(
            f"  warm-up (first visits of a new server, not counted): {time.perf_counter() - t0:.1f} s, "
            f"{sum(1 for x in warm.samples if x['error'])} errors"
        )
        # The baseline, measured in the same run on the same (shared) machine: one user of
        # each kind alone, one after the other, doing one round of its work.
        cpu0 = server_cpu()
        for plan in first_of_role:
            alone = make(plan, solo, 0, seed)
            await safely(alone.solo_round(), alone, "baseline stopped")
            await alone.close()
        solo.server_cpu_s = server_cpu() - cpu0
        recorder.attendance.update(solo.attendance)
        recorder.questionnaires.update(solo.questionnaires)
        users = [make(plan, recorder, think, seed + plan.number) for plan in plans]
        deadline = time.monotonic() + duration

        # The users arrive within the first few seconds, not in the same millisecond.
        async def start(user: SimulatedUser, delay: float) -> None:
            await asyncio.sleep(delay)
            await safely(user.run(deadline), user, "user stopped")

        hard_stop = duration + 3 * ACTION_TIMEOUT_S + 60
        cpu0 = server_cpu()
        try:
            await asyncio.wait_for(
                asyncio.gather(*(start(u, i * ARRIVAL_S) for i, u in enumerate(users))), timeout=hard_stop
            )
        finally:
            recorder.server_cpu_s = server_cpu() - cpu0
            for user in users:
                await user.close()
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


def cpu_per_action(recorder: Recorder) -> float:
    """The server's CPU seconds per recorded action (NaN without actions).

    >>> r = Recorder(server_cpu_s=3.0)
    >>> r.add(0, "rct", 1.0, None); r.add(0, "rct", 2.0, "timeout")
    >>> cpu_per_action(r)
    1.5
    """
    return recorder.server_cpu_s / len(recorder.samples) if recorder.samples else float("nan")


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
    client: str = "protocol",
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
            f"{base} on PostgreSQL, {from_where} (set-up {built:.0f} s), client {client}; "
            f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the run"
        )
        t1 = time.perf_counter()
        solo, recorder = asyncio.run(
            drive(plans, base, duration, think, seed, client, lambda: process_tree_cpu(server.pid))
        )
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
        print(
            f"  dashboard server CPU: {cpu_per_action(solo):.2f} s per action alone, "
            f"{cpu_per_action(recorder):.2f} s per action with {users} users "
            f"({recorder.server_cpu_s:.0f} s of CPU in the run)"
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
    parser.add_argument(
        "--think",
        type=float,
        default=5.0,
        help="mean seconds a user pauses between actions (uniform 0.5x-1.5x; 5: a person reads the "
        "page before the next click; 1: a stress run at about twice the rate of actions)",
    )
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
    parser.add_argument(
        "--client",
        choices=CLIENTS,
        default="protocol",
        help="protocol: Streamlit's websocket protocol (measures the server); browser: headless Chromium",
    )
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
            args.client,
        )
    except ValueError as exc:
        parser.error(str(exc))
    raise SystemExit(code)


if __name__ == "__main__":
    exit_on_sigterm()  # all.py stops it at its timeout with SIGTERM: clean up first
    main()
