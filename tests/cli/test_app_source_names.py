"""argocd's ``--source-name`` (create names the source; set/unset/remove-source select by it),
``create --name/--ref``, ``set --ref`` and ``manifests --local`` against the test bed."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import pytest
import yaml
from tests.cli.appcli import BASIC, Cli

pytestmark = pytest.mark.e2e


def test_source_names(cli: Cli) -> None:
    name = f"named-{secrets.token_hex(3)}"
    created = cli("create", "--name", name, *BASIC, "--source-name", "web", "--ref", "main")
    assert created.exit_code == 0, created.output
    assert cli.app(name)["spec"]["source"] == {
        "repoURL": "https://git.example.com/r.git", "path": "apps/web", "name": "web",
        "ref": "main",
    }  # fmt: skip
    clash = cli("create", "other", "--name", name, *BASIC)
    assert clash.exit_code == 2 and "disagree" in clash.stderr

    assert cli("add-source", name, "--repo", "https://git.example.com/v.git", "--path", "v",
               "--source-name", "values", "--validate=false").exit_code == 0  # fmt: skip
    revised = cli("set", name, "--source-name", "values", "--revision", "v2", "--validate=false")
    assert revised.exit_code == 0, revised.output
    assert cli("set", name, "--source-name", "web", "--ref", "shared").exit_code == 0
    web, values = cli.app(name)["spec"]["sources"]
    assert (values["targetRevision"], web["ref"]) == ("v2", "shared")
    assert "targetRevision" not in web
    for args, error in [
        (["set", name, "--source-name", "nope", "--revision", "x"],
         "no source is named 'nope' (names: web, values)"),
        (["set", name, "--source-name", "web", "--source-position", "2", "--revision", "x"],
         "not both"),
    ]:  # fmt: skip
        result = cli(*args)
        assert result.exit_code == 2 and error in result.stderr, result.output
    assert cli("unset", name, "--source-name", "web", "--ref").exit_code == 0
    assert "ref" not in cli.app(name)["spec"]["sources"][0]
    removed = cli("remove-source", name, "--source-name", "values")
    assert removed.exit_code == 0, removed.output
    assert [s["name"] for s in cli.app(name)["spec"]["sources"]] == ["web"]


def test_manifests_local(
    cli: Cli,
    repo_url: str,
    source_dir: Path,
    tmp_path: Path,
) -> None:
    name = f"mlocal-{secrets.token_hex(3)}"
    flags = ["--repo", repo_url, "--path", "app", "--dest-name", "dev", "--dest-namespace", "web"]
    assert cli("create", name, *flags).exit_code == 0
    local = tmp_path / "app"
    shutil.copytree(source_dir / "app", local)
    (local / "config.yaml").write_text((local / "config.yaml").read_text().replace("blue", "green"))
    out = cli("manifests", name, "--local", str(local))
    assert out.exit_code == 0, out.output
    docs = {d["kind"]: d for d in yaml.safe_load_all(out.stdout)}
    assert docs["ConfigMap"]["data"] == {"color": "green"}  # the local tree, not Git's blue
    assert docs["ConfigMap"]["metadata"]["namespace"] == "web"
    assert "s3cr3t-value-never-shown" not in out.stdout  # Secret values masked
    live = cli("manifests", name, "--local", str(local), "--source", "live")
    assert live.exit_code == 2 and "--source git only" in live.stderr


def test_get_show_params_of_a_chosen_source(cli: Cli) -> None:
    name = f"params-{secrets.token_hex(3)}"
    assert cli("create", name, *BASIC, "--source-name", "web", "--kustomize-image",
               "nginx:1.27").exit_code == 0  # fmt: skip
    assert cli("add-source", name, "--repo", "https://git.example.com/c.git", "--path", "c",
               "--source-name", "chart", "--helm-set", "replicas=3", "--helm-set-file",
               "cfg=files/cfg.yaml", "--validate=false").exit_code == 0  # fmt: skip
    chart = cli("get", name, "--show-params", "--source-name", "chart")
    assert chart.exit_code == 0, chart.output
    tail = chart.stdout.rstrip().splitlines()[-3:]
    assert [line.split() for line in tail] == [
        ["NAME", "VALUE"], ["replicas", "3"], ["cfg", "@files/cfg.yaml"],
    ]  # fmt: skip
    web = cli("get", name, "--show-params", "--source-position", "1")
    assert [line.split() for line in web.stdout.rstrip().splitlines()[-2:]] == [
        ["IMAGE"], ["nginx:1.27"],
    ]  # fmt: skip
    bad = cli("get", name, "--show-params", "--source-name", "nope")
    assert bad.exit_code == 2 and "no source is named 'nope'" in bad.stderr


def test_project_guard_on_resource_verbs(cli: Cli) -> None:
    name = f"guard-{secrets.token_hex(3)}"
    assert cli("create", name, *BASIC).exit_code == 0
    cli.patch(name, {"status": {"resources": [
        {"group": "", "kind": "ConfigMap", "namespace": "web", "name": "web-config",
         "version": "v1", "status": "Synced"},
    ]}})  # fmt: skip
    listed = cli("resources", name, "--project", "default")
    assert listed.exit_code == 0 and "web-config" in listed.stdout
    qualified = cli("resources", name, "-N", cli.ns, "--project", "default")
    assert qualified.exit_code == 0 and "web-config" in qualified.stdout
    for verb in ("resources", "get-resource", "patch-resource", "delete-resource"):
        extra = [] if verb == "resources" else ["--kind", "ConfigMap"]
        extra += ["--patch", "{}"] if verb == "patch-resource" else []
        refused = cli(verb, name, "--project", "team-a", *extra)
        assert refused.exit_code == 1, (verb, refused.output)
        assert "belongs to project 'default', not 'team-a'" in refused.stderr
