"""Web metrics (JSON path, secret header args) and job metrics (pods completed by kwok)."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.analysis.e2e.conftest import Bed, Endpoint, controlled, result_of

from tidegate.kube import client as kube_client
from tidegate.model.keys import ResourceKey

TOKEN = "s3cr3t-t0ken-for-web"


async def test_a_web_metric_reads_a_json_path_with_a_secret_header(
    bed: Bed, endpoint: Endpoint
) -> None:
    endpoint.json({"data": {"ok": True, "errors": 1}})
    await bed.client.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "api", "namespace": bed.namespace},
            "data": {"token": base64.b64encode(TOKEN.encode()).decode()},
        }
    )
    web = {
        "url": f"http://{endpoint.address}/health",
        "headers": [{"key": "Authorization", "value": "Bearer {{args.token}}"}],
        "jsonPath": "{$.data}",
        "timeoutSeconds": 5,
    }
    await bed.create(
        bed.run(
            "web-ok",
            [
                {
                    "name": "health",
                    "provider": {"web": web},
                    "successCondition": "result.ok && result.errors < 5",
                }
            ],
            args=[
                {"name": "token", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}
            ],
        )
    )
    run = await bed.finished("web-ok")
    assert run["status"]["phase"] == "Successful", run["status"]
    (measurement,) = result_of(run, "health")["measurements"]
    assert json.loads(measurement["value"]) == {"ok": True, "errors": 1}
    assert endpoint.requests[0]["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in json.dumps(run)  # the secret is read when measuring, never stored


async def test_a_web_error_answer_is_an_error_with_the_code(bed: Bed, endpoint: Endpoint) -> None:
    endpoint.json({"oops": True}, status=503)
    await bed.create(
        bed.run(
            "web-503",
            [
                {
                    "name": "health",
                    "provider": {"web": {"url": f"http://{endpoint.address}/"}},
                    "consecutiveErrorLimit": 0,
                }
            ],
        )
    )
    run = await bed.finished("web-503")
    status = run["status"]
    assert status["phase"] == "Error"
    assert status["message"] == (
        'Metric "health" assessed Error due to consecutiveErrors (1) > consecutiveErrorLimit (0)'
    )
    assert result_of(run, "health")["message"] == "web: received non 2xx response code: 503"


def job_metric(**pod_spec: Any) -> dict[str, Any]:
    return {
        "name": "smoke",
        "provider": {
            "job": {
                "metadata": {"labels": {"purpose": "smoke"}},
                "spec": {
                    "backoffLimit": 0,
                    **pod_spec.pop("job", {}),
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "check", "image": "busybox:1.36"}],
                            **pod_spec,
                        }
                    },
                },
            }
        },
    }


async def test_a_job_metric_succeeds_when_its_pod_completes(bed: Bed) -> None:
    created = await bed.create(bed.run("job-ok", [job_metric()]))
    run = await bed.finished("job-ok", within=90)
    assert run["status"]["phase"] == "Successful", run["status"]
    (measurement,) = result_of(run, "smoke")["measurements"]
    job_name = measurement["metadata"]["job-name"]
    assert job_name == f"{created['metadata']['uid']}.smoke.1"
    job = await bed.client.get(ResourceKey("batch", "Job", bed.namespace, job_name))
    assert job["metadata"]["labels"]["purpose"] == "smoke"
    owner = job["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"]) == ("AnalysisRun", "job-ok")


async def test_a_job_metric_fails_when_its_job_fails(bed: Bed) -> None:
    # No node matches: the pod stays Pending until the Job's deadline fails the Job.
    metric = job_metric(nodeSelector={"no-such-node": "true"}, job={"activeDeadlineSeconds": 2})
    await bed.create(bed.run("job-bad", [metric]))
    run = await bed.finished("job-bad", within=90)
    status = run["status"]
    assert status["phase"] == "Failed", status
    (measurement,) = result_of(run, "smoke")["measurements"]
    assert measurement["phase"] == "Failed"
    assert "DeadlineExceeded" in measurement["message"]


async def test_a_condition_outside_the_subset_makes_the_run_error_before_measuring(
    bed: Bed, endpoint: Endpoint
) -> None:
    endpoint.json({"ok": True})
    await bed.create(
        bed.run(
            "bad-expr",
            [
                {
                    "name": "health",
                    "provider": {"web": {"url": f"http://{endpoint.address}/"}},
                    "successCondition": "result.ok |> true",
                }
            ],
        )
    )
    run = await bed.finished("bad-expr")
    status = run["status"]
    assert status["phase"] == "Error"
    assert status["message"].startswith(
        "analysis spec invalid: metrics[0] (health): successCondition: "
    )
    assert status["metricResults"] == []
    assert endpoint.requests == []


async def test_terminate_ends_an_endless_run(bed: Bed, endpoint: Endpoint) -> None:
    endpoint.json({"ok": True})
    metric = {
        "name": "health",
        "interval": "1s",
        "provider": {"web": {"url": f"http://{endpoint.address}/", "jsonPath": "{$.ok}"}},
        "successCondition": "result == true",
    }
    await bed.create(bed.run("endless", [metric]))

    async def measured_twice() -> bool:
        run = await bed.get("endless")
        results = (run.get("status") or {}).get("metricResults") or []
        return bool(results) and int(results[0].get("count") or 0) >= 2

    from tidegate.testenv import wait

    await wait.eventually(measured_twice, within=60)
    await bed.client.patch(
        ResourceKey("argoproj.io", "AnalysisRun", bed.namespace, "endless"),
        {"spec": {"terminate": True}},
    )
    run = await bed.finished("endless")
    assert run["status"]["phase"] == "Successful"
    assert run["status"]["message"] == "Run Terminated"


async def test_a_missing_secret_arg_errors_the_run_naming_it(bed: Bed, endpoint: Endpoint) -> None:
    await bed.create(
        bed.run(
            "no-secret",
            [
                {
                    "name": "health",
                    "provider": {
                        "web": {
                            "url": f"http://{endpoint.address}/",
                            "headers": [{"key": "X-Token", "value": "{{args.token}}"}],
                        }
                    },
                }
            ],
            args=[{"name": "token", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "t"}}}],
        )
    )
    run = await bed.finished("no-secret")
    assert run["status"]["phase"] == "Error"
    assert run["status"]["message"] == (
        f"unable to resolve metric arguments: arg token: Secret {bed.namespace}/gone not found"
    )
    assert endpoint.requests == []


async def test_status_is_written_whether_or_not_the_crd_has_a_status_subresource(
    bed: Bed, staging: kube_client.KubeClient, endpoint: Endpoint
) -> None:
    # Argo Rollouts' own CRD serves AnalysisRun without a status subresource (ours, on dev);
    # `tidegate install` may have put one with it on staging: the controller writes both.
    endpoint.json({"ok": True})
    metric = {"name": "health", "provider": {"web": {"url": f"http://{endpoint.address}/"}}}
    async with controlled(staging) as other:
        for where in (bed, other):
            await where.create(where.run("either", [metric]))
            run = await where.finished("either")
            assert run["status"]["phase"] == "Successful", run["status"]
            assert result_of(run, "health")["count"] == 1
