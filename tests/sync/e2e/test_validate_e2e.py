"""The validating dry run before the first apply, on the real ``dev`` cluster: admission denials
and missing namespaces are reported for every object at once and nothing is written; what the
same sync creates (a Namespace among the objects, CreateNamespace's namespace) is excused."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tidegate.kube import client as kube_client
from tidegate.model import errors
from tidegate.model.enums import OperationPhase
from tidegate.testenv import handle
from tidegate.testenv.wait import eventually

from .conftest import Run, Writes, configmap, key, result_of

pytestmark = pytest.mark.e2e


@pytest.fixture
def deny_label(testbed_handle: handle.TestBed, namespace: str) -> Iterator[str]:
    """A ValidatingAdmissionPolicy (and binding) denying ConfigMaps labelled ``<label>=deny``
    in the test's namespace; removed afterwards."""
    label = f"tidegate-test-{secrets.token_hex(3)}"
    name = f"deny-{label}"
    api = "/apis/admissionregistration.k8s.io/v1"
    policy: dict[str, Any] = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["configmaps"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": f"!has(object.metadata.labels) || "
                    f"!('{label}' in object.metadata.labels) || "
                    f"object.metadata.labels['{label}'] != 'deny'",
                    "message": "configmaps labelled deny are not allowed here",
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
            },
        },
    }
    with testbed_handle.admin_client("dev") as client:
        client.post(f"{api}/validatingadmissionpolicies", json=policy).raise_for_status()
        client.post(f"{api}/validatingadmissionpolicybindings", json=binding).raise_for_status()
    try:
        yield label
    finally:
        with testbed_handle.admin_client("dev") as client:
            client.delete(f"{api}/validatingadmissionpolicybindings/{name}")
            client.delete(f"{api}/validatingadmissionpolicies/{name}")


async def test_admission_denial_is_reported_before_anything_is_applied(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str, deny_label: str
) -> None:
    denied = configmap("denied", a="1")
    denied["metadata"]["labels"] = {deny_label: "deny"}
    targets = [configmap("fine", a="1"), denied]

    async def enforced() -> bool:
        """The policy takes a moment to be in force after it is created."""
        probe = {**denied, "metadata": {**denied["metadata"], "namespace": namespace}}
        try:
            await dev.apply(probe, dry_run=True)
        except errors.KubeApiError:
            return True
        return False

    await eventually(enforced)
    state = await run.sync(targets)

    assert state.phase is OperationPhase.FAILED, state.message
    assert (
        "configmaps labelled deny are not allowed here"
        in result_of(state, "ConfigMap", "denied").message
    )
    assert f"- ConfigMap {namespace}/denied: " in state.message
    assert writes.log == []
    assert await dev.get_or_none(key("ConfigMap", namespace, "fine")) is None


async def test_missing_namespace_fails_unless_the_sync_creates_it(
    run: Run, writes: Writes, dev: kube_client.KubeClient, testbed_handle: handle.TestBed
) -> None:
    missing = f"t-absent-{secrets.token_hex(4)}"
    in_missing = configmap("settings", a="1")
    in_missing["metadata"]["namespace"] = missing
    elsewhere = configmap("other", a="1")
    elsewhere["metadata"]["namespace"] = f"t-absent-{secrets.token_hex(4)}"

    state = await run.sync([in_missing, elsewhere])
    assert state.phase is OperationPhase.FAILED
    lines = state.message.splitlines()[1:]
    assert len(lines) == 2 and all("not found" in line for line in lines), state.message
    assert writes.log == []

    # The same objects with their namespace among the targets: excused, then applied.
    namespace_obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": missing}}
    try:
        made = await run.sync([namespace_obj, in_missing], kinds=[("", "Namespace")])
        assert made.phase is OperationPhase.SUCCEEDED, made.message
        assert await dev.get_or_none(key("ConfigMap", missing, "settings")) is not None
    finally:
        with testbed_handle.admin_client("dev") as client:
            client.delete(f"/api/v1/namespaces/{missing}")
