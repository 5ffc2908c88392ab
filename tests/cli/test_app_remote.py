"""Choosing the API or the direct mode, and the SyncRequest built from an operation (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidegate.cli import apiconfig, app_remote
from tidegate.model import errors


@pytest.fixture
def logged_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config"
    monkeypatch.setenv(apiconfig.ENV_CONFIG, str(path))
    monkeypatch.setenv("KUBECONFIG", "/from/env")
    config = apiconfig.load(path)
    apiconfig.add_login(
        config, name="ctx", server="h:8080", token="tok", insecure=True, plaintext=True
    )
    apiconfig.save(path, config)
    return path


def test_current_context_means_the_api(logged_in: Path) -> None:
    found = app_remote.session(core=False, kubeconfig="/from/env", context=None)
    assert found == app_remote.Session(
        url="http://h:8080", token="tok", verify=False, context="ctx"
    )


@pytest.mark.parametrize(
    ("core", "kubeconfig", "context"),
    [(True, None, None), (False, "/explicit", None), (False, None, "mgmt")],
)
def test_core_or_a_named_cluster_means_direct(
    logged_in: Path, core: bool, kubeconfig: str | None, context: str | None
) -> None:
    assert app_remote.session(core=core, kubeconfig=kubeconfig, context=context) is None


def test_no_config_means_direct(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(apiconfig.ENV_CONFIG, str(tmp_path / "none"))
    assert app_remote.session(core=False, kubeconfig=None, context=None) is None


def test_logged_out_context_is_an_error(logged_in: Path) -> None:
    config = apiconfig.load(logged_in)
    apiconfig.logout(config, "ctx")
    apiconfig.save(logged_in, config)
    with pytest.raises(errors.ConfigError, match="has no session"):
        app_remote.session(core=False, kubeconfig=None, context=None)


def test_sync_request_from_operation() -> None:
    operation = {
        "sync": {
            "revision": "main",
            "prune": True,
            "syncStrategy": {"hook": {"force": True}},
            "resources": [{"group": "", "kind": "Service", "name": "web"}],
            "syncOptions": ["Validate=false"],
        },
        "retry": {"limit": 2},
        "info": [{"name": "k", "value": "v"}],
        "initiatedBy": {"username": "someone"},
    }
    assert app_remote.sync_request(operation) == {
        "prune": True,
        "dryRun": False,
        "revision": "main",
        "strategy": {"hook": {"force": True}},
        "resources": [{"group": "", "kind": "Service", "name": "web"}],
        "syncOptions": {"items": ["Validate=false"]},
        "retryStrategy": {"limit": 2},
        "infos": [{"name": "k", "value": "v"}],
    }
