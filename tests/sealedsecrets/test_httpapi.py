"""The controller's HTTP answers (/v1/cert.pem, /v1/verify, /v1/rotate) and the re-encryption
behind /v1/rotate: pure functions over keys made here."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tidegate.sealedsecrets import crypto, httpapi, keys, names, sealing, unsealing


def sealing_key(private: rsa.RSAPrivateKey, name: str) -> keys.SealingKey:
    return keys.SealingKey(name, private, keys.self_signed_certificate(private))


def a_sealed(public: rsa.RSAPublicKey, scope: crypto.Scope | None = None) -> dict[str, Any]:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "ns1", "labels": {"app": "db"}},
        "stringData": {"password": "s3cret", "user": "u"},
    }
    return sealing.seal_secret(secret, public, scope=scope)


@pytest.mark.parametrize("scope", [None, crypto.Scope.NAMESPACE_WIDE, crypto.Scope.CLUSTER_WIDE])
def test_reencrypt_keeps_scope_and_metadata(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey, scope: crypto.Scope | None
) -> None:
    sealed = a_sealed(key.public_key(), scope)
    sealed["status"] = {"observedGeneration": 1}
    out = unsealing.reencrypt(sealed, [key], other_key.public_key())
    assert unsealing.decrypt_values(out, [other_key]) == {"password": b"s3cret", "user": b"u"}
    with pytest.raises(crypto.UnsealError):
        unsealing.decrypt_values(out, [key])  # sealed for the new key only
    assert out["metadata"] == sealed["metadata"]
    assert out["spec"]["template"] == sealed["spec"]["template"]
    assert "status" not in out


def test_reencrypt_of_what_does_not_open_names_the_field(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    sealed = a_sealed(other_key.public_key())
    with pytest.raises(crypto.UnsealError, match=r"SealedSecret ns1/db: encryptedData.password"):
        unsealing.reencrypt(sealed, [key], key.public_key())


def test_answers(key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey) -> None:
    current = [sealing_key(key, "old"), sealing_key(other_key, "new")]
    newest = keys.newest(current)
    assert newest is not None
    status, ctype, body = httpapi.answer("GET", "/v1/cert.pem", b"", current)
    assert (status, ctype) == (200, "application/x-pem-file")
    assert body == keys.certificate_pem(newest.certificate)
    assert b"PRIVATE" not in body

    sealed = a_sealed(key.public_key())
    assert httpapi.answer("POST", "/v1/verify", json.dumps(sealed).encode(), current)[0] == 200
    forged = json.loads(json.dumps(sealed))
    forged["metadata"]["name"] = "elsewhere"
    assert httpapi.answer("POST", "/v1/verify", json.dumps(forged).encode(), current)[0] == 409

    status, ctype, body = httpapi.answer("POST", "/v1/rotate", json.dumps(sealed).encode(), current)
    assert (status, ctype) == (200, "application/json")
    assert b"s3cret" not in body
    rotated = json.loads(body)
    assert unsealing.decrypt_values(rotated, [newest.private_key])["password"] == b"s3cret"
    assert httpapi.answer("POST", "/v1/rotate", json.dumps(forged).encode(), current)[0] == 409
    assert httpapi.answer("POST", "/v1/rotate", b"[1]", current)[0] == 400
    assert httpapi.answer("POST", "/v1/rotate", json.dumps(sealed).encode(), [])[0] == 503
    assert httpapi.answer("GET", "/v1/cert.pem", b"", [])[0] == 503
    assert rotated["kind"] == names.KIND
