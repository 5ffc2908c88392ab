"""A SealedSecret committed to Git and deployed by an Application becomes the right Secret on dev,
and the Application is Healthy once the SealedSecret is Synced (Argo CD's SealedSecret health)."""

from __future__ import annotations

import yaml
from tests.controller.e2e.conftest import gitops  # noqa: F401 - the module's GitOps fixture
from tests.sealedsecrets.e2e.conftest import Bed, make_secret, plain

from tidegate.testenv import scenario, wait


async def test_sealed_secret_from_git(bed: Bed, gitops: scenario.GitOps) -> None:  # noqa: F811
    sealed = bed.seal(make_secret(bed.app_ns, "from-git", password="gitops-pw"))
    repo, work = gitops.repo({"secrets/db.yaml": yaml.safe_dump(sealed)})
    app = scenario.application(
        "sealed",
        repo_url=repo.http_url,
        path="secrets",
        server=gitops.bed.clusters["dev"].server,
        namespace=bed.app_ns,
    )
    gitops.create_app(app)
    gitops.wait_app(
        "sealed",
        lambda a: scenario.synced_healthy(a, work.head()),
        timeout=120,
        what="Synced and Healthy",
    )
    secret = await wait.eventually(lambda: bed.secret("from-git"), within=30)
    assert plain(secret) == {"password": "gitops-pw"}
    resources = gitops.get_app("sealed")["status"]["resources"]
    assert [(r["kind"], r.get("health", {}).get("status")) for r in resources] == [
        ("SealedSecret", "Healthy")
    ]
