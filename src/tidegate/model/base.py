"""The base of every spec model: camelCase on the wire, snake_case in Python, unknown fields kept.

Parsing converts pydantic's ``ValidationError`` into :class:`~tidegate.model.errors.SpecError`
whose message names the object and the field path, e.g.
``Application argocd/myapp: spec.destination: either server or name is required``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic
from pydantic import alias_generators

from tidegate.model import errors


class WireModel(pydantic.BaseModel):
    """A part of a declarative object; round-trips exactly through :func:`dump`."""

    model_config = pydantic.ConfigDict(
        extra="allow",
        alias_generator=alias_generators.to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
        use_enum_values=False,
    )


class ObjectMeta(WireModel):
    """The parts of ``metadata`` Tidegate reads; everything else is kept as extra fields."""

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    finalizers: list[str] | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    owner_references: list[dict[str, Any]] | None = None


class LabelSelectorRequirement(WireModel):
    key: str
    operator: str
    values: list[str] | None = None


class LabelSelector(WireModel):
    match_labels: dict[str, str] | None = None
    match_expressions: list[LabelSelectorRequirement] | None = None


class Resource(WireModel):
    """The common shape of a top-level declarative object."""

    api_version: str = "argoproj.io/v1alpha1"
    kind: str
    metadata: ObjectMeta = pydantic.Field(default_factory=ObjectMeta)


Model = TypeVar("Model", bound=Resource)


def describe(kind: str, obj: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` of a raw object, robust to a malformed ``metadata``."""
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return f"{kind} <unnamed>"
    name = meta.get("name") or meta.get("generateName") or "<unnamed>"
    namespace = meta.get("namespace")
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith(("function-", "tagged-union[")):
            continue  # pydantic's internal validator names, not a field
        else:
            path += f".{part}" if path else part
    return path


def _message(error: Mapping[str, Any]) -> str:
    msg = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def spec_error(
    kind: str, obj: Mapping[str, Any], exc: pydantic.ValidationError
) -> errors.SpecError:
    """A SpecError naming the object and every invalid field path (values never echoed)."""
    problems = []
    for error in exc.errors():
        loc = _location(tuple(error["loc"]))
        # Cross-field rules report their own paths; the location is then the root.
        problems.append(f"{loc}: {_message(error)}" if loc else _message(error))
    return errors.SpecError(f"{describe(kind, obj)}: " + "; ".join(problems))


def parse(cls: type[Model], obj: Mapping[str, Any]) -> Model:
    """Validate a raw object (a dict from YAML or the API) into ``cls``; SpecError if invalid."""
    kind = cls.model_fields["kind"].default or cls.__name__
    if not isinstance(obj, Mapping):
        raise errors.SpecError(f"{kind}: expected a mapping, got {type(obj).__name__}")
    try:
        return cls.model_validate(obj)
    except pydantic.ValidationError as exc:
        raise spec_error(str(kind), obj, exc) from None


def dump(model: WireModel) -> dict[str, Any]:
    """The wire form: camelCase keys, only the fields that were set, unknown fields included."""
    data = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(model, Resource):
        head = {"apiVersion": model.api_version, "kind": model.kind}
        data = head | data
    return data
