"""Bad SealedSecrets on the real bed, one row each: the ``Synced`` condition says why (reason
and a precise message naming the SealedSecret and the field), the existing Secret of the same
name is left exactly as it was (same resourceVersion, same values) even though it is marked
``managed`` and would otherwise be replaced, and no plaintext reaches the condition or the
controller's log."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.sealedsecrets.e2e.conftest import Bed, make_secret, plain, synced

from tidegate.sealedsecrets import keys, names
from tidegate.testenv import wait

pytestmark = pytest.mark.e2e
PLAIN = "b4d-input-pw"
Sealed = dict[str, Any]


def truncated(sealed: Sealed, _bed: Bed, _tmp: Path) -> Sealed:
    value = sealed["spec"]["encryptedData"]["password"]
    sealed["spec"]["encryptedData"]["password"] = value[:200]  # still base64, 150 bytes
    return sealed


def wrong_scope(sealed: Sealed, _bed: Bed, _tmp: Path) -> Sealed:
    sealed["metadata"]["annotations"] = {names.ANNOTATION_NAMESPACE_WIDE: "true"}
    return sealed  # sealed strict ("ns/name"), declared namespace-wide ("ns")


def not_base64(sealed: Sealed, _bed: Bed, _tmp: Path) -> Sealed:
    sealed["spec"]["encryptedData"]["password"] = "%%% not base64 %%%"
    return sealed


def missing_template_key(sealed: Sealed, _bed: Bed, _tmp: Path) -> Sealed:
    sealed["spec"]["template"]["data"] = {"dsn": "postgres://app:{{ .passwd }}@db"}
    return sealed


def unchanged(sealed: Sealed, _bed: Bed, _tmp: Path) -> Sealed:
    return sealed


# (row id, how the SealedSecret is spoiled, sealed with another cluster's key, sealed for
#  another name, the existing Secret is managed, reason, message fragment)
ROWS: list[tuple[str, Callable[[Sealed, Bed, Path], Sealed], bool, bool, bool, str, str]] = [
    ("truncated", truncated, False, False, True, "ErrUnsealFailed",
     "encryptedData.password: ciphertext is truncated"),
    ("wrong-scope", wrong_scope, False, False, True, "ErrUnsealFailed",
     "encryptedData.password: no key could decrypt the data"),
    ("other-cluster", unchanged, True, False, True, "ErrUnsealFailed",
     "encryptedData.password: no key could decrypt the data"),
    ("other-name", unchanged, False, True, True, "ErrUnsealFailed",
     "encryptedData.password: no key could decrypt the data"),
    ("not-base64", not_base64, False, False, True, "ErrUnsealFailed",
     "encryptedData.password: ciphertext is not valid base64"),
    ("missing-key", missing_template_key, False, False, True, "ErrUnsealFailed",
     "spec.template.data.dsn: template 'postgres://app:{{ .passwd }}@db': executing: map "
     "has no entry for key \"passwd\""),
    ("unmanaged", unchanged, False, False, False, "ErrUnsealFailed",
     "already exists and is not managed by SealedSecret"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "spoil", "other_key", "other_name", "managed", "reason", "message"),
    ROWS,
    ids=[r[0] for r in ROWS],
)
async def test_bad_sealed_secret(
    bed: Bed,
    tmp_path: Path,
    row: str,
    spoil: Callable[[Sealed, Bed, Path], Sealed],
    other_key: bool,
    other_name: bool,
    managed: bool,
    reason: str,
    message: str,
) -> None:
    name = f"bad-{row}"
    annotations = {names.ANNOTATION_MANAGED: "true"} if managed else {}
    with bed.client() as c:
        c.post(
            f"/api/v1/namespaces/{bed.app_ns}/secrets",
            json={
                "metadata": {"name": name, "annotations": annotations},
                "stringData": {"password": "before"},
            },
        ).raise_for_status()
    before = bed.secret(name)
    assert before is not None

    extra: list[str] = []
    if other_key:  # stands for another cluster's key
        other = keys.generate_private_key(2048)
        cert = tmp_path / "other.pem"
        cert.write_bytes(keys.certificate_pem(keys.self_signed_certificate(other)))
        extra.append(f"--cert={cert}")
    sealed_name = f"{name}-orig" if other_name else name
    sealed = bed.seal(make_secret(bed.app_ns, sealed_name, password=PLAIN), *extra)
    sealed["metadata"]["name"] = name
    sealed["spec"]["template"]["metadata"]["name"] = name
    bed.apply(spoil(sealed, bed, tmp_path))

    def failed() -> dict[str, Any] | None:
        cond = synced(bed.sealed(name))
        return cond if cond and cond["status"] == "False" else None

    cond = await wait.eventually(failed, within=60)
    assert cond["reason"] == reason
    assert message in cond["message"], cond["message"]
    assert f"SealedSecret {bed.app_ns}/{name}" in cond["message"]
    after = bed.secret(name)
    assert after is not None
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert plain(after) == {"password": "before"}
    assert PLAIN not in json.dumps(cond)
    assert PLAIN not in bed.log.read_text()
