"""SealedSecret -> Secret: template, legacy data, ownership, adoption, status."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tidegate.appset import gotemplate
from tidegate.sealedsecrets import crypto, names, sealing, unsealing

_TEMPLATES = gotemplate.Templates(missingkey=gotemplate.MissingKey.ERROR)


def render(source: str, values: Mapping[str, str]) -> str:
    return _TEMPLATES.render(source, dict(values))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(**extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "db",
            "namespace": "ns1",
            "labels": {"app": "db"},
            "annotations": {
                "note": "x",
                names.ANNOTATION_LAST_APPLIED: "{}",
            },
            "uid": "old-uid",
            "resourceVersion": "7",
            "ownerReferences": [{"kind": "X", "name": "y", "uid": "z"}],
        },
        "type": "kubernetes.io/basic-auth",
        "data": {"username": b64("admin")},
        "stringData": {"password": "hunter2"},
    }
    obj.update(extra)
    return obj


def sealed_for(key: rsa.RSAPrivateKey, **kw: Any) -> dict[str, Any]:
    out = sealing.seal_secret(secret(), key.public_key(), **kw)
    out["metadata"].update({"uid": "ss-uid", "generation": 2})
    return out


def values(s: Mapping[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}


def test_seal_then_unseal(key: rsa.RSAPrivateKey) -> None:
    sealed = sealed_for(key)
    template = sealed["spec"]["template"]
    assert template["metadata"] == {
        "name": "db",
        "namespace": "ns1",
        "labels": {"app": "db"},
        "annotations": {"note": "x"},
    }
    assert "hunter2" not in json.dumps(sealed)
    out = unsealing.unseal(sealed, [key])
    assert values(out) == {"username": "admin", "password": "hunter2"}
    assert out["type"] == "kubernetes.io/basic-auth"
    assert out["metadata"]["labels"] == {"app": "db"}
    assert out["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "name": "db",
            "uid": "ss-uid",
            "controller": True,
        }
    ]


@pytest.mark.parametrize("scope", list(crypto.Scope))
def test_scopes_round_trip_and_bind(key: rsa.RSAPrivateKey, scope: crypto.Scope) -> None:
    sealed = sealed_for(key, scope=scope)
    assert crypto.scope_of(sealed["metadata"].get("annotations")) is scope
    moved = json.loads(json.dumps(sealed))
    moved["metadata"]["name"] = "other"
    if scope is crypto.Scope.STRICT:
        with pytest.raises(crypto.UnsealError, match=r"encryptedData\.password: no key could"):
            unsealing.unseal(moved, [key])
    else:
        assert values(unsealing.unseal(moved, [key]))["password"] == "hunter2"
    moved["metadata"]["namespace"] = "ns2"
    if scope is crypto.Scope.CLUSTER_WIDE:
        assert values(unsealing.unseal(moved, [key]))["password"] == "hunter2"
    else:
        with pytest.raises(crypto.UnsealError, match="no key could decrypt"):
            unsealing.unseal(moved, [key])


def test_template_data_and_immutable(key: rsa.RSAPrivateKey) -> None:
    sealed = sealed_for(key)
    sealed["spec"]["template"]["data"] = {
        "url": 'postgres://{{ .username }}:{{ index . "password" }}@db:5432'
    }
    sealed["spec"]["template"]["immutable"] = True
    out = unsealing.unseal(sealed, [key], render=render)
    assert values(out)["url"] == "postgres://admin:hunter2@db:5432"
    assert out["immutable"] is True


def test_template_missing_key_is_an_error_without_values(key: rsa.RSAPrivateKey) -> None:
    sealed = sealed_for(key)
    sealed["spec"]["template"]["data"] = {"url": "{{ .nothere }}"}
    with pytest.raises(crypto.UnsealError, match=r"spec\.template\.data\.url") as info:
        unsealing.unseal(sealed, [key], render=render)
    assert "hunter2" not in str(info.value)


def test_legacy_spec_data(key: rsa.RSAPrivateKey) -> None:
    inner = {"apiVersion": "v1", "kind": "Secret", "data": {"token": b64("t0ken")}}
    blob = crypto.seal_value(key.public_key(), b"ns1/db", json.dumps(inner).encode())
    sealed = {
        "apiVersion": names.API_VERSION,
        "kind": names.KIND,
        "metadata": {"name": "db", "namespace": "ns1", "uid": "u"},
        "spec": {"data": blob},
    }
    assert values(unsealing.unseal(sealed, [key])) == {"token": "t0ken"}


def test_skip_owner_references(key: rsa.RSAPrivateKey) -> None:
    sealed = sealed_for(key)
    sealed["metadata"]["annotations"] = {names.ANNOTATION_SKIP_OWNER_REFERENCES: "true"}
    out = unsealing.unseal(sealed, [key])
    assert "ownerReferences" not in out["metadata"]
    assert out["metadata"]["annotations"][names.ANNOTATION_MANAGED] == "true"
    # ... so that the next update of the same Secret is not refused.
    assert unsealing.plan(sealed, out, out).action == "unchanged"


def test_plan_create_update_adopt_refuse(key: rsa.RSAPrivateKey) -> None:
    sealed = sealed_for(key)
    desired = unsealing.unseal(sealed, [key])
    assert unsealing.plan(sealed, desired, None).action == "create"
    current = {**desired, "metadata": {**desired["metadata"], "resourceVersion": "9"}}
    assert unsealing.plan(sealed, desired, current).action == "unchanged"
    stale = {**current, "data": {"username": b64("old")}}
    updated = unsealing.plan(sealed, desired, stale)
    assert updated.action == "update"
    assert updated.secret["metadata"]["resourceVersion"] == "9"
    assert values(updated.secret) == values(desired)
    foreign: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {},
    }
    with pytest.raises(crypto.UnsealError, match="already exists and is not managed") as info:
        unsealing.plan(sealed, desired, foreign)
    assert "hunter2" not in str(info.value)
    foreign["metadata"]["annotations"] = {names.ANNOTATION_MANAGED: "true"}
    adopted = unsealing.plan(sealed, desired, foreign)
    assert adopted.action == "adopt"
    assert adopted.secret["metadata"]["ownerReferences"][0]["uid"] == "ss-uid"


def test_patch_annotation_merges(key: rsa.RSAPrivateKey) -> None:
    sealed = sealed_for(key)
    sealed["metadata"]["annotations"] = {names.ANNOTATION_PATCH: "true"}
    desired = unsealing.unseal(sealed, [key])
    current: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "labels": {"keep": "me"}, "ownerReferences": []},
        "data": {"extra": b64("e")},
    }
    current["metadata"]["ownerReferences"] = desired["metadata"]["ownerReferences"]
    out = unsealing.plan(sealed, desired, current).secret
    assert values(out) == {"extra": "e", "username": "admin", "password": "hunter2"}
    assert out["metadata"]["labels"] == {"keep": "me", "app": "db"}


def test_status_patch() -> None:
    sealed: dict[str, Any] = {"metadata": {"generation": 3}}
    patch = unsealing.status_patch(
        sealed, ok=False, reason="ErrUnsealFailed", message="m", now="t1"
    )
    assert patch == {
        "status": {
            "observedGeneration": 3,
            "conditions": [
                {
                    "type": "Synced",
                    "status": "False",
                    "lastUpdateTime": "t1",
                    "lastTransitionTime": "t1",
                    "reason": "ErrUnsealFailed",
                    "message": "m",
                }
            ],
        }
    }
    sealed["status"] = patch["status"]
    assert (
        unsealing.status_patch(sealed, ok=False, reason="ErrUnsealFailed", message="m", now="t2")
        is None
    )
    again = unsealing.status_patch(
        sealed, ok=False, reason="ErrUnsealFailed", message="n", now="t2"
    )
    assert again is not None
    assert again["status"]["conditions"][0]["lastTransitionTime"] == "t1"
    ok = unsealing.status_patch(sealed, ok=True, reason="Unsealed", message="", now="t3")
    assert ok is not None and ok["status"]["conditions"][0]["lastTransitionTime"] == "t3"


def test_merge_into_keeps_scope(key: rsa.RSAPrivateKey) -> None:
    sealed = sealed_for(key, scope=crypto.Scope.NAMESPACE_WIDE)
    more = {"apiVersion": "v1", "kind": "Secret", "stringData": {"token": "abc", "password": "new"}}
    merged = sealing.merge_into(sealed, more, key.public_key())
    assert values(unsealing.unseal(merged, [key])) == {
        "username": "admin",
        "password": "new",
        "token": "abc",
    }


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}, "not a v1 Secret"),
        ({"kind": "Secret", "metadata": {"name": "a", "namespace": "n"}}, "has no data"),
        ({"kind": "Secret", "metadata": {"name": "a"}, "data": {"k": "dg=="}}, "namespace"),
        ({"kind": "Secret", "metadata": {"namespace": "n"}, "data": {"k": "dg=="}}, "name"),
        (
            {"kind": "Secret", "metadata": {"name": "a", "namespace": "n"}, "data": {"k": "%%"}},
            "data.k is not valid base64",
        ),
    ],
)
def test_seal_bad_input(key: rsa.RSAPrivateKey, obj: dict[str, Any], message: str) -> None:
    with pytest.raises(crypto.SealError, match=message):
        sealing.seal_secret(obj, key.public_key())


def test_default_namespace_fills_in(key: rsa.RSAPrivateKey) -> None:
    obj = {"kind": "Secret", "metadata": {"name": "a"}, "stringData": {"k": "v"}}
    out = sealing.seal_secret(obj, key.public_key(), default_namespace="team")
    assert out["metadata"] == {"name": "a", "namespace": "team"}
    assert values(unsealing.unseal(out, [key])) == {"k": "v"}
