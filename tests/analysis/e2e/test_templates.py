"""Templates stored on the cluster (AnalysisTemplate and ClusterAnalysisTemplate CRDs) read back
and built into one run, as the Rollout controller does, which the controller measures."""

from __future__ import annotations

import secrets

from tests.analysis.e2e.conftest import Bed, Endpoint, result_of

from tidegate.analysis import names, runs
from tidegate.model.keys import ResourceKey


async def test_a_namespaced_and_a_cluster_template_make_one_run(
    bed: Bed, endpoint: Endpoint
) -> None:
    endpoint.json({"rate": 0.99, "errors": 0})
    cluster_name = f"an-errors-{secrets.token_hex(3)}"
    web = {"url": f"http://{endpoint.address}/{{{{args.service}}}}", "jsonPath": "{$.rate}"}
    await bed.client.create(
        {
            "apiVersion": names.API_VERSION,
            "kind": names.TEMPLATE_KIND,
            "metadata": {"name": "success-rate", "namespace": bed.namespace},
            "spec": {
                "args": [{"name": "service"}],
                "metrics": [
                    {"name": "rate", "provider": {"web": web}, "successCondition": "result > 0.95"}
                ],
            },
        }
    )
    await bed.client.create(
        {
            "apiVersion": names.API_VERSION,
            "kind": names.CLUSTER_TEMPLATE_KIND,
            "metadata": {"name": cluster_name},
            "spec": {
                "metrics": [
                    {
                        "name": "errors",
                        "provider": {
                            "web": {"url": f"http://{endpoint.address}/", "jsonPath": "{$.errors}"}
                        },
                        "failureCondition": "result > 0",
                    }
                ]
            },
        }
    )
    try:
        block = {
            "templates": [
                {"templateName": "success-rate"},
                {"templateName": cluster_name, "clusterScope": True},
            ],
            "args": [{"name": "service", "value": "checkout"}],
        }
        rollout = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {"name": "shop", "namespace": bed.namespace, "uid": "not-a-real-uid"},
        }
        found = [
            await bed.client.get(
                ResourceKey(names.GROUP, names.TEMPLATE_KIND, bed.namespace, "success-rate")
            )
        ]
        cluster_found = [
            await bed.client.get(
                ResourceKey(names.GROUP, names.CLUSTER_TEMPLATE_KIND, "", cluster_name)
            )
        ]
        run = runs.new_run_for_rollout(
            rollout=rollout,
            block=block,
            templates=found,
            cluster_templates=cluster_found,
            name=runs.run_name("shop", "abc", 1, 0),
            labels=runs.run_labels("abc", names.TYPE_STEP, 0),
            pod_hashes={"Stable": "old", "Latest": "abc"},
        )
        del run["metadata"]["ownerReferences"]  # no Rollout object exists in this test
        await bed.create(run)
        done = await bed.finished("shop-abc-1-0")
        assert done["status"]["phase"] == "Successful", done["status"]
        assert result_of(done, "rate")["measurements"][0]["value"] == "0.99"
        assert result_of(done, "errors")["measurements"][0]["value"] == "0"
        assert endpoint.requests  # both metrics asked the endpoint
    finally:
        await bed.client.delete(
            ResourceKey(names.GROUP, names.CLUSTER_TEMPLATE_KIND, "", cluster_name)
        )
