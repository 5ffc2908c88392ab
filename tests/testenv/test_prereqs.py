"""The declared system packages and the up-front check of the test bed's system tools."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tidegate.model import errors
from tidegate.testenv import prereqs, testbed


def _empty_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(prereqs, "EXTRA_BIN_DIRS", ())
    return empty


def test_the_list_names_a_debian_package_for_every_tool_the_bed_and_suite_run() -> None:
    declared = prereqs.packages()
    assert declared["sshd"] == "openssh-server"
    assert declared["ssh-keygen"] == "openssh-client"
    assert declared["gpg"] == "gpg"
    assert declared["venv"] == "python3-venv"
    assert set(testbed.GIT_SERVER_TOOLS) <= set(declared)


def test_the_list_is_one_command_and_one_package_a_line_for_dev_to_read() -> None:
    """./dev reads the file with `IFS=: read cmd package`: no nesting, no quoting."""
    text = (Path(prereqs.__file__).parent / prereqs.PACKAGE_LIST).read_text()
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) == len(prereqs.packages())
    for line in lines:
        command, package = line.split(":")
        assert command.strip() and package.strip() and " " not in package.strip(), line


def test_missing_tools_are_all_named_with_their_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _empty_path(monkeypatch, tmp_path)
    with pytest.raises(errors.TestEnvError) as info:
        prereqs.check(["git", "sshd", "ssh-keygen"])
    message = str(info.value)
    assert "git, sshd, ssh-keygen" in message
    assert "apt-get install -y git openssh-client openssh-server" in message


def test_sshd_outside_path_is_found_in_sbin(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _empty_path(monkeypatch, tmp_path)
    sbin = tmp_path / "sbin"
    sbin.mkdir()
    (sbin / "sshd").write_text("#!/bin/sh\n")
    (sbin / "sshd").chmod(0o755)
    monkeypatch.setattr(prereqs, "EXTRA_BIN_DIRS", (str(sbin),))
    assert prereqs.require("sshd") == sbin / "sshd"


def test_an_override_variable_names_the_executable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _empty_path(monkeypatch, tmp_path)
    monkeypatch.setenv(prereqs.override_env("ssh-keygen"), "/opt/ssh/bin/ssh-keygen")
    assert os.environ["TIDEGATE_SSH_KEYGEN"] == "/opt/ssh/bin/ssh-keygen"
    assert prereqs.find("ssh-keygen") == Path("/opt/ssh/bin/ssh-keygen")


def test_the_bed_checks_its_tools_before_building_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _empty_path(monkeypatch, tmp_path)

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("binaries were looked up before the system tools were checked")

    monkeypatch.setattr(testbed.binaries, "ensure", no_build)
    with pytest.raises(errors.TestEnvError, match="openssh-server"):
        testbed.up(tmp_path / "bed", ["solo"])
