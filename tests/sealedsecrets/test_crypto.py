"""The hybrid format of one value: round trips, layout, and precise errors without plaintext."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tidegate.sealedsecrets import crypto, names

SECRET = b"hunter2-very-secret"
Scope = crypto.Scope


@pytest.mark.parametrize(
    ("scope", "label"),
    [
        (Scope.STRICT, b"ns1/db"),
        (Scope.NAMESPACE_WIDE, b"ns1"),
        (Scope.CLUSTER_WIDE, b""),
    ],
)
def test_scope_label(scope: Scope, label: bytes) -> None:
    assert crypto.scope_label(scope, namespace="ns1", name="db") == label


@pytest.mark.parametrize(
    ("annotations", "scope"),
    [
        (None, Scope.STRICT),
        ({names.ANNOTATION_NAMESPACE_WIDE: "true"}, Scope.NAMESPACE_WIDE),
        ({names.ANNOTATION_CLUSTER_WIDE: "true"}, Scope.CLUSTER_WIDE),
        ({names.ANNOTATION_CLUSTER_WIDE: "false"}, Scope.STRICT),
        (
            {names.ANNOTATION_CLUSTER_WIDE: "true", names.ANNOTATION_NAMESPACE_WIDE: "true"},
            Scope.CLUSTER_WIDE,
        ),
    ],
)
def test_scope_of_annotations(annotations: dict[str, str] | None, scope: Scope) -> None:
    assert crypto.scope_of(annotations) is scope
    assert crypto.scope_of(crypto.scope_annotations(scope)) is scope


@pytest.mark.parametrize(
    ("scope", "namespace", "name", "message"),
    [
        (Scope.STRICT, "", "db", "must declare a namespace"),
        (Scope.NAMESPACE_WIDE, "", "", "must declare a namespace"),
        (Scope.STRICT, "ns1", "", "must declare a name"),
    ],
)
def test_scope_label_needs_coordinates(
    scope: Scope, namespace: str, name: str, message: str
) -> None:
    with pytest.raises(crypto.SealError, match=message):
        crypto.scope_label(scope, namespace=namespace, name=name)


def test_cluster_wide_needs_nothing() -> None:
    assert crypto.scope_label(Scope.CLUSTER_WIDE, namespace="", name="") == b""


@pytest.mark.parametrize("plaintext", [b"", b"x", SECRET, bytes(range(256)) * 40])
def test_round_trip(key: rsa.RSAPrivateKey, plaintext: bytes) -> None:
    sealed = crypto.seal_value(key.public_key(), b"ns1/db", plaintext)
    assert crypto.unseal_value([key], b"ns1/db", sealed) == plaintext


def test_layout_is_the_sealed_secrets_format(key: rsa.RSAPrivateKey) -> None:
    """Decode by hand: length prefix, RSA-OAEP(SHA-256, label) session key, zero-nonce GCM."""
    blob = base64.b64decode(crypto.seal_value(key.public_key(), b"ns1/db", SECRET))
    (wrapped_len,) = struct.unpack(">H", blob[:2])
    assert wrapped_len == key.key_size // 8
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), b"ns1/db")
    session_key = key.decrypt(blob[2 : 2 + wrapped_len], oaep)
    assert len(session_key) == 32
    sealed = blob[2 + wrapped_len :]
    assert len(sealed) == len(SECRET) + 16
    assert AESGCM(session_key).decrypt(bytes(12), sealed, None) == SECRET


def test_each_seal_uses_a_fresh_session_key(key: rsa.RSAPrivateKey) -> None:
    pub = key.public_key()
    assert crypto.seal_value(pub, b"", SECRET) != crypto.seal_value(pub, b"", SECRET)


def test_any_of_several_keys_opens(key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey) -> None:
    sealed = crypto.seal_value(key.public_key(), b"", SECRET)
    assert crypto.unseal_value([other_key, key], b"", sealed) == SECRET


def _tampered(text: str) -> str:
    blob = bytearray(base64.b64decode(text))
    blob[-1] ^= 0x01
    return base64.b64encode(bytes(blob)).decode()


def _truncated(text: str, keep: int) -> str:
    return base64.b64encode(base64.b64decode(text)[:keep]).decode()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong name", "no key could decrypt"),
        ("wrong namespace", "no key could decrypt"),
        ("wrong scope", "no key could decrypt"),
        ("another key", "no key could decrypt"),
        ("truncated prefix", "truncated"),
        ("truncated key", "truncated"),
        ("tampered", "corrupt"),
        ("not base64", "not valid base64"),
        ("no keys", "no private key"),
    ],
)
def test_bad_ciphertext_has_a_clear_error_without_plaintext(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey, case: str, message: str
) -> None:
    sealed = crypto.seal_value(key.public_key(), b"ns1/db", SECRET)
    label, text, private = b"ns1/db", sealed, [key]
    if case == "wrong name":
        label = b"ns1/other"
    elif case == "wrong namespace":
        label = b"ns2/db"
    elif case == "wrong scope":
        label = b"ns1"
    elif case == "another key":
        private = [other_key]
    elif case == "truncated prefix":
        text = _truncated(sealed, 1)
    elif case == "truncated key":
        text = _truncated(sealed, 100)
    elif case == "tampered":
        text = _tampered(sealed)
    elif case == "not base64":
        text = "not*base64!"
    elif case == "no keys":
        private = []
    with pytest.raises(crypto.UnsealError, match=message) as info:
        crypto.unseal_value(private, label, text)
    assert SECRET.decode() not in str(info.value)
    assert text not in str(info.value)


def test_base64_tolerates_line_breaks(key: rsa.RSAPrivateKey) -> None:
    sealed = crypto.seal_value(key.public_key(), b"", SECRET)
    wrapped = "\n".join(sealed[i : i + 76] for i in range(0, len(sealed), 76))
    assert crypto.unseal_value([key], b"", wrapped) == SECRET
