"""SealedSecret -> Secret, and the SealedSecret's status (pure: the controller does the I/O).

:func:`unseal` decrypts ``spec.encryptedData`` (or the legacy whole-Secret ``spec.data``:
:func:`decrypt_values`, the RSA part), renders ``spec.template.data`` (Go templates over the
decrypted values, through a renderer the caller passes in) and builds the Secret
(:func:`secret_for`): template metadata, ``type``, ``immutable``, and an ownerReference to the
SealedSecret unless ``skip-set-owner-references`` says otherwise.
:func:`plan` decides what to do with the Secret already there (create, update, adopt, refuse);
:func:`status_patch` computes the ``Synced`` condition and ``observedGeneration``.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import rsa

from tidegate.sealedsecrets import crypto, names, sealing

# (template source, decrypted values) -> rendered text; raises on a bad template.
Renderer = Callable[[str, Mapping[str, str]], str]
Action = Literal["create", "update", "adopt", "unchanged"]


def where(sealed: Mapping[str, Any]) -> str:
    meta = sealed.get("metadata") or {}
    return f"SealedSecret {meta.get('namespace') or ''}/{meta.get('name') or ''}"


def _annotations(sealed: Mapping[str, Any]) -> dict[str, str]:
    template_meta = ((sealed.get("spec") or {}).get("template") or {}).get("metadata") or {}
    meta = sealed.get("metadata") or {}
    return {**(template_meta.get("annotations") or {}), **(meta.get("annotations") or {})}


def _masked(message: str, secrets: Sequence[str]) -> str:
    for value in sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True):
        message = message.replace(value, "***")
    return message


def _legacy_values(
    sealed: Mapping[str, Any], keys: Sequence[rsa.RSAPrivateKey], label: bytes
) -> dict[str, bytes]:
    """The legacy ``spec.data``: one sealed blob holding a whole Secret in JSON."""
    text = str((sealed.get("spec") or {}).get("data") or "")
    try:
        blob = crypto.unseal_value(keys, label, text)
    except crypto.UnsealError as exc:
        raise crypto.UnsealError(f"{where(sealed)}: spec.data: {exc}") from None
    try:
        inner = json.loads(blob)
        if not isinstance(inner, dict):
            raise ValueError
        return sealing.plain_data(inner)
    except (ValueError, crypto.SealError):
        raise crypto.UnsealError(
            f"{where(sealed)}: spec.data does not hold a JSON Secret (protobuf is not supported)"
        ) from None


def decrypt_values(
    sealed: Mapping[str, Any], keys: Sequence[rsa.RSAPrivateKey]
) -> dict[str, bytes]:
    """Every value of the SealedSecret, decrypted; the first failure names its key."""
    meta = sealed.get("metadata") or {}
    scope = crypto.scope_of(_annotations(sealed))
    try:
        label = crypto.scope_label(
            scope, namespace=str(meta.get("namespace") or ""), name=str(meta.get("name") or "")
        )
    except crypto.SealError as exc:
        raise crypto.UnsealError(f"{where(sealed)}: {exc}") from None
    spec = sealed.get("spec") or {}
    encrypted = spec.get("encryptedData") or {}
    if not encrypted and spec.get("data"):
        return _legacy_values(sealed, keys, label)
    values: dict[str, bytes] = {}
    for key in sorted(encrypted):
        try:
            values[str(key)] = crypto.unseal_value(keys, label, str(encrypted[key] or ""))
        except crypto.UnsealError as exc:
            raise crypto.UnsealError(f"{where(sealed)}: encryptedData.{key}: {exc}") from None
    return values


def _skips_owner(sealed: Mapping[str, Any]) -> bool:
    return _annotations(sealed).get(names.ANNOTATION_SKIP_OWNER_REFERENCES) == "true"


def owner_reference(sealed: Mapping[str, Any]) -> dict[str, Any]:
    meta = sealed.get("metadata") or {}
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.KIND,
        "name": str(meta.get("name") or ""),
        "uid": str(meta.get("uid") or ""),
        "controller": True,
    }


def unseal(
    sealed: Mapping[str, Any],
    keys: Sequence[rsa.RSAPrivateKey],
    *,
    render: Renderer | None = None,
) -> dict[str, Any]:
    """The Secret a SealedSecret stands for; :class:`crypto.UnsealError` when it cannot be."""
    return secret_for(sealed, decrypt_values(sealed, keys), render=render)


def secret_for(
    sealed: Mapping[str, Any],
    values: Mapping[str, bytes],
    *,
    render: Renderer | None = None,
) -> dict[str, Any]:
    """The Secret of a SealedSecret from its decrypted ``values`` (:func:`decrypt_values`):
    the RSA work is done apart (the controller does it in threads), the rest here."""
    meta = sealed.get("metadata") or {}
    template = (sealed.get("spec") or {}).get("template") or {}
    data = {k: base64.b64encode(v).decode("ascii") for k, v in values.items()}
    templated = template.get("data") or {}
    if templated:
        if render is None:
            raise crypto.UnsealError(f"{where(sealed)}: spec.template.data needs a template engine")
        plain = {k: v.decode("utf-8", errors="replace") for k, v in values.items()}
        for key in sorted(templated):
            try:
                text = render(str(templated[key] or ""), plain)
            except Exception as exc:  # any template failure becomes the condition
                message = _masked(str(exc), list(plain.values()))
                raise crypto.UnsealError(
                    f"{where(sealed)}: spec.template.data.{key}: {message}"
                ) from None
            data[str(key)] = base64.b64encode(text.encode()).decode("ascii")
    secret_meta = {
        k: copy.deepcopy(v)
        for k, v in (template.get("metadata") or {}).items()
        if k in ("labels", "annotations")
    }
    secret_meta["name"] = str(meta.get("name") or "")
    secret_meta["namespace"] = str(meta.get("namespace") or "")
    if _skips_owner(sealed):
        # Without an owner, the managed annotation is what lets the next update through.
        secret_meta["annotations"] = {
            **(secret_meta.get("annotations") or {}),
            names.ANNOTATION_MANAGED: "true",
        }
    else:
        secret_meta["ownerReferences"] = [owner_reference(sealed)]
    secret: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": secret_meta}
    secret["type"] = str(template.get("type") or "Opaque")
    if template.get("immutable") is not None:
        secret["immutable"] = bool(template["immutable"])
    secret["data"] = data
    return secret


def is_owned_by(secret: Mapping[str, Any], sealed: Mapping[str, Any]) -> bool:
    uid = (sealed.get("metadata") or {}).get("uid")
    for ref in (secret.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("kind") == names.KIND and ref.get("controller") and ref.get("uid") == uid:
            return True
    return False


@dataclasses.dataclass(frozen=True)
class Plan:
    action: Action
    secret: dict[str, Any]  # what to write (create/update/adopt) or the existing one


def plan(
    sealed: Mapping[str, Any], desired: Mapping[str, Any], existing: Mapping[str, Any] | None
) -> Plan:
    """What to do with the Secret already in place; refuses (UnsealError) an unmanaged one."""
    if existing is None:
        return Plan("create", dict(desired))
    existing_meta = existing.get("metadata") or {}
    managed = (existing_meta.get("annotations") or {}).get(names.ANNOTATION_MANAGED) == "true"
    # A Secret written without an owner (skip-set-owner-references) is known by its annotation.
    adopting = not is_owned_by(existing, sealed) and not (managed and _skips_owner(sealed))
    if adopting and not managed:
        raise crypto.UnsealError(
            f"{where(sealed)}: Secret {existing_meta.get('name')!r} already exists and is not "
            f"managed by SealedSecret (annotate it {names.ANNOTATION_MANAGED}=true to adopt it)"
        )
    out = copy.deepcopy(dict(existing))
    meta = out.setdefault("metadata", {})
    want_meta = desired.get("metadata") or {}
    if _annotations(sealed).get(names.ANNOTATION_PATCH) == "true":
        meta["labels"] = {**(meta.get("labels") or {}), **(want_meta.get("labels") or {})}
        meta["annotations"] = {
            **(meta.get("annotations") or {}),
            **(want_meta.get("annotations") or {}),
        }
        out["data"] = {**(out.get("data") or {}), **(desired.get("data") or {})}
    else:
        for field in ("labels", "annotations"):
            if want_meta.get(field):
                meta[field] = copy.deepcopy(want_meta[field])
            else:
                meta.pop(field, None)
        out["data"] = copy.deepcopy(desired.get("data") or {})
    refs = [r for r in meta.get("ownerReferences") or () if r.get("kind") != names.KIND] + list(
        want_meta.get("ownerReferences") or ()
    )
    if refs:
        meta["ownerReferences"] = refs
    else:
        meta.pop("ownerReferences", None)
    out["type"] = desired.get("type") or out.get("type") or "Opaque"
    if "immutable" in desired:
        out["immutable"] = desired["immutable"]
    if not adopting and _content(out) == _content(existing):
        return Plan("unchanged", out)
    return Plan("adopt" if adopting else "update", out)


def _content(secret: Mapping[str, Any]) -> tuple[Any, ...]:
    meta = secret.get("metadata") or {}
    return (
        meta.get("labels") or {},
        meta.get("annotations") or {},
        meta.get("ownerReferences") or [],
        secret.get("data") or {},
        secret.get("type") or "Opaque",
        secret.get("immutable"),
    )


def condition(sealed: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for cond in (sealed.get("status") or {}).get("conditions") or ():
        if cond.get("type") == names.CONDITION_SYNCED:
            return dict(cond)
    return None


def status_patch(
    sealed: Mapping[str, Any], *, ok: bool, reason: str, message: str, now: str
) -> dict[str, Any] | None:
    """The merge patch of ``status`` (None when condition and generation are already so)."""
    generation = (sealed.get("metadata") or {}).get("generation")
    status = "True" if ok else "False"
    old = condition(sealed)
    observed = (sealed.get("status") or {}).get("observedGeneration")
    if (
        old is not None
        and old.get("status") == status
        and old.get("reason", "") == reason
        and old.get("message", "") == message
        and observed == generation
    ):
        return None
    transition = now
    if old is not None and old.get("status") == status and old.get("lastTransitionTime"):
        transition = str(old["lastTransitionTime"])
    cond: dict[str, Any] = {
        "type": names.CONDITION_SYNCED,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": transition,
        "reason": reason,
    }
    if message:
        cond["message"] = message
    patch: dict[str, Any] = {"conditions": [cond]}
    if generation is not None:
        patch["observedGeneration"] = generation
    return {"status": patch}


def reencrypt(
    sealed: Mapping[str, Any],
    keys: Sequence[rsa.RSAPrivateKey],
    public_key: rsa.RSAPublicKey,
) -> dict[str, Any]:
    """``/v1/rotate``: the same SealedSecret, every value sealed again for ``public_key`` (the
    newest key) under its scope; a legacy ``spec.data`` becomes ``spec.encryptedData``."""
    values = decrypt_values(sealed, keys)
    scope, namespace, name = sealing.sealed_scope(sealed)
    label = crypto.scope_label(scope, namespace=namespace, name=name)
    out = copy.deepcopy(dict(sealed))
    spec = out.setdefault("spec", {})
    spec.pop("data", None)
    spec["encryptedData"] = {
        k: crypto.seal_value(public_key, label, v) for k, v in sorted(values.items())
    }
    out.pop("status", None)
    return out
