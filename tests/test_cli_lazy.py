"""The command line imports a sub-command's module only when that sub-command is used (issue
16): running one command in a fresh interpreter loads no module of another sub-app, while
``--help``, "Did you mean …?" and the shared ``import``/``template`` groups still see every
command, as when typer built them all up front."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer.main
from typer.testing import CliRunner

from study.cli import RootGroup, app

#: Modules of the command line itself, loaded for any command.
CORE = {"study.cli", "study.cli.common", "study.cli.gc_pause", "study.cli.lazy"}

_RESOLVE_AND_LIST = """
import json, sys
import typer.main
from study.cli import app
group = typer.main.get_command(app)
names = group.list_commands(None)
for name in sys.argv[1:]:
    assert group.get_command(None, name) is not None, name
print(json.dumps({"names": names, "loaded": sorted(m for m in sys.modules if m.startswith("study.cli"))}))
"""


def _fresh(*commands: str) -> dict:
    """In a new interpreter: list the root's commands and resolve ``commands``."""
    done = subprocess.run(
        [sys.executable, "-c", _RESOLVE_AND_LIST, *commands], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_listing_the_commands_imports_none_of_them():
    seen = _fresh()
    assert seen["names"] == list(RootGroup.lazy_commands)
    assert set(seen["loaded"]) == CORE


@pytest.mark.parametrize(
    ("command", "module"),
    [
        ("randomise", "study.cli.randomise"),
        ("status", "study.cli.status"),
        ("allocation", "study.cli.allocation"),
        ("unblind", "study.cli.allocation"),
    ],
)
def test_one_command_imports_only_its_own_module(command, module):
    assert set(_fresh(command)["loaded"]) == CORE | {module}


def test_a_group_with_added_commands_imports_the_modules_they_live_in():
    assert set(_fresh("import")["loaded"]) == CORE | {"study.cli.imports", "study.cli.questionnaires"}


def test_every_registered_command_resolves_to_a_command_of_that_name():
    group = typer.main.get_command(app)
    for name in RootGroup.lazy_commands:
        command = group.get_command(None, name)
        assert command is not None and command.name == name


def test_added_commands_join_the_import_and_template_groups():
    group = typer.main.get_command(app)
    for name in ("import", "template"):
        sub = group.get_command(None, name)
        names = sub.list_commands(None)
        assert names[-1] == "questionnaires", (name, names)  # after the group's own, as registered
        assert {"fidelity", "attendance", "contacts", "profiles"} <= set(names)


def test_help_lists_every_command_with_its_summary():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in RootGroup.lazy_commands:
        assert f" {name} " in result.output, name
    assert "Randomise with the study's method" in result.output
    assert "Allocation balance, verification and the concealed sequence." in result.output


def test_a_misspelt_command_is_refused_with_a_suggestion():
    result = CliRunner().invoke(app, ["randomse"])
    assert result.exit_code == 2
    assert "Did you mean 'randomise'?" in result.output


def test_a_sub_commands_options_are_those_typer_makes():
    result = CliRunner().invoke(app, ["randomise", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--pending", "--on", "--db", "--study"):
        assert option in result.output
