"""``--validate`` and ``--re-encrypt`` reach the controller through the API server's service
proxy, as kubeseal does: the module's standalone Tidegate controller serves its HTTP API on this
machine's non-loopback address, behind a selector-less Service ``sealed-secrets-controller`` in
the key namespace whose Endpoints point at it (Endpoints may not be loopback addresses). Both
``tidegate seal`` and the real ``kubeseal`` validate and re-encrypt through it.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from tests.sealedsecrets.e2e.conftest import Bed, make_secret, tidegate

from tidegate.sealedsecrets import crypto, keys, unsealing
from tidegate.testenv import binaries, wait

pytestmark = pytest.mark.e2e
SERVICE = "sealed-secrets-controller"


def _host_ip() -> str:
    """This machine's address on its default route (what the API server can dial)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("10.255.255.255", 1))  # no packet is sent: this only picks a route
        return str(sock.getsockname()[0])


LISTEN_HOST = _host_ip()


@pytest.fixture(scope="module")
def proxied(bed: Bed) -> Iterator[Bed]:
    """The controller's Service in the key namespace on dev, its Endpoints at this machine.

    The API server proxies to an endpoint only when it names a Pod whose status carries that
    address; a Pod bound to a bare Node (no kubelet, not kwok's) keeps the status written here.
    """
    ns, node = bed.key_ns, f"{bed.key_ns}-proxy"
    pod = {
        "metadata": {"name": SERVICE, "namespace": ns},
        "spec": {
            "nodeName": node,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{"name": "controller", "image": "tidegate.invalid/controller"}],
        },
    }
    service = {
        "metadata": {"name": SERVICE, "namespace": ns},
        "spec": {"ports": [{"port": 8080, "targetPort": bed.port, "protocol": "TCP"}]},
    }
    address = {"ip": LISTEN_HOST, "targetRef": {"kind": "Pod", "name": SERVICE, "namespace": ns}}
    endpoints = {
        "metadata": {"name": SERVICE, "namespace": ns},
        "subsets": [{"addresses": [address], "ports": [{"port": bed.port}]}],
    }
    status = {"status": {"phase": "Running", "podIP": LISTEN_HOST, "podIPs": [{"ip": LISTEN_HOST}]}}
    with bed.client() as c:
        c.post("/api/v1/nodes", json={"metadata": {"name": node}}).raise_for_status()
        try:
            c.post(f"/api/v1/namespaces/{ns}/pods", json=pod).raise_for_status()
            c.patch(
                f"/api/v1/namespaces/{ns}/pods/{SERVICE}/status",
                json=status,
                headers={"Content-Type": "application/merge-patch+json"},
            ).raise_for_status()
            c.post(f"/api/v1/namespaces/{ns}/services", json=service).raise_for_status()
            c.post(f"/api/v1/namespaces/{ns}/endpoints", json=endpoints).raise_for_status()
            yield bed
        finally:
            c.delete(f"/api/v1/namespaces/{ns}/pods/{SERVICE}", params={"gracePeriodSeconds": "0"})
            c.delete(f"/api/v1/nodes/{node}")


def kubeseal() -> Path:
    found = binaries.find("kubeseal")
    if found is None:
        pytest.fail("kubeseal is not built: ./dev test builds it (tidegate testenv build)")
    return found


def run_kubeseal(bed: Bed, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(kubeseal()), f"--kubeconfig={bed.kubeconfig}",
         f"--controller-namespace={bed.key_ns}", f"--controller-name={SERVICE}", *args],
        input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def seal_cmd(bed: Bed, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return tidegate(
        "seal", f"--kubeconfig={bed.kubeconfig}", f"--controller-namespace={bed.key_ns}",
        *args, stdin=stdin,
    )  # fmt: skip


def test_validate_tidegate_and_kubeseal(proxied: Bed) -> None:
    bed = proxied
    sealed = bed.seal(make_secret(bed.app_ns, "checked", password="v4lid"))
    forged = json.loads(json.dumps(sealed))
    forged["metadata"]["name"] = "elsewhere"  # strict scope: another name cannot open it

    ok = seal_cmd(bed, "--validate", stdin=json.dumps(sealed))
    assert (ok.returncode, ok.stderr) == (0, "")
    bad = seal_cmd(bed, "--validate", stdin=json.dumps(forged))
    assert bad.returncode == 1
    assert "unable to decrypt sealed secret" in bad.stderr

    # The real kubeseal accepts Tidegate's output through the same Service, and refuses the forgery.
    accepted = run_kubeseal(bed, "--validate", stdin=json.dumps(sealed))
    assert accepted.returncode == 0, accepted.stderr
    refused = run_kubeseal(bed, "--validate", stdin=json.dumps(forged))
    assert refused.returncode != 0
    assert "unable to decrypt sealed secret" in refused.stderr
    assert "v4lid" not in bed.log.read_text()


def _values(sealed: dict[str, Any], key: rsa.RSAPrivateKey) -> dict[str, bytes]:
    return unsealing.decrypt_values(sealed, [key])


async def test_re_encrypt_with_the_newest_key(proxied: Bed) -> None:
    bed = proxied
    sealed = bed.seal(make_secret(bed.app_ns, "rotated", password="r0tate"))
    # A new key, made by hand (manual rotation); the controller picks it up from its watch.
    private = keys.generate_private_key()
    secret = keys.key_secret(private, keys.self_signed_certificate(private), namespace=bed.key_ns)
    with bed.client() as c:
        c.post(f"/api/v1/namespaces/{bed.key_ns}/secrets", json=secret).raise_for_status()

    def rotated(tool: str) -> dict[str, Any] | None:
        run = seal_cmd if tool == "tidegate" else run_kubeseal
        done = run(bed, "--re-encrypt", "-o", "json", stdin=json.dumps(sealed))
        assert done.returncode == 0, done.stderr
        out: dict[str, Any] = json.loads(done.stdout)
        try:
            _values(out, private)
        except crypto.UnsealError:
            return None  # the controller has not seen the new key yet
        return out

    for tool in ("tidegate", "kubeseal"):
        out = await wait.eventually(lambda tool=tool: rotated(tool), within=60)
        assert _values(out, private) == {"password": b"r0tate"}
        assert (
            out["spec"]["encryptedData"]["password"] != sealed["spec"]["encryptedData"]["password"]
        )
        meta = out["spec"]["template"]["metadata"]  # kubeseal adds creationTimestamp: null
        assert {k: v for k, v in meta.items() if v is not None} == sealed["spec"]["template"][
            "metadata"
        ]
        assert "r0tate" not in json.dumps(out)
    with pytest.raises(crypto.UnsealError):
        _values(sealed, private)  # the input was sealed with the old key
    assert base64.b64encode(b"r0tate").decode() not in bed.log.read_text()
