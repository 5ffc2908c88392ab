"""new_run: templates + args -> the AnalysisRun the Rollout controller creates."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.analysis import names, runs

ROLLOUT: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {
        "name": "guestbook",
        "namespace": "shop",
        "uid": "u-1",
        "labels": {"app": "guestbook"},
        "annotations": {"team": "web"},
    },
    "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}},
}


def template(name: str, *, metrics: list[Any], args: list[Any] | None = None, **spec: Any) -> Any:
    body: dict[str, Any] = {"metrics": metrics, **spec}
    if args is not None:
        body["args"] = args
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": body,
    }


SUCCESS_RATE = template(
    "success-rate",
    metrics=[{"name": "rate", "provider": {"prometheus": {"query": "{{args.svc}}"}}}],
    args=[
        {"name": "svc"},
        {"name": "hash"},
        {"name": "image"},
        {"name": "prefix", "value": "default"},
        {"name": "token", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
    ],
    dryRun=[{"metricName": "rate"}],
)
ERRORS = {
    **template("errors", metrics=[{"name": "errors", "provider": {"web": {"url": "http://x"}}}]),
    "kind": "ClusterAnalysisTemplate",
}


def test_a_run_merges_templates_and_resolves_rollout_args() -> None:
    run = runs.new_run(
        name=runs.run_name("guestbook", "abc123", 2, 1),
        namespace="shop",
        templates=[SUCCESS_RATE],
        cluster_templates=[ERRORS],
        args=[
            {"name": "svc", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
            {
                "name": "image",
                "valueFrom": {"fieldRef": {"fieldPath": "spec.template.spec.containers[0].image"}},
            },
            {"name": "unknown", "value": "ignored"},
        ],
        rollout=ROLLOUT,
        pod_hashes={"Stable": "old111", "Latest": "abc123"},
        labels=runs.run_labels("abc123", names.TYPE_STEP, 1),
        owner=ROLLOUT,
        measurement_retention=[{"metricName": "errors", "limit": 3}],
    )
    assert run["metadata"] == {
        "name": "guestbook-abc123-2-1",
        "namespace": "shop",
        "labels": {
            "rollouts-pod-template-hash": "abc123",
            "rollout-type": "Step",
            "step-index": "1",
        },
        "ownerReferences": [
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Rollout",
                "name": "guestbook",
                "uid": "u-1",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    spec = run["spec"]
    assert [m["name"] for m in spec["metrics"]] == ["rate", "errors"]
    assert spec["args"] == [
        {"name": "svc", "value": "guestbook"},
        {"name": "hash", "value": "abc123"},
        {"name": "image", "value": "nginx:1.25"},
        {"name": "prefix", "value": "default"},
        {"name": "token", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
    ]
    assert spec["dryRun"] == [{"metricName": "rate"}]
    assert spec["measurementRetention"] == [{"metricName": "errors", "limit": 3}]
    assert "status" not in run


def test_the_template_is_not_modified() -> None:
    before = repr(SUCCESS_RATE)
    runs.new_run(
        name="r",
        namespace="shop",
        templates=[SUCCESS_RATE],
        args=[{"name": n, "value": "v"} for n in ("svc", "hash", "image")],
    )
    assert repr(SUCCESS_RATE) == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"templates": []}, "AnalysisRun shop/r: no analysis template"),
        ({"templates": [SUCCESS_RATE]}, "AnalysisRun shop/r: args.svc was not resolved"),
        (
            {"templates": [ERRORS, {**ERRORS, "kind": "AnalysisTemplate"}]},
            "AnalysisTemplate shop/errors: metric 'errors' is also defined in "
            "ClusterAnalysisTemplate shop/errors",
        ),
        (
            {
                "templates": [SUCCESS_RATE],
                "args": [{"name": "svc", "valueFrom": {"fieldRef": {"fieldPath": "spec.nope"}}}],
                "rollout": ROLLOUT,
            },
            "analysis arg svc: fieldRef 'spec.nope': field 'nope' not found",
        ),
        (
            {
                "templates": [SUCCESS_RATE],
                "args": [{"name": "hash", "valueFrom": {"podTemplateHashValue": "Newest"}}],
            },
            "analysis arg hash: podTemplateHashValue must be Stable or Latest, not 'Newest'",
        ),
    ],
)
def test_bad_input_is_refused_with_the_cause(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(names.AnalysisSpecError) as info:
        runs.new_run(name="r", namespace="shop", **kwargs)
    assert str(info.value) == message


def test_a_caller_value_overrides_the_template_default() -> None:
    merged = runs.merge_args(
        [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}],
        [{"name": "a", "value": "9"}, {"name": "b"}],
    )
    assert merged == [{"name": "a", "value": "9"}, {"name": "b", "value": "2"}]


def test_a_rollout_block_gives_its_args_metadata_and_options() -> None:
    block = {
        "templates": [
            {"templateName": "success-rate"},
            {"templateName": "errors", "clusterScope": True},
        ],
        "args": [{"name": n, "value": "v"} for n in ("svc", "hash", "image")],
        "dryRun": [{"metricName": "errors"}],
        "analysisRunMetadata": {"labels": {"team": "web"}, "annotations": {"why": "canary"}},
    }
    run = runs.new_run_for_rollout(
        rollout=ROLLOUT,
        block=block,
        templates=[SUCCESS_RATE],
        cluster_templates=[ERRORS],
        name="guestbook-abc123-2-bg",
        labels=runs.run_labels("abc123", names.TYPE_BACKGROUND),
        pod_hashes={"Stable": "s", "Latest": "abc123"},
    )
    meta = run["metadata"]
    assert meta["namespace"] == "shop"
    assert meta["labels"] == {
        "team": "web",
        "rollouts-pod-template-hash": "abc123",
        "rollout-type": "Background",
    }
    assert meta["annotations"] == {"why": "canary"}
    assert meta["ownerReferences"][0]["uid"] == "u-1"
    assert run["spec"]["dryRun"] == [{"metricName": "rate"}, {"metricName": "errors"}]
