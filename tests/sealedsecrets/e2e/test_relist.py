"""The controller's start on ``dev`` with SealedSecrets already there: the batch path (one list of
the Secrets, reconciles through the adaptive gate, RSA in the decryption threads).

A batch mixes a new Secret per SealedSecret, a managed Secret holding old data (adopted) and an
unmanaged one (refused, untouched): each SealedSecret gets its own outcome, none leaks into
another, and no plaintext reaches the log.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.sealedsecrets.e2e.conftest import SS_PATH, make_secret, plain

from tidegate.sealedsecrets import keys, sealing
from tidegate.testenv import handle, procs, scenario, wait

COUNT = 40


@pytest.fixture
def namespaces(testbed_handle: handle.TestBed) -> Iterator[tuple[str, str]]:
    token = secrets.token_hex(3)
    key_ns, app_ns = f"ssk-{token}", f"ssa-{token}"
    with testbed_handle.admin_client("dev") as c:
        for ns in (key_ns, app_ns):
            c.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()
    try:
        yield key_ns, app_ns
    finally:
        with testbed_handle.admin_client("dev") as c:
            for ns in (key_ns, app_ns):
                c.delete(f"/api/v1/namespaces/{ns}")


def _secret_object(ns: str, name: str, annotations: dict[str, str], **data: str) -> dict[str, Any]:
    obj = make_secret(ns, name, **data)
    obj["metadata"]["annotations"] = annotations
    return obj


async def test_a_batch_present_at_start_is_unsealed_each_with_its_own_outcome(
    testbed_handle: handle.TestBed, namespaces: tuple[str, str], tmp_path: Path
) -> None:
    key_ns, ns = namespaces
    kubeconfig = str(testbed_handle.clusters["dev"].kubeconfig)
    key = keys.generate_private_key(2048)
    public = key.public_key()
    values = {f"s{i}": f"v-{secrets.token_hex(8)}" for i in range(COUNT)}
    with testbed_handle.admin_client("dev") as c:
        key_secret = keys.key_secret(key, keys.self_signed_certificate(key), namespace=key_ns)
        c.post(f"/api/v1/namespaces/{key_ns}/secrets", json=key_secret).raise_for_status()
        # s0's Secret is someone else's: refused. s1's is managed and holds old data: adopted.
        c.post(
            f"/api/v1/namespaces/{ns}/secrets", json=make_secret(ns, "s0", password="theirs")
        ).raise_for_status()
        managed = {"sealedsecrets.bitnami.com/managed": "true"}
        c.post(
            f"/api/v1/namespaces/{ns}/secrets",
            json=_secret_object(ns, "s1", managed, password="old"),
        ).raise_for_status()
        for name, value in values.items():
            sealed = sealing.seal_secret(make_secret(ns, name, password=value), public)
            c.post(SS_PATH.format(ns=ns), json=sealed).raise_for_status()

    log = tmp_path / "controller.log"
    proc = scenario.ControllerProcess(testbed_handle, ns, log=log, sealed_secrets=True)
    proc.pid = procs.spawn(
        [sys.executable, "-m", "tidegate", "sealed-secrets-controller",
         f"--kubeconfig={kubeconfig}", f"--controller-namespace={key_ns}", f"--namespace={ns}",
         "--key-renew-days=0", "--logformat=text"],
        log=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        proc.wait_log("sealed secrets controller ready", timeout=120)

        def written() -> dict[str, dict[str, Any]] | None:
            """The Secrets, once every one this controller can write holds its value and it
            has refused s0 (only this controller has the key: another one on the shared bed
            could at most write statuses, so the outcome is read from Secrets and the log)."""
            with testbed_handle.admin_client("dev") as c:
                resp = c.get(f"/api/v1/namespaces/{ns}/secrets")
                resp.raise_for_status()
            live = {s["metadata"]["name"]: s for s in resp.json()["items"]}
            done = all(
                name in live and plain(live[name]) == {"password": value}
                for name, value in values.items()
                if name != "s0"
            )
            return live if done and "s0: Secret 's0' already exists" in log.read_text() else None

        live = await wait.eventually(written, within=120)
    finally:
        proc.stop()

    assert plain(live["s0"]) == {"password": "theirs"}
    assert not live["s0"]["metadata"].get("ownerReferences")
    for name in values:
        if name != "s0":
            assert live[name]["metadata"]["ownerReferences"][0]["kind"] == "SealedSecret"
    failures = [line for line in log.read_text().splitlines() if "ErrUnsealFailed" in line]
    assert failures and all(f"SealedSecret {ns}/s0:" in line for line in failures), failures
    created = sum(f"Secret {ns}/s{i} created" in log.read_text() for i in range(COUNT))
    assert created == COUNT - 2  # s0 refused, s1 adopted (managed, no owner yet)
    assert f"Secret {ns}/s1 adopted" in log.read_text()
    text = log.read_text()
    assert all(value not in text for value in values.values())
