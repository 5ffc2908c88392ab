"""``tidegate app add-source`` and the spec flags added with it (``-p/--parameter``,
``--revision-history-limit``, ``--env`` accepted with a notice), against the test bed's
management cluster and git server."""

from __future__ import annotations

import json
import secrets

import pytest
from tests.cli.appcli import BASIC, Cli

pytestmark = pytest.mark.e2e
ORIGINAL = {"repoURL": "https://git.example.com/r.git", "path": "apps/web"}


def _spec(cli: Cli, name: str) -> dict[str, object]:
    return dict(json.loads(cli("get", name, "-o", "json").stdout)["spec"])


def test_add_source_makes_a_multi_source_app(cli: Cli, repo_url: str) -> None:
    name = f"multi-{secrets.token_hex(3)}"
    assert cli("create", name, *BASIC).exit_code == 0
    added = cli("add-source", name, "--repo", "https://git.example.com/values.git",
                "--ref", "values", "--source-name", "vals", "--validate=false")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert f"application '{name}' updated: source 2 added" in added.stdout
    spec = _spec(cli, name)
    assert "source" not in spec
    assert spec["sources"] == [
        ORIGINAL,
        {"repoURL": "https://git.example.com/values.git", "ref": "values", "name": "vals"},
    ]
    chart = cli("add-source", name, "--repo", "https://git.example.com/charts.git",
                "--path", "web", "--helm-set", "image.tag=1.2", "-p", "replicas=2",
                "--release-name", "web", "--validate=false")  # fmt: skip
    assert chart.exit_code == 0, chart.output
    third = _spec(cli, name)["sources"][2]  # type: ignore[index]
    assert third["helm"] == {
        "releaseName": "web",
        "parameters": [{"name": "image.tag", "value": "1.2"}, {"name": "replicas", "value": "2"}],
    }

    before = cli.app(name)["metadata"]["resourceVersion"]
    no_repo = cli("add-source", name, "--path", "x", "--validate=false")
    assert no_repo.exit_code == 2 and "the new source needs --repo" in no_repo.stderr
    # The sources are checked (revision and path must exist) unless --validate=false.
    missing = cli("add-source", name, "--repo", repo_url, "--path", "nowhere")
    assert missing.exit_code == 1
    assert "nowhere" in missing.stderr
    assert cli.app(name)["metadata"]["resourceVersion"] == before

    removed = cli("remove-source", name, "--source-position", "2")
    assert removed.exit_code == 0, removed.output
    assert [s["repoURL"] for s in _spec(cli, name)["sources"]] == [  # type: ignore[attr-defined]
        ORIGINAL["repoURL"], "https://git.example.com/charts.git",
    ]  # fmt: skip


def test_parameter_history_limit_and_ksonnet_env(cli: Cli) -> None:
    name = f"params-{secrets.token_hex(3)}"
    created = cli("create", name, *BASIC, "-p", "image.tag=v1", "--revision-history-limit", "3",
                  "--env", "prod")  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "--env (argocd app create) is not supported by tidegate: ksonnet" in created.stderr
    spec = _spec(cli, name)
    assert spec["revisionHistoryLimit"] == 3
    assert spec["source"]["helm"] == {  # type: ignore[index]
        "parameters": [{"name": "image.tag", "value": "v1"}]
    }
    assert cli("set", name, "--revision-history-limit", "0").exit_code == 0
    assert _spec(cli, name)["revisionHistoryLimit"] == 0
    negative = cli("set", name, "--revision-history-limit", "-1")
    assert negative.exit_code == 2 and "must be 0 or more" in negative.stderr

    # Once the controller has found another source type, -p is refused as argocd refuses it.
    cli.patch(name, {"status": {"sourceType": "Kustomize"}})
    refused = cli("set", name, "-p", "image.tag=v2")
    assert refused.exit_code == 2
    assert "parameters can only be set on Helm applications (this one is Kustomize)" in (
        refused.stderr
    )
    assert spec["source"] == _spec(cli, name)["source"]


def test_add_source_checks_the_new_source_only(cli: Cli, repo_url: str) -> None:
    name = f"checked-{secrets.token_hex(3)}"
    assert cli("create", name, *BASIC).exit_code == 0  # its own source does not exist
    added = cli("add-source", name, "--repo", repo_url, "--path", "app", "--revision", "HEAD")
    assert added.exit_code == 0, added.output
    assert _spec(cli, name)["sources"] == [
        ORIGINAL, {"repoURL": repo_url, "path": "app", "targetRevision": "HEAD"},
    ]  # fmt: skip
