"""The SealedSecret CustomResourceDefinition, read from this package's YAML (pure)."""

from __future__ import annotations

import importlib.resources
from typing import Any

import yaml

NAME = "sealedsecrets.bitnami.com"


def crd() -> dict[str, Any]:
    text = (
        importlib.resources.files("tidegate.sealedsecrets")
        .joinpath("sealedsecrets.crd.yaml")
        .read_text(encoding="utf-8")
    )
    doc: dict[str, Any] = yaml.load(text, Loader=yaml.CSafeLoader)
    return doc
