"""Turn API server answers and transport failures into Tidegate errors (no I/O).

Messages name the cluster, the verb and the object, and carry the API Status message over;
values of a Secret's ``data``/``stringData`` are masked wherever they would appear.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from tidegate.model import errors
from tidegate.model import secrets as model_secrets

MASK = "***"


def secret_values(obj: Mapping[str, Any] | None) -> list[str]:
    """Strings that must never be shown for ``obj``: a Secret's values, encoded and decoded."""
    if not obj or obj.get("kind") != "Secret":
        return []
    values: list[str] = []
    for key in ("data", "stringData"):
        for value in (obj.get(key) or {}).values():
            if not isinstance(value, str) or not value:
                continue
            values.append(value)
            if key == "data":
                decoded = model_secrets.decode(value)
                if decoded:
                    values.append(decoded)
            else:
                values.append(base64.b64encode(value.encode()).decode())
    # Longest first, so a value containing another is masked whole.
    return sorted(set(values), key=len, reverse=True)


def mask(text: str, secrets: Iterable[str]) -> str:
    for value in secrets:
        if len(value) >= 3:  # masking "a" everywhere would make the message unreadable
            text = text.replace(value, MASK)
    return text


def decode_status(body: bytes) -> Mapping[str, Any]:
    """The ``Status`` document of an error response ({} when the body is not JSON)."""
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


def api_error(
    *,
    what: str,
    code: int,
    body: bytes,
    secrets: Iterable[str] = (),
) -> errors.KubeApiError:
    """The error for a non-2xx answer to ``what`` (e.g. "apply Deployment.apps ns/web on dev")."""
    status = decode_status(body)
    message = str(status.get("message") or "").strip()
    if not message:
        message = body[:300].decode("utf-8", "replace").strip() or "no message"
    reason = str(status.get("reason") or "")
    code = int(status.get("code") or code)
    text = mask(f"{what}: {message} ({reason or 'HTTP'} {code})", secrets)
    if code == 404:
        return errors.KubeNotFoundError(text, code=code, reason=reason)
    if code == 409:
        return errors.KubeConflictError(text, code=code, reason=reason)
    if code == 429 or code >= 500:
        return errors.KubeServerError(text, code=code, reason=reason)
    return errors.KubeApiError(text, code=code, reason=reason)


def unreachable(*, cluster: str, server: str, what: str, cause: BaseException) -> errors.KubeError:
    detail = str(cause) or type(cause).__name__
    return errors.ClusterUnreachableError(
        f"{what}: cluster {cluster} ({server}) is unreachable: {type(cause).__name__}: {detail}"
    )


def is_gone(event_object: Mapping[str, Any]) -> bool:
    """An ERROR watch event meaning "resourceVersion too old" (HTTP 410 Gone)."""
    return int(event_object.get("code") or 0) == 410 or event_object.get("reason") in (
        "Expired",
        "Gone",
    )
