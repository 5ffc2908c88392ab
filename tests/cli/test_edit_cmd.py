"""``tidegate app edit`` and ``tidegate proj edit`` with a scripted $EDITOR (a real process
that edits the file it is given), against the test bed's management cluster."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from tests.cli.appcli import BASIC, Cli
from tests.cli.test_proj_cmd import Proj, proj  # noqa: F401

pytestmark = pytest.mark.e2e


def _editor(tmp_path: Path, body: str) -> str:
    script = tmp_path / f"editor-{secrets.token_hex(3)}.sh"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


def test_app_edit(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"edit-{secrets.token_hex(3)}"
    assert cli("create", name, *BASIC).exit_code == 0
    before = cli.app(name)["metadata"]["resourceVersion"]

    monkeypatch.setenv("EDITOR", "true")  # saves nothing
    assert "unchanged" in cli("edit", name).stdout
    monkeypatch.setenv("EDITOR", _editor(tmp_path, "exit 3"))
    failed = cli("edit", name)
    assert failed.exit_code == 1 and "exited 3" in failed.stderr
    monkeypatch.setenv("EDITOR", _editor(tmp_path, "echo 'destination: [' > \"$1\""))
    broken = cli("edit", name)
    assert broken.exit_code == 2 and "unchanged" in broken.stderr
    monkeypatch.setenv("EDITOR", _editor(tmp_path, "sed -i 's/^project: .*/project: 7/' \"$1\""))
    invalid = cli("edit", name)
    assert invalid.exit_code == 2 and "project" in invalid.stderr
    assert cli.app(name)["metadata"]["resourceVersion"] == before

    monkeypatch.setenv("EDITOR", _editor(tmp_path, "sed -i 's#apps/web#apps/api#' \"$1\""))
    edited = cli("edit", name)
    assert edited.exit_code == 0, edited.output
    assert f"application '{name}' updated" in edited.stdout
    assert cli.app(name)["spec"]["source"]["path"] == "apps/api"


def test_proj_edit(proj: Proj, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    name = f"edit-{secrets.token_hex(3)}"
    proj.ok("create", name, "--description", "old", "-s", "https://git.example/a.git")
    monkeypatch.setenv(
        "EDITOR", _editor(tmp_path, "sed -i 's/^description: old/description: new/' \"$1\"")
    )
    assert proj.ok("edit", name).strip() == f"project '{name}' updated"
    assert proj.spec(name)["description"] == "new"
    # A spec argocd would refuse (a source listed twice) is not written.
    monkeypatch.setenv(
        "EDITOR", _editor(tmp_path, "printf -- '- https://git.example/a.git\\n' >> \"$1\"")
    )
    proj.refused(
        name,
        "edit",
        name,
        code=1,
        error="source repository 'https://git.example/a.git' is listed twice",
    )
