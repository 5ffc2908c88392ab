"""A CustomResourceDefinition and its custom resources in one sync, on the real cluster."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tidegate.kube import client as kube_client
from tidegate.model.enums import OperationPhase

from .conftest import Run, Writes, key, result_of

pytestmark = pytest.mark.e2e


def crd(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {"size": {"type": "integer"}},
                                }
                            },
                        }
                    },
                }
            ],
        },
    }


def widget(group: str, name: str) -> dict[str, Any]:
    # No namespace: the CRD in the same sync says Widgets are namespaced.
    return {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": name},
            "spec": {"size": 3}}  # fmt: skip


@pytest.fixture
async def group(dev: kube_client.KubeClient) -> AsyncIterator[str]:
    name = f"t{secrets.token_hex(4)}.tidegate.test"
    yield name
    await dev.delete(key("CustomResourceDefinition", "", f"widgets.{name}", "apiextensions.k8s.io"))


async def test_custom_resources_are_applied_after_their_definition_is_established(
    run: Run, writes: Writes, dev: kube_client.KubeClient, namespace: str, group: str
) -> None:
    targets = [widget(group, "small"), crd(group), widget(group, "large")]

    dry = await run.sync(targets, dry_run=True)
    assert dry.phase is OperationPhase.SUCCEEDED, dry.message
    assert result_of(dry, "Widget", "small").message == (
        "dry run skipped: its CustomResourceDefinition is created by this sync"
    )
    assert await dev.get_or_none(key("CustomResourceDefinition", "", f"widgets.{group}",
                                     "apiextensions.k8s.io")) is None  # fmt: skip

    writes.log.clear()
    state = await run.sync(targets)
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    order = writes.order()
    assert order[0] == f"customresourcedefinitions/widgets.{group}"
    assert sorted(order[1:]) == ["widgets/large", "widgets/small"]
    live = await dev.get(key("Widget", namespace, "small", group))
    assert live["spec"] == {"size": 3}
    assert result_of(state, "Widget", "large").namespace == namespace
