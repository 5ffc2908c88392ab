"""Config management plugin apps through the real controller (plugins registered with
``--plugin-dir``): a named plugin deploys what it generates, with Argo CD's environment and
nothing of the controller's; an untyped app is taken by a plugin's discovery rules; a plugin
that hangs or floods its output gives a condition naming the plugin and the cause, and nothing
is applied or pruned."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tidegate.model import constants
from tidegate.testenv import scenario

pytestmark = pytest.mark.e2e

RENDER_TIMEOUT = 8
REFRESH = constants.ANNOTATION_REFRESH

GEN = r"""
set -e
for f in *.txt; do
  name="${f%.txt}"
  printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n' "$name"
  printf '  content: "%s"\n' "$(cat "$f")"
  printf '  greeting: "%s"\n' "$ARGOCD_ENV_GREETING"
  printf '  replicas: "%s"\n' "$PARAM_REPLICAS"
  printf '  first-tag: "%s"\n' "$PARAM_TAGS_0"
  printf '  app: "%s/%s@%s"\n' \
    "$ARGOCD_APP_NAME" "$ARGOCD_APP_PROJECT_NAME" "$ARGOCD_APP_REVISION_SHORT"
  printf '  env-names: "%s"\n' "$(env | cut -d= -f1 | sort | tr '\n' ' ')"
  printf '  env-dump: %s\n' "$(env | base64 | tr -d '\n')"
done
"""


def _plugin(name: str, generate: list[str], discover: dict[str, Any] | None = None) -> str:
    spec: dict[str, Any] = {"generate": {"command": generate}}
    if discover:
        spec["discover"] = discover
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ConfigManagementPlugin",
        "metadata": {"name": name},
        "spec": spec,
    }
    return json.dumps(doc)


def CONTROLLER_ARGS(workdir: Path) -> list[str]:
    plugins = workdir / "plugins"
    plugins.mkdir()
    (plugins / "gen.yaml").write_text(_plugin("gen", ["sh", "-c", GEN]))
    cue = ["sh", "-c", "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: from-cue}\\n'"]
    (plugins / "cue.yaml").write_text(_plugin("cue", cue, {"fileName": "*.cue"}))
    (plugins / "hang.yaml").write_text(_plugin("hang", ["sh", "-c", "sleep 600"]))
    flood = ["sh", "-c", "yes | head -c 2000000000"]
    (plugins / "flood.yaml").write_text(_plugin("flood", flood))
    (plugins / "broken.yaml").write_text("kind: ConfigManagementPlugin\nmetadata: {name: x}\n")
    # Reads a file outside the repository: its output changes with no new commit.
    outside = (
        "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: outside}\\n"
        f'data: {{value: "%s"}}\\n\' "$(cat {workdir / "external.txt"})"'
    )
    (plugins / "external.yaml").write_text(_plugin("external", ["sh", "-c", outside]))
    return [f"--plugin-dir={plugins}", f"--render-timeout={RENDER_TIMEOUT}"]


def _cm(gitops: scenario.GitOps, namespace: str, name: str) -> dict[str, Any] | None:
    out = scenario.kubectl(
        gitops.bed, "dev", "-n", namespace, "get", "cm", name, "-o", "json", check=False
    )
    return json.loads(out) if out.strip().startswith("{") else None


def _condition(app: dict[str, Any]) -> str:
    conditions = (app.get("status") or {}).get("conditions") or []
    return " | ".join(
        str(c.get("message")) for c in conditions if c.get("type") == "ComparisonError"
    )


def test_plugin_apps_deploy_and_bad_plugins_change_nothing(gitops: scenario.GitOps) -> None:
    assert gitops.bed.git is not None
    gitops.controller.wait_log("broken.yaml skipped")  # a bad plugin file is logged, skipped
    server = gitops.bed.clusters["dev"].server
    repo, work = gitops.repo({"app/web.txt": "hello", "cue/main.cue": "", "cue/x.yaml": "{}"})
    ns = f"cmp-{gitops.namespace}"
    app = scenario.application(
        "cmp", repo_url=repo.http_url, path="app", server=server, namespace=ns
    )
    app["spec"]["source"]["plugin"] = {
        "name": "gen",
        "env": [{"name": "GREETING", "value": "hi-$ARGOCD_APP_NAMESPACE"}],
        "parameters": [
            {"name": "replicas", "string": "3"},
            {"name": "tags", "array": ["blue", "green"]},
        ],
    }
    gitops.create_app(app)
    # An untyped app whose path holds a .cue file: the "cue" plugin's discovery takes it.
    gitops.create_app(
        scenario.application("cue", repo_url=repo.http_url, path="cue", server=server, namespace=ns)
    )
    head = work.head()
    done = gitops.wait_app("cmp", lambda a: scenario.synced_healthy(a, head), timeout=90)
    assert done["status"]["sourceType"] == "Plugin"
    cm = _cm(gitops, ns, "web")
    assert cm is not None
    data = cm["data"]
    assert data["content"] == "hello"
    assert data["greeting"] == f"hi-{ns}"
    assert (data["replicas"], data["first-tag"]) == ("3", "blue")
    assert data["app"] == f"cmp/default@{head[:7]}"
    # No credentials, nothing of the controller's environment.
    dump = base64.b64decode(data["env-dump"]).decode()
    assert gitops.bed.git.password not in dump
    names = set(data["env-names"].split())
    assert not {n for n in names if "KUBE" in n and not n.startswith("KUBE_")}
    assert "TIDEGATE_TESTENV_DIR" not in names and "PYTHONUNBUFFERED" not in names
    assert names <= {"PATH", "HOME", "TMPDIR", "PWD", "SHLVL", "_", "OLDPWD"} | {
        n for n in names if n.startswith(("ARGOCD_APP_", "ARGOCD_ENV_", "KUBE_", "PARAM_"))
    }
    gitops.wait_app("cue", lambda a: scenario.synced_healthy(a, head), timeout=90)
    assert _cm(gitops, ns, "from-cue") is not None
    assert _cm(gitops, ns, "x") is None  # not rendered as a directory

    # A plugin that hangs: killed at the render timeout; the app says so; nothing changes.
    gitops.patch_app("cmp", {"spec": {"source": {"plugin": {"name": "hang"}}}})
    hung = gitops.wait_app(
        "cmp",
        lambda a: "did not finish within the render timeout" in _condition(a),
        timeout=90,
        what="the hang condition",
    )
    assert "plugin 'hang': generate command (sh -c sleep 600)" in _condition(hung)
    assert _cm(gitops, ns, "web") is not None  # not pruned

    # A plugin that prints gigabytes: killed at the output limit; nothing changes.
    gitops.patch_app("cmp", {"spec": {"source": {"plugin": {"name": "flood"}}}})
    flooded = gitops.wait_app(
        "cmp",
        lambda a: "plugin 'flood'" in _condition(a) and "exceeds the limit" in _condition(a),
        timeout=90,
        what="the flood condition",
    )
    assert "generate command (sh -c yes | head -c 2000000000)" in _condition(flooded)
    assert _cm(gitops, ns, "web") is not None  # not pruned
    # A plugin that is not registered: named in the condition.
    gitops.patch_app("cmp", {"spec": {"source": {"plugin": {"name": "nope"}}}})
    gitops.wait_app(
        "cmp",
        lambda a: "no config management plugin named 'nope'" in _condition(a),
        timeout=60,
        what="the unknown plugin condition",
    )
    assert _cm(gitops, ns, "web") is not None


def test_a_hard_refresh_renders_again(gitops: scenario.GitOps) -> None:
    """A normal refresh of an unchanged commit reuses its rendered manifests; a hard one
    renders again (Argo CD's hard refresh drops the manifest cache), so a plugin's output that
    changed without a commit is seen."""
    assert gitops.bed.git is not None
    external = gitops.workdir / "external.txt"
    external.write_text("one")
    server = gitops.bed.clusters["dev"].server
    repo, work = gitops.repo({"ext/README.md": "rendered by the external plugin"})
    ns = f"ext-{gitops.namespace}"
    app = scenario.application(
        "ext", repo_url=repo.http_url, path="ext", server=server, namespace=ns
    )
    app["spec"]["source"]["plugin"] = {"name": "external"}
    app["spec"]["syncPolicy"] = {"automated": {}, "syncOptions": ["CreateNamespace=true"]}
    gitops.create_app(app)
    head = work.head()
    gitops.wait_app("ext", lambda a: scenario.synced_healthy(a, head), timeout=90)

    def value() -> str:
        cm = _cm(gitops, ns, "outside")
        return str(((cm or {}).get("data") or {}).get("value"))

    assert value() == "one"
    external.write_text("two")

    def refreshed(kind: str) -> dict[str, Any]:
        before = gitops.get_app("ext")["status"]["reconciledAt"]
        gitops.patch_app("ext", {"metadata": {"annotations": {REFRESH: kind}}})
        return gitops.wait_app(
            "ext",
            lambda a: (
                REFRESH not in (a["metadata"].get("annotations") or {})
                and a["status"]["reconciledAt"] != before
            ),
            timeout=60,
            what=f"the {kind} refresh",
        )

    after_normal = refreshed("normal")
    assert after_normal["status"]["sync"]["status"] == "Synced"  # the same commit: reused
    assert value() == "one"
    gitops.patch_app("ext", {"metadata": {"annotations": {REFRESH: "hard"}}})
    # the new output is seen: OutOfSync at the same commit (no selfHeal: not synced again)
    after_hard = gitops.wait_app(
        "ext", lambda a: a["status"]["sync"]["status"] == "OutOfSync", timeout=60
    )
    assert after_hard["status"]["sync"]["revision"] == head
    [resource] = [r for r in after_hard["status"]["resources"] if r["kind"] == "ConfigMap"]
    assert (resource["name"], resource["status"]) == ("outside", "OutOfSync")
    assert value() == "one"
