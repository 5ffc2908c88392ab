"""The pure parts of promotion: Freight names, tag selection, availability, expressions,
file edits and the checks a Stage's template goes through."""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

import pytest

from tidegate import expr
from tidegate.promotion import (
    availability,
    builtin_steps,
    discovery,
    edits,
    expressions,
    promotions,
    steps,
)
from tidegate.promotion import freight as fr

NOW = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.UTC)


def test_freight_name_is_kargos_hash_and_order_free() -> None:
    image = fr.Image("reg/app", "1.0.1", "sha256:aa")
    commit = fr.Commit("https://git/x.git", "abc123")
    expected = hashlib.sha1(
        b"Warehouse/w:https://git/x:abc123|reg/app:sha256:aa", usedforsecurity=False
    ).hexdigest()
    assert fr.name("Warehouse", "w", [image, commit]) == expected
    assert fr.name("Warehouse", "w", [commit, image]) == expected
    tagged = fr.Commit("https://git/x.git", "abc123", tag="v1")
    assert fr.name("Warehouse", "w", [tagged]) != fr.name("Warehouse", "w", [commit])
    assert fr.name("Warehouse", "other", [image]) != fr.name("Warehouse", "w", [image])


def test_freight_manifest_and_aliases() -> None:
    arts = [fr.Image("reg/app", "1.0.1", "sha256:aa")]
    obj = fr.manifest(namespace="p", warehouse="w", artifacts=arts)
    assert obj["metadata"]["labels"][fr.ALIAS_LABEL] == obj["alias"]
    assert obj["images"] == [{"repoURL": "reg/app", "tag": "1.0.1", "digest": "sha256:aa"}]
    assert obj["origin"] == {"kind": "Warehouse", "name": "w"}
    again = fr.manifest(namespace="p", warehouse="w", artifacts=arts, taken={obj["alias"]})
    assert again["alias"] == f"{obj['alias']}-2"


TAGS = ["1.0.0", "1.0.1", "v1.2.0", "1.2", "2.0.0", "1.3.0-rc.1", "latest", "1.1.9"]


@pytest.mark.parametrize(
    ("sub", "expected"),
    [
        ({"constraint": "^1.0.0"}, ["v1.2.0", "1.1.9", "1.0.1", "1.0.0"]),
        ({}, ["2.0.0", "v1.2.0", "1.1.9", "1.0.1", "1.0.0"]),
        ({"strictSemvers": False, "constraint": "~1.2"}, ["v1.2.0", "1.2"]),
        ({"imageSelectionStrategy": "Lexical", "discoveryLimit": 2}, ["v1.2.0", "latest"]),
        ({"imageSelectionStrategy": "Digest", "constraint": "latest"}, ["latest"]),
        ({"allowTagsRegexes": [r"^1\."], "ignoreTagsRegexes": ["9$"]}, ["1.0.1", "1.0.0"]),
    ],
)
def test_tag_selection(sub: dict[str, Any], expected: list[str]) -> None:
    policy = discovery.image_policy({"repoURL": "reg/app", **sub}, "w")
    assert discovery.select_tags(policy, TAGS) == expected


@pytest.mark.parametrize(
    ("sub", "message"),
    [
        ({"constraint": ">=1.0 <<2"}, "constraint '>=1.0 <<2' does not parse"),
        ({"imageSelectionStrategy": "Newest"}, "imageSelectionStrategy 'Newest' is not one of"),
        ({"allowTagsRegexes": ["("]}, "allowTagsRegexes '(' is not a regular expression"),
        ({"discoveryLimit": 1000}, "discoveryLimit must be 1..100"),
        ({"imageSelectionStrategy": "Digest"}, "the Digest strategy needs constraint"),
    ],
)
def test_bad_subscriptions_name_the_field(sub: dict[str, Any], message: str) -> None:
    with pytest.raises(discovery.SubscriptionError, match="Warehouse p/w: ") as info:
        discovery.image_policy({"repoURL": "reg/app", **sub}, "Warehouse p/w: sub 1")
    assert message in str(info.value)


def _freight(name: str, created: str, status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "origin": {"kind": "Warehouse", "name": "w"},
        "status": status or {},
    }


def _stage(sources: dict[str, Any], history: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    return {
        "spec": {
            "requestedFreight": [{"origin": {"kind": "Warehouse", "name": "w"}, "sources": sources}]
        },
        "status": {
            "freightHistory": [
                {"id": h, "items": {"Warehouse/w": {"name": h, "origin": {"name": "w"}}}}
                for h in history
            ]
        },
    }


def test_availability_direct_upstream_soak_and_approval() -> None:
    old = _freight("a", "2026-12-06T10:00:00Z")
    verified = _freight(
        "b",
        "2026-12-06T11:00:00Z",
        {
            "verifiedIn": {"dev": {"verifiedAt": "2026-12-06T11:30:00Z"}},
            "currentlyIn": {"dev": {"since": "2026-12-06T11:20:00Z"}},
        },
    )
    approved = _freight("c", "2026-12-06T11:50:00Z", {"approvedFor": {"staging": {}}})
    every = [old, verified, approved]
    direct = _stage({"direct": True})
    assert [f["metadata"]["name"] for f in availability.available(every, "dev", direct, NOW)] == [
        "c",
        "b",
        "a",
    ]
    downstream = _stage({"stages": ["dev"]})
    names = [
        f["metadata"]["name"] for f in availability.available(every, "staging", downstream, NOW)
    ]
    assert names == ["c", "b"]
    soaked = _stage({"stages": ["dev"], "requiredSoakTime": "1h"})
    assert availability.why_unavailable(verified, "staging", availability.requests(soaked), NOW)
    short = _stage({"stages": ["dev"], "requiredSoakTime": "30m"})
    assert (
        availability.why_unavailable(verified, "staging", availability.requests(short), NOW) is None
    )
    reason = availability.why_unavailable(old, "staging", availability.requests(downstream), NOW)
    assert reason == "not verified in upstream Stage(s) dev, and not approved for staging"


def test_auto_promotion_takes_newer_freight_and_never_undoes_a_rollback() -> None:
    a, b = _freight("a", "2026-12-06T10:00:00Z"), _freight("b", "2026-12-06T11:00:00Z")
    first = availability.auto_pick([a, b], "dev", _stage({"direct": True}), NOW)
    assert first is not None and first["metadata"]["name"] == "b"
    assert availability.auto_pick([a, b], "dev", _stage({"direct": True}, ["b", "a"]), NOW) is None
    # Rolled back from b to a by hand: b was held before, so auto-promotion leaves a in place.
    assert availability.auto_pick([a, b], "dev", _stage({"direct": True}, ["a", "b"]), NOW) is None
    c = _freight("c", "2026-12-06T11:30:00Z")
    picked = availability.auto_pick([a, b, c], "dev", _stage({"direct": True}, ["a", "b"]), NOW)
    assert picked is not None and picked["metadata"]["name"] == "c"


FREIGHT = {
    "metadata": {"name": "f"},
    "images": [{"repoURL": "reg/app", "tag": "1.0.1", "digest": "sha256:aa"}],
    "commits": [{"repoURL": "https://git/x.git", "id": "abc"}],
}


def test_expressions_render_typed_values_and_text() -> None:
    functions = expressions.freight_functions([FREIGHT])
    env = {"ctx": {"stage": "dev"}, "vars": {"n": 3}, "outputs": {"commit": {"commit": "c1"}}}
    config = {
        "path": "./src/overlays/${{ ctx.stage }}",
        "tag": "${{ imageFrom('reg/app').tag }}",
        "count": "${{ vars.n + 1 }}",
        "rev": "${{ outputs.commit.commit }}",
        "sha": "${{ commitFrom('https://git/x').id }}",
        "plain": ["no expression", 7],
        "quoted": "${{ quote(vars.n) }}",
    }
    assert expressions.render(config, env, functions) == {
        "path": "./src/overlays/dev",
        "tag": "1.0.1",
        "count": 4,
        "rev": "c1",
        "sha": "abc",
        "plain": ["no expression", 7],
        "quoted": "3",
    }
    with pytest.raises(expr.ExprError, match="no image other/app in the Freight"):
        expressions.render("${{ imageFrom('other/app').tag }}", env, functions)


def test_vars_are_resolved_in_order() -> None:
    declared = [{"name": "a", "value": "x"}, {"name": "b", "value": "${{ vars.a + 'y' }}"}]
    assert expressions.resolve_vars(declared, {}, {}) == {"a": "x", "b": "xy"}


def test_templates_are_checked_before_anything_runs() -> None:
    stage = {
        "metadata": {"name": "dev", "namespace": "p"},
        "spec": {
            "promotionTemplate": {
                "spec": {
                    "steps": [{"uses": "git-clone", "as": "c"}, {"task": {"name": "t"}, "as": "x"}]
                }
            }
        },
    }
    task = {
        "spec": {
            "vars": [{"name": "v", "value": 1}],
            "steps": [{"uses": "git-commit", "as": "commit"}],
        }
    }
    out, _ = promotions.template_steps(stage, {"PromotionTask/t": task}, builtin_steps.STEPS)
    assert [s.get("as") for s in out] == ["c", "x::commit"]
    assert out[1]["vars"] == [{"name": "v", "value": 1}]
    with pytest.raises(
        promotions.PromotionError, match="uses PromotionTask/t, which does not exist"
    ):
        promotions.template_steps(stage, {}, builtin_steps.STEPS)
    bad = {
        "metadata": {"name": "dev", "namespace": "p"},
        "spec": {
            "promotionTemplate": {
                "spec": {
                    "steps": [{"uses": "git-clone", "config": {"x": "${{ ctx.stage | upper }}"}}]
                }
            }
        },
    }
    with pytest.raises(
        promotions.PromotionError, match=r"Stage p/dev: step 1 \(git-clone\) config"
    ):
        promotions.template_steps(bad, {}, builtin_steps.STEPS)


def test_promotion_names_sort_by_time() -> None:
    a = promotions.new_promotion(
        namespace="p", stage="dev", freight="abcdef123", steps=[], vars_=[], actor="me", now=NOW
    )
    later = NOW + datetime.timedelta(seconds=1)
    b = promotions.new_promotion(
        namespace="p", stage="dev", freight="abcdef123", steps=[], vars_=[], actor="me", now=later
    )
    assert a["metadata"]["name"].startswith("dev.") and a["metadata"]["name"].endswith(".abcdef1")
    assert a["metadata"]["name"] < b["metadata"]["name"]


def test_file_edits_keep_comments_and_refuse_bad_paths() -> None:
    text = "# env\nimages:\n- name: app # main\n  newTag: 1.0.0\n"
    out = edits.set_kustomize_images(text, [{"image": "app", "tag": "1.0.1"}], "k")
    assert "# env" in out and "# main" in out and "newTag: 1.0.1" in out
    values = "image:\n  tag: old  # keep\nlist: [a]\n"
    updated = edits.update_yaml(values, [{"key": "image.tag", "value": "new"}], "v")
    assert "tag: new  # keep" in updated
    with pytest.raises(edits.EditError, match="index 5 is past the list's end"):
        edits.update_yaml(values, [{"key": "list.5", "value": "x"}], "v")
    with pytest.raises(edits.EditError, match="is not valid YAML"):
        edits.update_yaml("a: [", [{"key": "a", "value": 1}], "v")


def test_receivers_check_signatures_and_match_subscriptions() -> None:
    import hashlib
    import hmac
    import json

    from tidegate.promotion import receivers

    github = receivers.Receiver("p", "gh", "github", "s3cret")
    body = json.dumps({"repository": {"clone_url": "https://github.com/acme/app.git"}}).encode()
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    repos = receivers.repositories(github, {"X-Hub-Signature-256": good}, body)
    assert repos == ["https://github.com/acme/app.git"]
    with pytest.raises(receivers.ReceiverError, match="X-Hub-Signature-256") as info:
        receivers.repositories(github, {"X-Hub-Signature-256": "sha256=00"}, body)
    assert info.value.status == 401 and "s3cret" not in str(info.value)
    gitlab = receivers.Receiver("p", "gl", "gitlab", "tok")
    with pytest.raises(receivers.ReceiverError, match="X-Gitlab-Token"):
        receivers.repositories(gitlab, {"X-Gitlab-Token": "nope"}, b"{}")
    hub = receivers.Receiver("p", "hub", "dockerhub", "x")
    hub_repos = receivers.repositories(hub, {}, b'{"repository": {"repo_name": "acme/web"}}')
    warehouse = {
        "spec": {
            "subscriptions": [
                {"image": {"repoURL": "docker.io/acme/web"}},
                {"git": {"repoURL": "https://github.com/acme/app"}},
            ]
        }
    }
    assert receivers.subscribed(warehouse, hub_repos)
    assert receivers.subscribed(warehouse, repos)
    assert not receivers.subscribed(warehouse, ["https://github.com/acme/other"])
    generic = receivers.Receiver("p", "ci", "generic", "x")
    assert receivers.repositories(generic, {}, b"") is None  # every warehouse
    assert github.path != receivers.Receiver("p", "gh", "github", "other").path
    assert "s3cret" not in repr(github)


CHART_YAML = """\
apiVersion: v2
name: umbrella
version: 0.1.0
dependencies:
  # the app, from the team's registry
  - name: app
    repository: oci://reg.example/charts/
    version: 1.0.0
  - name: db
    repository: https://charts.example
    version: 2.0.0
"""


def test_chart_dependencies_updated_in_place_keeping_comments() -> None:
    charts = [{"repository": "oci://reg.example/charts", "name": "app", "version": "1.1.0"}]
    text, changes = edits.update_chart_dependencies(CHART_YAML, charts, "Chart.yaml")
    assert changes == ["app: 1.0.0 -> 1.1.0"]
    assert "# the app, from the team's registry" in text
    assert "version: 1.1.0" in text and "version: 2.0.0" in text
    same, none = edits.update_chart_dependencies(text, charts, "Chart.yaml")
    assert none == [] and same == text


@pytest.mark.parametrize(
    ("chart", "message"),
    [
        ({"repository": "https://charts.example", "name": "app", "version": "1"}, "no dependency"),
        ({"repository": "oci://reg.example/charts", "name": "app"}, "needs repository, name"),
    ],
)
def test_chart_dependency_errors_name_the_chart(chart: dict[str, str], message: str) -> None:
    with pytest.raises(edits.EditError, match=message):
        edits.update_chart_dependencies(CHART_YAML, [chart], "Chart.yaml")


def test_auto_promotion_does_not_retry_freight_whose_last_promotion_failed() -> None:
    a, b = _freight("a", "2026-12-06T10:00:00Z"), _freight("b", "2026-12-06T11:00:00Z")
    stage = _stage({"direct": True}, ["a"])
    stage["status"]["lastPromotion"] = {"freight": {"name": "b"}, "status": {"phase": "Failed"}}
    assert availability.auto_pick([a, b], "dev", stage, NOW) is None
    c = _freight("c", "2026-12-06T11:30:00Z")  # a newer build is promoted
    picked = availability.auto_pick([a, b, c], "dev", stage, NOW)
    assert picked is not None and picked["metadata"]["name"] == "c"
    stage["status"]["lastPromotion"]["status"]["phase"] = "Succeeded"
    assert availability.last_failed(stage) == set()


def _app(**status: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": "argocd", "name": "shop-dev"}, "status": status}


def test_argocd_update_judges_the_app_by_the_revision_its_sync_applied() -> None:
    op = {"phase": "Succeeded", "syncResult": {"revision": "abc123"}}
    healthy = {"sync": {"status": "Synced", "revision": "abc123"}, "health": {"status": "Healthy"}}
    assert steps.judge_app(_app(operationState=op, **healthy), "abc123") == ("done", "")
    # Our sync applied, but the status beside it is not yet from a refresh at that revision.
    stale = {**healthy, "sync": {"status": "Synced", "revision": "0ld"}}
    assert steps.judge_app(_app(operationState=op, **stale), "abc123")[0] == "waiting"
    pending = {**_app(operationState=op, **healthy), "operation": {"sync": {}}}
    assert steps.judge_app(pending, "abc123")[0] == "waiting"


def test_argocd_update_fails_on_a_failed_sync_or_a_degraded_app() -> None:
    failed = {"phase": "Failed", "message": "one or more objects failed to apply"}
    verdict, why = steps.judge_app(_app(operationState=failed), "abc123")
    assert verdict == "failed" and "sync of Application argocd/shop-dev failed" in why
    op = {"phase": "Succeeded", "syncResult": {"revision": "abc123"}}
    degraded = _app(
        operationState=op,
        sync={"status": "Synced", "revision": "abc123"},
        health={"status": "Degraded"},
        resources=[
            {
                "kind": "Deployment",
                "name": "web",
                "health": {"status": "Degraded", "message": "exceeded its progress deadline"},
            }
        ],
    )
    verdict, why = steps.judge_app(degraded, "abc123")
    assert verdict == "failed"
    assert why == (
        "Application argocd/shop-dev is Degraded at abc123: "
        "Deployment/web: exceeded its progress deadline"
    )
