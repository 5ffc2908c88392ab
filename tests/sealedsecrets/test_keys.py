"""Key Secrets and certificates as the Sealed Secrets controller keeps them."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from tidegate.sealedsecrets import keys, names

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _secret(key: rsa.RSAPrivateKey, name: str, now: datetime.datetime = NOW) -> dict[str, Any]:
    cert = keys.self_signed_certificate(key, now=now)
    secret = keys.key_secret(key, cert, namespace="kube-system")
    secret["metadata"]["name"] = name
    return secret


def test_certificate_like_the_controllers(key: rsa.RSAPrivateKey) -> None:
    cert = keys.self_signed_certificate(key, now=NOW)
    assert cert.subject == x509.Name([]) == cert.issuer
    assert cert.not_valid_before_utc == NOW
    assert cert.not_valid_after_utc - NOW == datetime.timedelta(days=3650)
    assert (
        keys.public_key_of(cert, source="t").public_numbers() == key.public_key().public_numbers()
    )
    named = keys.self_signed_certificate(key, common_name="my-cn", now=NOW)
    assert named.subject.rfc4514_string() == "CN=my-cn"


def test_key_secret_shape(key: rsa.RSAPrivateKey) -> None:
    secret = keys.key_secret(key, keys.self_signed_certificate(key), namespace="kube-system")
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["metadata"]["generateName"] == "sealed-secrets-key"
    assert secret["metadata"]["labels"] == {names.LABEL_KEY: "active"}
    pem = base64.b64decode(secret["data"]["tls.key"])
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")  # PKCS#1, as the controller
    assert base64.b64decode(secret["data"]["tls.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")


def test_read_active_newest_first_and_bad_ones_named(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    old = _secret(key, "sealed-secrets-keyold")
    new = _secret(other_key, "sealed-secrets-keynew", NOW + datetime.timedelta(days=31))
    broken = _secret(key, "sealed-secrets-keybroken")
    broken["data"] = {"tls.key": "bm90IGEga2V5", "tls.crt": "bm90"}
    compromised = _secret(key, "sealed-secrets-keyoff")
    compromised["metadata"]["labels"] = {names.LABEL_KEY: "compromised"}
    usable, problems = keys.read_active([old, broken, new, compromised])
    assert [k.name for k in usable] == ["sealed-secrets-keynew", "sealed-secrets-keyold"]
    assert len(problems) == 1 and "sealed-secrets-keybroken" in problems[0]
    assert "bm90" not in problems[0]
    assert "PRIVATE" not in repr(usable[0])


@pytest.mark.parametrize(("age_days", "due"), [(0, False), (29, False), (30, True), (400, True)])
def test_renewal_every_30_days(key: rsa.RSAPrivateKey, age_days: int, due: bool) -> None:
    sk = keys.from_secret(_secret(key, "k"))
    now = NOW + datetime.timedelta(days=age_days)
    assert keys.due_for_renewal([sk], now=now) is due
    assert keys.due_for_renewal([], now=now)
    assert not keys.due_for_renewal([sk], now=now, period=datetime.timedelta(0))


def test_private_key_file_with_several_keys(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    pem = keys.private_key_pem(key) + b"\n" + keys.private_key_pem(other_key)
    loaded = keys.load_private_keys(pem, source="backup.pem")
    assert [k.public_key().public_numbers() for k in loaded] == [
        key.public_key().public_numbers(),
        other_key.public_key().public_numbers(),
    ]
    with pytest.raises(keys.KeyMaterialError, match=r"backup\.pem: no PEM private key"):
        keys.load_private_keys(b"hello", source="backup.pem")
