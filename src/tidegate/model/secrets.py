"""Reading a raw Kubernetes Secret's values (pure): the one place ``data`` is base64-decoded.

The API server stores ``data`` values base64-encoded and merges ``stringData`` (plain text) over
them on write; a Secret read back has ``data`` only, a manifest may have both. Errors name the
Secret and the key, never the value.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from tidegate.model import errors


def decode(value: object) -> str | None:
    """One base64 ``data`` value as UTF-8 text; None when it is not valid base64 text."""
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def describe(secret: Mapping[str, Any]) -> str:
    """``Secret NAMESPACE/NAME`` for messages."""
    meta = secret.get("metadata") or {}
    namespace = meta.get("namespace")
    name = meta.get("name") or "?"
    return f"Secret {namespace}/{name}" if namespace else f"Secret {name}"


def value(
    secret: Mapping[str, Any], key: str, *, strict: bool = True, what: str | None = None
) -> str | None:
    """The text of ``key``: ``stringData`` wins over ``data``; None when absent.

    An undecodable ``data`` value raises :class:`~tidegate.model.errors.ConfigError` naming the
    Secret and the key (``strict``), or reads as absent.
    """
    plain = (secret.get("stringData") or {}).get(key)
    if plain is not None:
        return str(plain)
    raw = (secret.get("data") or {}).get(key)
    if raw is None:
        return None
    text = decode(raw)
    if text is None and strict:
        where = what or describe(secret)
        raise errors.ConfigError(f"{where}: data.{key} is not valid base64 text")
    return text


def fields(
    secret: Mapping[str, Any], *, strict: bool = True, what: str | None = None
) -> dict[str, str]:
    """Every value as text: ``data`` decoded, overlaid by ``stringData``.

    An undecodable value raises :class:`~tidegate.model.errors.ConfigError` naming the Secret
    and the key (``strict``, see :func:`value`), or is skipped.
    """
    out: dict[str, str] = {}
    for key in (secret.get("data") or {}).keys() | (secret.get("stringData") or {}).keys():
        text = value(secret, str(key), strict=strict, what=what)
        if text is not None:
            out[str(key)] = text
    return out
