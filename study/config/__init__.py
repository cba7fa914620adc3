"""Study configuration: a YAML file validated on load (see :mod:`study.config.schema`)."""

from study.config.loader import ConfigError, example_config_path, load_config, parse_config
from study.config.schema import ROLE_CODES, TIMEPOINT_CODES, StudyConfig

__all__ = [
    "ConfigError",
    "ROLE_CODES",
    "StudyConfig",
    "TIMEPOINT_CODES",
    "example_config_path",
    "load_config",
    "parse_config",
]
