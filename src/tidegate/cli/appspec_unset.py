"""``app unset`` and ``app remove-source``: take fields out of a spec, as argocd does. Pure.

``unset`` removes, from the source chosen by ``--source-position`` (multi-source apps), the
fields its flags name; a block left empty (``kustomize``, ``helm``, ``plugin``) is removed
with them. Entries are named: ``--kustomize-image NAME`` (the image an override applies to),
``--kustomize-replica NAME``, ``--parameter NAME`` (a Helm parameter), ``--values FILE``,
``--plugin-env NAME``. ``remove-source`` drops ``spec.sources[N-1]`` and refuses to remove the
last source.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from tidegate.cli import appspec
from tidegate.sync.request import FlagError

Obj = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class UnsetFlags:
    nameprefix: bool = False
    namesuffix: bool = False
    kustomize_namespace: bool = False
    ignore_missing_components: bool = False
    kustomize_images: tuple[str, ...] = ()
    kustomize_replicas: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    values_literal: bool = False
    ignore_missing_value_files: bool = False
    pass_credentials: bool = False
    plugin_env: tuple[str, ...] = ()
    ref: bool = False

    def given(self) -> bool:
        return self != UnsetFlags()


def _drop(block: Obj, field: str, keep: Any) -> None:
    items = block.get(field)
    if isinstance(items, list):
        kept = [i for i in items if keep(i)]
        if kept:
            block[field] = kept
        else:
            block.pop(field, None)


def unset(spec: Mapping[str, Any], flags: UnsetFlags, position: int | None) -> Obj:
    """A copy of ``spec`` without the fields ``flags`` name."""
    out: Obj = copy.deepcopy(dict(spec))
    src = appspec._source(out, position)
    kustomize: Obj = src.get("kustomize") or {}
    for flag, field in ((flags.nameprefix, "namePrefix"), (flags.namesuffix, "nameSuffix"),
                        (flags.kustomize_namespace, "namespace"),
                        (flags.ignore_missing_components, "ignoreMissingComponents")):  # fmt: skip
        if flag:
            kustomize.pop(field, None)
    images = set(flags.kustomize_images)
    _drop(kustomize, "images", lambda i: appspec._image_name(str(i)) not in images)
    replicas = set(flags.kustomize_replicas)
    _drop(kustomize, "replicas", lambda r: r.get("name") not in replicas)
    helm: Obj = src.get("helm") or {}
    params = set(flags.parameters)
    _drop(helm, "parameters", lambda p: p.get("name") not in params)
    files = set(flags.values)
    _drop(helm, "valueFiles", lambda f: f not in files)
    if flags.values_literal:
        helm.pop("values", None)
        helm.pop("valuesObject", None)
    if flags.ignore_missing_value_files:
        helm.pop("ignoreMissingValueFiles", None)
    if flags.pass_credentials:
        helm.pop("passCredentials", None)
    plugin: Obj = src.get("plugin") or {}
    env = set(flags.plugin_env)
    _drop(plugin, "env", lambda e: e.get("name") not in env)
    for field, block in (("kustomize", kustomize), ("helm", helm), ("plugin", plugin)):
        if block:
            src[field] = block
        else:
            src.pop(field, None)
    if flags.ref:
        src.pop("ref", None)
    return out


def remove_source(spec: Mapping[str, Any], position: int) -> Obj:
    """A copy of ``spec`` without ``sources[position-1]``."""
    sources = list(spec.get("sources") or [])
    if not sources:
        raise FlagError("--source-position", "the application has a single source")
    if not 1 <= position <= len(sources):
        raise FlagError("--source-position", f"must be between 1 and {len(sources)}")
    if len(sources) == 1:
        raise FlagError("--source-position", "cannot remove the only source of the application")
    out: Obj = copy.deepcopy(dict(spec))
    del out["sources"][position - 1]
    return out
