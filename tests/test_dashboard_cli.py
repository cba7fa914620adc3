"""``peerstudy dashboard``: starts Streamlit headless on the database, prints URL and login;
and the pure parts of the dashboard (catalogues, phase banner, page registry)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from dashboards.i18n import LANGUAGES, catalogue, translate
from dashboards.page_registry import PAGES, pages_for
from dashboards.phase_rules import phase_banner
from study.cli import app
from study.cli.dashboard import streamlit_command

runner = CliRunner()


def test_dashboard_starts_streamlit_on_the_database(demo_engine, monkeypatch):
    calls = []

    def fake_call(cmd, env):
        calls.append((cmd, env))
        return 0

    monkeypatch.setattr(subprocess, "call", fake_call)
    url = demo_engine.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["dashboard", "--db", url, "--port", "8642"])
    assert result.exit_code == 0, result.output
    assert "http://localhost:8642" in result.output
    assert "cph.coordinator / peerstudy-demo" in result.output
    ((cmd, env),) = calls
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"] and cmd[4].endswith("dashboards/app.py")
    assert cmd[cmd.index("--server.port") + 1] == "8642" and cmd[cmd.index("--server.headless") + 1] == "true"
    assert env["PEERSTUDY_DB"] == url


def test_dashboard_refuses_a_database_without_schema(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "call", lambda *a, **k: pytest.fail("must not start"))
    result = runner.invoke(app, ["dashboard", "--db", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert result.exit_code == 2 and "peerstudy init" in result.output


def test_streamlit_command_is_headless_without_telemetry(tmp_path):
    cmd = streamlit_command(tmp_path / "app.py", 9000, "0.0.0.0")
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"
    assert cmd[cmd.index("--server.address") + 1] == "0.0.0.0"
    assert cmd[cmd.index("--client.toolbarMode") + 1] == "viewer"


def test_the_served_dashboard_neither_collects_garbage_nor_watches_files_after_each_run(tmp_path):
    # Both cost every user's page time under load (docs/dashboard.md, load test); the options
    # must exist in the installed Streamlit, or `streamlit run` refuses to start.
    from streamlit import config

    cmd = streamlit_command(tmp_path / "app.py", 9000)
    options = {cmd[i][2:]: cmd[i + 1] for i in range(len(cmd) - 1) if cmd[i].startswith("--")}
    assert options["runner.postScriptGC"] == "false"
    assert options["server.fileWatcherType"] == "none"
    assert {"runner.postScriptGC", "server.fileWatcherType"} <= set(config._config_options_template)


def test_catalogues_have_the_same_keys_and_placeholders():
    import string

    en, da = catalogue("en"), catalogue("da")
    assert set(en) == set(da)
    fields = lambda s: sorted(f for _, f, _, _ in string.Formatter().parse(s) if f)  # noqa: E731
    assert {k: fields(v) for k, v in en.items()} == {k: fields(v) for k, v in da.items()}
    assert translate("rct.title", "da") == "RCT-overblik"
    assert translate("no.such.key", "da") == "⟦no.such.key⟧"
    with pytest.raises(ValueError):
        catalogue("fr")


def test_every_key_the_app_uses_exists():
    # Message keys for phases, roles and pages are built from data: check them all.
    en = catalogue("en")
    for phase in (None, "pilot", "rct", "analysis"):
        for unblinded in (False, True):
            b = phase_banner(phase, unblinded)
            assert f"phase.name.{phase or 'setup'}" in en
            assert all(f"phase.rule.{k}" in en for k in b.allowed + b.refused)
    for spec in PAGES:
        assert spec.title in en and spec.section in en
    for role in ("coordinator", "researcher", "statistician", "admin"):
        assert f"role.{role}" in en
    assert LANGUAGES == ("en", "da")


def test_phase_banner_states_the_rules_of_each_phase():
    assert "randomisation" in phase_banner("rct", False).allowed
    assert "manual_changes" in phase_banner("rct", False).refused
    assert "manual_changes" in phase_banner("pilot", False).allowed
    assert "randomisation" in phase_banner("pilot", False).refused
    assert "unblinding" in phase_banner("analysis", False).allowed
    assert "unblinded" in phase_banner("analysis", True).allowed
    assert "unblinding" in phase_banner("rct", False).refused
    with pytest.raises(ValueError):
        phase_banner("followup", False)


def test_pages_per_role():
    assert [p.url for p in pages_for("coordinator")] == [
        "rct",
        "pilot",
        "people",
        "enrol",
        "attendance",
        "randomise",
        "questionnaire",
        "fidelity",
    ]
    assert [p.url for p in pages_for("statistician")] == ["rct", "pilot", "people", "analysis"]
    assert "users" in [p.url for p in pages_for("admin")]
    assert not {"enrol", "attendance", "users"} & {p.url for p in pages_for("researcher")}
    with pytest.raises(ValueError):
        pages_for("participant")
