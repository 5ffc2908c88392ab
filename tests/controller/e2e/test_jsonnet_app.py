"""A Jsonnet app through the real controller: TLAs and extVars from the Application, objects
deployed; a commit that imports a file outside the repository gives a condition naming the file
and the import, and nothing is applied or pruned."""

from __future__ import annotations

import json

from tidegate.testenv.scenario import GitOps, application, kubectl, synced_healthy

PROGRAM = """
function(replicas, prefix='web') [
  {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: prefix + '-' + i },
    data: { env: std.extVar('env'), replicas: std.toString(replicas) },
  }
  for i in ['a', 'b']
]
"""


def test_jsonnet_app_with_tlas_and_a_refused_import(gitops: GitOps) -> None:
    repo, work = gitops.repo({"apps/jn/main.jsonnet": PROGRAM})
    dest_ns = f"jsonnet-{gitops.namespace}"
    app = application(
        "jsonnet-app",
        repo_url=repo.http_url,
        path="apps/jn",
        server=gitops.bed.clusters["dev"].server,
        namespace=dest_ns,
    )
    app["spec"]["source"]["directory"] = {
        "jsonnet": {
            "tlas": [{"name": "replicas", "value": "2 + 1", "code": True}],
            "extVars": [{"name": "env", "value": "dev"}],
        }
    }
    gitops.create_app(app)
    first = work.head()
    gitops.wait_app(
        "jsonnet-app", lambda a: synced_healthy(a, first), timeout=90, what="Synced at first"
    )
    for name in ("web-a", "web-b"):
        cm = json.loads(kubectl(gitops.bed, "dev", "-n", dest_ns, "get", "cm", name, "-o", "json"))
        assert cm["data"] == {"env": "dev", "replicas": "3"}

    # A hostile commit: the program now reads a file outside the repository.
    evil = work.commit(
        {"apps/jn/main.jsonnet": "function(replicas) [importstr '/etc/passwd']"}, "exfiltrate"
    )

    def refused(a: dict[str, object]) -> bool:
        conditions = (a.get("status") or {}).get("conditions") or []  # type: ignore[union-attr]
        return any(
            "apps/jn/main.jsonnet" in c.get("message", "")
            and "outside the repository and is refused" in c.get("message", "")
            for c in conditions
        )

    status = gitops.wait_app("jsonnet-app", refused, timeout=60, what="the refused import")
    assert "root:" not in json.dumps(status)
    assert (status["status"].get("operationState") or {}).get("syncResult", {}).get(
        "revision"
    ) != evil
    # Nothing pruned: both objects are still there.
    names = kubectl(gitops.bed, "dev", "-n", dest_ns, "get", "cm", "-o", "name")
    assert "configmap/web-a" in names and "configmap/web-b" in names
