"""argocd-cm ``knownTypeFields``: compare a custom resource's embedded Kubernetes type as that type.

``resource.customizations.knownTypeFields.<group>_<Kind>`` lists ``{field, type}``: ``field`` is
a dotted path of map keys (``spec.template.spec``), ``type`` a built-in type as
``<group>/<version>/<Kind>`` (``core/v1/PodSpec``). Argo CD round-trips such a field through the
typed struct, so values that the type stores in canonical form compare equal. Tidegate does the
part that matters for the diff: every resource quantity inside the field (container
``resources.limits`` / ``requests``, pod ``overhead``, ``emptyDir.sizeLimit``, ...) is put in
Kubernetes' canonical form (:func:`canonical_quantity`) on both sides, so ``cpu: 1000m`` equals
``cpu: "1"`` and ``cpu: 1``. As in Kubernetes, the notation family is kept: ``1Gi`` and
``1073741824`` stay different strings. A value that is not a quantity is left as it is.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, Final

from tidegate.model import errors

# Paths to quantities, relative to a value of each type; "*" is every list item or map value.
_RESOURCES: Final = (("limits", "*"), ("requests", "*"))
_CONTAINER: Final = tuple(("resources", *p) for p in _RESOURCES)
_POD_SPEC: Final = (
    *(("containers", "*", *p) for p in _CONTAINER),
    *(("initContainers", "*", *p) for p in _CONTAINER),
    *(("ephemeralContainers", "*", *p) for p in _CONTAINER),
    ("overhead", "*"),
    *(("resources", *p) for p in _RESOURCES),
    ("volumes", "*", "emptyDir", "sizeLimit"),
)
_TEMPLATE: Final = tuple(("spec", *p) for p in _POD_SPEC)
_PVC_SPEC: Final = tuple(("resources", *p) for p in _RESOURCES)
_WORKLOAD: Final = tuple(("template", *p) for p in _TEMPLATE)
QUANTITY_PATHS: Final[Mapping[str, tuple[tuple[str, ...], ...]]] = {
    "core/v1/PodSpec": _POD_SPEC,
    "core/v1/PodTemplateSpec": _TEMPLATE,
    "core/v1/Container": _CONTAINER,
    "core/v1/ResourceRequirements": _RESOURCES,
    "core/v1/VolumeResourceRequirements": _RESOURCES,
    "core/v1/ResourceList": (("*",),),
    "core/v1/PersistentVolumeClaimSpec": _PVC_SPEC,
    "apps/v1/DeploymentSpec": _WORKLOAD,
    "apps/v1/ReplicaSetSpec": _WORKLOAD,
    "apps/v1/DaemonSetSpec": _WORKLOAD,
    "apps/v1/StatefulSetSpec": (
        *_WORKLOAD,
        *(("volumeClaimTemplates", "*", "spec", *p) for p in _PVC_SPEC),
    ),
    "batch/v1/JobSpec": _WORKLOAD,
    "batch/v1/CronJobSpec": tuple(("jobTemplate", "spec", *p) for p in _WORKLOAD),
}


@dataclasses.dataclass(frozen=True)
class KnownTypeField:
    field: tuple[str, ...]  # map keys from the object's root
    type: str

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> KnownTypeField:
        field, type_ = str(spec.get("field") or ""), str(spec.get("type") or "")
        parts = tuple(field.split("."))
        if not field or not all(parts):
            raise errors.SpecError(f"knownTypeFields: field {field!r} is not a dotted path")
        if type_ not in QUANTITY_PATHS:
            raise errors.SpecError(
                f"knownTypeFields {field}: type {type_!r} is not supported "
                f"(supported: {', '.join(sorted(QUANTITY_PATHS))})"
            )
        return cls(parts, type_)


def apply(obj: dict[str, Any] | None, fields: Sequence[KnownTypeField]) -> None:
    """Canonicalise the quantities inside each of ``fields`` of ``obj``, in place."""
    if obj is None:
        return
    for known in fields:
        node: Any = obj
        for key in known.field:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            continue
        for path in QUANTITY_PATHS[known.type]:
            _canonicalise_at(node, path)


def _canonicalise_at(node: Any, path: Sequence[str]) -> None:
    head, rest = path[0], path[1:]
    if head == "*":
        slots: list[tuple[Any, Any]] = (
            list(enumerate(node)) if isinstance(node, list)
            else list(node.items()) if isinstance(node, dict) else []
        )  # fmt: skip
    else:
        slots = [(head, node[head])] if isinstance(node, dict) and head in node else []
    for slot, value in slots:
        if rest:
            _canonicalise_at(value, rest)
        else:
            node[slot] = canonical_quantity(value)


_QUANTITY = re.compile(r"^([+-]?)(\d+\.?\d*|\.\d+)(.*)$")
_BINARY: Final = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL: Final = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
                   "E": 18}  # fmt: skip
_DECIMAL_SUFFIX: Final = {exp: suffix for suffix, exp in _DECIMAL.items()}
_EXPONENT = re.compile(r"^[eE]([+-]?\d+)$")


def canonical_quantity(value: Any) -> Any:
    """A Kubernetes quantity in canonical form (as the API server serialises it); ``value``
    itself when it is not a quantity.

    The value is exact; precision below 1n is rounded up (away from zero's floor, as Kubernetes
    does); the suffix (or ``e`` exponent) is the largest that keeps an integer mantissa, in the
    notation family of the input (binary ``Ki``.., decimal SI, decimal exponent). A binary value
    that is not an integer, or under 1024 in magnitude, is written in decimal SI.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return value
    text = repr(value) if isinstance(value, float) else str(value)
    match = _QUANTITY.match(text.strip() if isinstance(value, str) else text)
    if match is None:
        return value
    sign, number, suffix = match.groups()
    if suffix in _BINARY:
        family, amount = "binary", Fraction(number) * 1024 ** _BINARY[suffix]
    elif suffix in _DECIMAL:
        family, amount = "si", Fraction(number) * Fraction(10) ** _DECIMAL[suffix]
    elif (exp := _EXPONENT.match(suffix)) is not None:
        family, amount = "exp", Fraction(number) * Fraction(10) ** int(exp.group(1))
    else:
        return value
    nanos = amount * 10**9
    if nanos.denominator != 1:  # below nano precision: round up, as Kubernetes does
        amount = Fraction(-(-nanos.numerator // nanos.denominator), 10**9)
    negative = sign == "-" and amount != 0
    if family == "binary" and (amount.denominator != 1 or amount < 1024):
        family = "si"
    if family == "binary":
        whole, power = int(amount), 0
        while power < 6 and whole % 1024 == 0:
            whole, power = whole // 1024, power + 1
        suffix = next(s for s, p in _BINARY.items() if p == power) if power else ""
        return f"{'-' if negative else ''}{whole}{suffix}"
    scaled, exponent = int(amount * 10**9), -9  # an exact integer count of nanos
    while scaled != 0 and scaled % 1000 == 0 and exponent < 18:
        scaled, exponent = scaled // 1000, exponent + 3
    if scaled == 0:
        exponent = 0
    exponent_tail = f"e{exponent}" if exponent else ""
    tail = exponent_tail if family == "exp" else _DECIMAL_SUFFIX[exponent]
    return f"{'-' if negative else ''}{scaled}{tail}"
