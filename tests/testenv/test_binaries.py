"""Finding and building the test bed's binaries: lookup order and the errors a user sees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tidegate.model import errors
from tidegate.testenv import binaries


def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(binaries.BIN_DIR_ENV, raising=False)
    monkeypatch.setattr(binaries, "GO_FALLBACK_DIRS", ())


def test_configured_dir_wins_over_path_and_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _isolate(monkeypatch, tmp_path)
    configured = tmp_path / "bin"
    configured.mkdir()
    (configured / "etcd").write_text("#!/bin/sh\n")
    (configured / "etcd").chmod(0o755)
    monkeypatch.setenv(binaries.BIN_DIR_ENV, str(configured))
    assert binaries.find("etcd") == configured / "etcd"
    assert binaries.ensure(["etcd"]) == {"etcd": configured / "etcd"}


def test_cache_is_keyed_by_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _isolate(monkeypatch, tmp_path)
    component = binaries.COMPONENTS["etcd"]
    assert component.cache_dir.name == f"etcd-{binaries.ETCD_VERSION}"
    assert binaries.find("etcd") is None
    component.cache_dir.mkdir(parents=True)
    (component.cache_dir / "etcd").write_text("")
    assert binaries.find("etcd") == component.cache_dir / "etcd"


def test_no_go_and_no_binaries_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _isolate(monkeypatch, tmp_path)
    with pytest.raises(errors.TestEnvError) as info:
        binaries.ensure(["kube-apiserver"])
    message = str(info.value)
    assert "install Go" in message
    assert binaries.BIN_DIR_ENV in message


def test_unknown_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _isolate(monkeypatch, tmp_path)
    with pytest.raises(errors.TestEnvError, match="no-such-tool not found"):
        binaries.ensure(["no-such-tool"])


def test_build_failure_shows_log_tail_and_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A real `go install` of a module that does not exist: the error quotes go's own words."""
    go_dir = Path(binaries.go()).parent  # the machine's real Go, before isolating PATH
    _isolate(monkeypatch, tmp_path)
    monkeypatch.setenv("PATH", str(go_dir))
    monkeypatch.setenv("GOFLAGS", "")
    broken = binaries.Component(
        "broken", "v0.0.1", ("broken",), install="tidegate.invalid/does/not/exist"
    )
    with pytest.raises(errors.TestEnvError) as info:
        binaries.build(broken)
    message = str(info.value)
    assert "building broken v0.0.1 failed" in message
    assert "tidegate.invalid/does/not/exist" in message
    log = message.rsplit("full log: ", 1)[1].strip()
    assert Path(log).is_file()
    assert os.path.commonpath([log, str(tmp_path)]) == str(tmp_path)
    assert not broken.cache_dir.exists()


def _fake_go(directory: Path, version: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "go"
    script.write_text(f'#!/bin/sh\n[ "$1 $2" = "env GOVERSION" ] && echo {version}\n')
    script.chmod(0o755)


def test_required_go_is_the_newest_go_directive_of_the_shipped_modules() -> None:
    assert binaries.required_go() == "1.26.0"


def test_an_old_go_is_refused_before_anything_builds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _isolate(monkeypatch, tmp_path)
    _fake_go(tmp_path / "old-go", "go1.19.8")
    monkeypatch.setenv("PATH", str(tmp_path / "old-go"))
    with pytest.raises(errors.TestEnvError) as info:
        binaries.ensure(["kube-apiserver", "etcd"])
    message = str(info.value)
    assert "is Go 1.19.8" in message and "needs Go 1.26.0 or newer" in message
    assert not (binaries.cache_root() / "logs").exists()  # no build was started


def test_a_new_enough_go_is_accepted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _isolate(monkeypatch, tmp_path)
    _fake_go(tmp_path / "new-go", "go1.27.1")
    monkeypatch.setenv("PATH", str(tmp_path / "new-go"))
    assert binaries.go() == str(tmp_path / "new-go" / "go")
    assert [c.name for c in binaries.missing(["kube-scheduler", "etcd", "kube-apiserver"])] == [
        "kubernetes",
        "etcd",
    ]


def test_a_module_that_cannot_be_downloaded_leaves_no_half_component(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A whole-module component (as Gitea is built): the real `go mod download` of a module
    that does not exist fails with go's own words, and the cache holds nothing of it."""
    go_dir = Path(binaries.go()).parent
    _isolate(monkeypatch, tmp_path)
    monkeypatch.setenv("PATH", str(go_dir))
    monkeypatch.setenv("GOFLAGS", "")
    broken = binaries.Component(
        "whole", "v0.0.1", ("whole",), module="tidegate.invalid/whole", assets=("templates",)
    )
    with pytest.raises(errors.TestEnvError) as info:
        binaries.build(broken)
    message = str(info.value)
    assert "downloading tidegate.invalid/whole@v0.0.1 from the Go module proxy failed" in message
    assert "tidegate.invalid/whole" in message.split("failed: ", 1)[1]
    assert not broken.cache_dir.exists()
    assert not [p for p in binaries.cache_root().iterdir() if p.name.startswith(".build-")]
