"""Load and validate ``study.yaml``; errors name the file, the key and the problem."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from study.config.schema import StudyConfig
from study.errors import BadInput

__all__ = ["ConfigError", "example_config_path", "load_config", "parse_config"]


class ConfigError(BadInput):
    """The study configuration is invalid. ``problems`` holds one ``(key, reason)`` per error."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        first_key, first_reason = problems[0]
        message = f"{source}: {first_key}: {first_reason}"
        if len(problems) > 1:
            message += "".join(f"\n{source}: {k}: {r}" for k, r in problems[1:])
        super().__init__(message)


def example_config_path() -> Path:
    """Path of the shipped reference-study configuration (3 sites, 1:1 INT vs CTL)."""
    return Path(str(resources.files("study.examples").joinpath("reference_study.yaml")))


def load_config(path: str | Path) -> StudyConfig:
    """Read and validate a study configuration file.

    Raises
    ------
    ConfigError
        When the file is missing, is not YAML, or breaks a rule; the message names the file,
        the key (e.g. ``sites[1].code``) and the problem.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [("(file)", exc.strerror or str(exc))]) from exc
    return parse_config(text, source=str(path))


def parse_config(text: str, source: str = "study.yaml") -> StudyConfig:
    """Validate configuration YAML held in a string (as stored in the database)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(yaml)"
        raise ConfigError(source, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")])
    if not isinstance(data, dict):
        raise ConfigError(source, [("(top level)", "must be a mapping of sections")])
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, [_describe(e) for e in exc.errors()]) from None


def _describe(error: dict) -> tuple[str, str]:
    key = ""
    for part in error["loc"]:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    reason = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        reason = "is required but missing"
    elif error["type"] == "extra_forbidden":
        reason = "is not a known key"
    return key or "(top level)", reason
