"""ConfigManagementPlugin files: parsing, naming, refusals, and the reloading registry."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from tidegate import render
from tidegate.model import errors
from tidegate.render import plugin, plugin_config

FULL = """
apiVersion: argoproj.io/v1alpha1
kind: ConfigManagementPlugin
metadata:
  name: my-plugin
spec:
  version: v1.0
  init:
    command: [sh]
    args: [-c, 'echo "Initializing..."']
  generate:
    command: [sh, -c]
    args: ["echo hi"]
  discover:
    fileName: "./subdir/s*.yaml"
  parameters:
    static:
      - name: string-param
        string: default-string-value
    dynamic:
      command: [echo, '[{"name": "example-param", "string": "x"}]']
  preserveFileMode: true
  lockRepo: true
"""


def test_a_full_plugin_file() -> None:
    found = plugin_config.parse_plugin(FULL, file="p.yaml")
    assert found.name == "my-plugin-v1.0"  # <metadata.name>-<spec.version>, as Argo CD
    assert found.init == ("sh", "-c", 'echo "Initializing..."')
    assert found.generate == ("sh", "-c", "echo hi")
    assert found.discover_file_name == "./subdir/s*.yaml"
    assert found.discovers
    assert found.static_parameters == [{"name": "string-param", "string": "default-string-value"}]
    assert found.dynamic_parameters[0] == "echo"
    assert found.preserve_file_mode and found.lock_repo
    assert found.ignored == ("spec.lockRepo: every render has its own copy of the tree",)


def test_without_version_or_discovery() -> None:
    text = "kind: ConfigManagementPlugin\nmetadata: {name: p}\nspec: {generate: {command: [cat]}}"
    found = plugin_config.parse_plugin(text, file="p.yaml")
    assert found.name == "p"
    assert not found.discovers


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("kind: ConfigMap\nmetadata: {name: p}", "kind should be ConfigManagementPlugin"),
        ("kind: ConfigManagementPlugin\nspec: {generate: {command: [a]}}", "metadata.name"),
        ("kind: ConfigManagementPlugin\nmetadata: {name: p}\nspec: {}", "spec.generate.command"),
        (
            "kind: ConfigManagementPlugin\nmetadata: {name: p}\nspec: {generate: {command: a}}",
            "spec.generate.command: must be a list of strings",
        ),
        ("kind: [unclosed", "invalid YAML"),
        ("- a\n---\n- b", "expected one ConfigManagementPlugin"),
    ],
)
def test_bad_files_name_the_file_and_cause(text: str, cause: str) -> None:
    with pytest.raises(errors.PermanentError, match=cause) as caught:
        plugin_config.parse_plugin(text, file="plugins/bad.yaml")
    assert "plugins/bad.yaml" in str(caught.value)


def _write(directory: Path, name: str, plugin_name: str, generate: str = "cat") -> Path:
    path = directory / name
    path.write_text(
        f"kind: ConfigManagementPlugin\nmetadata: {{name: {plugin_name}}}\n"
        f"spec: {{generate: {{command: [{generate}]}}, discover: {{fileName: '*.cue'}}}}\n"
    )
    return path


def test_registry_loads_skips_bad_files_and_reloads_on_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = render.PluginRegistry(tmp_path)
    assert registry.current() == ()
    _write(tmp_path, "b.yaml", "beta")
    _write(tmp_path, "a.yml", "alpha")
    (tmp_path / "broken.yaml").write_text("kind: ConfigManagementPlugin\nmetadata: {name: x}\n")
    _write(tmp_path, "c.yaml", "alpha")  # a second "alpha": refused
    (tmp_path / "notes.txt").write_text("not a plugin")
    with caplog.at_level(logging.ERROR, logger="tidegate.render.plugins"):
        loaded = registry.current()
    assert [p.name for p in loaded] == ["alpha", "beta"]
    assert "broken.yaml skipped" in caplog.text and "spec.generate.command" in caplog.text
    assert "c.yaml skipped: plugin 'alpha' is already declared by" in caplog.text
    assert registry.current() is loaded  # unchanged directory: no re-read
    changed = _write(tmp_path, "b.yaml", "beta", generate="echo")
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert [p.generate for p in registry.current() if p.name == "beta"] == [("echo",)]
    (tmp_path / "a.yml").unlink()
    assert [p.name for p in registry.current()] == ["alpha", "beta"]  # c.yaml's alpha now
    assert render.PluginRegistry(tmp_path / "missing").current() == ()


@pytest.mark.parametrize(
    ("pattern", "doublestar", "expected"),
    [
        ("*.cue", False, True),
        ("./main.cue", False, True),
        ("sub/*.cue", False, True),
        ("*/*.cue", False, True),
        ("deep.cue", False, False),  # fileName does not cross directories
        ("**/deep.cue", True, True),
        ("**/*.cue", True, True),
        ("sub/**/deep.cue", True, True),
        ("*.jsonnet", False, False),
        ("../other/*.cue", False, False),  # above the source path: no match
        (".hidden", False, True),
        ("sub", False, True),  # a directory matches too, as filepath.Glob
    ],
)
def test_discovery_globs(tmp_path: Path, pattern: str, doublestar: bool, expected: bool) -> None:
    (tmp_path / "app" / "sub" / "x" / "y").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "o.cue").write_text("")
    (tmp_path / "app" / "main.cue").write_text("")
    (tmp_path / "app" / ".hidden").write_text("")
    (tmp_path / "app" / "sub" / "s.cue").write_text("")
    (tmp_path / "app" / "sub" / "x" / "y" / "deep.cue").write_text("")
    assert plugin.glob_matches(tmp_path / "app", pattern, doublestar=doublestar) is expected
