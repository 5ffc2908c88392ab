"""The ApplicationSet controller against the real management cluster of the test bed.

The Application controller is not running: these tests assert on the generated Application
objects, and simulate the Application controller's status writes where RollingSync needs them.
"""

from __future__ import annotations

import copy
import functools
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.model import constants
from tidegate.testenv import handle
from tidegate.testenv.wait import eventually

from . import bed

pytestmark = pytest.mark.e2e

SEED = Path(__file__).parents[2] / "model" / "testdata" / "valid" / "applicationset-seed.yaml"


def seed_set(repo_url: str) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load(SEED.read_text())
    manifest["spec"]["template"]["spec"]["source"]["repoURL"] = repo_url
    return manifest


def apps_repo(git_remote: handle.GitRemote, tmp_path: Path, dirs: list[str]) -> Any:
    src = tmp_path / "src"
    for name in dirs:
        (src / "apps" / name).mkdir(parents=True)
        (src / "apps" / name / "cm.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
        )
    return git_remote.create_repo(from_dir=src, prefix="appset")


async def test_seed_set_and_cluster_label_changes(
    env: bed.Env, git_remote: handle.GitRemote, tmp_path: Path
) -> None:
    repo = git_remote.create_repo(prefix="seed")
    created = await env.apply_set(seed_set(repo.http_url))
    assert await eventually(lambda: _names_equal(env, {"prod-myapp"}))

    app = (await env.apps())["prod-myapp"]
    owner = app["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "ApplicationSet" and owner["name"] == "myapp"
    assert owner["uid"] == created["metadata"]["uid"] and owner["controller"] is True
    assert app["metadata"]["finalizers"] == [constants.FINALIZER_RESOURCES]
    assert app["spec"]["destination"] == {
        "server": env.bed.clusters["prod"].server,
        "namespace": "production",
    }
    assert app["spec"]["source"]["repoURL"] == repo.http_url
    up_to_date = await eventually(lambda: env.condition("myapp", "ResourcesUpToDate"))
    assert up_to_date["status"] == "True" and up_to_date["lastTransitionTime"]
    error = await env.condition("myapp", "ErrorOccurred")
    assert error is not None and error["status"] == "False"
    status = (await env.get_set("myapp"))["status"]
    assert [r["name"] for r in status["resources"]] == ["prod-myapp"]

    # Labelling staging 'production' adds its app promptly (watch on cluster Secrets).
    started = time.monotonic()
    await env.label_cluster("staging", {"environment": "production"})
    await eventually(lambda: _names_equal(env, {"prod-myapp", "staging-myapp"}), within=10)
    latency = time.monotonic() - started
    print(f"\nlabel -> staging-myapp created in {latency:.2f} s")
    assert latency < 5.0

    # Removing the label removes the app (default policy 'sync'); the resources finalizer stays,
    # so the Application controller would prune its resources first.
    await env.label_cluster("staging", {"environment": "staging"})
    await eventually(lambda: _names_equal(env, {"prod-myapp"}), within=10)
    staging = (await env.apps()).get("staging-myapp")
    if staging is not None:
        assert staging["metadata"]["deletionTimestamp"]
        assert constants.FINALIZER_RESOURCES in staging["metadata"]["finalizers"]


async def test_create_update_policy_keeps_apps_when_cluster_unlabelled(env: bed.Env) -> None:
    manifest = seed_set("https://example.invalid/repo.git")
    manifest["spec"]["syncPolicy"] = {"applicationsSync": "create-update"}
    await env.label_cluster("staging", {"environment": "production"})
    await env.apply_set(manifest)
    await eventually(lambda: _names_equal(env, {"prod-myapp", "staging-myapp"}))
    await env.label_cluster("staging", {"environment": "staging"})
    # Once the controller has seen the label change (the set no longer generates the staging
    # app), create-update keeps that app. (Counting reconciles raced: the watch event could
    # be handled while the label write was still being answered.)
    await eventually(lambda: _true(env.controller.generated("myapp") == {"prod-myapp"}))
    assert await env.live_app_names() == {"prod-myapp", "staging-myapp"}


async def test_generator_error_deletes_nothing(env: bed.Env) -> None:
    manifest = seed_set("https://example.invalid/repo.git")
    await env.apply_set(manifest)
    await eventually(lambda: _names_equal(env, {"prod-myapp"}))
    broken = copy.deepcopy(manifest)
    broken["spec"]["goTemplate"] = True
    broken["spec"]["template"]["metadata"]["name"] = "{{ .name | nosuchfunc }}-myapp"
    await env.apply_set(broken)
    error = await eventually(lambda: _status_true(env, "myapp", "ErrorOccurred"))
    assert "nosuchfunc" in error["message"] and error["reason"]
    generated = await env.condition("myapp", "ParametersGenerated")
    assert generated is not None and generated["status"] == "False"
    assert await env.live_app_names() == {"prod-myapp"}
    # Fixing the template clears the error.
    await env.apply_set(manifest)
    await eventually(lambda: _status_false(env, "myapp", "ErrorOccurred"))


async def test_git_directories_new_directory_after_refresh(
    env: bed.Env, git_remote: handle.GitRemote, tmp_path: Path
) -> None:
    repo = apps_repo(git_remote, tmp_path, ["alpha", "beta"])
    manifest = {
        "apiVersion": constants.API_VERSION,
        "kind": "ApplicationSet",
        "metadata": {"name": "dirs"},
        "spec": {
            "generators": [
                {
                    "git": {
                        "repoURL": repo.http_url,
                        "revision": "HEAD",
                        "directories": [{"path": "apps/*"}],
                    }
                }
            ],
            "template": {
                "metadata": {"name": "{{path.basename}}"},
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": repo.http_url,
                        "targetRevision": "HEAD",
                        "path": "{{path}}",
                    },
                    "destination": {
                        "server": env.bed.clusters["dev"].server,
                        "namespace": "{{path.basename}}",
                    },
                },
            },
        },
    }
    await env.apply_set(manifest)
    await eventually(lambda: _names_equal(env, {"alpha", "beta"}))
    assert (await env.apps())["beta"]["spec"]["source"]["path"] == "apps/beta"

    work = git_remote.working_copy(repo, tmp_path / "work")
    work.commit({"apps/gamma/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"}, "add gamma")
    started = time.monotonic()
    assert await env.controller.refresh_repo(repo.http_url) == ["dirs"]
    await eventually(lambda: _names_equal(env, {"alpha", "beta", "gamma"}), within=15)
    print(f"\nrefresh_repo -> gamma created in {time.monotonic() - started:.2f} s")

    work.commit({}, "remove beta", delete=["apps/beta"])
    await env.controller.refresh_repo(repo.http_url)
    await eventually(lambda: _names_equal(env, {"alpha", "gamma"}), within=15)


@pytest.mark.requeue(1.0)
async def test_git_directories_new_directory_after_periodic_requeue(
    env: bed.Env, git_remote: handle.GitRemote, tmp_path: Path
) -> None:
    repo = apps_repo(git_remote, tmp_path, ["alpha"])
    manifest = {
        "apiVersion": constants.API_VERSION,
        "kind": "ApplicationSet",
        "metadata": {"name": "polled"},
        "spec": {
            "goTemplate": True,
            "generators": [
                {"git": {"repoURL": repo.http_url, "directories": [{"path": "apps/*"}]}}
            ],
            "template": {
                "metadata": {"name": "polled-{{.path.basename}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo.http_url, "path": "{{.path.path}}"},
                    "destination": {"server": constants.IN_CLUSTER_SERVER, "namespace": "x"},
                },
            },
        },
    }
    await env.apply_set(manifest)
    await eventually(lambda: _names_equal(env, {"polled-alpha"}))
    work = git_remote.working_copy(repo, tmp_path / "work")
    work.commit({"apps/beta/cm.yaml": "kind: ConfigMap\n"}, "add beta")
    started = time.monotonic()
    await eventually(lambda: _names_equal(env, {"polled-alpha", "polled-beta"}), within=20)
    print(f"\npush -> polled-beta by periodic requeue in {time.monotonic() - started:.2f} s")


async def test_matrix_git_directories_by_clusters(
    env: bed.Env, git_remote: handle.GitRemote, tmp_path: Path
) -> None:
    repo = apps_repo(git_remote, tmp_path, ["web", "api"])
    manifest = {
        "apiVersion": constants.API_VERSION,
        "kind": "ApplicationSet",
        "metadata": {"name": "matrix"},
        "spec": {
            "generators": [
                {
                    "matrix": {
                        "generators": [
                            {
                                "git": {
                                    "repoURL": repo.http_url,
                                    "revision": "HEAD",
                                    "directories": [{"path": "apps/*"}],
                                }
                            },
                            {
                                "clusters": {
                                    "selector": {
                                        "matchExpressions": [
                                            {
                                                "key": "environment",
                                                "operator": "In",
                                                "values": ["dev", "staging"],
                                            }
                                        ]
                                    }
                                }
                            },
                        ]
                    }
                }
            ],
            "template": {
                "metadata": {"name": "{{path.basename}}-{{name}}"},
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": repo.http_url,
                        "targetRevision": "HEAD",
                        "path": "{{path}}",
                    },
                    "destination": {"server": "{{server}}", "namespace": "{{path.basename}}"},
                },
            },
        },
    }
    await env.apply_set(manifest)
    expected = {"web-dev", "web-staging", "api-dev", "api-staging"}
    await eventually(lambda: _names_equal(env, expected))
    apps = await env.apps()
    assert (
        apps["api-staging"]["spec"]["destination"]["server"] == env.bed.clusters["staging"].server
    )


async def test_two_sets_generating_one_name_conflict(env: bed.Env) -> None:
    def list_set(name: str, namespace: str) -> dict[str, Any]:
        return {
            "apiVersion": constants.API_VERSION,
            "kind": "ApplicationSet",
            "metadata": {"name": name},
            "spec": {
                "generators": [{"list": {"elements": [{"app": "shared"}, {"app": name}]}}],
                "template": {
                    "metadata": {"name": "{{app}}"},
                    "spec": {
                        "project": "default",
                        "source": {"repoURL": "https://example.invalid/r.git", "path": name},
                        "destination": {
                            "server": constants.IN_CLUSTER_SERVER,
                            "namespace": namespace,
                        },
                    },
                },
            },
        }

    await env.apply_set(list_set("first", "one"))
    await eventually(lambda: _names_equal(env, {"shared", "first"}))
    await env.apply_set(list_set("second", "two"))
    await eventually(lambda: _names_equal(env, {"shared", "first", "second"}))
    for name in ("first", "second"):
        error = await eventually(functools.partial(_status_true, env, name, "ErrorOccurred"))
        assert "'shared'" in error["message"], error
    shared = (await env.apps())["shared"]
    assert shared["metadata"]["ownerReferences"][0]["name"] == "first"
    assert shared["spec"]["source"]["path"] == "first"

    # Deleting the first set resolves the conflict (its apps are garbage collected).
    await env.kube.delete(env.set_key("first"), propagation="Background")
    await env.strip_finalizers()
    await eventually(lambda: _status_false(env, "second", "ErrorOccurred"), within=60)


async def test_deleting_set_garbage_collects_apps(env: bed.Env) -> None:
    manifest = seed_set("https://example.invalid/repo.git")
    manifest["spec"]["syncPolicy"] = {"preserveResourcesOnDeletion": True}
    await env.label_cluster("dev", {"environment": "production"})
    await env.apply_set(manifest)
    await eventually(lambda: _names_equal(env, {"prod-myapp", "dev-myapp"}))
    assert not (await env.apps())["dev-myapp"]["metadata"].get("finalizers")
    await env.kube.delete(env.set_key("myapp"), propagation="Background")

    async def gone() -> bool:
        return not await env.apps()

    started = time.monotonic()
    await eventually(gone, within=60)  # kube-controller-manager's garbage collector
    print(f"\nset deleted -> apps garbage collected in {time.monotonic() - started:.2f} s")


async def test_deleting_set_keeps_resources_finalizer(env: bed.Env) -> None:
    await env.apply_set(seed_set("https://example.invalid/repo.git"))
    await eventually(lambda: _names_equal(env, {"prod-myapp"}))
    await env.kube.delete(env.set_key("myapp"), propagation="Background")

    async def deleting() -> bool:
        app = (await env.apps()).get("prod-myapp")
        return app is not None and bool(app["metadata"].get("deletionTimestamp"))

    # GC deletes the app; the finalizer holds it for the Application controller to prune.
    await eventually(deleting, within=60)
    app = (await env.apps())["prod-myapp"]
    assert app["metadata"]["finalizers"] == [constants.FINALIZER_RESOURCES]


# -- RollingSync --------------------------------------------------------------------------------


def rolling_set(name: str, repo_url: str) -> dict[str, Any]:
    steps = [
        {"matchExpressions": [{"key": "env", "operator": "In", "values": [env]}]}
        for env in ("dev", "staging", "prod")
    ]
    return {
        "apiVersion": constants.API_VERSION,
        "kind": "ApplicationSet",
        "metadata": {"name": name},
        "spec": {
            "generators": [
                {
                    "list": {
                        "elements": [
                            {"env": "dev", "n": "1"},
                            {"env": "dev", "n": "2"},
                            {"env": "staging", "n": "1"},
                            {"env": "prod", "n": "1"},
                        ]
                    }
                }
            ],
            "strategy": {"type": "RollingSync", "rollingSync": {"steps": steps}},
            "template": {
                "metadata": {"name": f"{name}-{{{{env}}}}-{{{{n}}}}", "labels": {"env": "{{env}}"}},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo_url, "targetRevision": "HEAD", "path": "apps/x"},
                    "destination": {"server": constants.IN_CLUSTER_SERVER, "namespace": "{{env}}"},
                    "syncPolicy": {
                        "automated": {"prune": True},
                        "syncOptions": ["CreateNamespace=true"],
                    },
                },
            },
        },
    }


async def _report(env: bed.Env, app: str, *, health: str, revision: str) -> None:
    """What the Application controller writes after syncing: status, operation cleared."""
    await env.patch_app(
        app,
        {
            "operation": None,
            "status": {
                "sync": {"status": "Synced", "revision": revision},
                "health": {"status": health},
                "operationState": {"phase": "Succeeded", "syncResult": {"revision": revision}},
            },
        },
    )


async def test_rolling_sync_steps_in_order(
    env: bed.Env, git_remote: handle.GitRemote, tmp_path: Path
) -> None:
    repo = apps_repo(git_remote, tmp_path, ["x"])
    sha = git_remote.working_copy(repo, tmp_path / "work").head()
    await env.apply_set(rolling_set("roll", repo.http_url))
    dev = {"roll-dev-1", "roll-dev-2"}
    await eventually(lambda: _names_equal(env, dev | {"roll-staging-1", "roll-prod-1"}))

    await eventually(lambda: _operations_on(env, dev, dev))
    apps = await env.apps()
    assert "automated" not in apps["roll-dev-1"]["spec"]["syncPolicy"]
    op = apps["roll-dev-1"]["operation"]
    assert op["sync"]["revision"] == sha and op["sync"]["prune"] is True
    assert op["initiatedBy"] == {"username": "applicationset-controller", "automated": True}
    assert op["sync"]["syncOptions"] == ["CreateNamespace=true"]
    assert await _with_operation(env, {"roll-staging-1", "roll-prod-1"}) == set()
    progress = await env.condition("roll", "RolloutProgressing")
    assert progress is not None and progress["status"] == "True"

    # One dev app Healthy is not enough; the other still Progressing holds staging back.
    await _report(env, "roll-dev-1", health="Healthy", revision=sha)
    await _report(env, "roll-dev-2", health="Progressing", revision=sha)
    await _wait_statuses(env, "roll", {"roll-dev-1": "Healthy", "roll-dev-2": "Progressing"})
    assert await _with_operation(env, {"roll-staging-1", "roll-prod-1"}) == set()

    await _report(env, "roll-dev-2", health="Healthy", revision=sha)
    assert await eventually(lambda: _with_operation(env, {"roll-staging-1"}))
    assert await _with_operation(env, {"roll-prod-1"}) == set()

    await _report(env, "roll-staging-1", health="Healthy", revision=sha)
    assert await eventually(lambda: _with_operation(env, {"roll-prod-1"}))
    await _report(env, "roll-prod-1", health="Healthy", revision=sha)
    done = await eventually(lambda: _status_false(env, "roll", "RolloutProgressing"))
    assert done["reason"] == "ApplicationSetRolloutComplete"
    entries = (await env.get_set("roll"))["status"]["applicationStatus"]
    assert {e["application"]: (e["step"], e["status"]) for e in entries} == {
        "roll-dev-1": ("1", "Healthy"),
        "roll-dev-2": ("1", "Healthy"),
        "roll-staging-1": ("2", "Healthy"),
        "roll-prod-1": ("3", "Healthy"),
    }


async def test_rolling_sync_degraded_app_halts(
    env: bed.Env, git_remote: handle.GitRemote, tmp_path: Path
) -> None:
    repo = apps_repo(git_remote, tmp_path, ["x"])
    sha = git_remote.working_copy(repo, tmp_path / "work").head()
    await env.apply_set(rolling_set("halt", repo.http_url))
    dev = {"halt-dev-1", "halt-dev-2"}
    await eventually(lambda: _operations_on(env, dev, dev))
    await _report(env, "halt-dev-1", health="Healthy", revision=sha)
    await _report(env, "halt-dev-2", health="Degraded", revision=sha)
    halted = await eventually(lambda: _halted(env, "halt"))
    assert "halt-dev-2" in halted["message"]
    # Further reconciles (requeues, app changes) keep it halted.
    await env.patch_app("halt-dev-1", {"metadata": {"annotations": {"touched": "yes"}}})
    before = env.controller.reconciles
    await eventually(lambda: _true(env.controller.reconciles > before))
    assert await _with_operation(env, {"halt-staging-1", "halt-prod-1"}) == set()


# -- probes -------------------------------------------------------------------------------------


async def _true(value: bool) -> bool:
    return value


async def _names_equal(env: bed.Env, expected: set[str]) -> bool:
    return await env.live_app_names() == expected


async def _status_true(env: bed.Env, set_name: str, kind: str) -> dict[str, Any] | None:
    cond = await env.condition(set_name, kind)
    return cond if cond and cond["status"] == "True" else None


async def _status_false(env: bed.Env, set_name: str, kind: str) -> dict[str, Any] | None:
    cond = await env.condition(set_name, kind)
    return cond if cond and cond["status"] == "False" else None


async def _halted(env: bed.Env, set_name: str) -> dict[str, Any] | None:
    cond = await env.condition(set_name, "RolloutProgressing")
    return cond if cond and cond["reason"] == "ApplicationSetRolloutHalted" else None


async def _with_operation(env: bed.Env, names: set[str]) -> set[str]:
    apps = await env.apps()
    return {n for n in names if n in apps and apps[n].get("operation")}


async def _operations_on(env: bed.Env, names: set[str], expected: set[str]) -> bool:
    return await _with_operation(env, names) == expected


async def _wait_statuses(env: bed.Env, set_name: str, wanted: dict[str, str]) -> None:
    async def probe() -> bool:
        entries = ((await env.get_set(set_name)).get("status") or {}).get("applicationStatus") or []
        seen = {e["application"]: e["status"] for e in entries}
        return all(seen.get(k) == v for k, v in wanted.items())

    await eventually(probe)
