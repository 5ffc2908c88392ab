"""argocd parity of ``tidegate app`` against the test bed: ``diff --local`` and argocd's diff
exit codes, the --kustomize-*/--directory-*/--sync-retry-* flags of create/set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from tests.cli.appcli import BASIC, Cli, apply_rendered, unique

from tidegate.testenv import handle

pytestmark = pytest.mark.e2e


def test_diff_local_renders_the_directory_and_changes_nothing(
    cli: Cli,
    repo_url: str,
    namespace: str,
    source_dir: Path,
    testbed_handle: handle.TestBed,
    tmp_path: Path,
) -> None:
    name = unique("local")
    server = testbed_handle.clusters["dev"].server
    flags = ["--repo", repo_url, "--path", "app", "--dest-server", server]
    assert cli("create", name, *flags, "--dest-namespace", namespace).exit_code == 0
    apply_rendered(testbed_handle, source_dir, name, namespace)
    assert cli("diff", name).exit_code == 0

    same = tmp_path / "same"
    shutil.copytree(source_dir / "app", same)
    result = cli("diff", name, "--local", str(same))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""

    changed = tmp_path / "repo" / "app"
    shutil.copytree(source_dir / "app", changed)
    config = changed / "config.yaml"
    config.write_text(config.read_text().replace("blue", "green"))
    result = cli("diff", name, "--local", str(changed), "--no-color")
    assert result.exit_code == 1, result.output
    assert "-  color: blue" in result.stdout and "+  color: green" in result.stdout
    # --local-repo-root: the same tree, seen from the repository root
    rooted = cli("diff", name, "--local", str(changed), "--local-repo-root", str(changed.parent))
    assert rooted.exit_code == 1 and "+  color: green" in rooted.stdout
    quiet = cli("diff", name, "--local", str(changed), "--exit-code=false")
    assert quiet.exit_code == 0 and "+  color: green" in quiet.stdout
    assert cli("diff", name, "--local", str(changed), "--diff-exit-code", "5").exit_code == 5

    with testbed_handle.admin_client("dev") as dev:  # nothing was applied
        live = dev.get(f"/api/v1/namespaces/{namespace}/configmaps/web-config").json()
    assert live["data"] == {"color": "blue"}

    missing = cli("diff", name, "--local", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "not a directory" in missing.stderr
    outside = cli("diff", name, "--local", str(changed), "--local-repo-root", str(same))
    assert outside.exit_code == 2 and "not inside --local-repo-root" in outside.stderr
    assert cli("diff", unique("no-such-app")).exit_code == 2
    assert cli("diff", name, "--exit-code=maybe").exit_code == 2


def test_kustomize_directory_and_retry_flags(cli: Cli) -> None:
    name = unique("flags")
    created = cli(
        "create", name, *BASIC,
        "--kustomize-common-label", "team=web", "--kustomize-common-annotation", "owner=x",
        "--kustomize-replica", "web=3", "--kustomize-namespace", "prod",
        "--kustomize-force-common-label", "--sync-retry-limit", "4",
        "--sync-retry-backoff-duration", "10s",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    spec = cli.app(name)["spec"]
    assert spec["source"]["kustomize"] == {
        "commonLabels": {"team": "web"},
        "commonAnnotations": {"owner": "x"},
        "replicas": [{"name": "web", "count": 3}],
        "namespace": "prod",
        "forceCommonLabels": True,
    }
    assert spec["syncPolicy"]["retry"] == {
        "limit": 4, "backoff": {"duration": "10s", "maxDuration": "3m0s", "factor": 2}
    }  # fmt: skip

    changed = cli("set", name, "--kustomize-replica", "web=5", "--sync-retry-backoff-factor", "3")
    assert changed.exit_code == 0, changed.output
    spec = cli.app(name)["spec"]
    assert spec["source"]["kustomize"]["replicas"] == [{"name": "web", "count": 5}]
    assert spec["syncPolicy"]["retry"]["backoff"]["factor"] == 3

    assert cli("set", name, "--sync-retry-limit", "0").exit_code == 0
    assert "syncPolicy" not in cli.app(name)["spec"]
    before = cli.app(name)["metadata"]["resourceVersion"]
    refused = cli("set", name, "--sync-retry-backoff-duration", "1s")
    assert refused.exit_code == 2 and "--sync-retry-limit: required" in refused.stderr
    assert cli.app(name)["metadata"]["resourceVersion"] == before
    # a source has one type: directory options on a kustomize source are refused
    mixed = cli("set", name, "--directory-include", "*.yaml")
    assert mixed.exit_code == 2 and "multiple source types" in mixed.stderr

    plain = unique("dir")
    made = cli("create", plain, *BASIC, "--directory-include", "*.yaml",
               "--directory-exclude", "skip-*")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert cli.app(plain)["spec"]["source"]["directory"] == {
        "include": "*.yaml", "exclude": "skip-*"
    }  # fmt: skip


def test_patch_json_and_merge(cli: Cli) -> None:
    name = unique("patch")
    assert cli("create", name, *BASIC).exit_code == 0
    ops = '[{"op": "replace", "path": "/spec/source/path", "value": "apps/api"}]'
    done = cli("patch", name, "--patch", ops)
    assert done.exit_code == 0, done.output
    assert yaml.safe_load(done.stdout)["spec"]["source"]["path"] == "apps/api"
    assert cli.app(name)["spec"]["source"]["path"] == "apps/api"
    merged = cli("patch", name, "--type", "merge", "--patch",
                 '{"spec": {"destination": {"namespace": "api"}}}')  # fmt: skip
    assert merged.exit_code == 0, merged.output
    assert cli.app(name)["spec"]["destination"]["namespace"] == "api"

    before = cli.app(name)["metadata"]["resourceVersion"]
    for bad, why in [
        ('[{"op": "replace", "path": "/metadata/name", "value": "x"}]', "metadata.name"),
        ('[{"op": "remove", "path": "/spec/destination/server"}]', "destination"),
        ('[{"op": "remove", "path": "/spec/nothing"}]', "does not apply"),
        ('{"spec": {}}', "a list of operations"),
        ("not json", "not valid JSON"),
    ]:
        refused = cli("patch", name, "--patch", bad)
        assert refused.exit_code == 2, (bad, refused.output)
        assert why in refused.stderr, (bad, refused.stderr)
    assert cli.app(name)["metadata"]["resourceVersion"] == before


def test_resources(cli: Cli) -> None:
    name = unique("res")
    assert cli("create", name, *BASIC).exit_code == 0
    cli.patch(name, {"status": {"resources": [
        {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "web",
         "name": "web", "status": "Synced", "health": {"status": "Healthy"}},
        {"version": "v1", "kind": "ConfigMap", "namespace": "web", "name": "cfg",
         "status": "OutOfSync"},
    ]}})  # fmt: skip
    table = cli("resources", name)
    assert table.exit_code == 0, table.output
    lines = [ln.split() for ln in table.stdout.splitlines()]
    assert lines == [
        ["GROUP", "KIND", "NAMESPACE", "NAME", "ORPHANED"],
        ["apps", "Deployment", "web", "web", "No"],
        ["ConfigMap", "web", "cfg", "No"],
    ]
    wide = cli("resources", name, "-o", "wide").stdout.splitlines()
    assert wide[1].split()[-2:] == ["Synced", "Healthy"]
    as_json = json.loads(cli("resources", name, "-o", "json").stdout)
    assert [r["name"] for r in as_json] == ["web", "cfg"]


def test_sync_by_selector_and_project(cli: Cli) -> None:
    team = unique("team")
    picked = [unique("sel"), unique("sel")]
    other = unique("other")
    for name in picked:
        assert cli("create", name, *BASIC, "--label", f"team={team}").exit_code == 0
    assert cli("create", other, *BASIC, "--label", "team=else").exit_code == 0

    done = cli("sync", "-l", f"team={team}", "--async", "--dry-run", "--prune")
    assert done.exit_code == 0, done.output
    assert sorted(done.stdout.splitlines()) == sorted(
        f"application '{n}': sync requested" for n in picked
    )
    for name in picked:
        sync = cli.app(name)["operation"]["sync"]
        assert sync.get("dryRun") is True and sync.get("prune") is True
    assert "operation" not in cli.app(other)

    none = cli("sync", "-l", f"team={team}-nobody", "--async")
    assert none.exit_code == 1 and "no application matches" in none.stderr
    assert cli("sync", other, "-l", f"team={team}", "--async").exit_code == 2
    assert cli("sync", "--async").exit_code == 2
    by_project = cli("sync", "--project", "no-such-project", "--async")
    assert by_project.exit_code == 1
    assert "operation" not in cli.app(other)


def test_list_filters(cli: Cli) -> None:
    team = unique("lst")
    a, b = unique("la"), unique("lb")
    assert cli("create", a, *BASIC, "--label", f"team={team}").exit_code == 0
    other = ["--repo", "https://git.example.com/other.git", "--path", "apps/api",
             "--dest-name", "dev", "--dest-namespace", "api", "--validate=false"]  # fmt: skip
    assert cli("create", b, *other, "--label", f"team={team}").exit_code == 0

    def names(*flags: str) -> list[str]:
        result = cli("list", "-l", f"team={team}", "-o", "json", *flags)
        assert result.exit_code == 0, result.output
        return sorted(x["metadata"]["name"] for x in json.loads(result.stdout))

    assert names() == sorted([a, b])
    assert names("-r", "https://git.example.com/other.git") == [b]
    assert names("--path", "apps/web") == [a]
    assert names("-c", "dev") == [b]
    assert names("-c", BASIC[5]) == [a]
    assert names("--path", "nowhere") == []


def test_unset_and_remove_source(cli: Cli, tmp_path: Path) -> None:
    name = unique("unset")
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": name},
        "spec": {"project": "default",
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "w"},
                 "sources": [
                     {"repoURL": "https://git.example.com/r.git", "path": "k",
                      "kustomize": {"namePrefix": "p-", "images": ["nginx:1.25", "redis:7"],
                                    "replicas": [{"name": "web", "count": 2}]}},
                     {"repoURL": "https://git.example.com/c.git", "path": "chart", "ref": "vals",
                      "helm": {"parameters": [{"name": "a", "value": "1"},
                                              {"name": "b", "value": "2"}],
                               "valueFiles": ["v1.yaml", "v2.yaml"], "values": "x: 1"}},
                 ]},
    }  # fmt: skip
    file = tmp_path / "app.yaml"
    file.write_text(yaml.safe_dump(manifest))
    assert cli("create", "-f", str(file), "--validate=false").exit_code == 0

    done = cli("unset", name, "--source-position", "1", "--nameprefix",
               "--kustomize-image", "nginx", "--kustomize-replica", "web")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert cli.app(name)["spec"]["sources"][0]["kustomize"] == {"images": ["redis:7"]}
    done = cli("unset", name, "--source-position", "2", "--parameter", "a", "--values",
               "v1.yaml", "--values-literal", "--ref")  # fmt: skip
    assert done.exit_code == 0, done.output
    second = cli.app(name)["spec"]["sources"][1]
    assert second["helm"] == {"parameters": [{"name": "b", "value": "2"}],
                              "valueFiles": ["v2.yaml"]}  # fmt: skip
    assert "ref" not in second
    same = cli("unset", name, "--source-position", "1", "--nameprefix")
    assert same.exit_code == 0 and same.stdout.strip().endswith("unchanged")
    assert cli("unset", name, "--nameprefix").exit_code == 2  # which source?

    assert cli("remove-source", name, "--source-position", "3").exit_code == 2
    assert cli("remove-source", name, "--source-position", "2").exit_code == 0
    assert [s["path"] for s in cli.app(name)["spec"]["sources"]] == ["k"]
    last = cli("remove-source", name, "--source-position", "1")
    assert last.exit_code == 2 and "only source" in last.stderr


def test_get_patch_delete_resource(
    cli: Cli,
    repo_url: str,
    namespace: str,
    source_dir: Path,
    testbed_handle: handle.TestBed,
) -> None:
    from tests.cli.appcli import SECRET_VALUE

    name = unique("res")
    server = testbed_handle.clusters["dev"].server
    flags = ["--repo", repo_url, "--path", "app", "--dest-server", server]
    assert cli("create", name, *flags, "--dest-namespace", namespace).exit_code == 0
    apply_rendered(testbed_handle, source_dir, name, namespace)
    cli.patch(name, {"status": {"resources": [
        {"version": "v1", "kind": "ConfigMap", "namespace": namespace, "name": "web-config"},
        {"version": "v1", "kind": "Secret", "namespace": namespace, "name": "web-secret"},
    ]}})  # fmt: skip

    got = cli("get-resource", name, "--kind", "ConfigMap")
    assert got.exit_code == 0, got.output
    obj = yaml.safe_load(got.stdout)
    assert obj["data"] == {"color": "blue"} and "managedFields" not in obj["metadata"]
    secret = cli("get-resource", name, "--kind", "Secret", "-o", "json")
    assert secret.exit_code == 0 and SECRET_VALUE not in secret.stdout
    only = ["--filter-fields", "data.color,metadata.name", "--filter-fields", "kind"]
    fields = cli("get-resource", name, "--kind", "ConfigMap", "-o", "json", *only)
    assert fields.exit_code == 0, fields.output
    assert json.loads(fields.stdout) == {
        "data": {"color": "blue"},
        "metadata": {"name": "web-config"},
        "kind": "ConfigMap",
    }

    def color() -> str:
        with testbed_handle.admin_client("dev") as dev:
            path = f"/api/v1/namespaces/{namespace}/configmaps/web-config"
            return str(dev.get(path).json()["data"]["color"])

    merged = cli("patch-resource", name, "--kind", "ConfigMap", "--patch",
                 '{"data": {"color": "green"}}')  # fmt: skip
    assert merged.exit_code == 0, merged.output
    assert merged.stdout.strip() == "ConfigMap/web-config patched" and color() == "green"
    ops = '[{"op": "replace", "path": "/data/color", "value": "red"}]'
    assert cli("patch-resource", name, "--kind", "ConfigMap", "--patch", ops,
               "--patch-type", "json").exit_code == 0  # fmt: skip
    assert color() == "red"
    bad = cli("patch-resource", name, "--kind", "ConfigMap", "--patch", ops)  # a list as merge
    assert bad.exit_code == 2 and color() == "red"
    none = cli("patch-resource", name, "--kind", "Deployment", "--patch", "{}")
    assert none.exit_code == 1 and "no Deployment" in none.stderr

    gone = cli("delete-resource", name, "--kind", "ConfigMap", "--resource-name", "web-config")
    assert gone.exit_code == 0, gone.output
    with testbed_handle.admin_client("dev") as dev:
        path = f"/api/v1/namespaces/{namespace}/configmaps/web-config"
        assert dev.get(path).status_code == 404
