"""Argo Rollouts' CustomResourceDefinitions, read from this package's YAML (pure).

Rollout (with the status and scale subresources, and kubectl columns as Argo Rollouts prints
them), AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun and Experiment. Installers create
them only where they are missing, so a cluster that already runs Argo Rollouts keeps its own.
"""

from __future__ import annotations

import importlib.resources
from typing import Any

import yaml


def crds() -> list[dict[str, Any]]:
    text = importlib.resources.files("tidegate.rollouts").joinpath("crds.yaml").read_text("utf-8")
    return [doc for doc in yaml.load_all(text, Loader=yaml.CSafeLoader) if doc]


def names() -> list[str]:
    return [str(doc["metadata"]["name"]) for doc in crds()]
