"""Apply ``spec.source.kustomize`` options to a kustomization, as ``kustomize edit`` would.

Pure: a kustomization mapping in, an edited copy out. Argo CD runs ``kustomize edit set image``,
``set nameprefix``/``namesuffix``, ``add label``/``annotation --force``, ``set namespace``,
``set replicas`` and appends patches and components in its own working copy; doing the same
edits here works with ``kubectl kustomize`` too (it has no ``edit``) and costs no subprocess.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from tidegate.model import errors
from tidegate.render import request


def parse_image(spec: str) -> dict[str, str]:
    """``[name=]newName[:tag][@digest]`` as a kustomization ``images`` entry."""
    name, sep, image = spec.partition("=")
    if not sep:
        name, image = "", spec
    ref, _, digest = image.partition("@")
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    new_name, tag = (ref[:colon], ref[colon + 1 :]) if colon > slash else (ref, "")
    if not new_name:
        raise errors.SpecError(f"kustomize image {spec!r}: no image name")
    entry: dict[str, str] = {"name": name or new_name}
    if name and new_name != name:
        entry["newName"] = new_name
    if tag:
        entry["newTag"] = tag
    if digest:
        entry["digest"] = digest
    return entry


def _replace_or_append(items: list[Any], entry: dict[str, Any]) -> list[Any]:
    """``items`` with the entry of the same name replaced by ``entry``, or ``entry`` added."""
    for index, item in enumerate(items):
        if isinstance(item, Mapping) and item.get("name") == entry["name"]:
            return [*items[:index], entry, *items[index + 1 :]]
    return [*items, entry]


def _list_field(doc: dict[str, Any], field: str) -> list[Any]:
    value = doc.get(field) or []
    if not isinstance(value, list):
        raise errors.ManifestError(f"kustomization: {field} must be a list")
    return list(value)


def _map_field(doc: dict[str, Any], field: str) -> dict[str, Any]:
    value = doc.get(field) or {}
    if not isinstance(value, dict):
        raise errors.ManifestError(f"kustomization: {field} must be a mapping")
    return dict(value)


def edit_kustomization(
    kustomization: Mapping[str, Any], options: request.KustomizeOptions
) -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(dict(kustomization))
    if options.images:
        images = _list_field(doc, "images")
        for spec in options.images:
            images = _replace_or_append(images, parse_image(spec))
        doc["images"] = images
    if options.name_prefix:
        doc["namePrefix"] = options.name_prefix
    if options.name_suffix:
        doc["nameSuffix"] = options.name_suffix
    if options.common_labels:
        doc["commonLabels"] = _map_field(doc, "commonLabels") | dict(options.common_labels)
    if options.common_annotations:
        doc["commonAnnotations"] = _map_field(doc, "commonAnnotations") | dict(
            options.common_annotations
        )
    if options.namespace:
        doc["namespace"] = options.namespace
    if options.replicas:
        replicas = _list_field(doc, "replicas")
        for replica in options.replicas:
            replicas = _replace_or_append(replicas, {"name": replica.name, "count": replica.count})
        doc["replicas"] = replicas
    if options.patches_json:
        doc["patches"] = _list_field(doc, "patches") + options.patches
    if options.components:
        existing = _list_field(doc, "components")
        doc["components"] = existing + [c for c in options.components if c not in existing]
    return doc
