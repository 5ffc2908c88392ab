"""End to end on the test bed's ``dev`` cluster: the real CLI seals, the real controller unseals."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.sealedsecrets.e2e.conftest import SS_PATH, Bed, make_secret, plain, synced, tidegate

from tidegate.sealedsecrets import keys
from tidegate.testenv import binaries, wait


async def test_seal_with_fetched_cert_then_controller_writes_the_secret(bed: Bed) -> None:
    keys_listed = bed.get(
        f"/api/v1/namespaces/{bed.key_ns}/secrets"
        "?labelSelector=sealedsecrets.bitnami.com/sealed-secrets-key%3Dactive"
    )
    assert keys_listed is not None and len(keys_listed["items"]) == 1
    key_secret = keys_listed["items"][0]
    assert key_secret["type"] == "kubernetes.io/tls"
    assert key_secret["metadata"]["name"].startswith("sealed-secrets-key")

    fetched = tidegate(
        "seal",
        f"--kubeconfig={bed.kubeconfig}",
        f"--controller-namespace={bed.key_ns}",
        "--fetch-cert",
    )
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE" not in fetched.stdout + fetched.stderr

    sealed = bed.seal(make_secret(bed.app_ns, "db", password="hunter2", user="admin"))
    assert "hunter2" not in json.dumps(sealed)
    sealed["spec"]["template"]["data"] = {"dsn": "{{ .user }}:{{ .password }}@db"}
    bed.apply(sealed)

    secret = await wait.eventually(lambda: bed.secret("db"), within=60)
    assert plain(secret) == {"password": "hunter2", "user": "admin", "dsn": "admin:hunter2@db"}
    assert secret["metadata"]["labels"] == {"team": "a"}
    owner = secret["metadata"]["ownerReferences"][0]
    live = bed.sealed("db")
    assert live is not None
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "SealedSecret",
        "db",
        live["metadata"]["uid"],
    )
    cond = await wait.eventually(lambda: synced(bed.sealed("db")), within=30)
    assert cond["status"] == "True"
    assert "hunter2" not in bed.log.read_text()


async def test_tampered_ciphertext_sets_the_condition_and_keeps_the_secret(bed: Bed) -> None:
    sealed = bed.seal(make_secret(bed.app_ns, "api", token="t-one"))
    bed.apply(sealed)
    first = await wait.eventually(lambda: bed.secret("api"), within=60)
    assert plain(first) == {"token": "t-one"}

    blob = bytearray(base64.b64decode(sealed["spec"]["encryptedData"]["token"]))
    blob[-1] ^= 0x01
    sealed["spec"]["encryptedData"]["token"] = base64.b64encode(bytes(blob)).decode()
    bed.apply(sealed)

    def failed() -> dict[str, Any] | None:
        cond = synced(bed.sealed("api"))
        return cond if cond and cond["status"] == "False" else None

    cond = await wait.eventually(failed, within=60)
    assert cond["reason"] == "ErrUnsealFailed"
    assert "encryptedData.token" in cond["message"] and "corrupt" in cond["message"]
    after = bed.secret("api")
    assert after is not None and plain(after) == {"token": "t-one"}
    assert after["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


async def test_sealed_for_another_clusters_key_is_refused(bed: Bed, tmp_path: Path) -> None:
    other = keys.generate_private_key(2048)  # stands for prod's key
    cert = tmp_path / "prod.pem"
    cert.write_bytes(keys.certificate_pem(keys.self_signed_certificate(other)))
    sealed = bed.seal(make_secret(bed.app_ns, "prod-only", token="p"), f"--cert={cert}")
    bed.apply(sealed)

    def failed() -> dict[str, Any] | None:
        cond = synced(bed.sealed("prod-only"))
        return cond if cond and cond["status"] == "False" else None

    cond = await wait.eventually(failed, within=60)
    assert "no key could decrypt" in cond["message"]
    assert bed.secret("prod-only") is None


async def test_existing_unmanaged_secret_is_not_overwritten(bed: Bed) -> None:
    with bed.client() as c:
        c.post(
            f"/api/v1/namespaces/{bed.app_ns}/secrets",
            json={"metadata": {"name": "mine"}, "stringData": {"k": "original"}},
        ).raise_for_status()
    bed.apply(bed.seal(make_secret(bed.app_ns, "mine", k="sealed")))

    def failed() -> dict[str, Any] | None:
        cond = synced(bed.sealed("mine"))
        return cond if cond and cond["status"] == "False" else None

    cond = await wait.eventually(failed, within=60)
    assert "not managed by SealedSecret" in cond["message"]
    kept = bed.secret("mine")
    assert kept is not None and plain(kept) == {"k": "original"}


async def test_deleting_the_sealedsecret_deletes_its_secret(bed: Bed) -> None:
    bed.apply(bed.seal(make_secret(bed.app_ns, "short-lived", k="v")))
    await wait.eventually(lambda: bed.secret("short-lived"), within=60)
    with bed.client() as c:
        c.delete(SS_PATH.format(ns=bed.app_ns) + "/short-lived").raise_for_status()
    await wait.eventually(lambda: bed.secret("short-lived") is None, within=60)


def kubeseal_via_http(bed: Bed, kubeseal: Path) -> dict[str, Any]:
    """Seal with the real kubeseal and the served certificate; check /v1/verify both ways."""
    base = f"http://127.0.0.1:{bed.port}"
    done = subprocess.run(
        [str(kubeseal), "--cert", f"{base}/v1/cert.pem", "-o", "json"],
        input=json.dumps(make_secret(bed.app_ns, "from-kubeseal", token="k")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "KUBECONFIG": bed.kubeconfig},
    )
    assert done.returncode == 0, done.stderr
    sealed: dict[str, Any] = json.loads(done.stdout)
    with httpx.Client() as http:
        assert http.post(f"{base}/v1/verify", content=done.stdout).status_code == 200
        forged = json.loads(done.stdout)
        forged["metadata"]["name"] = "elsewhere"
        assert http.post(f"{base}/v1/verify", json=forged).status_code == 409
        assert http.get(f"{base}/healthz").text == "ok"
    return sealed


async def test_real_kubeseal_seals_with_the_served_certificate(bed: Bed) -> None:
    kubeseal = binaries.find("kubeseal")
    if kubeseal is None:
        pytest.fail("kubeseal is not built: ./dev test builds it (tidegate testenv build)")
    bed.apply(kubeseal_via_http(bed, kubeseal))
    secret = await wait.eventually(lambda: bed.secret("from-kubeseal"), within=60)
    assert plain(secret) == {"token": "k"}
