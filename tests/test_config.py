"""Study configuration: the reference study loads; bad configs name file, key and problem."""

from __future__ import annotations

import pytest
import yaml

from study.config import ConfigError, example_config_path, load_config


def _write(tmp_path, mutate) -> str:
    data = yaml.safe_load(example_config_path().read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_reference_study_codes_are_the_contract():
    config = load_config(example_config_path())
    assert config.site_codes == ["CPH", "HEL", "FRE"]
    assert [s.name for s in config.sites] == ["København", "Helsingør", "Fredericia"]
    assert config.arm_codes == ["INT", "CTL"]
    assert [a.ratio for a in config.arms] == [1, 1]
    assert [t.code for t in config.timepoints] == ["baseline", "post", "followup"]
    assert set(config.roles) == {
        "participant",
        "group_leader",
        "peer_buddy",
        "communication_volunteer",
        "coordinator",
    }
    assert config.groups.sessions == 10 and config.groups.leaders == 2
    assert config.roles["group_leader"].eligibility.max_age == 40
    assert config.roles["peer_buddy"].eligibility.max_age == 50
    assert config.blinded_codes() == {"INT": "A", "CTL": "B"}


@pytest.mark.parametrize(
    ("mutate", "key", "reason"),
    [
        (lambda d: d.pop("sites"), "sites", "required but missing"),
        (lambda d: d.__setitem__("sites", []), "sites", "at least 1"),
        (lambda d: d.__setitem__("control_arm", "XYZ"), "control_arm", "'XYZ' is not an arm"),
        (lambda d: d["arms"][1].__setitem__("ratio", 0), "arms[1].ratio", "at least 1"),
        (
            lambda d: d["phases"][1].__setitem__("start", d["phases"][0]["end"]),
            "phases",
            "overlap",
        ),
        (lambda d: d["sites"][2].__setitem__("code", "CPH"), "sites", "duplicate site code 'CPH'"),
        (lambda d: d["roles"].__setitem__("wizard", {}), "roles", "unknown role(s) wizard"),
        (lambda d: d["sites"][0].__setitem__("colour", "red"), "sites[0].colour", "not a known key"),
        # The outcomes section is validated on load (a typo used to fail only at ``analyse``).
        (
            lambda d: d["outcomes"].__setitem__("secondry", ["who5.total"]),
            "outcomes.secondry",
            "not a known key",
        ),
        (lambda d: d["outcomes"].__setitem__("primary_method", "anova"), "outcomes.primary_method", "ancova"),
        (lambda d: d["outcomes"].__setitem__("primary", "qpr15"), "outcomes.primary", "pattern"),
        (lambda d: d["outcomes"]["secondary"].append("who5"), "outcomes.secondary", "instrument.scale"),
        (
            lambda d: d["outcomes"].__setitem__("primary", "qrp15.total"),
            "outcomes",
            "qrp15.total: not an instrument",
        ),
        (lambda d: d["outcomes"].pop("primary"), "outcomes.primary", "required but missing"),
        (
            lambda d: d["roles"]["group_leader"]["eligibility"].__setitem__("min_age", 50),
            "roles.group_leader.eligibility",
            "min_age 50 is above max_age 40",
        ),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path, mutate, key, reason):
    path = _write(tmp_path, mutate)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    first_line = str(err.value).splitlines()[0]
    assert first_line.startswith(f"{path}: {key}")
    assert reason in first_line


def test_missing_file_and_broken_yaml(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("study: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.yaml: line \d+: not valid YAML"):
        load_config(broken)
