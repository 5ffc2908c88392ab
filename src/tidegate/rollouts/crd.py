"""Argo Rollouts' CustomResourceDefinitions (pure): Rollout (with the status and scale
subresources, and kubectl columns as Argo Rollouts prints them) and Experiment from this
package's YAML, plus the analysis kinds' (AnalysisTemplate, ClusterAnalysisTemplate,
AnalysisRun) from :mod:`tidegate.analysis.crds`. Installers create them only where missing, so
a cluster that already runs Argo Rollouts keeps its own.
"""

from __future__ import annotations

import importlib.resources
from typing import Any

import yaml

from tidegate.analysis import crds as analysis_crds


def crds() -> list[dict[str, Any]]:
    text = importlib.resources.files("tidegate.rollouts").joinpath("crds.yaml").read_text("utf-8")
    own = [doc for doc in yaml.load_all(text, Loader=yaml.CSafeLoader) if doc]
    return own + analysis_crds.crds()


def names() -> list[str]:
    return [str(doc["metadata"]["name"]) for doc in crds()]
