"""``--config-management-plugin`` and ``--plugin-env`` on ``app create`` / ``app set``."""

from __future__ import annotations

import pytest

from tidegate.cli import appspec


def test_plugin_flags_set_name_and_upsert_env() -> None:
    spec = {
        "source": {
            "repoURL": "https://git/r",
            "path": "app",
            "plugin": {"env": [{"name": "A", "value": "1"}], "parameters": [{"name": "p"}]},
        }
    }
    flags = appspec.SpecFlags(plugin_name="cue-v1.0", plugin_env=("A=2", "B=x=y"))
    assert flags.changes_source()
    got = appspec.apply_flags(spec, flags)
    assert got["source"]["plugin"] == {
        "name": "cue-v1.0",
        "env": [{"name": "A", "value": "2"}, {"name": "B", "value": "x=y"}],
        "parameters": [{"name": "p"}],
    }
    assert spec["source"]["plugin"]["env"] == [{"name": "A", "value": "1"}]  # input untouched


def test_plugin_env_without_a_name_makes_a_discovered_plugin_source() -> None:
    got = appspec.apply_flags(
        {"source": {"repoURL": "https://git/r", "path": "app"}},
        appspec.SpecFlags(plugin_env=("FOO=bar",)),
    )
    assert got["source"]["plugin"] == {"env": [{"name": "FOO", "value": "bar"}]}


def test_bad_plugin_env_is_a_flag_error() -> None:
    with pytest.raises(appspec.FlagError, match="--plugin-env"):
        appspec.apply_flags({"source": {}}, appspec.SpecFlags(plugin_env=("novalue",)))
