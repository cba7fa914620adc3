"""The dashboard served by a real Streamlit server for browser tests (headless Chromium).

:func:`require_browser` skips a browser test locally when Chromium or Playwright is missing
and fails it under ``CI=true``; :func:`serve_dashboard` starts ``streamlit run
dashboards/app.py`` on a free loopback port and stops it again; :func:`serve_demo` serves a
small demo study built for the occasion.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine

from study.db import make_engine
from study.db.schema import upgrade
from study.demo import build_demo

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "require_browser", "serve_dashboard", "serve_demo"]

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
]
ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 60


def require_browser() -> None:
    """Skip (locally) or fail (under ``CI=true``) when Chromium or Playwright is missing."""
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    problem = None
    if not Path(CHROMIUM).exists():
        problem = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install playwright)"
    if problem:
        if in_ci:
            pytest.fail(problem + ": CI must run the browser tests", pytrace=False)
        pytest.skip(problem)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_dashboard(url: str, log_path: Path) -> Iterator[str]:
    """Serve the dashboard on database ``url`` at ``http://127.0.0.1:PORT`` (yielded) until
    the block ends; the server's output goes to ``log_path``."""
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "dashboards" / "app.py"),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "viewer",
    ]
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            cmd, cwd=ROOT, env=dict(os.environ, PEERSTUDY_DB=url), stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + START_SECONDS
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"streamlit did not start: {log_path.read_text()}")
                time.sleep(0.5)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


@contextmanager
def serve_demo(folder: Path) -> Iterator[tuple[str, Engine]]:
    """A 20-participant SQLite demo study built in ``folder`` and served on loopback:
    ``(base URL, engine)``; the server is stopped and the engine disposed afterwards."""
    url = f"sqlite:///{folder / 'demo.db'}"
    engine = make_engine(url)
    upgrade(engine)
    build_demo(engine, participants=20, seed=5)
    try:
        with serve_dashboard(url, folder / "streamlit.log") as base:
            yield base, engine
    finally:
        engine.dispose()
