"""Load and validate ``study.yaml``; errors name the file, the key and the problem."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from study.config.schema import StudyConfig
from study.errors import BadInput

__all__ = [
    "ConfigError",
    "describe_validation_error",
    "example_config_path",
    "load_config",
    "parse_config",
    "parse_yaml_model",
]

# libyaml's parser when PyYAML was built with it (the wheels are): the same safe loader (same
# constructors and resolver), some ten times faster on a study configuration, which every
# command parses from the database (tens of milliseconds of `peerstudy randomise`; issue 16).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    return parse_yaml_model(text, StudyConfig, source, ConfigError, "a mapping of sections")


def parse_yaml_model(text: str, model, source: str, error_cls=ConfigError, top_level: str = "a mapping"):
    """Parse YAML ``text`` and validate it as the pydantic ``model``.

    Every YAML file peerstudy reads (study configuration, fidelity manual) goes through here,
    so all of them report errors the same way: ``error_cls(source, [(key, reason), …])``.
    """
    try:
        data = yaml.load(text, Loader=_SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(yaml)"
        raise error_cls(source, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    if not isinstance(data, dict):
        raise error_cls(source, [("(top level)", f"must be {top_level}")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error_cls(source, [describe_validation_error(e) for e in exc.errors()]) from None


def describe_validation_error(error: Mapping[str, Any]) -> tuple[str, str]:
    """``(key, reason)`` of one pydantic error: ``sites[1].code``, "is required but missing".

    A validator may name a deeper key than its own by raising ``ValueError("@key@ reason")``.
    """
    key = ""
    for part in error["loc"]:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    reason = str(error["msg"]).removeprefix("Value error, ")
    if reason.startswith("@") and "@ " in reason:
        inner, reason = reason[1:].split("@ ", 1)
        key = f"{key}.{inner}" if key else inner
    if error["type"] == "missing":
        reason = "is required but missing"
    elif error["type"] == "extra_forbidden":
        reason = "is not a known key"
    return key or "(top level)", reason
