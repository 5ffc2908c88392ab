"""Secret masking: replace Secret values by ``+`` masks before anything is shown or diffed.

The same value gets the same mask on every side, different values get masks of different
lengths, so a diff still shows *that* a key changed, never *what* it holds. The
``last-applied-configuration`` annotation, which holds a copy of the data, is masked too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tidegate.diff import normalize
from tidegate.model import constants

MASK_BASE_LENGTH = 8


def mask_secrets(*objs: dict[str, Any] | None) -> None:
    """Mask, in place, the Secret values of the given versions (target, live, predicted...)."""
    masks: dict[str, str] = {}

    def mask(value: Any) -> str:
        text = json.dumps(value, sort_keys=True)
        if text not in masks:
            masks[text] = "+" * (MASK_BASE_LENGTH + len(masks))
        return masks[text]

    secrets = [o for o in objs if o is not None and normalize.is_secret(o)]
    for obj in secrets:
        for field in ("data", "stringData"):
            values = obj.get(field)
            if isinstance(values, dict):
                for key in sorted(values):
                    values[key] = mask(values[key])
        _mask_last_applied(obj, mask)


def _mask_last_applied(obj: dict[str, Any], mask: Any) -> None:
    annotations = (obj.get("metadata") or {}).get("annotations")
    if not isinstance(annotations, dict) or constants.ANNOTATION_LAST_APPLIED not in annotations:
        return
    try:
        applied = json.loads(annotations[constants.ANNOTATION_LAST_APPLIED])
    except (TypeError, ValueError):
        annotations[constants.ANNOTATION_LAST_APPLIED] = mask("<unparsable>")
        return
    if isinstance(applied, Mapping):
        applied = dict(applied)
        for field in ("data", "stringData"):
            values = applied.get(field)
            if isinstance(values, Mapping):
                applied[field] = {k: mask(v) for k, v in sorted(values.items())}
        annotations[constants.ANNOTATION_LAST_APPLIED] = json.dumps(applied, sort_keys=True)
    else:
        annotations[constants.ANNOTATION_LAST_APPLIED] = mask(applied)
