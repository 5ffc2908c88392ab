"""Kargo's CustomResourceDefinitions (``kargo.akuity.io/v1alpha1``), built here (pure).

Same group, kinds, plurals, scopes and status subresources as Kargo's, so that manifests and
``kubectl get stages`` work unchanged. The schemas keep unknown fields (the documented subset is
checked by Tidegate when it reads the objects, with messages naming the field), plus printer
columns for the fields people look at.
"""

from __future__ import annotations

from typing import Any

GROUP = "kargo.akuity.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

# kind -> (plural, cluster-scoped, short names, printer columns [(name, type, jsonPath)])
KINDS: dict[str, tuple[str, bool, list[str], list[tuple[str, str, str]]]] = {
    "Project": ("projects", True, [], [("Ready", "string", ".status.conditions[0].status")]),
    "ProjectConfig": ("projectconfigs", False, [], []),
    "Warehouse": ("warehouses", False, [], [("Last Freight", "string", ".status.lastFreightID")]),
    "Freight": ("freights", False, [], [
        ("Alias", "string", ".alias"), ("Origin", "string", ".origin.name"),
    ]),
    "Stage": ("stages", False, [], [
        ("Shard", "string", ".spec.shard"),
        ("Health", "string", ".status.health.status"),
    ]),
    "Promotion": ("promotions", False, ["promo", "promos"], [
        ("Stage", "string", ".spec.stage"),
        ("Freight", "string", ".spec.freight"),
        ("Phase", "string", ".status.phase"),
    ]),
    "PromotionTask": ("promotiontasks", False, [], []),
    "ClusterPromotionTask": ("clusterpromotiontasks", True, [], []),
}  # fmt: skip

_OPEN = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def crd(kind: str) -> dict[str, Any]:
    plural, cluster, short, columns = KINDS[kind]
    # Freight keeps its artifacts at the top level (alias, origin, images...), as Kargo's does.
    properties: dict[str, Any] = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": _OPEN,
        "status": _OPEN,
    }
    names: dict[str, Any] = {
        "kind": kind,
        "listKind": f"{kind}List",
        "plural": plural,
        "singular": kind.lower(),
    }
    if short:
        names["shortNames"] = short
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "labels": {"app.kubernetes.io/part-of": "tidegate"},
        },
        "spec": {
            "group": GROUP,
            "names": names,
            "scope": "Cluster" if cluster else "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": n, "type": t, "jsonPath": p} for n, t, p in columns
                    ]
                    + [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                            "properties": properties,
                        }
                    },
                }
            ],
        },
    }


def crds() -> list[dict[str, Any]]:
    """Every Kargo CRD, in a stable order."""
    return [crd(kind) for kind in KINDS]
