"""The Sealed Secrets hybrid encryption of one value, byte-compatible with ``kubeseal`` (pure).

A sealed value is ``uint16 big-endian len(wrapped key) ‖ wrapped key ‖ AES-256-GCM(plaintext)``,
base64 (standard alphabet). The 32-byte session key is wrapped with RSA-OAEP (SHA-256 for the
hash and MGF1) whose OAEP *label* is the scope label: ``"<namespace>/<name>"`` (strict),
``"<namespace>"`` (namespace-wide) or empty (cluster-wide). The GCM nonce is all zero: each
session key encrypts exactly one value. Decryption tries every private key in turn.

Errors never carry plaintext or key material: only the object's coordinates and the cause.
"""

from __future__ import annotations

import base64
import binascii
import enum
import os
import struct
from collections.abc import Mapping, Sequence
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tidegate.model import errors
from tidegate.sealedsecrets import names

SESSION_KEY_BYTES: Final = 32
_NONCE: Final = bytes(12)
_LENGTH: Final = struct.Struct(">H")


class UnsealError(errors.PermanentError):
    """A sealed value (or SealedSecret) cannot be decrypted; the message never holds a secret."""


class SealError(errors.PermanentError):
    """A value cannot be sealed as asked (a missing name or namespace for its scope...)."""


class Scope(enum.StrEnum):
    STRICT = "strict"
    NAMESPACE_WIDE = "namespace-wide"
    CLUSTER_WIDE = "cluster-wide"


def scope_of(annotations: Mapping[str, str] | None) -> Scope:
    """The scope an object's annotations declare (cluster-wide wins over namespace-wide)."""
    annotations = annotations or {}
    if annotations.get(names.ANNOTATION_CLUSTER_WIDE) == "true":
        return Scope.CLUSTER_WIDE
    if annotations.get(names.ANNOTATION_NAMESPACE_WIDE) == "true":
        return Scope.NAMESPACE_WIDE
    return Scope.STRICT


def scope_annotations(scope: Scope) -> dict[str, str]:
    """The annotation that declares ``scope`` (none for strict)."""
    if scope is Scope.CLUSTER_WIDE:
        return {names.ANNOTATION_CLUSTER_WIDE: "true"}
    if scope is Scope.NAMESPACE_WIDE:
        return {names.ANNOTATION_NAMESPACE_WIDE: "true"}
    return {}


def scope_label(scope: Scope, *, namespace: str, name: str) -> bytes:
    """The OAEP label binding a ciphertext to where it may be unsealed."""
    if scope is Scope.CLUSTER_WIDE:
        return b""
    if not namespace:
        raise SealError("secret must declare a namespace (strict and namespace-wide scopes)")
    if scope is Scope.NAMESPACE_WIDE:
        return namespace.encode()
    if not name:
        raise SealError("secret must declare a name (strict scope)")
    return f"{namespace}/{name}".encode()


def oaep_padding(label: bytes) -> padding.OAEP:
    return padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=label
    )


def encrypt(public_key: rsa.RSAPublicKey, label: bytes, plaintext: bytes) -> bytes:
    """The raw hybrid blob of ``plaintext`` (not yet base64)."""
    session_key = os.urandom(SESSION_KEY_BYTES)
    wrapped = public_key.encrypt(session_key, oaep_padding(label))
    sealed = AESGCM(session_key).encrypt(_NONCE, plaintext, None)
    return _LENGTH.pack(len(wrapped)) + wrapped + sealed


def decrypt(private_keys: Sequence[rsa.RSAPrivateKey], label: bytes, blob: bytes) -> bytes:
    """The plaintext of a raw hybrid blob, with the first key that opens it."""
    if len(blob) < _LENGTH.size:
        raise UnsealError("ciphertext is truncated (shorter than its length prefix)")
    (wrapped_len,) = _LENGTH.unpack_from(blob)
    if len(blob) < _LENGTH.size + wrapped_len:
        raise UnsealError("ciphertext is truncated (shorter than its wrapped session key)")
    wrapped = blob[_LENGTH.size : _LENGTH.size + wrapped_len]
    sealed = blob[_LENGTH.size + wrapped_len :]
    if not private_keys:
        raise UnsealError("no private key to decrypt with")
    for key in private_keys:
        try:
            session_key = key.decrypt(wrapped, oaep_padding(label))
        except ValueError:
            continue
        if len(session_key) != SESSION_KEY_BYTES:
            continue
        try:
            return AESGCM(session_key).decrypt(_NONCE, sealed, None)
        except InvalidTag:
            raise UnsealError("ciphertext is corrupt (the AES-GCM tag does not match)") from None
    raise UnsealError(
        "no key could decrypt the data: sealed for another cluster's key, another scope, "
        "name or namespace, or corrupt"
    )


def seal_value(public_key: rsa.RSAPublicKey, label: bytes, plaintext: bytes) -> str:
    """``plaintext`` sealed and base64-encoded, as it appears in ``spec.encryptedData``."""
    return base64.b64encode(encrypt(public_key, label, plaintext)).decode("ascii")


def decode(text: str) -> bytes:
    """Standard base64 (as Go's StdEncoding, whitespace tolerated as in YAML block scalars)."""
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise UnsealError("ciphertext is not valid base64") from None


def unseal_value(private_keys: Sequence[rsa.RSAPrivateKey], label: bytes, text: str) -> bytes:
    """The plaintext of one ``spec.encryptedData`` value."""
    return decrypt(private_keys, label, decode(text))
