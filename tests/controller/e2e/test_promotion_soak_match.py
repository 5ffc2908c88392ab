"""Two Kargo Stage fields end to end, with the real controller and CLI: ``requiredSoakTime``
(Freight verified upstream becomes available downstream only after it stayed there that long)
and ``autoPromotionOptions.selectionPolicy: MatchUpstream`` (auto-promotion takes what the
upstream Stage holds, not the newest Freight verified there)."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tidegate.promotion import availability
from tidegate.testenv import gitrepos, kargoproject, pipeline, scenario
from tidegate.testenv.kargoproject import until

pytestmark = pytest.mark.e2e
SHARD = "soak-" + secrets.token_hex(3)
APP_RESYNC = 180
SOAK = 40  # seconds: long enough that the refused promotion below comes before its end
ORIGIN = {"kind": "Warehouse", "name": "config"}


def CONTROLLER_ARGS(_workdir: Path) -> list[str]:
    return [f"--promotions-shard={SHARD}"]


@dataclass
class Chain:
    project: kargoproject.KargoProject
    work: gitrepos.WorkingCopy
    steps: list[dict[str, Any]]

    def stage(self, name: str, sources: dict[str, Any]) -> None:
        spec = {
            "requestedFreight": [{"origin": ORIGIN, "sources": sources}],
            "promotionTemplate": {"spec": {"steps": self.steps}},
        }
        self.project.create("Stage", name, spec)

    def promoted(self, stage: str, freight: str) -> dict[str, Any]:
        code, err = self.project.promote(stage, freight)
        assert code == 0, err
        promo = self.project.ended(stage, freight)
        assert promo["status"]["phase"] == "Succeeded", promo["status"]
        return promo

    def verified_in(self, freight: str, stage: str) -> dict[str, Any]:
        def entry() -> dict[str, Any] | None:
            status = self.project.kargo("GET", "freights", freight).get("status") or {}
            found: dict[str, Any] | None = (status.get("verifiedIn") or {}).get(stage)
            return found

        return until(entry)


@pytest.fixture(scope="module")
def chain(gitops: scenario.GitOps) -> Iterator[Chain]:
    git = gitops.bed.git
    assert git is not None
    repo, work = gitops.repo({"app/config.yaml": "replicas: 1\n"})
    project = kargoproject.KargoProject(gitops, shard=SHARD)
    project.git_creds("git", repo.http_url, git.info.username, git.info.password)
    subscription = {"git": {"repoURL": repo.http_url, "branch": "main"}}
    project.create("Warehouse", "config", {"interval": "1h", "subscriptions": [subscription]})
    policies = [{"stage": s, "autoPromotionEnabled": True} for s in ("soaked", "newest", "matched")]
    project.create("ProjectConfig", project.name, {"promotionPolicies": policies})
    clone = {"repoURL": repo.http_url, "checkout": [{"branch": "main", "path": "./src"}]}
    c = Chain(project, work, [{"uses": "git-clone", "config": clone}])
    c.stage("dev", {"direct": True})
    yield c
    project.delete()


def _time(text: object) -> datetime.datetime:
    when = availability.parse_time(text)
    assert when is not None, text
    return when


def test_freight_waits_out_the_soak_time_upstream_then_is_auto_promoted(chain: Chain) -> None:
    project = chain.project
    first = until(lambda: next(iter(project.freights()), None))["metadata"]["name"]
    chain.promoted("dev", first)
    chain.verified_in(first, "dev")
    chain.stage("soaked", {"stages": ["dev"], "requiredSoakTime": f"{SOAK}s"})
    # Verified in dev, but not for long enough: refused, nothing created.
    code, err = project.promote("soaked", first)
    assert code == 1
    assert f"not verified for {SOAK}s in upstream Stage(s) dev" in err, err
    assert project.promotions("soaked") == []
    # Auto-promotion takes it once it soaked (and not before).
    promo = project.ended("soaked", first, within=SOAK + 90)
    assert promo["status"]["phase"] == "Succeeded", promo["status"]
    assert promo["metadata"]["annotations"]["kargo.akuity.io/create-actor"] == (
        "tidegate:auto-promotion"
    )
    since = project.kargo("GET", "freights", first)["status"]["currentlyIn"]["dev"]["since"]
    waited = _time(promo["metadata"]["creationTimestamp"]) - _time(since)
    assert waited.total_seconds() >= SOAK - 1, (since, promo["metadata"]["creationTimestamp"])
    until(lambda: project.current("soaked") == first)


def test_match_upstream_follows_what_the_upstream_stage_holds(chain: Chain) -> None:
    project = chain.project
    first = until(lambda: next(iter(project.freights()), None))["metadata"]["name"]
    chain.work.commit({"app/config.yaml": "replicas: 2\n"}, "two replicas")
    refresh = pipeline.tidegate(
        project.kubeconfig, "warehouse", "refresh", "config", f"--project={project.name}"
    )
    assert refresh.returncode == 0, refresh.stderr
    second = until(lambda: [f for f in project.freights() if f["metadata"]["name"] != first])[0]
    second_name = second["metadata"]["name"]
    # dev takes the newer Freight, then rolls back to the first: both are verified in dev,
    # dev holds the older one.
    chain.promoted("dev", second_name)
    chain.verified_in(second_name, "dev")
    chain.promoted("dev", first)
    # The Stage's history is written just after its Promotion's phase.
    until(lambda: project.current("dev") == first)
    chain.stage("newest", {"stages": ["dev"]})
    chain.stage(
        "matched",
        {"stages": ["dev"], "autoPromotionOptions": {"selectionPolicy": "MatchUpstream"}},
    )
    until(lambda: project.current("newest") == second_name and project.current("matched") == first)
    assert [p["spec"]["freight"] for p in project.promotions("matched")] == [first]
