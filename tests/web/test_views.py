"""What the pages show, shaped from the API's JSON (pure)."""

from __future__ import annotations

from tidegate.web import views

APP = {
    "metadata": {"name": "shop", "namespace": "argocd", "labels": {"team": "<b>x</b>"}},
    "spec": {
        "project": "default",
        "source": {"repoURL": "https://git.example/r.git", "path": "shop"},
        "destination": {"name": "dev", "namespace": "shop"},
    },
    "status": {
        "sync": {"status": "OutOfSync", "revision": "0123456789abcdef"},
        "health": {"status": "Degraded"},
        "resources": [
            {"kind": "Service", "name": "web", "namespace": "shop", "status": "Synced"},
            {"kind": "Namespace", "name": "shop", "status": "Synced"},
            {
                "group": "apps",
                "version": "v1",
                "kind": "Deployment",
                "name": "web",
                "namespace": "shop",
                "status": "OutOfSync",
                "health": {"status": "Degraded", "message": "crash loop"},
                "requiresPruning": True,
            },
        ],
        "operationState": {
            "phase": "Failed",
            "message": "one failed",
            "operation": {"sync": {"revision": "abc"}, "initiatedBy": {"automated": True}},
            "syncResult": {
                "revision": "abc",
                "resources": [
                    {
                        "group": "apps",
                        "kind": "Deployment",
                        "namespace": "shop",
                        "name": "web",
                        "status": "SyncFailed",
                        "message": "<script>",
                    },
                ],
            },
        },
        "history": [
            {"id": 0, "revision": "aaa", "deployedAt": "2026-01-01T00:00:00Z"},
            {"id": 10, "revision": "ccc", "deployedAt": "2026-01-03T00:00:00Z"},
            {"id": 2, "revision": "bbb", "deployedAt": "2026-01-02T00:00:00Z"},
        ],
    },
}


def test_summary_of_an_app() -> None:
    s = views.summary(APP)
    assert (s["sync"], s["health"], s["operation"]) == ("OutOfSync", "Degraded", "Failed")
    assert (s["cluster"], s["dest_namespace"], s["revision"]) == ("dev", "shop", "0123456")
    assert views.summary({**APP, "operation": {"sync": {}}})["operation"] == "Requested"
    blank = views.summary({})
    assert (blank["name"], blank["sync"], blank["health"]) == ("", "Unknown", "Unknown")


def test_resources_carry_their_last_sync_result_namespaces_first() -> None:
    rows = views.resources(APP)
    assert [r["kind"] for r in rows] == ["Namespace", "Deployment", "Service"]
    deploy = rows[1]
    assert deploy["id"] == "apps/Deployment/shop/web" and deploy["kind_short"] == "deploy"
    assert deploy["requires_pruning"] and deploy["health_message"] == "crash loop"
    assert deploy["result"] == {"status": "SyncFailed", "message": "<script>", "phase": ""}
    assert rows[2]["result"] is None and rows[2]["health"] == ""


def test_history_newest_first_and_last_operation() -> None:
    assert [h["id"] for h in views.history(APP)] == [10, 2, 0]
    op = views.last_operation(APP)
    assert op is not None and op["initiated_by"] == "automated" and op["revision"] == "abc"
    assert views.last_operation({}) is None


def test_filter_options_and_times() -> None:
    options = views.filter_options([APP, {"spec": {"project": "other"}}])
    assert options["projects"] == ["default", "other"]
    assert options["labels"] == ["team=<b>x</b>"] and options["clusters"] == ["dev"]
    assert views.when("2026-01-02T03:04:05Z") == "2026-01-02 03:04:05 UTC"
    assert views.when("") == ""


def test_appset_generated_apps_and_steps() -> None:
    child = {
        **APP,
        "metadata": {
            **APP["metadata"],
            "ownerReferences": [{"kind": "ApplicationSet", "name": "shops"}],
        },
    }
    appset = {
        "metadata": {"name": "shops"},
        "spec": {"generators": [{"list": {}}], "strategy": {"type": "RollingSync"}},
        "status": {
            "applicationStatus": [
                {"application": "b", "status": "Waiting", "step": "2"},
                {"application": "a", "status": "Healthy", "step": "1"},
            ],
            "conditions": [
                {"type": "ErrorOccurred", "status": "True", "message": "bad"},
                {"type": "ResourcesUpToDate", "status": "True", "message": "ok"},
                {"type": "RolloutProgressing", "status": "False", "message": ""},
            ],
        },
    }
    shaped = views.appset(appset, [child, APP])
    assert [a["name"] for a in shaped["apps"]] == ["shop"]
    assert [step for step, _ in shaped["steps"]] == ["1", "2"]
    assert shaped["strategy"] == "RollingSync" and shaped["generators"] == ["list"]
    assert [(c["type"], c["error"]) for c in shaped["conditions"]] == [
        ("ErrorOccurred", True),
        ("ResourcesUpToDate", False),
    ]


def test_tree_nests_live_children_under_their_parents() -> None:
    rows = views.resources(APP)
    deploy = {"group": "apps", "kind": "Deployment", "namespace": "shop", "name": "web"}
    rs = {"group": "apps", "kind": "ReplicaSet", "namespace": "shop", "name": "web-1"}
    pod = {
        "kind": "Pod",
        "namespace": "shop",
        "name": "<b>web-1-a</b>",
        "version": "v1",
        "health": {"status": "Healthy"},
        "info": [
            {"name": "Status Reason", "value": "Running"},
            {"name": "Containers", "value": "1/1"},
        ],
        "parentRefs": [{**rs, "uid": "u1"}],
    }
    orphan = {
        "kind": "Pod",
        "namespace": "shop",
        "name": "x",
        "parentRefs": [{"kind": "Job", "name": "gone"}],
    }
    nested = views.tree(rows, [pod, {**rs, "parentRefs": [deploy]}, orphan])  # any order
    (dep,) = [r for r in nested if r["kind"] == "Deployment"]
    (replicaset,) = dep["children"]
    assert replicaset["name"] == "web-1" and replicaset["child"] and replicaset["sync"] == ""
    (child,) = replicaset["children"]
    assert child["id"] == "/Pod/shop/<b>web-1-a</b>" and child["health"] == "Healthy"
    assert child["info"] == "Status Reason: Running · Containers: 1/1"
    assert child["info_short"] == "Running · 1/1"
    flat = views.flatten(nested)
    assert [r["name"] for r in flat].count("<b>web-1-a</b>") == 1
    assert "x" not in [r["name"] for r in flat]  # its owner is not in the tree


def test_parameters_of_each_source_type() -> None:
    helm_app = {
        "spec": {
            "source": {
                "chart": "demo",
                "helm": {
                    "valueFiles": ["a.yaml", "b.yaml"],
                    "values": "x: 1\n",
                    "parameters": [{"name": "image.tag", "value": "v2", "forceString": True}],
                },
            },
            "syncPolicy": {"automated": {"selfHeal": True}, "syncOptions": ["Validate=false"]},
        }
    }
    p = views.parameters(helm_app)
    assert p["type"] == "Helm" and not p["multi"]
    assert p["helm"] == {
        "value_files": "a.yaml\nb.yaml",
        "values_text": "x: 1\n",
        "parameters": "image.tag=v2",
        "release_name": "",
    }
    assert p["sync"] == {
        "automated": True,
        "prune": False,
        "self_heal": True,
        "options": ["Validate=false"],
    }
    kust = {
        "spec": {"source": {"path": "k", "kustomize": {"namePrefix": "p-", "images": ["a=b"]}}},
        "status": {"sourceType": "Kustomize"},
    }
    k = views.parameters(kust)
    assert k["type"] == "Kustomize" and k["kustomize"]["images"] == "a=b"
    assert k["sync"]["automated"] is False
    directory = views.parameters({"spec": {"source": {"directory": {"recurse": True}}}})
    assert directory["type"] == "Directory" and directory["directory"] == {"recurse": True}
    assert views.parameters({"spec": {"sources": [{"path": "a"}]}})["multi"] is True


def test_children_signature_follows_the_children_only() -> None:
    managed = {"kind": "Deployment", "name": "web", "uid": "", "resourceVersion": ""}
    pod = {"kind": "Pod", "uid": "u-1", "resourceVersion": "7", "parentRefs": [{"kind": "RS"}]}
    other = {**pod, "uid": "u-2", "resourceVersion": "3"}
    first = views.children_signature([managed, pod, other])
    assert len(first) == 8 and int(first, 16) >= 0
    assert views.children_signature([other, pod]) == first  # order does not matter
    changed_managed = {**managed, "health": {"status": "Degraded"}, "resourceVersion": "9"}
    assert views.children_signature([changed_managed, pod, other]) == first
    assert views.children_signature([managed, pod]) != first  # a child went
    assert views.children_signature([managed, pod, {**other, "resourceVersion": "4"}]) != first
    # 32-bit FNV-1a of the UTF-8 text, as tidegate.js computes it: the empty text's value.
    assert views.children_signature([managed]) == "811c9dc5"
