"""Secret -> SealedSecret, as ``kubeseal`` writes it (pure; ``tidegate seal`` is the edge).

Every ``data`` (and ``stringData``) value is sealed on its own under the scope label; the
Secret's metadata (minus server fields, ownerReferences and kubectl's last-applied annotation),
``type`` and ``immutable`` go to ``spec.template``. A scope given explicitly is recorded as the
annotation that declares it, on the SealedSecret and in its template.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Mapping
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import rsa

from tidegate.sealedsecrets import crypto, names

_SERVER_FIELDS: Final = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "ownerReferences",
    "finalizers",
)


def plain_data(secret: Mapping[str, Any]) -> dict[str, bytes]:
    """The Secret's values as bytes: ``data`` (base64) overlaid by ``stringData``."""
    where = _where(secret)
    values: dict[str, bytes] = {}
    for key, text in (secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(text or ""), validate=True)
        except (binascii.Error, ValueError):
            raise crypto.SealError(f"{where}: data.{key} is not valid base64") from None
    for key, text in (secret.get("stringData") or {}).items():
        values[str(key)] = str(text or "").encode()
    return values


def _where(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    kind = obj.get("kind") or "object"
    return f"{kind} {meta.get('namespace') or ''}/{meta.get('name') or ''}".replace(" /", " ")


def _template_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: copy.deepcopy(v) for k, v in meta.items() if k not in _SERVER_FIELDS}
    annotations = dict(out.get("annotations") or {})
    annotations.pop(names.ANNOTATION_LAST_APPLIED, None)
    if annotations:
        out["annotations"] = annotations
    else:
        out.pop("annotations", None)
    return out


def seal_secret(
    secret: Mapping[str, Any],
    public_key: rsa.RSAPublicKey,
    *,
    scope: crypto.Scope | None = None,
    default_namespace: str = "",
    allow_empty_data: bool = False,
) -> dict[str, Any]:
    """The SealedSecret for ``secret`` (``scope`` None: the one its annotations declare)."""
    if secret.get("kind") not in (None, "Secret") or str(secret.get("apiVersion") or "v1") != "v1":
        raise crypto.SealError(
            f"{_where(secret)}: input is not a v1 Secret "
            f"(apiVersion {secret.get('apiVersion')!r}, kind {secret.get('kind')!r})"
        )
    meta = _template_metadata(secret.get("metadata") or {})
    meta.pop("generateName", None)
    if not meta.get("namespace") and default_namespace:
        meta["namespace"] = default_namespace
    annotations = dict(meta.get("annotations") or {})
    if scope is None:
        scope = crypto.scope_of(annotations)
    else:
        annotations.pop(names.ANNOTATION_CLUSTER_WIDE, None)
        annotations.pop(names.ANNOTATION_NAMESPACE_WIDE, None)
        annotations.update(crypto.scope_annotations(scope))
    if annotations:
        meta["annotations"] = annotations
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    label = crypto.scope_label(scope, namespace=namespace, name=name)
    values = plain_data(secret)
    if not values and not allow_empty_data:
        raise crypto.SealError(
            f"{_where(secret)}: the Secret has no data; pass --allow-empty-data to seal it anyway"
        )
    encrypted = {k: crypto.seal_value(public_key, label, v) for k, v in sorted(values.items())}
    template: dict[str, Any] = {"metadata": meta}
    if secret.get("type"):
        template["type"] = secret["type"]
    if secret.get("immutable") is not None:
        template["immutable"] = bool(secret["immutable"])
    sealed_meta: dict[str, Any] = {"name": name} if name else {}
    if namespace:
        sealed_meta["namespace"] = namespace
    scope_marks = crypto.scope_annotations(scope)
    if scope_marks:
        sealed_meta["annotations"] = scope_marks
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.KIND,
        "metadata": sealed_meta,
        "spec": {"template": template, "encryptedData": encrypted},
    }


def sealed_scope(sealed: Mapping[str, Any]) -> tuple[crypto.Scope, str, str]:
    """A SealedSecret's scope, namespace and name (annotations on it or on its template)."""
    meta = sealed.get("metadata") or {}
    template_meta = ((sealed.get("spec") or {}).get("template") or {}).get("metadata") or {}
    annotations = {**(template_meta.get("annotations") or {}), **(meta.get("annotations") or {})}
    return (
        crypto.scope_of(annotations),
        str(meta.get("namespace") or template_meta.get("namespace") or ""),
        str(meta.get("name") or template_meta.get("name") or ""),
    )


def merge_into(
    sealed: Mapping[str, Any], secret: Mapping[str, Any], public_key: rsa.RSAPublicKey
) -> dict[str, Any]:
    """``--merge-into``: the SealedSecret with ``secret``'s values sealed into it (same scope)."""
    if sealed.get("kind") != names.KIND:
        raise crypto.SealError(f"{_where(sealed)}: the file to merge into is not a SealedSecret")
    scope, namespace, name = sealed_scope(sealed)
    label = crypto.scope_label(scope, namespace=namespace, name=name)
    out = copy.deepcopy(dict(sealed))
    spec = out.setdefault("spec", {})
    encrypted = dict(spec.get("encryptedData") or {})
    for key, value in sorted(plain_data(secret).items()):
        encrypted[key] = crypto.seal_value(public_key, label, value)
    spec["encryptedData"] = encrypted
    return out


def seal_raw(
    value: bytes,
    public_key: rsa.RSAPublicKey,
    *,
    scope: crypto.Scope,
    namespace: str,
    name: str,
) -> str:
    """``--raw``: one value sealed for ``scope``, as bare base64."""
    label = crypto.scope_label(scope, namespace=namespace, name=name)
    return crypto.seal_value(public_key, label, value)
